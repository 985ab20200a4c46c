"""Signatures travel through OCI layouts and oci-archives (ocikit's convention, .ocikit/signatures/<algo>=<hex>/signature-N).

The air-gap flow against the real registry and skopeo: an image signed by skopeo (GPG simple signing, lookaside in a
registries.d of the test's own) is copied registry -> oci: -> oci-archive: -> another repository of the registry, each
step verified by a signedBy policy; the signature lands in the destination's lookaside and skopeo accepts it there
under a policy that maps the new repository to the signed one (remapIdentity). skopeo still reads the layout and the
archive; second copies are changed: false; image_delete removes the signatures with the last tag of their digest.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import shutil
import tarfile
from pathlib import Path

import pytest

from ocikit_it import blob_writes, creds, run_module, skopeo
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.gpgkeys import GpgHome, gpg_available

pytestmark = pytest.mark.skipif(shutil.which('skopeo') is None or not gpg_available(), reason='needs skopeo and gpg')


@dataclasses.dataclass
class World:
    """A registry image signed by skopeo into a file lookaside, and the keyrings that do and do not verify it."""

    trusted: str
    trusted_keyring: Path
    other_keyring: Path
    registries_d: Path
    lookaside: Path
    registry_ref: str
    digest: str

    def lookaside_signature(self, repository: str, number: int = 1) -> Path:
        return self.lookaside / ('%s@%s' % (repository, self.digest.replace(':', '='))) / ('signature-%d' % number)


@pytest.fixture(scope='module')
def world(tmp_path_factory, registry):
    base = tmp_path_factory.mktemp('sig-layout')
    gpg_home = GpgHome(base / 'gnupg', no_cache=False)
    home = gpg_home.path
    trusted = gpg_home.generate_key('ocikit trusted <trusted@example.com>')
    other = gpg_home.generate_key('ocikit other <other@example.com>')
    gpg_home.export_to(base / 'trusted.gpg', trusted)
    gpg_home.export_to(base / 'other.gpg', other)
    image = build_image(base / 'layout', 'v1', layers=[LayerSpec(size=30_000)], seed=11)
    lookaside = base / 'lookaside'
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    # Every repository of the test registry reads and writes this lookaside (never the default one under /var/lib/containers).
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n' % (registry.host, lookaside))
    registry_ref = registry.ref('signed/app', 'v1')
    subprocess.run(['skopeo', '--registries.d', str(registries_d), '--insecure-policy', 'copy', '--sign-by', trusted,
                    *registry.skopeo_flags('dest'), image.oci_ref, 'docker://%s' % registry_ref],
                   check=True, capture_output=True, timeout=120, env=dict(os.environ, GNUPGHOME=str(home)))
    yield World(trusted, base / 'trusted.gpg', base / 'other.gpg', registries_d, lookaside, registry_ref, image.manifest_digest)
    gpg_home.close()


def signed_by(keyring: Path, identity: dict | None = None) -> dict:
    requirement = {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(keyring)}
    if identity is not None:
        requirement['signedIdentity'] = identity
    return requirement


def copy(world: World, registry, src: str, dest: str, **extra):
    return run_module('image_copy', dict({'src': src, 'dest': dest, 'registries_d': str(world.registries_d)}, **creds(registry), **extra))


def layout_signature(layout: Path, digest: str, number: int = 1) -> Path:
    return layout / '.ocikit' / 'signatures' / digest.replace(':', '=') / ('signature-%d' % number)


def write_policy(tmp_path: Path, name: str, policy: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(policy))
    return str(path)


def test_air_gap_bundle_keeps_its_signatures(world, registry, tmp_path):
    repository = world.registry_ref.rsplit(':', 1)[0]
    original = world.lookaside_signature('signed/app').read_bytes()
    # What was signed: the original repository. Local copies name no repository, so their policy says which identity to expect.
    from_registry = {'default': [{'type': 'reject'}], 'transports': {'docker': {repository: [signed_by(world.trusted_keyring)]}}}
    local = {'default': [signed_by(world.trusted_keyring, {'type': 'exactReference', 'dockerReference': world.registry_ref})]}

    # 1. registry -> oci: the signature is stored with the image.
    layout = tmp_path / 'bundle'
    out = copy(world, registry, 'docker://' + world.registry_ref, 'oci:%s:app-v1' % layout, policy_data=from_registry)
    assert not out.failed, out.msg
    assert out.result['changed'] and out.result['digest'] == world.digest
    assert layout_signature(layout, world.digest).read_bytes() == original
    assert not layout_signature(layout, world.digest, 2).exists()
    index = json.loads((layout / 'index.json').read_bytes())
    assert [entry['digest'] for entry in index['manifests']] == [world.digest]
    again = copy(world, registry, 'docker://' + world.registry_ref, 'oci:%s:app-v1' % layout, policy_data=from_registry)
    assert not again.failed and not again.result['changed'], again.msg

    # skopeo and image_inspect read the layout as before; skopeo copies the one image without a tag, and no signature.
    assert json.loads(skopeo('inspect', 'oci:%s:app-v1' % layout).stdout)['Digest'] == world.digest
    skopeo('copy', '--quiet', 'oci:%s' % layout, 'dir:%s' % (tmp_path / 'peer'))
    assert not (tmp_path / 'peer' / 'signature-1').exists()
    inspected = run_module('image_inspect', {'image': 'oci:%s:app-v1' % layout})
    assert not inspected.failed and inspected.result['digest'] == world.digest, inspected.msg
    # image_sign verifies the signature stored in the layout (a layout has no docker reference: identity says which).
    verified = run_module('image_sign', {'action': 'verify', 'image': 'oci:%s:app-v1' % layout, 'keys': [str(world.trusted_keyring)],
                                         'identity': world.registry_ref})
    assert not verified.failed and verified.result['verified'] and verified.result['signatures'] == 1, verified.msg
    assert verified.result['accepted'] == [{'signature': 1, 'type': 'gpg', 'key': world.trusted, 'identity': world.registry_ref}]

    # 2. oci: -> oci-archive: the signature is verified from the layout, then carried into the archive.
    archive = tmp_path / 'bundle.tar'
    rejected = copy(world, registry, 'oci:%s:app-v1' % layout, 'oci-archive:%s:app-v1' % archive,
                    policy_data={'default': [signed_by(world.other_keyring, local['default'][0]['signedIdentity'])]})
    assert rejected.failed and 'signature by unknown key %s' % world.trusted in rejected.msg, rejected.msg
    assert not archive.exists()
    out = copy(world, registry, 'oci:%s:app-v1' % layout, 'oci-archive:%s:app-v1' % archive, policy_data=local)
    assert not out.failed and out.result['changed'], out.msg
    assert out.result['policy']['key'] == world.trusted and out.result['policy']['identity'] == world.registry_ref
    member = '.ocikit/signatures/%s/signature-1' % world.digest.replace(':', '=')
    with tarfile.open(str(archive)) as tar:
        assert tar.extractfile(member).read() == original
    stamp = archive.stat()
    again = copy(world, registry, 'oci:%s:app-v1' % layout, 'oci-archive:%s:app-v1' % archive, policy_data=local)
    assert not again.failed and not again.result['changed'], again.msg
    assert (archive.stat().st_ino, archive.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    assert json.loads(skopeo('inspect', 'oci-archive:%s:app-v1' % archive).stdout)['Digest'] == world.digest
    verified = run_module('image_sign', {'action': 'verify', 'image': 'oci-archive:%s:app-v1' % archive, 'policy_data': local})
    assert not verified.failed and verified.result['verified'] and verified.result['signatures'] == 1, verified.msg

    # 3. oci-archive: -> another repository: the signature lands in that repository's lookaside.
    target = registry.ref('airgap/app', 'v1')
    out = copy(world, registry, 'oci-archive:%s:app-v1' % archive, 'docker://' + target, policy_data=local)
    assert not out.failed and out.result['changed'], out.msg
    assert out.result['digest'] == world.digest
    assert world.lookaside_signature('airgap/app').read_bytes() == original
    assert not world.lookaside_signature('airgap/app', 2).exists()
    registry.clear_requests()
    again = copy(world, registry, 'oci-archive:%s:app-v1' % archive, 'docker://' + target, policy_data=local)
    assert not again.failed and not again.result['changed'], again.msg
    assert blob_writes(registry) == []

    # skopeo verifies it there. The signature names signed/app, so a policy for airgap/app maps that repository
    # to the signed one (remapIdentity); with the default identity (matchRepoDigestOrExact) it is rejected.
    target_repository = target.rsplit(':', 1)[0]
    remap = {'type': 'remapIdentity', 'prefix': target_repository, 'signedPrefix': repository}
    accepted = write_policy(tmp_path, 'remap.json', {'default': [{'type': 'reject'}],
                                                     'transports': {'docker': {target_repository: [signed_by(world.trusted_keyring, remap)]}}})
    skopeo('--registries.d', str(world.registries_d), '--policy', accepted, 'copy', '--quiet', *registry.skopeo_flags('src'),
           'docker://' + target, 'dir:%s' % (tmp_path / 'by-skopeo'))
    assert (tmp_path / 'by-skopeo' / 'signature-1').read_bytes() == original
    strict = write_policy(tmp_path, 'strict.json', {'default': [{'type': 'reject'}],
                                                    'transports': {'docker': {target_repository: [signed_by(world.trusted_keyring)]}}})
    refused = skopeo('--registries.d', str(world.registries_d), '--policy', strict, 'copy', *registry.skopeo_flags('src'),
                     'docker://' + target, 'dir:%s' % (tmp_path / 'never'), check=False)
    assert refused.returncode != 0 and 'Source image rejected' in refused.stderr, refused.stderr
    # Our own copy out of the air-gapped repository accepts it under the same remapIdentity policy.
    out = copy(world, registry, 'docker://' + target, 'oci:%s:again' % (tmp_path / 'again'),
               policy_data={'default': [{'type': 'reject'}], 'transports': {'docker': {target_repository: [signed_by(world.trusted_keyring, remap)]}}})
    assert not out.failed and out.result['policy']['identity'] == world.registry_ref, out.msg
    assert layout_signature(tmp_path / 'again', world.digest).read_bytes() == original
    # exactRepository (the signed repository, whatever the image's name) is accepted by skopeo too.
    fixed = {'type': 'exactRepository', 'dockerRepository': repository}
    by_repository = write_policy(tmp_path, 'repository.json', {'default': [{'type': 'reject'}], 'transports': {'docker': {
        target_repository: [signed_by(world.trusted_keyring, fixed)]}}})
    skopeo('--registries.d', str(world.registries_d), '--policy', by_repository, 'copy', '--quiet', *registry.skopeo_flags('src'),
           'docker://' + target, 'dir:%s' % (tmp_path / 'by-repository'))
    assert (tmp_path / 'by-repository' / 'signature-1').read_bytes() == original


def test_image_delete_removes_signatures_with_the_last_tag(world, registry, tmp_path):
    layout = tmp_path / 'layout'
    for tag in ('a', 'b'):
        out = copy(world, registry, 'docker://' + world.registry_ref, 'oci:%s:%s' % (layout, tag), insecure_policy=True)
        assert not out.failed and out.result['changed'], out.msg
    signature = layout_signature(layout, world.digest)
    assert signature.read_bytes() == world.lookaside_signature('signed/app').read_bytes()
    out = run_module('image_delete', {'image': 'oci:%s:a' % layout})
    assert not out.failed and out.result['changed'] and out.result['deleted_blobs'] == [], out.msg
    assert signature.is_file()
    out = run_module('image_delete', {'image': 'oci:%s:b' % layout}, check=True)
    assert not out.failed and out.result['changed'], out.msg
    assert signature.is_file()
    out = run_module('image_delete', {'image': 'oci:%s:b' % layout})
    assert not out.failed and out.result['changed'] and world.digest in out.result['deleted_blobs'], out.msg
    assert not signature.parent.exists()
    assert json.loads(skopeo('inspect', '--raw', 'oci:%s' % layout, check=False).stdout or '{}') == {}


def test_remove_signatures_drops_them_from_the_layout(world, registry, tmp_path):
    layout = tmp_path / 'layout'
    ref = 'oci:%s:v1' % layout
    out = copy(world, registry, 'docker://' + world.registry_ref, ref, insecure_policy=True)
    assert not out.failed and layout_signature(layout, world.digest).is_file(), out.msg
    out = copy(world, registry, 'docker://' + world.registry_ref, ref, insecure_policy=True, remove_signatures=True)
    assert not out.failed and out.result['changed'], out.msg
    assert not layout_signature(layout, world.digest).parent.exists()
    out = copy(world, registry, 'docker://' + world.registry_ref, ref, insecure_policy=True, remove_signatures=True)
    assert not out.failed and not out.result['changed'], out.msg
    # Without remove_signatures the next copy puts them back (the destination held the image, not its signature).
    out = copy(world, registry, 'docker://' + world.registry_ref, ref, insecure_policy=True)
    assert not out.failed and out.result['changed'] and out.result['reason'] == 'the destination holds the image but not its 1 signature', out.msg
    assert layout_signature(layout, world.digest).is_file()


def test_hostile_signature_directory_fails_cleanly(world, registry, tmp_path):
    layout = tmp_path / 'layout'
    out = copy(world, registry, 'docker://' + world.registry_ref, 'oci:%s:v1' % layout, insecure_policy=True)
    assert not out.failed, out.msg
    secret = tmp_path / 'elsewhere'
    shutil.move(str(layout / '.ocikit'), str(secret))
    (layout / '.ocikit').symlink_to(secret)
    index = (layout / 'index.json').read_bytes()
    # As a source: one line naming the link, nothing followed.
    out = copy(world, registry, 'oci:%s:v1' % layout, 'dir:%s' % (tmp_path / 'out'), insecure_policy=True)
    assert out.failed and out.msg.endswith('signature directory %s is a symbolic link; refusing to follow it' % (layout / '.ocikit')), out.msg
    assert 'Traceback' not in out.msg and '\n' not in out.msg
    assert not (tmp_path / 'out').exists()
    # As a destination: refused before index.json changes.
    out = copy(world, registry, 'docker://' + world.registry_ref, 'oci:%s:v2' % layout, insecure_policy=True)
    assert out.failed and out.msg.endswith('signature directory %s is a symbolic link; refusing to follow it' % (layout / '.ocikit')), out.msg
    assert (layout / 'index.json').read_bytes() == index
