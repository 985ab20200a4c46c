"""image_sign run as a module process, against skopeo 1.9.3 and the test bed's registry.

* standalone_sign / standalone_verify / manifest_digest interoperate with skopeo's commands of the same names;
* generate_key writes a pair the engine loads and the module signs and verifies with (and the cosign key fixtures sign
  what verify then accepts);
* verify checks a registry image that skopeo signed into a lookaside (a registries.d in a temp dir), with direct keys and
  with a policy, and fails with the exact reason for a wrong key, each identity_match rule, a tampered signature and an
  unsigned image.

GPG keys (ed25519, fast) are made once per module in a GNUPGHOME under pytest's temp dir; skopeo uses it through
GNUPGHOME. Nothing is written outside pytest's temp dirs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ocikit_it import creds, register_secret, run_module, skopeo
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.gpgkeys import GpgHome, gpg_available

from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import serialize_schema1, sign_schema1

try:
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys
    sigstore_keys.require_cryptography()
except Exception:  # pylint: disable=broad-except  # any missing piece only skips the sigstore tests
    sigstore_keys = None

pytestmark = pytest.mark.skipif(shutil.which('skopeo') is None or not gpg_available(), reason='needs skopeo and gpg')

PASSPHRASE = 'image-sign passphrase 42'
register_secret(PASSPHRASE)
needs_sigstore = pytest.mark.skipif(sigstore_keys is None, reason='needs cryptography and PyNaCl')


@dataclasses.dataclass
class World:
    base: Path
    home: Path
    trusted: str
    protected: str
    other: str
    trusted_keyring: Path
    other_keyring: Path
    registries_d: Path
    lookaside: Path
    signed_ref: str
    alias_ref: str
    unsigned_ref: str
    digest: str
    manifest: Path
    creds: dict
    src_flags: list


@pytest.fixture(scope='module')
def world(tmp_path_factory, registry):
    base = tmp_path_factory.mktemp('image-sign')
    # No passphrase cache: a wrong passphrase must fail even after the right one was used.
    gpg_home = GpgHome(base / 'gnupg')
    home = gpg_home.path
    trusted = gpg_home.generate_key('sign trusted <trusted@example.com>')
    protected = gpg_home.generate_key('sign protected <protected@example.com>', PASSPHRASE)
    other = gpg_home.generate_key('sign other <other@example.com>')
    gpg_home.export_to(base / 'trusted.gpg', trusted)
    (base / 'other.gpg').write_bytes(gpg_home.run('--armor', '--export', other))
    image = build_image(base / 'layout', 'v1', layers=[LayerSpec(size=20_000)])
    unsigned = build_image(base / 'unsigned', 'v1', layers=[LayerSpec(size=10_000)], seed=11)
    lookaside = base / 'lookaside'
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n' % (registry.host, lookaside))
    signed_ref, alias_ref, unsigned_ref = registry.ref('sign/app', 'v1'), registry.ref('sign/app', 'v2'), registry.ref('sign/plain', 'v1')
    env = dict(os.environ, GNUPGHOME=str(home))
    common = ['skopeo', '--registries.d', str(registries_d), '--insecure-policy', 'copy', *registry.skopeo_flags('dest')]
    subprocess.run([*common, '--sign-by', trusted, image.oci_ref, 'docker://' + signed_ref], check=True, capture_output=True, timeout=120, env=env)
    subprocess.run([*common, unsigned.oci_ref, 'docker://' + unsigned_ref], check=True, capture_output=True, timeout=120, env=env)
    # The same manifest under another tag, without a signature of its own: the lookaside is keyed by digest, so :v1's signature applies.
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), *registry.skopeo_flags('dest'), 'docker://' + signed_ref, 'docker://' + alias_ref)
    manifest = base / 'manifest.json'
    manifest.write_bytes(image.blob_path(image.manifest_digest).read_bytes())
    yield World(base, home, trusted, protected, other, base / 'trusted.gpg', base / 'other.gpg', registries_d, lookaside, signed_ref, alias_ref,
                unsigned_ref, image.manifest_digest, manifest, creds(registry), list(registry.skopeo_flags('src')))
    gpg_home.close()


def module(action: str, check: bool = False, **args):
    return run_module('image_sign', dict(args, action=action), check=check)


def skopeo_env(world: World) -> dict[str, str]:
    return dict(os.environ, GNUPGHOME=str(world.home))


# -- standalone sign / verify and manifest-digest against skopeo ----------------------------------------------------------


def test_standalone_sign_is_accepted_by_skopeo_and_idempotent(world, tmp_path):
    output = tmp_path / 'signature-1'
    args = dict(manifest=str(world.manifest), docker_reference='example.com/ns/app:1', sign_by=world.trusted, sign_gnupghome=str(world.home),
                signature=str(output))
    planned = module('standalone_sign', check=True, **args)
    assert not planned.failed and planned.result['changed'], planned.msg
    assert not output.exists()
    made = module('standalone_sign', **args)
    assert not made.failed and made.result['changed'], made.msg
    assert made.result['key'] == world.trusted and made.result['type'] == 'gpg' and made.result['identity'] == 'example.com/ns/app:1'
    done = subprocess.run(['skopeo', 'standalone-verify', str(world.manifest), 'example.com/ns/app:1', world.trusted, str(output)],
                          capture_output=True, text=True, env=skopeo_env(world), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'Signature verified, digest %s' % made.result['digest']
    assert made.result['digest'] == skopeo('manifest-digest', str(world.manifest)).stdout.strip()
    stamp = output.stat()
    again = module('standalone_sign', **args)
    assert not again.failed and not again.result['changed'], again.msg
    assert (output.stat().st_ino, output.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)


def test_skopeo_standalone_sign_is_accepted_by_standalone_verify(world, tmp_path):
    output = tmp_path / 'by-skopeo'
    passfile = tmp_path / 'pass'
    passfile.write_text(PASSPHRASE + '\n')
    subprocess.run(['skopeo', 'standalone-sign', '--passphrase-file', str(passfile), '-o', str(output), str(world.manifest), 'example.com/ns/app:2',
                    world.protected], check=True, capture_output=True, env=skopeo_env(world), timeout=120)
    digest = skopeo('manifest-digest', str(world.manifest)).stdout.strip()
    expected = {'changed': False, 'verified': True, 'digest': digest, 'key': world.protected, 'identity': 'example.com/ns/app:2', 'type': 'gpg'}
    by_home = module('standalone_verify', manifest=str(world.manifest), docker_reference='example.com/ns/app:2', fingerprints=[world.protected],
                     gnupghome=str(world.home), signature=str(output))
    assert not by_home.failed, by_home.msg
    assert {k: by_home.result[k] for k in expected} == expected
    # Normalised comparison, as skopeo: docker.io/library/busybox is busybox.
    wrong = module('standalone_verify', manifest=str(world.manifest), docker_reference='example.com/ns/app:3', fingerprints=[world.protected],
                   gnupghome=str(world.home), signature=str(output))
    assert wrong.failed and wrong.result['error_type'] == 'SignatureError'
    assert wrong.msg == 'docker reference "example.com/ns/app:2" does not match "example.com/ns/app:3"', wrong.msg
    not_failed = module('standalone_verify', manifest=str(world.manifest), docker_reference='example.com/ns/app:3', keys=[str(world.other_keyring)],
                        signature=str(output), fail_on_unverified=False)
    assert not not_failed.failed
    assert not_failed.result['verified'] is False and not_failed.result['reason'] == 'signature by unknown key %s' % world.protected


def test_standalone_sign_with_a_passphrase_file_and_a_wrong_passphrase(world, tmp_path):
    passfile = tmp_path / 'pass'
    passfile.write_text(PASSPHRASE + '\n')
    args = dict(manifest=str(world.manifest), docker_reference='example.com/ns/app:4', sign_by=world.protected, sign_gnupghome=str(world.home))
    made = module('standalone_sign', signature=str(tmp_path / 'sig'), sign_passphrase_file=str(passfile), **args)
    assert not made.failed and made.result['changed'], made.msg
    done = subprocess.run(['skopeo', 'standalone-verify', str(world.manifest), 'example.com/ns/app:4', world.protected, str(tmp_path / 'sig')],
                          capture_output=True, text=True, env=skopeo_env(world), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    wrong = module('standalone_sign', signature=str(tmp_path / 'never'), sign_passphrase='not ' + PASSPHRASE, **args)
    assert wrong.failed and wrong.msg == 'wrong passphrase for signing key %s' % world.protected, wrong.msg
    assert not (tmp_path / 'never').exists()


def test_manifest_digest_equals_skopeo_for_oci_and_signed_schema1(world, tmp_path):
    unsigned = serialize_schema1('ns/app', '1', 'amd64', ['sha256:' + 'a' * 64], ['{"id":"%s"}' % ('b' * 64)])
    schema1 = tmp_path / 'schema1.json'
    schema1.write_bytes(sign_schema1(unsigned))
    for path in (world.manifest, schema1):
        out = module('manifest_digest', manifest=str(path))
        assert not out.failed, out.msg
        assert out.result == {'changed': False, 'digest': skopeo('manifest-digest', str(path)).stdout.strip(), 'invocation': out.result['invocation']}
    missing = module('manifest_digest', manifest=str(tmp_path / 'absent'))
    assert missing.failed and missing.msg == 'manifest file "%s" does not exist' % (tmp_path / 'absent')


# -- generate_key ---------------------------------------------------------------------------------------------------------


@needs_sigstore
def test_generate_key_signs_and_verifies(world, tmp_path):
    prefix = tmp_path / 'ocikit'
    made = module('generate_key', output_prefix=str(prefix), passphrase=PASSPHRASE)
    assert not made.failed and made.result['changed'], made.msg
    assert stat.S_IMODE((tmp_path / 'ocikit.private').stat().st_mode) == 0o600
    private = (tmp_path / 'ocikit.private').read_bytes()
    assert private.startswith(b'-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n')
    key = sigstore_keys.load_private_key(private, PASSPHRASE)
    assert sigstore_keys.public_key_pem(key.public_key()) == (tmp_path / 'ocikit.pub').read_bytes()
    assert made.result['fingerprint'] == sigstore_keys.key_fingerprint(key.public_key())
    again = module('generate_key', output_prefix=str(prefix), passphrase=PASSPHRASE)
    assert not again.failed and not again.result['changed'] and (tmp_path / 'ocikit.private').read_bytes() == private
    refused = module('generate_key', output_prefix=str(prefix), passphrase='other words')
    assert refused.failed and refused.msg == ('refusing to overwrite the existing key pair "%s": cannot decrypt the private key "%s.private": '
                                              'wrong passphrase? (force: true replaces it)' % (prefix, prefix)), refused.msg
    signature = tmp_path / 'sigstore-signature'
    signed = module('standalone_sign', manifest=str(world.manifest), docker_reference='example.com/ns/app:5', signature=str(signature),
                    sign_by_sigstore_private_key=str(prefix) + '.private', sign_passphrase=PASSPHRASE)
    assert not signed.failed and signed.result['type'] == 'sigstore', signed.msg
    checked = module('standalone_verify', manifest=str(world.manifest), docker_reference='example.com/ns/app:5', signature=str(signature),
                     sigstore_keys=[str(prefix) + '.pub'])
    assert not checked.failed and checked.result['verified'] and checked.result['key'] == made.result['fingerprint'], checked.msg


@needs_sigstore
def test_cosign_key_fixture_signs_a_dir_image_that_verify_accepts(world, tmp_path):
    fixtures = next((parent / 'shared' / 'fixtures' / 'cosign-keys' for parent in Path(__file__).resolve().parents
                     if (parent / 'shared' / 'fixtures' / 'cosign-keys').is_dir()), None)
    if fixtures is None:
        pytest.skip('no shared/fixtures/cosign-keys beside the project')
    public = tmp_path / 'cosign.pub'
    public.write_bytes(sigstore_keys.public_key_pem(sigstore_keys.load_private_key((fixtures / 'encrypted-cosign.key').read_bytes(), 'hello').public_key()))
    image = tmp_path / 'image'
    copied = run_module('image_copy', {'src': 'docker://' + world.unsigned_ref, 'dest': 'dir:%s' % image, 'insecure_policy': True, **world.creds})
    assert not copied.failed, copied.msg
    signed = module('standalone_sign', manifest=str(image / 'manifest.json'), docker_reference=world.unsigned_ref, signature=str(image / 'signature-1'),
                    sign_by_sigstore_private_key=str(fixtures / 'encrypted-cosign.key'), sign_passphrase='hello')
    assert not signed.failed, signed.msg
    out = module('verify', image='dir:%s' % image, sigstore_public_key=[str(public)], identity=world.unsigned_ref)
    assert not out.failed, out.msg
    assert out.result['verified'] and out.result['requirement'] == 'sigstoreSigned' and out.result['formats'] == ['sigstore-json']
    assert out.result['accepted'] == [{'signature': 1, 'type': 'sigstore', 'identity': world.unsigned_ref,
                                       'key': 'public key "%s" (%s)' % (public, signed.result['key'])}]


# -- verify ---------------------------------------------------------------------------------------------------------------


def verify(world: World, image: str, check: bool = False, **args):
    return module('verify', check=check, image='docker://' + image, registries_d=str(world.registries_d), **world.creds, **args)


def test_verify_registry_image_with_keys_and_with_a_policy(world, tmp_path):
    out = verify(world, world.signed_ref, check=True, keys=[str(world.trusted_keyring), str(world.other_keyring)])
    assert not out.failed, out.msg
    assert {k: v for k, v in out.result.items() if k not in ('invocation', 'media_type')} == {
        'changed': False, 'verified': True, 'digest': world.digest, 'signatures': 1, 'formats': ['simple-signing'], 'policy': 'keys',
        'scope': 'default', 'requirement': 'signedBy',
        'accepted': [{'signature': 1, 'type': 'gpg', 'key': world.trusted, 'identity': world.signed_ref}],
        'reason': '"docker://%s" is verified by the GPG keys "%s", "%s": signature 1 by %s' % (
            world.signed_ref, world.trusted_keyring, world.other_keyring, world.trusted),
    }
    repository = world.signed_ref.rsplit(':', 1)[0]
    policy = tmp_path / 'policy.json'
    policy.write_text(json.dumps({'default': [{'type': 'reject'}], 'transports': {'docker': {repository: [
        {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(world.trusted_keyring)}]}}}))
    out = verify(world, world.signed_ref, policy=str(policy))
    assert not out.failed, out.msg
    assert (out.result['policy'], out.result['scope'], out.result['requirement']) == (str(policy), 'transports.docker["%s"]' % repository, 'signedBy')
    assert out.result['reason'] == 'policy %s accepts "docker://%s" (scope transports.docker["%s"])' % (policy, world.signed_ref, repository)
    # skopeo agrees with the same policy and registries.d.
    skopeo('--registries.d', str(world.registries_d), '--policy', str(policy), 'copy', *world.src_flags, 'docker://' + world.signed_ref,
           'dir:%s' % (tmp_path / 'by-skopeo'))
    out = verify(world, world.unsigned_ref, policy=str(policy))
    assert out.failed and out.result['error_type'] == 'PolicyRejectedError'
    assert out.msg == 'policy %s rejects "docker://%s" (scope default, requirement 1 reject): the policy rejects this image ("type": "reject")' % (
        policy, world.unsigned_ref), out.msg


@pytest.mark.parametrize('image, identity, match, error', [
    ('alias', None, 'matchRepoDigestOrExact', 'its identity "{signed}" is not accepted by matchRepoDigestOrExact for "{alias}"'),
    ('alias', None, 'matchRepository', None),
    ('alias', None, 'matchExact', 'its identity "{signed}" is not accepted by matchExact for "{alias}"'),
    ('alias', '{signed}', 'exactReference', None),
    ('alias', '{alias}', 'exactReference', 'its identity "{signed}" is not accepted by exactReference "{alias}" for "{alias}"'),
    ('signed', 'example.com/other/app', 'matchRepository',
     'its identity "{signed}" is not accepted by exactRepository "example.com/other/app" for "{signed}"'),
    ('signed', None, 'matchExact', None),
])
def test_verify_identity_rules(world, image, identity, match, error):
    names = {'signed': world.signed_ref, 'alias': world.alias_ref}
    args = {'keys': [str(world.trusted_keyring)], 'identity_match': match}
    if identity is not None:
        args['identity'] = identity.format(**names)
    out = verify(world, names[image], **args)
    if error is None:
        assert not out.failed and out.result['verified'], out.msg
        assert out.result['accepted'][0]['identity'] == world.signed_ref
        return
    assert out.failed and out.result['error_type'] == 'PolicyRejectedError'
    assert out.msg == '"docker://%s" is not verified by the GPG keys "%s": signature 1: %s' % (names[image], world.trusted_keyring,
                                                                                               error.format(**names)), out.msg


def test_verify_failures_wrong_key_unsigned_tampered(world, tmp_path):
    out = verify(world, world.signed_ref, keys=[str(world.other_keyring)])
    assert out.failed and out.msg == '"docker://%s" is not verified by the GPG keys "%s": signature 1: signature by unknown key %s' % (
        world.signed_ref, world.other_keyring, world.trusted), out.msg
    out = verify(world, world.unsigned_ref, keys=[str(world.trusted_keyring)])
    assert out.failed and out.msg == '"docker://%s" is not verified by the GPG keys "%s": a signature was required, but no signature exists' % (
        world.unsigned_ref, world.trusted_keyring), out.msg
    report = verify(world, world.unsigned_ref, keys=[str(world.trusted_keyring)], fail_on_unverified=False)
    assert not report.failed and report.result['verified'] is False and report.result['reason'] == out.msg
    assert report.result['signatures'] == 0 and report.result['accepted'] == []
    # A tampered copy of the signature, in a lookaside of its own.
    tampered = tmp_path / 'lookaside'
    shutil.copytree(world.lookaside, tampered)
    blob = next(tampered.rglob('signature-1'))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    registries_d = tmp_path / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'testbed.yaml').write_text((world.registries_d / 'testbed.yaml').read_text().replace(str(world.lookaside), str(tampered)))
    out = module('verify', image='docker://' + world.signed_ref, registries_d=str(registries_d), keys=[str(world.trusted_keyring)], **world.creds)
    assert out.failed and out.result['error_type'] == 'PolicyRejectedError'
    assert out.msg.startswith('"docker://%s" is not verified by the GPG keys "%s": signature 1: ' % (world.signed_ref, world.trusted_keyring)), out.msg


def test_verify_requires_a_verified_signature_unless_told_otherwise(world):
    anything = {'default': [{'type': 'insecureAcceptAnything'}]}
    out = verify(world, world.unsigned_ref, policy_data=anything)
    assert out.failed and out.msg == ('the policy rejects "docker://%s" (scope default): a verified signature is required, '
                                      'but no requirement of the scope verified one' % world.unsigned_ref), out.msg
    out = verify(world, world.unsigned_ref, policy_data=anything, require_signature=False)
    assert not out.failed and out.result['verified'] and out.result['requirement'] == 'insecureAcceptAnything', out.msg


def test_sign_in_place_then_verify_and_skopeo_accepts(world, registry, tmp_path):
    # A repository of its own, so that the shared unsigned image stays unsigned.
    target = registry.ref('sign/in-place', 'v1')
    skopeo('--insecure-policy', 'copy', *world.src_flags, *registry.skopeo_flags('dest'), 'docker://' + world.unsigned_ref, 'docker://' + target)
    args = dict(image='docker://' + target, sign_by=world.trusted, sign_gnupghome=str(world.home), registries_d=str(world.registries_d), **world.creds)
    planned = module('sign', check=True, **args)
    assert not planned.failed and planned.result['changed'], planned.msg
    assert module('verify', image='docker://' + target, keys=[str(world.trusted_keyring)], registries_d=str(world.registries_d),
                  fail_on_unverified=False, **world.creds).result['verified'] is False
    signed = module('sign', **args)
    assert not signed.failed and signed.result['changed'], signed.msg
    assert signed.result['signed'] == [{'type': 'gpg', 'key': world.trusted, 'identity': target, 'created': True}]
    checked = module('verify', image='docker://' + target, keys=[str(world.trusted_keyring)], registries_d=str(world.registries_d), **world.creds)
    assert not checked.failed and checked.result['accepted'] == [{'signature': 1, 'type': 'gpg', 'key': world.trusted, 'identity': target}]
    policy = tmp_path / 'policy.json'
    policy.write_text(json.dumps({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(world.trusted_keyring)}]}))
    skopeo('--registries.d', str(world.registries_d), '--policy', str(policy), 'copy', *world.src_flags, 'docker://' + target,
           'dir:%s' % (tmp_path / 'by-skopeo'))
    again = module('sign', **args)
    assert not again.failed and not again.result['changed'] and again.result['signatures'] == 1, again.msg
