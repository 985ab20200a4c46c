"""Lazy imports and the AnsiballZ payload: features whose module_utils a module imports only when a run needs them.

Modules import a transport's reader and writer, the copy engine (image_inspect), httpx and zstandard
when a run uses them, not at start-up (tests/unit/plugins/modules/test_import_budget.py guards that).
Ansible's packer finds imports inside functions too; these tasks, run by ansible-playbook as
AnsiballZ, fail if one of those module_utils were missing from the payload.
"""

from __future__ import annotations

import hashlib
import marshal
import subprocess
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path

from ocikit_it import PASSWORD, PYTHON, USER, ansiballz_files, ansiballz_payload, run_playbook, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image, build_index

MU = 'ansible_collections/ocikit/images/plugins/module_utils/'
#: module_utils/codecache.py's table, kept in the bytecode cache directory beside the entries.
TABLE = 'dataclass-code-v1'
PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  vars:
    ansible_remote_tmp: "{{ remote_tmp }}"
  module_defaults:
    group/ocikit.images.images:
      username: "{{ user }}"
      password: "{{ password }}"
      cert_dir: "{{ cert_dir }}"
  tasks:
    - name: push an index (layout reader, registry writer)
      ocikit.images.image_copy: {src: "{{ index }}", dest: "docker://{{ ref }}", all: true}
    - name: inspect one platform of the index (the copy engine's child reader)
      ocikit.images.image_inspect: {image: "docker://{{ ref }}", override_arch: arm64}
    - name: pull that platform into an oci-archive as zstd (registry reader, zstandard, archive writer)
      ocikit.images.image_copy: {src: "docker://{{ ref }}", dest: "oci-archive:{{ archive }}", override_arch: arm64, dest_compress_format: zstd}
    - name: read the archive back (archive reader)
      ocikit.images.image_inspect: {image: "oci-archive:{{ archive }}", raw: true}
    - name: write a dir image
      ocikit.images.image_copy: {src: "{{ image }}", dest: "dir:{{ dir }}"}
    - name: dir reader, docker-archive writer
      ocikit.images.image_copy: {src: "dir:{{ dir }}", dest: "docker-archive:{{ tarball }}:app:v1"}
- hosts: localhost
  gather_facts: false
  vars:
    ansible_remote_tmp: "{{ remote_tmp }}"
  tasks:
    - name: log out where nobody logged in (a module whose payload has no policy parser)
      ocikit.images.registry_login: {registry: registry.test, state: absent, authfile: "{{ authfile }}"}
'''


def test_lazily_imported_features_work_through_ansible_playbook(registry, tmp_path: Path):
    index = build_index(tmp_path / 'idx', 'multi', platforms=[('linux', 'amd64', None), ('linux', 'arm64', 'v8')])
    image = build_image(tmp_path / 'img', 'v1', layers=[LayerSpec(size=40_000), LayerSpec(size=20_000)])
    remote = tmp_path / 'remote'
    extra = {'user': USER, 'password': PASSWORD, 'cert_dir': str(registry.cert_dir), 'remote_tmp': str(remote), 'index': index.oci_ref,
             'ref': registry.ref('startup/app', 'multi'), 'archive': str(tmp_path / 'app.tar'), 'image': image.oci_ref,
             'dir': str(tmp_path / 'dir'), 'tarball': str(tmp_path / 'docker.tar'), 'authfile': str(tmp_path / 'auth.json')}
    env = {'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'), 'HOME': str(tmp_path / 'home')}
    run = run_playbook(PLAYBOOK, extra, env=env)
    assert run.rc == 0, (run.output, run.stderr)
    results = [result for dummy, result in run.tasks()]
    assert [r.get('failed', False) for r in results] == [False] * 7, [r.get('msg') for r in results]

    push, inspect_index, pull, archive, to_dir, to_tarball, logout = results
    assert (push['changed'], push['digest']) == (True, index.digest)
    arm64 = [i for i in index.images if i.platform[1] == 'arm64'][0]
    assert (inspect_index['digest'], inspect_index['platform_digest']) == (index.digest, arm64.manifest_digest)
    assert pull['changed'] is True and pull['source_digest'] == index.digest
    assert archive['digest'] == pull['digest']
    assert [layer['mediaType'] for layer in archive['manifest']['layers']] == ['application/vnd.oci.image.layer.v1.tar+zstd'] * len(arm64.layers)
    assert (to_dir['changed'], to_dir['digest']) == (True, image.manifest_digest)
    assert skopeo_inspect('dir:%s' % (tmp_path / 'dir'))['Digest'] == image.manifest_digest
    assert to_tarball['changed'] is True
    assert len(skopeo_inspect('docker-archive:%s' % (tmp_path / 'docker.tar'))['Layers']) == len(image.layers)
    assert logout['changed'] is False and not (tmp_path / 'auth.json').exists()

    # What the tasks above imported lazily is in each module's payload (Ansible's packer reads nested imports).
    payloads = {}
    for path in remote.glob('ansible-tmp-*/AnsiballZ_*.py'):
        payloads[path.name] = set(ansiballz_payload(path)[1])
    assert set(payloads) == {'AnsiballZ_image_copy.py', 'AnsiballZ_image_inspect.py', 'AnsiballZ_registry_login.py'}
    for side in ('source', 'destination'):
        for transport in ('containers_storage', 'dir', 'docker', 'docker_archive', 'docker_daemon', 'oci_archive', 'oci_layout'):
            assert MU + 'transports/%s/%s.py' % (transport, side) in payloads['AnsiballZ_image_copy.py']
    assert {MU + 'transports/docker_daemon/client.py', MU + 'transports/containers_storage/client.py'} <= payloads['AnsiballZ_image_copy.py']
    assert MU + 'copy/execute.py' in payloads['AnsiballZ_image_inspect.py']
    # And only what a module's imports can reach: the policy options live apart from module.py, which every module imports.
    assert {MU + 'policy_options.py', MU + 'signature/policy.py'} <= payloads['AnsiballZ_image_copy.py']
    assert not {MU + 'policy_options.py', MU + 'signature/policy.py', MU + 'copy/execute.py'} & payloads['AnsiballZ_registry_login.py']


CACHED_PLAY = '''
- hosts: localhost
  gather_facts: false
  vars:
    ansible_remote_tmp: "{{ remote_tmp }}"
  tasks:
    - ocikit.images.image_copy: {src: "{{ image }}", dest: "oci:{{ layout }}:v1"}
    - ocikit.images.image_inspect: {image: "oci:{{ layout }}:v1"}
'''


def _cache_tag() -> str:
    return subprocess.run([PYTHON, '-c', 'import sys; print(sys.implementation.cache_tag)'], capture_output=True, text=True, check=True).stdout.strip()


def test_module_utils_bytecode_is_cached_between_tasks(tmp_path: Path):
    """module_utils/bytecode.py through real AnsiballZ runs: the first run writes one entry per module_util it
    compiled, keyed by that source in the payload; the next run compiles nothing new and writes nothing."""
    image = build_image(tmp_path / 'img', 'v1', layers=[LayerSpec(size=30_000)])
    remote, cache = tmp_path / 'remote', tmp_path / 'cache'
    extra = {'image': image.oci_ref, 'layout': str(tmp_path / 'layout'), 'remote_tmp': str(remote)}
    env = {'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'), 'HOME': str(tmp_path / 'home'),
           'XDG_CACHE_HOME': str(cache), 'PYTHONDONTWRITEBYTECODE': '', 'OCIKIT_BYTECODE_CACHE': ''}
    first = run_playbook(CACHED_PLAY, extra, env=env)
    assert first.rc == 0, (first.output, first.stderr)
    copy, inspect = [result for dummy, result in first.tasks()]
    assert copy['changed'] is True and inspect['digest'] == copy['digest'] == image.manifest_digest

    directory = cache / 'ocikit' / 'bytecode-v1' / _cache_tag()
    assert directory.stat().st_mode & 0o777 == 0o700
    stored = {entry.name: entry.stat() for entry in directory.iterdir() if entry.name != TABLE}
    assert stored and all(info.st_mode & 0o777 == 0o600 for info in stored.values())
    # Beside the entries, codecache.py's table of the methods @dataclass generated in these tasks.
    table = directory / TABLE
    assert table.stat().st_mode & 0o777 == 0o600
    functions = marshal.loads(table.read_bytes()[len(MAGIC_NUMBER):])
    assert len(functions) > 100 and all(text.lstrip().startswith('def __create_fn__') for text in functions), list(functions)[:3]
    table_mtime = table.stat().st_mtime_ns
    sources = {}
    for path in remote.glob('ansible-tmp-*/AnsiballZ_*.py'):
        for name, data in ansiballz_files(path).items():
            if name.startswith(MU) and name.endswith('.py') and not name.endswith('__init__.py'):
                sources[hashlib.sha256(MAGIC_NUMBER + b'\0' + data).hexdigest()] = name
    # Only if the interpreters agree on the magic number can keys be recomputed here; the test bed runs the same Python.
    assert sys.implementation.cache_tag == _cache_tag()
    assert set(stored) <= set(sources), 'entries that are no module_util of these payloads: %s' % (set(stored) - set(sources))
    assert {MU + 'copy/execute.py', MU + 'inspect.py', MU + 'reference.py'} <= {sources[key] for key in stored}
    assert MU + 'bytecode.py' not in {sources[key] for key in stored}  # loaded by zipimport, before the finder
    code = marshal.loads((directory / next(key for key in stored if sources[key] == MU + 'copy/execute.py')).read_bytes())
    assert code.co_filename.endswith('/' + MU + 'copy/execute.py')

    second = run_playbook(CACHED_PLAY, extra, env=env)
    assert second.rc == 0, (second.output, second.stderr)
    copy2, inspect2 = [result for dummy, result in second.tasks()]
    assert copy2['changed'] is False and copy2['digest'] == copy['digest'] and inspect2['digest'] == copy['digest']
    assert {entry.name: entry.stat().st_mtime_ns for entry in directory.iterdir() if entry.name != TABLE} == \
        {name: info.st_mtime_ns for name, info in stored.items()}
    assert table.stat().st_mtime_ns == table_mtime  # every dataclass method taken from the table, none compiled

    off = run_playbook(CACHED_PLAY, extra, env=dict(env, XDG_CACHE_HOME=str(tmp_path / 'off-cache'), OCIKIT_BYTECODE_CACHE='0'))
    assert off.rc == 0 and [result['changed'] for dummy, result in off.tasks()] == [False, False]
    assert not (tmp_path / 'off-cache' / 'ocikit' / 'bytecode-v1').exists()
