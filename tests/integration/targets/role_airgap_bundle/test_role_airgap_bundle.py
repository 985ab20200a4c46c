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
    """The message of the task that failed."""
    return next(('%s: %s' % (name, result.get('msg') or json.dumps(result)[:3000]) for name, result in run.tasks() if result.get('_status') == 'failed'), '')


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
