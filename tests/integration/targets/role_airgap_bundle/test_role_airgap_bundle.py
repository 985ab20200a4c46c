"""The airgap_bundle role, run by ansible-playbook: export (registry -> bundle), carry (a copy elsewhere), import (bundle -> registry,
containers-storage), checked in the registries, their access logs, the bundle's files and the Podman service's store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import typing as t
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, blob_writes, run_module, run_playbook, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.gpgkeys import GpgHome, gpg_available
from ocikit_testbed.podman import PodmanService, podman_available

pytestmark = pytest.mark.skipif(not gpg_available() or shutil.which('skopeo') is None, reason='needs gpg and skopeo')

PLAY = '''
- name: Air-gap bundle
  hosts: localhost
  gather_facts: false
  roles:
    - role: ocikit.images.airgap_bundle
'''
TAGS = ('v1', 'v2')


@pytest.fixture(scope='module')
def signed(tmp_path_factory, registry, token_registry):
    """signed/app:v1 and :v2 in the near registry, signed by skopeo (GPG) into a file lookaside; one registries.d for both registries."""
    base = tmp_path_factory.mktemp('airgap-signed')
    gpg_home = GpgHome(base / 'gnupg', no_cache=False)
    key = gpg_home.generate_key('ocikit airgap <airgap@example.com>')
    gpg_home.export_to(base / 'trusted.gpg', key)
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    # Both registries' lookasides are under the test's directory (never the default one under /var/lib/containers).
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n  %s:\n    lookaside: file://%s\n'
                                               % (registry.host, base / 'near', token_registry.host, base / 'far'))
    images = {}
    for seed, tag in enumerate(TAGS, 31):
        image = build_image(base / 'layout', tag, layers=[LayerSpec(size=30_000 + seed), LayerSpec(size=5_000 + seed)], seed=seed)
        images[tag] = image
        subprocess.run(['skopeo', '--registries.d', str(registries_d), '--insecure-policy', 'copy', '--quiet', '--sign-by', key,
                        *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + registry.ref('signed/app', tag)],
                       check=True, capture_output=True, timeout=120, env=dict(os.environ, GNUPGHOME=str(gpg_home.path)))
    repository = registry.ref('signed/app', 'x').rsplit(':', 1)[0]
    yield {'base': base, 'keyring': str(base / 'trusted.gpg'), 'registries_d': str(registries_d), 'images': images, 'repository': repository}
    gpg_home.close()


@pytest.fixture(scope='module')
def service(tmp_path_factory):
    if not podman_available():
        pytest.skip('needs podman')
    with PodmanService(tmp_path_factory.mktemp('podman')) as started:
        yield started


def signed_by(keyring: str, identity: dict | None = None) -> dict:
    requirement = {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': keyring}
    if identity is not None:
        requirement['signedIdentity'] = identity
    return requirement


def near_policy(signed) -> dict:
    return {'default': [{'type': 'reject'}], 'transports': {'docker': {signed['repository']: [signed_by(signed['keyring'])]}}}


def far_policy(signed, transport: str = 'oci') -> dict:
    """The bundle names no registry: its signatures must name the near repository."""
    identity = {'type': 'exactRepository', 'dockerRepository': signed['repository']}
    return {'default': [{'type': 'reject'}], 'transports': {transport: {'': [signed_by(signed['keyring'], identity)]}}}


def export_vars(registry, signed, path: Path, tags: t.Sequence[str] = TAGS, **extra) -> dict:
    values = {'airgap_bundle_action': 'export', 'airgap_bundle_path': str(path),
              'airgap_bundle_images': [{'src': registry.ref('signed/app', tag), 'name': 'team/app'} for tag in tags],
              'airgap_bundle_policy_data': near_policy(signed), 'airgap_bundle_registries_d': signed['registries_d'],
              'airgap_bundle_username': USER, 'airgap_bundle_password': PASSWORD, 'airgap_bundle_cert_dir': str(registry.cert_dir)}
    values.update(extra)
    return values


def import_vars(reg, signed, path: Path, dest: str, **extra) -> dict:
    values = {'airgap_bundle_action': 'import', 'airgap_bundle_path': str(path), 'airgap_bundle_dest': dest,
              'airgap_bundle_policy_data': far_policy(signed), 'airgap_bundle_registries_d': signed['registries_d'],
              'airgap_bundle_username': USER, 'airgap_bundle_password': PASSWORD, 'airgap_bundle_cert_dir': str(reg.cert_dir)}
    values.update(extra)
    return values


def play(values: dict, check: bool = False):
    return run_playbook(PLAY, values, check=check)


def ok(run) -> int:
    """The run's changed count, after asserting that it succeeded."""
    assert run.rc == 0 and not run.stats.get('failures'), failure(run) or run.stderr[-3000:]
    return run.stats['changed']


def failure(run) -> str:
    """The message of the task that failed (of its first failed item, in a loop)."""
    for name, result in run.tasks():
        if result.get('_status') == 'failed':
            items = [item for item in result.get('results', []) if item.get('failed')]
            return '%s: %s' % (name, (items[0] if items else result).get('msg') or json.dumps(result)[:3000])
    return ''


def sha256(path: Path) -> str:
    return 'sha256:' + hashlib.sha256(path.read_bytes()).hexdigest()


def layout_names(layout: Path) -> dict[str, str]:
    index = json.loads((layout / 'index.json').read_text())
    return {m['annotations']['org.opencontainers.image.ref.name']: m['digest'] for m in index['manifests']}


def test_air_gap_round_trip_into_a_registry_and_containers_storage(registry, token_registry, signed, service, tmp_path):
    near = tmp_path / 'near' / 'bundle'
    digests = {tag: signed['images'][tag].manifest_digest for tag in TAGS}
    # 1. Export: check mode first predicts a change and writes nothing.
    assert ok(play(export_vars(registry, signed, near), check=True)) > 0
    assert not near.exists()
    assert ok(play(export_vars(registry, signed, near))) > 0
    layout = near / 'images'
    assert layout_names(layout) == {'team/app:%s' % tag: digests[tag] for tag in TAGS}
    lock = json.loads((near / 'bundle.lock.json').read_text())
    signatures = {'images/.ocikit/signatures/%s/signature-1' % digests[tag].replace(':', '=') for tag in TAGS}
    assert lock == {
        'format': 'ocikit.images.airgap_bundle/v1', 'archive': False,
        'images': [{'name': 'team/app:%s' % tag, 'source': 'docker://' + registry.ref('signed/app', tag), 'digest': digests[tag]}
                   for tag in TAGS],
        'checksums': dict({'images/index.json': sha256(layout / 'index.json')}, **{path: sha256(near / path) for path in signatures})}
    # The signatures in the bundle are the near lookaside's, byte for byte.
    for tag in TAGS:
        lookaside = signed['base'] / 'near' / ('signed/app@%s' % digests[tag].replace(':', '=')) / 'signature-1'
        assert (layout / '.ocikit/signatures' / digests[tag].replace(':', '=') / 'signature-1').read_bytes() == lookaside.read_bytes()
    # Re-running is ok, in check mode too, and the lock file is not rewritten.
    written = (near / 'bundle.lock.json').stat().st_mtime_ns
    assert ok(play(export_vars(registry, signed, near))) == 0
    assert ok(play(export_vars(registry, signed, near), check=True)) == 0
    assert (near / 'bundle.lock.json').stat().st_mtime_ns == written

    # 2. Carry the bundle to the far side.
    far = tmp_path / 'far' / 'bundle'
    shutil.copytree(near, far)

    # 3. Import into the token-auth registry: check mode writes nothing, then the images land with their digests and signatures.
    dest = 'docker://%s/airgap' % token_registry.host
    token_registry.clear_requests()
    assert ok(play(import_vars(token_registry, signed, far, dest), check=True)) > 0
    assert blob_writes(token_registry) == []
    assert ok(play(import_vars(token_registry, signed, far, dest))) > 0
    for tag in TAGS:
        assert skopeo_inspect('docker://%s/airgap/team/app:%s' % (token_registry.host, tag), *token_registry.skopeo_flags(''))['Digest'] == digests[tag]
        arrived = signed['base'] / 'far' / ('airgap/team/app@%s' % digests[tag].replace(':', '=')) / 'signature-1'
        assert arrived.read_bytes() == (far / 'images/.ocikit/signatures' / digests[tag].replace(':', '=') / 'signature-1').read_bytes()
    token_registry.clear_requests()
    assert ok(play(import_vars(token_registry, signed, far, dest))) == 0
    assert ok(play(import_vars(token_registry, signed, far, dest), check=True)) == 0
    assert blob_writes(token_registry) == []

    # 4. Import into containers-storage: the policy verifies the signatures, which the store cannot hold.
    storage = import_vars(token_registry, signed, far, 'containers-storage:example.test', airgap_bundle_daemon_host=service.host)
    loads = service.loads()
    assert ok(play(storage, check=True)) > 0
    assert service.loads() == loads
    assert ok(play(storage)) > 0
    images = service.images()
    for tag in TAGS:
        assert images['example.test/team/app:%s' % tag] == signed['images'][tag].config_digest
    loads = service.loads()
    assert ok(play(storage)) == 0
    assert ok(play(storage, check=True)) == 0
    assert service.loads() == loads

    # 5. And into a Docker daemon (Podman's Docker-compatible API serves here as the daemon).
    daemon = import_vars(token_registry, signed, far, 'docker-daemon:example.test/daemon', airgap_bundle_daemon_host=service.host)
    assert ok(play(daemon)) > 0
    images = service.images()
    for tag in TAGS:
        assert images['example.test/daemon/team/app:%s' % tag] == signed['images'][tag].config_digest
    loads = service.loads()
    assert ok(play(daemon)) == 0
    assert service.loads() == loads


@pytest.fixture(scope='module')
def bundle(registry, signed, tmp_path_factory) -> Path:
    """A layout bundle of both images, exported once; tests change copies of it."""
    path = tmp_path_factory.mktemp('airgap-bundle') / 'bundle'
    assert ok(play(export_vars(registry, signed, path))) > 0
    return path


def carried(bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / 'carried'
    shutil.copytree(bundle, copy)
    return copy


def signature_file(path: Path, digest: str) -> Path:
    return path / 'images/.ocikit/signatures' / digest.replace(':', '=') / 'signature-1'


@pytest.mark.parametrize('tamper', ['index', 'blob', 'signature', 'lock_image', 'blob_without_find_sha256'])
def test_a_tampered_bundle_is_refused_before_anything_is_pushed(token_registry, signed, service, bundle, tmp_path, tamper):
    path = carried(bundle, tmp_path)
    # ansible-core before 2.19 checksums each file with its own stat task: forced here, where find could do it.
    extra = {'__airgap_bundle_find_sha256': False} if tamper.endswith('without_find_sha256') else {}
    tamper = tamper.replace('_without_find_sha256', '')
    v1 = signed['images']['v1']
    if tamper == 'index':
        index = path / 'images/index.json'
        index.write_text(index.read_text() + ' ')
        expected = 'is not what was exported: images/index.json changed; nothing was imported'
    elif tamper == 'blob':
        layer = path / 'images/blobs/sha256' / v1.layer_digests[1].split(':', 1)[1]
        data = bytearray(layer.read_bytes())
        data[-1] ^= 1
        layer.write_bytes(bytes(data))
        expected = 'blobs that do not match their digest: %s; nothing was imported' % v1.layer_digests[1]
    elif tamper == 'signature':
        signature_file(path, v1.manifest_digest).write_bytes(b'not a signature')
        expected = 'images/.ocikit/signatures/%s/signature-1 changed; nothing was imported' % v1.manifest_digest.replace(':', '=')
    else:
        # The lock file names another digest than the layout holds (a lock file edited, or one from another export).
        lock = json.loads((path / 'bundle.lock.json').read_text())
        lock['images'][0]['digest'] = signed['images']['v2'].manifest_digest
        (path / 'bundle.lock.json').write_text(json.dumps(lock))
        expected = 'does not hold what its lock file lists'
    token_registry.clear_requests()
    run = play(import_vars(token_registry, signed, path, 'docker://%s/tampered' % token_registry.host, **extra))
    assert run.rc != 0 and expected in failure(run), failure(run)
    assert blob_writes(token_registry) == []
    loads = service.loads()
    run = play(import_vars(token_registry, signed, path, 'containers-storage:example.test/tampered', airgap_bundle_daemon_host=service.host, **extra))
    assert run.rc != 0 and expected in failure(run), failure(run)
    assert service.loads() == loads
    assert not [name for name in service.images() if '/tampered/' in name]


def relock(path: Path) -> None:
    """Rewrite the lock file's checksums for the bundle as it now is: what someone who can also change the lock file can do."""
    lock = json.loads((path / 'bundle.lock.json').read_text())
    lock['checksums'] = {name: 'sha256:' + hashlib.sha256((path / name).read_bytes()).hexdigest() for name in lock['checksums']}
    (path / 'bundle.lock.json').write_text(json.dumps(lock))


def test_a_wrong_signature_is_refused_by_the_policy_with_nothing_imported(token_registry, signed, service, bundle, tmp_path):
    # v2's signature in v1's place, and a lock file that agrees: the checksums pass, the policy must refuse.
    path = carried(bundle, tmp_path)
    v1, v2 = (signed['images'][tag].manifest_digest for tag in TAGS)
    signature_file(path, v1).write_bytes(signature_file(path, v2).read_bytes())
    relock(path)
    token_registry.clear_requests()
    run = play(import_vars(token_registry, signed, path, 'docker://%s/wrongsig' % token_registry.host))
    assert run.rc != 0, failure(run)
    message = failure(run)
    assert 'team/app:v1' in message and 'rejects' in message and 'signature 1' in message, message
    assert blob_writes(token_registry) == []
    loads = service.loads()
    storage = import_vars(token_registry, signed, path, 'containers-storage:example.test/wrongsig', airgap_bundle_daemon_host=service.host)
    run = play(storage)
    assert run.rc != 0 and 'rejects' in failure(run), failure(run)
    assert service.loads() == loads
    # image_copy itself, as the role's load task calls it: the policy is evaluated before remove_signatures leaves them behind.
    direct = run_module('image_copy', {'src': 'oci:%s/images:team/app:v1' % path, 'dest': 'containers-storage:example.test/wrongsig/app:v1',
                                       'dest_daemon_host': service.host, 'remove_signatures': True, 'policy_data': far_policy(signed)})
    assert direct.failed and direct.result.get('error_type') == 'PolicyRejectedError', direct
    assert service.loads() == loads
    assert not [name for name in service.images() if '/wrongsig/' in name]
    # Without the wrong signature, the same image is accepted.
    accepted = run_module('image_copy', {'src': 'oci:%s/images:team/app:v2' % path, 'dest': 'containers-storage:example.test/wrongsig/app:v2',
                                         'dest_daemon_host': service.host, 'remove_signatures': True, 'policy_data': far_policy(signed)})
    assert not accepted.failed and accepted.result['policy']['requirement'] == 'signedBy', accepted


def test_archive_bundle_round_trip_and_names_no_longer_declared(registry, token_registry, signed, tmp_path):
    near = tmp_path / 'near'
    values = export_vars(registry, signed, near, airgap_bundle_archive=True)
    assert ok(play(values, check=True)) > 0
    assert not (near / 'images.tar').exists() and not (near / 'bundle.lock.json').exists()
    assert ok(play(values)) > 0
    archive = near / 'images.tar'
    lock = json.loads((near / 'bundle.lock.json').read_text())
    assert (lock['archive'], lock['checksums']) == (True, {'images.tar': sha256(archive)})
    assert [image['name'] for image in lock['images']] == ['team/app:v1', 'team/app:v2']
    stamp = archive.stat().st_mtime_ns
    assert ok(play(values)) == 0
    assert ok(play(values, check=True)) == 0
    assert archive.stat().st_mtime_ns == stamp

    # Import the carried archive into the registry; a re-run is ok.
    far = tmp_path / 'far'
    shutil.copytree(near, far)
    dest = 'docker://%s/airgap-archive' % token_registry.host
    imported = import_vars(token_registry, signed, far, dest, airgap_bundle_archive=True,
                           airgap_bundle_policy_data=far_policy(signed, 'oci-archive'))
    assert ok(play(imported)) > 0
    for tag in TAGS:
        assert (skopeo_inspect('docker://%s/airgap-archive/team/app:%s' % (token_registry.host, tag), *token_registry.skopeo_flags(''))['Digest']
                == signed['images'][tag].manifest_digest)
    token_registry.clear_requests()
    assert ok(play(imported)) == 0
    assert blob_writes(token_registry) == []
    # A layout import of an archive bundle is refused by name.
    run = play(import_vars(token_registry, signed, far, dest))
    assert run.rc != 0 and 'holds an OCI archive: set airgap_bundle_archive: true' in failure(run), failure(run)

    # v2 alone is declared now: check mode predicts the change, the run writes an archive without v1, the old one is replaced whole.
    fewer = export_vars(registry, signed, near, tags=('v2',), airgap_bundle_archive=True)
    assert ok(play(fewer, check=True)) > 0
    assert archive.stat().st_mtime_ns == stamp
    assert ok(play(fewer)) > 0
    with tarfile.open(archive) as tar:
        index = json.loads(tar.extractfile('index.json').read())
    assert [m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests']] == ['team/app:v2']
    assert sorted(p.name for p in near.iterdir()) == ['bundle.lock.json', 'images.tar']
    lock = json.loads((near / 'bundle.lock.json').read_text())
    assert ([image['name'] for image in lock['images']], lock['checksums']) == (['team/app:v2'], {'images.tar': sha256(archive)})
    assert ok(play(fewer)) == 0


def test_a_layout_loses_the_names_no_longer_declared(registry, signed, tmp_path):
    path = tmp_path / 'bundle'
    assert ok(play(export_vars(registry, signed, path))) > 0
    v1 = signed['images']['v1']
    assert ok(play(export_vars(registry, signed, path, tags=('v2',)), check=True)) > 0
    assert set(layout_names(path / 'images')) == {'team/app:v1', 'team/app:v2'}
    assert ok(play(export_vars(registry, signed, path, tags=('v2',)))) > 0
    assert layout_names(path / 'images') == {'team/app:v2': signed['images']['v2'].manifest_digest}
    # v1's manifest, its layers and its signature went with its name.
    assert not (path / 'images/blobs/sha256' / v1.manifest_digest.split(':', 1)[1]).exists()
    assert not signature_file(path, v1.manifest_digest).exists()
    lock = json.loads((path / 'bundle.lock.json').read_text())
    assert [image['name'] for image in lock['images']] == ['team/app:v2']
    assert sorted(lock['checksums']) == ['images/.ocikit/signatures/%s/signature-1' % signed['images']['v2'].manifest_digest.replace(':', '='),
                                         'images/index.json']
    assert ok(play(export_vars(registry, signed, path, tags=('v2',)))) == 0


@pytest.mark.parametrize('values, expected', [
    ({'airgap_bundle_action': 'push'}, 'value of airgap_bundle_action must be one of: export, import, got: push'),
    ({'airgap_bundle_images': [{'src': 'registry.example/app:1', 'tag': '2'}]}, 'airgap_bundle_images.tag. Supported parameters include'),
    ({'airgap_bundle_policy': '/etc/p.json'}, 'at most one of airgap_bundle_policy, airgap_bundle_policy_data and airgap_bundle_insecure_policy'),
    ({'airgap_bundle_images': [{'src': 'registry.example/app'}]}, 'airgap_bundle_images[0]: each item needs src naming one image'),
    ({'airgap_bundle_images': [{'src': 'a.example/x/app:1'}, {'src': 'b.example/x/app:1'}]}, 'two images would have one name in the bundle'),
    ({'airgap_bundle_action': 'import', 'airgap_bundle_dest': 'oci:/srv/x'}, 'airgap_bundle_dest must be docker://HOST'),
    ({'airgap_bundle_action': 'import', 'airgap_bundle_dest': 'docker://127.0.0.1:1/x'}, 'bundle.lock.json does not exist'),
])
def test_bad_input_is_refused_with_one_line(values, expected, tmp_path):
    run = play(dict({'airgap_bundle_action': 'export', 'airgap_bundle_path': str(tmp_path / 'bundle'), 'airgap_bundle_insecure_policy': True},
                    **values))
    assert run.rc != 0 and expected in failure(run), failure(run)
    assert not (tmp_path / 'bundle').exists()
