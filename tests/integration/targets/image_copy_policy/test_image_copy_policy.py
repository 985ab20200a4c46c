"""image_copy enforces containers-policy.json: images signed by skopeo (GPG simple signing) into dir: and into the
registry with a lookaside configured through registries.d are accepted or rejected, and a rejected copy leaves the
destination exactly as it was.

Keys are generated once per session (ed25519, fast) in a throwaway GNUPGHOME; skopeo signs with it. The policy
verifies with the exported public keyrings only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ocikit_it import blob_writes, creds, run_module, skopeo
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.gpgkeys import GpgHome, gpg_available

try:
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_keys
    sigstore_keys.require_cryptography()
except Exception:  # pylint: disable=broad-except  # any missing piece only skips the sigstore test
    sigstore = sigstore_keys = None

pytestmark = pytest.mark.skipif(shutil.which('skopeo') is None or not gpg_available(), reason='needs skopeo and gpg')

IDENTITY = 'example.com/signed/app:v1'


@dataclasses.dataclass
class World:
    """Signed images in dir: and in the registry, the keyrings, and the registries.d that finds the registry's signatures."""

    home: Path
    trusted: str
    trusted_keyring: Path
    other: str
    other_keyring: Path
    signed_dir: Path
    unsigned_ref: str
    registries_d: Path
    lookaside: Path
    registry_ref: str
    digest: str
    sigstore_dir: Path | None
    sigstore_public: Path | None


@pytest.fixture(scope='module')
def world(tmp_path_factory, registry):
    base = tmp_path_factory.mktemp('policy')
    gpg_home = GpgHome(base / 'gnupg', no_cache=False)
    home = gpg_home.path
    trusted = gpg_home.generate_key('ocikit trusted <trusted@example.com>')
    other = gpg_home.generate_key('ocikit other <other@example.com>')
    gpg_home.export_to(base / 'trusted.gpg', trusted)
    gpg_home.export_to(base / 'other.gpg', other)
    image = build_image(base / 'layout', 'v1', layers=[LayerSpec(size=20_000)])
    unsigned = build_image(base / 'unsigned', 'v1', layers=[LayerSpec(size=10_000)], seed=7)
    env = {'GNUPGHOME': str(home)}
    signed_dir = base / 'signed-dir'
    sign = ['--insecure-policy', 'copy', '--sign-by', trusted]
    subprocess.run(['skopeo', *sign, '--sign-identity', IDENTITY, image.oci_ref, 'dir:%s' % signed_dir], check=True, capture_output=True,
                   timeout=120, env=dict(os.environ, **env))
    lookaside = base / 'lookaside'
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n' % (registry.host, lookaside))
    registry_ref = registry.ref('signed/app', 'v1')
    subprocess.run(['skopeo', '--registries.d', str(registries_d), *sign, *registry.skopeo_flags('dest'), image.oci_ref,
                    'docker://%s' % registry_ref], check=True, capture_output=True, timeout=120, env=dict(os.environ, **env))
    sigstore_dir = sigstore_public = None
    if sigstore is not None:
        # Debian's skopeo is built without sigstore signing ("sigstore disabled"): the engine signs the same image as
        # skopeo would (containers/image's payload and envelope, checked against its fixtures in the unit tests).
        private, public = sigstore_keys.generate_key_pair('sigstore pass')
        (base / 'cosign.pub').write_bytes(public)
        sigstore_dir, sigstore_public = base / 'sigstore-dir', base / 'cosign.pub'
        shutil.copytree(signed_dir, sigstore_dir)
        key = sigstore_keys.load_private_key(private, 'sigstore pass')
        (sigstore_dir / 'signature-1').write_bytes(sigstore.sign(key, (sigstore_dir / 'manifest.json').read_bytes(), IDENTITY).to_blob())
    yield World(home, trusted, base / 'trusted.gpg', other, base / 'other.gpg', signed_dir, unsigned.oci_ref, registries_d, lookaside,
                registry_ref, image.manifest_digest, sigstore_dir, sigstore_public)
    gpg_home.close()


def signed_by(keyring: Path, identity: dict | None = None) -> dict:
    requirement = {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(keyring)}
    if identity is not None:
        requirement['signedIdentity'] = identity
    return requirement


def exact(reference: str = IDENTITY) -> dict:
    return {'type': 'exactReference', 'dockerReference': reference}


def write_policy(tmp_path: Path, policy: dict | str) -> str:
    path = tmp_path / 'policy.json'
    path.write_text(policy if isinstance(policy, str) else json.dumps(policy))
    return str(path)


@pytest.fixture
def dest(tmp_path, world):
    """A dir: destination that already holds another image (copied without a policy check)."""
    path = tmp_path / 'dest'
    held = run_module('image_copy', {'src': world.unsigned_ref, 'dest': 'dir:%s' % path, 'insecure_policy': True})
    assert not held.failed, held.msg
    return path


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob('*')) if p.is_file()}


def copy(src: str, dest: str, check: bool = False, **extra):
    return run_module('image_copy', dict({'src': src, 'dest': dest}, **extra), check=check)


def test_dir_image_signed_by_skopeo_is_accepted(world, tmp_path, dest):
    policy = write_policy(tmp_path, {'default': [{'type': 'reject'}],
                                     'transports': {'dir': {str(world.signed_dir): [signed_by(world.trusted_keyring, exact())]}}})
    out = copy('dir:%s' % world.signed_dir, 'dir:%s' % dest, policy=policy)
    assert not out.failed, out.msg
    assert out.result['digest'] == world.digest
    assert out.result['policy'] == {'source': policy, 'scope': 'transports.dir["%s"]' % world.signed_dir, 'requirement': 'signedBy',
                                    'key': world.trusted, 'identity': IDENTITY}
    # The signature travelled with the image.
    assert (dest / 'signature-1').read_bytes() == (world.signed_dir / 'signature-1').read_bytes()


def test_dir_image_with_a_sigstore_signature_is_accepted(world, tmp_path):
    if world.sigstore_dir is None:
        pytest.skip('needs cryptography to make a sigstore key')
    requirement = {'type': 'sigstoreSigned', 'keyPath': str(world.sigstore_public), 'signedIdentity': exact()}
    out = copy('dir:%s' % world.sigstore_dir, 'dir:%s' % (tmp_path / 'out'), policy_data={'default': [requirement]})
    assert not out.failed, out.msg
    assert out.result['policy']['requirement'] == 'sigstoreSigned'
    assert out.result['policy']['key'].startswith('public key "%s" (' % world.sigstore_public)
    assert out.result['policy']['identity'] == IDENTITY
    # The GPG keyring cannot verify it, and a signedBy policy does not take a sigstore signature for one.
    before_fail = tmp_path / 'never'
    out = copy('dir:%s' % world.sigstore_dir, 'dir:%s' % before_fail, policy_data={'default': [signed_by(world.trusted_keyring, exact())]})
    assert out.failed and out.msg.endswith('signature 1 is a "sigstore-json" signature, not a simple-signing signature'), out.msg
    assert not before_fail.exists()


def test_registry_image_signed_into_the_lookaside_is_accepted(world, registry, tmp_path):
    repository = world.registry_ref.rsplit(':', 1)[0]
    out = copy('docker://' + world.registry_ref, 'dir:%s' % (tmp_path / 'out'), registries_d=str(world.registries_d),
               policy_data={'default': [{'type': 'reject'}], 'transports': {'docker': {repository: [signed_by(world.trusted_keyring)]}}},
               **creds(registry))
    assert not out.failed, out.msg
    assert out.result['digest'] == world.digest
    assert out.result['policy'] == {'source': 'inline', 'scope': 'transports.docker["%s"]' % repository, 'requirement': 'signedBy',
                                    'key': world.trusted, 'identity': world.registry_ref}
    assert (tmp_path / 'out' / 'signature-1').is_file()


def test_check_mode_and_default_policy(world, registry, tmp_path):
    out = copy('docker://' + world.registry_ref, 'dir:%s' % (tmp_path / 'never'), check=True, registries_d=str(world.registries_d),
               policy_data={'default': [signed_by(world.other_keyring)]}, **creds(registry))
    assert out.failed and 'signature 1: signature by unknown key %s' % world.trusted in out.msg
    assert not (tmp_path / 'never').exists()
    # No policy option: the machine's policy (insecureAcceptAnything on the test bed) is read and named.
    out = copy(world.unsigned_ref, 'dir:%s' % (tmp_path / 'plain'))
    assert not out.failed, out.msg
    assert out.result['policy'] == {'source': '/etc/containers/policy.json', 'scope': 'default', 'requirement': 'insecureAcceptAnything'}


def _tampered(world, tmp_path, what):
    copy_dir = tmp_path / 'tampered'
    shutil.copytree(world.signed_dir, copy_dir)
    if what == 'manifest':
        doc = json.loads((copy_dir / 'manifest.json').read_bytes())
        (copy_dir / 'manifest.json').write_text(json.dumps(doc, indent=1))
    else:
        data = bytearray((copy_dir / 'signature-1').read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy_dir / 'signature-1').write_bytes(bytes(data))
    return copy_dir


@pytest.mark.parametrize('case', ['wrong-key', 'unsigned', 'tampered-manifest', 'tampered-signature', 'identity-exact', 'identity-repository',
                                  'identity-remap', 'reject-scope', 'missing-key-file'])
def test_rejections_leave_the_destination_alone(world, tmp_path, dest, case):
    src_dir = world.signed_dir
    requirement = signed_by(world.trusted_keyring, exact())
    if case == 'wrong-key':
        requirement = signed_by(world.other_keyring, exact())
        reason = 'signature 1: signature by unknown key %s' % world.trusted
    elif case == 'unsigned':
        reason = 'a signature was required, but no signature exists'
    elif case == 'tampered-manifest':
        src_dir = _tampered(world, tmp_path, 'manifest')
        reason = 'signature 1: it is for manifest digest "%s", which does not match the image\'s manifest' % world.digest
    elif case == 'tampered-signature':
        src_dir = _tampered(world, tmp_path, 'signature')
        reason = 'signature 1: '
    elif case == 'identity-exact':
        requirement = signed_by(world.trusted_keyring, exact('example.com/signed/app:v2'))
        reason = 'signature 1: its identity "%s" is not accepted by exactReference' % IDENTITY
    elif case == 'identity-repository':
        requirement = signed_by(world.trusted_keyring, {'type': 'exactRepository', 'dockerRepository': 'example.com/other/app'})
        reason = 'signature 1: its identity "%s" is not accepted by exactRepository' % IDENTITY
    elif case == 'identity-remap':
        # dir: images have no docker reference: matchRepoDigestOrExact (the default) and remapIdentity cannot match.
        requirement = signed_by(world.trusted_keyring, {'type': 'remapIdentity', 'prefix': 'example.com', 'signedPrefix': 'example.com'})
        reason = 'signature 1: its identity "%s" is not accepted by remapIdentity' % IDENTITY
    elif case == 'reject-scope':
        requirement = {'type': 'reject'}
        reason = 'the policy rejects this image ("type": "reject")'
    else:
        requirement = signed_by(tmp_path / 'missing.gpg', exact())
        reason = 'GPG keyring %s does not exist' % (tmp_path / 'missing.gpg')
    source = world.unsigned_ref if case == 'unsigned' else 'dir:%s' % src_dir
    policy = write_policy(tmp_path, {'default': [requirement]})
    before = snapshot(dest)
    out = copy(source, 'dir:%s' % dest, policy=policy)
    assert out.failed
    assert out.result.get('error_type') == 'PolicyRejectedError', out.msg
    assert out.msg.startswith('%s -> dir:%s: policy %s rejects "%s" (scope default, requirement 1 ' % (source, dest, policy, source)), out.msg
    assert '): ' + reason in out.msg, out.msg
    assert '\n' not in out.msg and 'Traceback' not in out.msg
    assert snapshot(dest) == before


def test_rejected_registry_source_writes_nothing_to_a_registry(world, registry, tmp_path):
    target = 'docker://' + registry.ref('policy/target', 'v1')
    registry.clear_requests()
    out = copy('docker://' + world.registry_ref, target, registries_d=str(world.registries_d),
               policy_data={'default': [signed_by(world.other_keyring)]}, **creds(registry))
    assert out.failed and out.result.get('error_type') == 'PolicyRejectedError', out.msg
    assert out.msg.endswith('(scope default, requirement 1 signedBy (GPGKeys, keyPath "%s")): signature 1: signature by unknown key %s'
                            % (world.other_keyring, world.trusted)), out.msg
    assert blob_writes(registry) == []


def test_registry_identity_mismatch(world, registry, tmp_path):
    # The same manifest under another tag: its lookaside signature (by digest) names :v1, the default matchRepoDigestOrExact wants :v2.
    alias = registry.ref('signed/app', 'v2')
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), *registry.skopeo_flags('dest'), 'docker://' + world.registry_ref,
           'docker://' + alias)
    out = copy('docker://' + alias, 'dir:%s' % (tmp_path / 'out'), registries_d=str(world.registries_d),
               policy_data={'default': [signed_by(world.trusted_keyring)]}, **creds(registry))
    assert out.failed and out.result.get('error_type') == 'PolicyRejectedError', out.msg
    assert out.msg.endswith('signature 1: its identity "%s" is not accepted by matchRepoDigestOrExact for "%s"' % (world.registry_ref, alias)), out.msg
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('text, problem', [
    ('{"default": [{"type": "insecureAcceptAnything"}], "colour": 1}', 'colour'),
    ('{"default": [{"type": "insecureAcceptAnything"}], "default": []}', 'default'),
    ('{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/a", "keyData": "YQ=="}]}', 'keyPath'),
    ('{"default": [{"type": "reject"}], "transports": {"dir": {"relative/path": [{"type": "reject"}]}}}',
     '"relative/path": it must be an absolute path'),
    ('{"default": [', 'is not valid JSON'),
], ids=['unknown-key', 'duplicate-key', 'two-key-sources', 'bad-scope', 'not-json'])
def test_malformed_policy_fails_before_anything(world, tmp_path, dest, text, problem):
    policy = write_policy(tmp_path, text)
    before = snapshot(dest)
    out = copy('dir:%s' % world.signed_dir, 'dir:%s' % dest, policy=policy)
    assert out.failed and out.result.get('error_type') == 'PolicyError', out.msg
    assert out.msg.startswith('dir:%s -> dir:%s: policy %s' % (world.signed_dir, dest, policy)) and problem in out.msg, out.msg
    assert snapshot(dest) == before


def test_policy_options_are_mutually_exclusive(world, tmp_path):
    out = copy(world.unsigned_ref, 'dir:%s' % (tmp_path / 'x'), policy=str(tmp_path / 'p.json'), insecure_policy=True)
    assert out.failed and 'mutually exclusive: policy|policy_data|insecure_policy' in out.msg, out.msg
    out = copy(world.unsigned_ref, 'dir:%s' % (tmp_path / 'x'), policy=str(tmp_path / 'absent.json'))
    assert out.failed and out.msg.endswith('policy %s does not exist' % (tmp_path / 'absent.json')), out.msg
    assert not (tmp_path / 'x').exists()


def test_registry_to_registry_copy_writes_the_signature_to_the_lookaside(world, registry, tmp_path):
    # The destination's write lookaside is the registry-wide one of world.registries_d: its signature is where skopeo looks for it.
    target = registry.ref('policy/signed-copy', 'v1')
    repository = world.registry_ref.rsplit(':', 1)[0]
    policy_data = {'default': [{'type': 'reject'}], 'transports': {'docker': {repository: [signed_by(world.trusted_keyring)]}}}
    signature = world.lookaside / ('policy/signed-copy@%s' % world.digest.replace(':', '=')) / 'signature-1'
    registry.clear_requests()
    out = copy('docker://' + world.registry_ref, 'docker://' + target, registries_d=str(world.registries_d), policy_data=policy_data,
               **creds(registry))
    assert not out.failed, out.msg
    assert out.result['changed'] and out.result['digest'] == world.digest
    source_signature = world.lookaside / ('signed/app@%s' % world.digest.replace(':', '=')) / 'signature-1'
    assert signature.read_bytes() == source_signature.read_bytes()
    assert not signature.with_name('signature-2').exists()
    # skopeo reads the destination image's signature from the same lookaside and accepts it under signedBy.
    skopeo_policy = write_policy(tmp_path, {'default': [{'type': 'reject'}], 'transports': {'docker': {target.rsplit(':', 1)[0]: [
        signed_by(world.trusted_keyring, exact(world.registry_ref))]}}})
    skopeo('--registries.d', str(world.registries_d), '--policy', skopeo_policy, 'copy', *registry.skopeo_flags('src'), 'docker://' + target,
           'dir:%s' % (tmp_path / 'by-skopeo'))
    assert (tmp_path / 'by-skopeo' / 'signature-1').read_bytes() == signature.read_bytes()
    rejected = skopeo('--registries.d', str(world.registries_d), '--policy', write_policy(tmp_path, {'default': [signed_by(world.other_keyring)]}),
                      'copy', *registry.skopeo_flags('src'), 'docker://' + target, 'dir:%s' % (tmp_path / 'never'), check=False)
    assert rejected.returncode != 0 and 'Source image rejected' in rejected.stderr, rejected.stderr
    # Again: the destination holds the image and its signature, nothing is written.
    stamp = signature.stat()
    registry.clear_requests()
    out = copy('docker://' + world.registry_ref, 'docker://' + target, registries_d=str(world.registries_d), policy_data=policy_data,
               **creds(registry))
    assert not out.failed, out.msg
    assert not out.result['changed']
    assert blob_writes(registry) == []
    assert (signature.stat().st_ino, signature.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)


def test_registry_destination_with_an_http_lookaside_fails_before_writing(world, registry, tmp_path):
    # Only this repository's lookaside is an http server without a staging directory: its signatures cannot be written.
    registries_d = tmp_path / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n  %s:\n    lookaside: http://127.0.0.1:9/sigs\n'
                                               % (registry.host, world.lookaside, registry.ref('policy/http-lookaside', 'v1').rsplit(':', 1)[0]))
    target = 'docker://' + registry.ref('policy/http-lookaside', 'v1')
    registry.clear_requests()
    out = copy('docker://' + world.registry_ref, target, registries_d=str(registries_d), insecure_policy=True, **creds(registry))
    assert out.failed
    assert out.msg.endswith('the source has 1 signature and the destination cannot store signatures; '
                            'set remove_signatures: true to copy without them'), out.msg
    assert blob_writes(registry) == []
    # Without the signatures the copy goes through, and nothing is written to the lookaside.
    out = copy('docker://' + world.registry_ref, target, registries_d=str(registries_d), insecure_policy=True, remove_signatures=True,
               **creds(registry))
    assert not out.failed and out.result['changed'], out.msg
    assert not (world.lookaside / 'policy' / ('http-lookaside@%s' % world.digest.replace(':', '='))).exists()


def test_image_copy_signs_for_skopeo_and_is_idempotent(world, registry, tmp_path):
    """sign_by into a registry: skopeo accepts the signature under signedBy; a second run writes nothing."""
    target = registry.ref('policy/signed-by-us', 'v1')
    repository = target.rsplit(':', 1)[0]
    signature = world.lookaside / ('policy/signed-by-us@%s' % world.digest.replace(':', '=')) / 'signature-1'
    args = dict(registries_d=str(world.registries_d), insecure_policy=True, sign_by=world.trusted, sign_gnupghome=str(world.home), **creds(registry))
    out = copy('oci:%s:v1' % (world.home.parent / 'layout'), 'docker://' + target, **args)
    assert not out.failed, out.msg
    assert out.result['changed'] and out.result['digest'] == world.digest
    assert out.result['signed'] == [{'type': 'gpg', 'key': world.trusted, 'identity': target, 'created': True}]
    skopeo_policy = write_policy(tmp_path, {'default': [{'type': 'reject'}], 'transports': {'docker': {repository: [
        signed_by(world.trusted_keyring)]}}})
    skopeo('--registries.d', str(world.registries_d), '--policy', skopeo_policy, 'copy', *registry.skopeo_flags('src'), 'docker://' + target,
           'dir:%s' % (tmp_path / 'by-skopeo'))
    assert (tmp_path / 'by-skopeo' / 'signature-1').read_bytes() == signature.read_bytes()
    # skopeo standalone-verify agrees on the payload: the digest and the identity we signed.
    verified = subprocess.run(['skopeo', 'standalone-verify', str(tmp_path / 'by-skopeo' / 'manifest.json'), target, world.trusted,
                               str(signature)], capture_output=True, text=True, env=dict(os.environ, GNUPGHOME=str(world.home)), check=False)
    assert verified.returncode == 0 and world.digest in verified.stdout, verified.stderr
    stamp = signature.stat()
    registry.clear_requests()
    again = copy('oci:%s:v1' % (world.home.parent / 'layout'), 'docker://' + target, **args)
    assert not again.failed and not again.result['changed'], again.msg
    assert again.result['signed'] == [{'type': 'gpg', 'key': world.trusted, 'identity': target, 'created': False}]
    assert blob_writes(registry) == []
    assert (signature.stat().st_ino, signature.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)


def test_a_signature_skopeo_made_counts_as_ours(world, registry, tmp_path):
    """Signing in place an image skopeo signed with the same key for the same identity: nothing to do; another key adds its own."""
    place = registry.ref('policy/in-place', 'v1')
    args = dict(registries_d=str(world.registries_d), insecure_policy=True, sign_gnupghome=str(world.home), **creds(registry))
    out = copy('docker://' + world.registry_ref, 'docker://' + place, registries_d=str(world.registries_d), insecure_policy=True,
               **creds(registry))
    assert not out.failed, out.msg
    skopeos = world.lookaside / ('policy/in-place@%s' % world.digest.replace(':', '=')) / 'signature-1'
    before = skopeos.read_bytes()
    registry.clear_requests()
    out = copy('docker://' + place, 'docker://' + place, sign_by=world.trusted, sign_identity=world.registry_ref, **args)
    assert not out.failed, out.msg
    assert not out.result['changed'] and out.result['signed'][0]['created'] is False
    assert blob_writes(registry) == [] and skopeos.read_bytes() == before and not skopeos.with_name('signature-2').exists()
    # With the other key, a second signature joins skopeo's; skopeo accepts the image under either key.
    out = copy('docker://' + place, 'docker://' + place, sign_by=world.other, sign_identity=world.registry_ref, **args)
    assert not out.failed and out.result['changed'], out.msg
    assert skopeos.read_bytes() == before and skopeos.with_name('signature-2').is_file()
    for keyring in (world.trusted_keyring, world.other_keyring):
        policy = write_policy(tmp_path, {'default': [signed_by(keyring, exact(world.registry_ref))]})
        skopeo('--registries.d', str(world.registries_d), '--policy', policy, 'copy', *registry.skopeo_flags('src'),
               'docker://' + place, 'dir:%s' % (tmp_path / keyring.stem))
    again = copy('docker://' + place, 'docker://' + place, sign_by=world.other, sign_identity=world.registry_ref, **args)
    assert not again.failed and not again.result['changed'], again.msg
