"""The collection tarball holds the collection and nothing of the local state: no demo credentials, keys, caches or test output.

The collection is copied to a temporary directory, what `make demo`, `make bench`, ansible-lint and test runs leave behind is
planted in the copy (with real-looking secrets: an auth file, a TLS private key, an htpasswd, a GPG keyring, a cosign key), and
`ansible-galaxy collection build` (galaxy.yml's build_ignore) must leave all of it out. The tarball's file list is checked
against an allow-list (what a user should get, by top-level entry) and against the names and contents of secrets.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

TOKEN = uuid.uuid4().hex
# A real-looking PEM private key body and bcrypt hash: the content patterns below must catch them, not only their names.
PEM_KEY = ('-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----\n'
           % base64.b64encode(TOKEN.encode() * 3).decode()).encode()
BCRYPT = ('demo:$2y$05$%s\n' % ('N' * 53)).encode()
# What the local runs leave in the work tree (make demo's .demo, make bench's .bench, ansible-lint's .ansible,
# ansible-test's home and output, pytest's cache, compiled files, a built tarball, the venv and build copy).
PLANTED: dict[str, bytes] = {
    '.demo/auth.json': b'{"auths": {"127.0.0.1:5000": {"auth": "%s"}}}' % base64.b64encode(b'demo:' + TOKEN.encode()),
    '.demo/registry/certs/server.key': PEM_KEY,
    '.demo/registry/certs/ca.pem': PEM_KEY,
    '.demo/registry/htpasswd': BCRYPT,
    '.demo/registry/env.json': b'{"users": {"demo": "%s"}}' % TOKEN.encode(),
    '.demo/gnupg/private-keys-v1.d/0123ABCD.key': b'(private-key %s)' % TOKEN.encode(),
    '.demo/release.pass': TOKEN.encode(),
    '.demo/cosign.private': PEM_KEY,
    '.demo/registries.d/demo.yaml': b'docker: {}\n',
    '.bench/results.json': b'{"token": "%s"}' % TOKEN.encode(),
    '.ansible/roles/x/tasks/main.yml': TOKEN.encode(),
    '.ansible/collections/ansible_collections/ocikit/images/README.md': TOKEN.encode(),
    '.ansible-test-home/.ansible/test/cache/get_pip_24_2.py': TOKEN.encode(),
    '.ansible-test-home/.ssh/id_rsa': PEM_KEY,
    '.pytest_cache/v/cache/lastfailed': TOKEN.encode(),
    'plugins/modules/__pycache__/image_copy.cpython-311.pyc': TOKEN.encode(),
    'plugins/module_utils/copy/__pycache__/signing.cpython-311.pyc': TOKEN.encode(),
    'tests/output/junit/python3.11-units.xml': TOKEN.encode(),
    '.venv/bin/python': TOKEN.encode(),
    'build/collections/x': TOKEN.encode(),
    'ocikit-images-0.0.1.tar.gz': TOKEN.encode(),
}
# What a user gets: the collection's metadata, licence and readme, its requirement lists, and these directories.
ALLOWED_FILES = {'MANIFEST.json', 'FILES.json', 'README.md', 'COPYING', 'requirements.txt', 'bindep.txt'}
ALLOWED_DIRS = {'changelogs', 'docs', 'meta', 'plugins', 'roles', 'tests'}
# Names of secrets and local state, anywhere in the tarball.
SECRET_NAME = re.compile(r'(^|/)(auth\.json|htpasswd|\.htpasswd|id_(rsa|ecdsa|ed25519)|\.netrc|private-keys-v1\.d|secring\.gpg|'
                         r'pubring\.kbx|trustdb\.gpg|\.git-credentials)(/|$)|\.(key|pem|p12|pfx|private|pass|gpg|asc|pyc)$|'
                         r'(^|/)(__pycache__|\.pytest_cache|\.ansible|\.demo|\.bench|output)(/|$)')
# Contents of secrets: a PEM private key with a body (the tests' truncated 'AAAA' literals are not keys), a bcrypt hash.
SECRET_CONTENT = re.compile(rb'-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}|\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}')


def _ignore_output(directory: str, names: list[str]) -> list[str]:
    # The copy ansible-test runs from keeps its own results in tests/output: large, and not the collection.
    return ['output'] if Path(directory).name == 'tests' and 'output' in names else []


def _build(tree: Path, out: Path) -> dict[str, bytes | None]:
    """ansible-galaxy collection build of tree: every member's name, with its content when it is a file."""
    built = subprocess.run(['ansible-galaxy', 'collection', 'build', '--output-path', str(out), str(tree)], capture_output=True, text=True,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (tarball,) = out.glob('ocikit-images-*.tar.gz')
    with tarfile.open(tarball) as archive:
        return {member.name: archive.extractfile(member).read() if member.isfile() else None for member in archive.getmembers()}


@pytest.fixture(name='demo_state_tree')
def fixture_demo_state_tree(tmp_path: Path) -> Path:
    """A copy of the collection with everything PLANTED written into it, as after make demo, make bench, make test and ansible-lint."""
    root = Path(os.environ['OCIKIT_COLLECTION_ROOT'])
    tree = tmp_path / 'ansible_collections' / 'ocikit' / 'images'
    shutil.copytree(root, tree, ignore=_ignore_output, symlinks=True)
    for name, content in PLANTED.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    # ansible-lint links the project into its cache as an installed collection: a loop back to the tree.
    (tree / '.ansible/collections/ansible_collections/ocikit/linked').symlink_to(tree, target_is_directory=True)
    return tree


@pytest.mark.skipif(shutil.which('ansible-galaxy') is None, reason='needs ansible-galaxy')
def test_the_tarball_holds_only_what_a_user_gets(demo_state_tree, tmp_path):
    members = _build(demo_state_tree, tmp_path / 'out')
    outside = sorted(name for name in members if name.split('/', maxsplit=1)[0] not in ALLOWED_DIRS and name not in ALLOWED_FILES)
    assert outside == []
    assert sorted(name for name in members if SECRET_NAME.search(name)) == []
    assert sorted(name for name, data in members.items() if data and (TOKEN.encode() in data or SECRET_CONTENT.search(data))) == []
    # And it is the collection: the modules, their engine, the docs, the metadata and the managed nodes' requirements.
    for expected in ('MANIFEST.json', 'FILES.json', 'plugins/modules/image_copy.py', 'plugins/module_utils/copy/signing.py',
                     'docs/signing-and-policy.md', 'docs/installing.md', 'meta/runtime.yml', 'README.md', 'requirements.txt', 'COPYING'):
        assert expected in members, expected


def test_the_secret_patterns_catch_what_was_planted():
    """The checks above would see a leak: every planted secret or stray file is caught by its name or its content."""
    missed = [name for name, content in PLANTED.items()
              if not (SECRET_NAME.search(name) or SECRET_CONTENT.search(content) or name.split('/', maxsplit=1)[0] not in ALLOWED_DIRS)]
    assert missed == []
    secrets = [name for name, content in PLANTED.items() if SECRET_CONTENT.search(content)]
    assert sorted(secrets) == ['.ansible-test-home/.ssh/id_rsa', '.demo/cosign.private', '.demo/registry/certs/ca.pem',
                               '.demo/registry/certs/server.key', '.demo/registry/htpasswd']
    # The collection's own tests hold truncated PEM headers ('AAAA' bodies) for error messages: not keys.
    assert not SECRET_CONTENT.search(b'-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n')
