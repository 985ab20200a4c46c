"""The collection tarball holds the collection and nothing of the local state: no demo credentials, keys, caches or test output.

The collection is copied to a temporary directory, what `make demo`, `make bench` and test runs leave behind is planted in
the copy, and `ansible-galaxy collection build` (galaxy.yml's build_ignore) must leave all of it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

# What the local runs leave in the work tree; each file's content gets a token unique to the run, searched for in the tarball.
PLANTED = ('.demo/auth.json', '.demo/gnupg/private-keys-v1.d/0123.key', '.demo/release.pass', '.demo/registry/certs/ca.key',
           '.bench/results.json', '.pytest_cache/v/cache/lastfailed', 'plugins/modules/__pycache__/image_copy.cpython-311.pyc',
           'plugins/module_utils/copy/__pycache__/signing.cpython-311.pyc', 'tests/output/junit/python3.11-units.xml', '.venv/bin/python',
           'build/collections/x', 'ocikit-images-0.0.1.tar.gz')
LOCAL_DIRS = {'.demo', '.bench', '.pytest_cache', '.venv', 'build'}


def _ignore_output(directory: str, names: list[str]) -> list[str]:
    # The copy ansible-test runs from keeps its own results in tests/output: large, and not the collection.
    return ['output'] if Path(directory).name == 'tests' and 'output' in names else []


@pytest.mark.skipif(shutil.which('ansible-galaxy') is None, reason='needs ansible-galaxy')
def test_the_tarball_holds_no_local_state(tmp_path):
    root = Path(os.environ['OCIKIT_COLLECTION_ROOT'])
    tree = tmp_path / 'ansible_collections' / 'ocikit' / 'images'
    shutil.copytree(root, tree, ignore=_ignore_output, symlinks=True)
    token = uuid.uuid4().hex.encode()
    for name in PLANTED:
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'secret %s in %s\n' % (token, name.encode()))
    out = tmp_path / 'out'
    built = subprocess.run(['ansible-galaxy', 'collection', 'build', '--output-path', str(out), str(tree)], capture_output=True, text=True,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (tarball,) = out.glob('ocikit-images-*.tar.gz')
    with tarfile.open(tarball) as archive:
        members = {member.name: member for member in archive.getmembers()}
        contents = {name: archive.extractfile(member).read() for name, member in members.items() if member.isfile()}
    leaked = sorted(name for name in members if name in PLANTED or name.split('/')[0] in LOCAL_DIRS or '__pycache__' in name
                    or name.endswith(('.pyc', '.tar.gz')) or name.startswith('tests/output'))
    assert leaked == []
    assert [name for name, data in contents.items() if token in data] == []
    # And it is the collection: the modules, their engine, the docs and the metadata.
    for expected in ('MANIFEST.json', 'FILES.json', 'plugins/modules/image_copy.py', 'plugins/module_utils/copy/signing.py',
                     'docs/signing-and-policy.md', 'meta/runtime.yml', 'README.md'):
        assert expected in members, expected
