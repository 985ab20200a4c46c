"""image_sign's engine (sign_actions.py): verification with direct keys and policies on containers/image's signature fixtures,
standalone sign/verify round trips (GPG with the fixtures' secret key, sigstore with a fresh key), manifest digests, key pairs.

The fixtures are containers/image's (shared/fixtures beside the clone, see signature/conftest.py); tests that need them skip
without them. GPG runs in throwaway homes and a GNUPGHOME under pytest's temp dir; nothing is written outside tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

import pytest

from ansible_collections.ocikit.images.plugins.module_utils import sign_actions
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidInputError,
    InvalidReferenceError,
    PolicyRejectedError,
    SignatureError,
    redact,
)
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_keys
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import parse_policy
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.testbed.ocikit_testbed.gpgkeys import GpgHome, gpg_available

TEST_KEY = '08CD26E446E2E95249B7A405E932F44B23E8DD43'
OTHER_KEY = 'F2B501009F78B0B340221A12A3CD242DA6028093'
VALID_DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55'
COSIGN_DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00'
COSIGN_IDENTITY = '192.168.64.2:5000/cosign-signed-single-sample'
MANIFEST = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                       'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'size': 2,
                                  'digest': 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'},
                       'layers': []}, indent=2).encode()
GPG = gpg_available()


def _shared() -> Path | None:
    override = os.environ.get('OCIKIT_SHARED_DIR')
    if override:
        candidate = Path(override) / 'fixtures'
        return candidate if candidate.is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / 'shared' / 'fixtures'
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope='module')
def fixtures() -> Path:
    shared = _shared()
    if shared is None or not (shared / 'containers-image-signature').is_dir():
        pytest.skip('containers/image signature fixtures not found (shared/fixtures beside the clone)')
    return shared / 'containers-image-signature'


@pytest.fixture(scope='module')
def secret_home(tmp_path_factory, fixtures):
    """A GNUPGHOME with the fixtures' secret keys (08CD... unprotected)."""
    if not GPG:
        pytest.skip('needs gpg')
    with GpgHome(tmp_path_factory.mktemp('gnupg'), no_cache=False) as home:
        home.import_keys(fixtures / 'secring.gpg')
        yield str(home)


def dir_ref(fixtures: Path, name: str):
    return parse_image_name('dir:%s' % (fixtures / name))


def verify(ref, policy, **options):
    return sign_actions.verify_image(ref, ConnectionOptions(), policy, sign_actions.VerifyOptions(**options))


# -- manifest_digest, passphrases, atomic writes ---------------------------------------------------------------------------


def test_manifest_digest_is_the_sha256_of_the_file(tmp_path):
    path = tmp_path / 'manifest.json'
    path.write_bytes(MANIFEST)
    assert sign_actions.manifest_file_digest(str(path)) == {'changed': False, 'digest': 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()}


def test_manifest_digest_of_a_fixture_and_missing_files(fixtures, tmp_path):
    assert sign_actions.manifest_file_digest(str(fixtures / 'image.manifest.json'))['digest'] == VALID_DIGEST
    with pytest.raises(InvalidInputError, match='^manifest file "%s" does not exist$' % (tmp_path / 'absent')):
        sign_actions.manifest_file_digest(str(tmp_path / 'absent'))
    with pytest.raises(InvalidInputError, match=r'^manifest file "%s" is not a regular file \(a directory\)$' % tmp_path):
        sign_actions.manifest_file_digest(str(tmp_path))


def test_passphrase_file_gives_its_first_line_and_is_remembered_as_a_secret(tmp_path):
    path = tmp_path / 'pass'
    path.write_bytes(b'first line secret\r\nsecond line\n')
    assert sign_actions.read_passphrase(None, str(path)) == 'first line secret'
    assert redact('message with first line secret in it') == 'message with ******** in it'
    assert sign_actions.read_passphrase('', None) == ''
    assert sign_actions.read_passphrase(None, None) is None
    with pytest.raises(InvalidInputError, match='^passphrase file %s does not exist$' % (tmp_path / 'nope')):
        sign_actions.read_passphrase(None, str(tmp_path / 'nope'))


def test_atomic_writes_need_an_existing_directory_and_keep_modes(tmp_path):
    target = tmp_path / 'missing' / 'file'
    with pytest.raises(InvalidInputError, match='^cannot write "%s": directory "%s" does not exist$' % (target, target.parent)):
        sign_actions.write_files_atomically([(str(target), b'x', 0o644)])
    private, public = tmp_path / 'a.private', tmp_path / 'a.pub'
    sign_actions.write_files_atomically([(str(private), b'secret', 0o600), (str(public), b'public', 0o644)])
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes() == b'secret' and public.read_bytes() == b'public'
    # No temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.private', 'a.pub']


# -- identities ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('image, identity, match, expected', [
    ('docker://example.com/app:v1', None, 'matchRepoDigestOrExact', {'type': 'matchRepoDigestOrExact'}),
    ('docker://example.com/app:v1', None, 'matchRepository', {'type': 'matchRepository'}),
    ('docker://example.com/app:v1', None, 'matchExact', {'type': 'matchExact'}),
    ('dir:/srv/x', 'example.com/app:v1', 'matchRepoDigestOrExact', {'type': 'exactReference', 'dockerReference': 'example.com/app:v1'}),
    ('dir:/srv/x', 'busybox:1', 'exactReference', {'type': 'exactReference', 'dockerReference': 'docker.io/library/busybox:1'}),
    ('dir:/srv/x', 'example.com/app:v1', 'matchExact', {'type': 'exactReference', 'dockerReference': 'example.com/app:v1'}),
    ('dir:/srv/x', 'example.com/app:v1', 'matchRepository', {'type': 'exactRepository', 'dockerRepository': 'example.com/app'}),
    ('dir:/srv/x', 'example.com/app', 'matchRepository', {'type': 'exactRepository', 'dockerRepository': 'example.com/app'}),
    ('dir:/srv/x', 'example.com/app@' + VALID_DIGEST, 'matchRepoDigestOrExact', {'type': 'exactRepository', 'dockerRepository': 'example.com/app'}),
])
def test_signed_identity_mapping(image, identity, match, expected):
    rule = sign_actions.signed_identity(parse_image_name(image), identity, match)
    assert rule == expected
    # Every mapping is a valid signedIdentity for the policy parser.
    parse_policy({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': '/k', 'signedIdentity': rule}]})


@pytest.mark.parametrize('image, identity, match, error, message', [
    ('dir:/srv/x', None, 'matchRepoDigestOrExact', InvalidInputError,
     'identity is required: a dir: image has no docker reference to compare the signed identity with'),
    ('docker://example.com/app:v1', None, 'exactReference', InvalidInputError,
     'identity_match: exactReference needs identity, the reference the signature must name'),
    ('dir:/srv/x', 'example.com/app', 'matchExact', InvalidInputError,
     'identity "example.com/app" has neither a tag nor a digest; identity_match: matchExact compares both '
     '(identity_match: matchRepository accepts any tag of the repository)'),
    ('dir:/srv/x', 'Not A Reference', 'matchExact', InvalidReferenceError, 'Not A Reference'),
    ('dir:/srv/x', 'example.com/app:v1', 'remapIdentity', InvalidInputError, 'identity_match must be one of'),
])
def test_signed_identity_refusals(image, identity, match, error, message):
    with pytest.raises(error) as caught:
        sign_actions.signed_identity(parse_image_name(image), identity, match)
    assert message in caught.value.message


def test_direct_policy_takes_one_kind_of_key(tmp_path):
    ref = parse_image_name('docker://example.com/app:v1')
    message = 'give either keys (GPG public keys) or sigstore_keys (sigstore public keys) to verify with'
    for keys, sigstore_paths in ((None, None), (['/a'], ['/b'])):
        with pytest.raises(InvalidInputError, match=r'^%s$' % re.escape(message)):
            sign_actions.direct_policy(ref, keys, sigstore_paths)
    policy = sign_actions.direct_policy(ref, ['relative.gpg'])
    assert policy.default[0].type == 'signedBy' and policy.default[0].key_paths == (os.path.abspath('relative.gpg'),)


# -- verify ----------------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not GPG, reason='needs gpg')
def test_verify_with_gpg_keys_lists_every_accepted_signature(fixtures):
    ref = dir_ref(fixtures, 'dir-img-valid-2')
    out = verify(ref, sign_actions.direct_policy(ref, [str(fixtures / 'public-key.gpg')], identity='testing/manifest:latest'), direct=True)
    entry = {'type': 'gpg', 'key': TEST_KEY, 'identity': 'testing/manifest:latest'}
    assert out == {
        'changed': False, 'verified': True, 'digest': VALID_DIGEST, 'media_type': 'application/vnd.docker.distribution.manifest.v2+json',
        'signatures': 2, 'formats': ['simple-signing'], 'policy': 'keys', 'scope': 'default', 'requirement': 'signedBy',
        'accepted': [dict(entry, signature=1), dict(entry, signature=2)],
        'reason': '"%s" is verified by the GPG keys "%s": signature 1 by %s, signature 2 by %s' % (ref, fixtures / 'public-key.gpg', TEST_KEY, TEST_KEY),
    }


@pytest.mark.skipif(not GPG, reason='needs gpg')
@pytest.mark.parametrize('image, keyring, identity, reason', [
    ('dir-img-valid', 'public-key-2.gpg', 'testing/manifest:latest', 'signature 1: signature by unknown key %s' % TEST_KEY),
    ('dir-img-valid', 'public-key.gpg', 'testing/manifest:notlatest',
     'signature 1: its identity "testing/manifest:latest" is not accepted by exactReference "docker.io/testing/manifest:notlatest"'),
    ('dir-img-unsigned', 'public-key.gpg', 'testing/manifest:latest', 'a signature was required, but no signature exists'),
    ('dir-img-modified-manifest', 'public-key.gpg', 'testing/manifest:latest',
     'signature 1: it is for manifest digest "%s", which does not match the image\'s manifest' % VALID_DIGEST),
    ('dir-img-cosign-valid', 'public-key.gpg', 'testing/manifest:latest',
     'signature 1 is a "sigstore-json" signature, not a simple-signing signature'),
])
def test_verify_failures_name_the_reason(fixtures, image, keyring, identity, reason):
    ref = dir_ref(fixtures, image)
    policy = sign_actions.direct_policy(ref, [str(fixtures / keyring)], identity=identity)
    prefix = '"%s" is not verified by the GPG keys "%s": ' % (ref, fixtures / keyring)
    with pytest.raises(PolicyRejectedError) as caught:
        verify(ref, policy, direct=True)
    assert caught.value.message.startswith(prefix + reason), caught.value.message
    out = verify(ref, policy, direct=True, fail_on_unverified=False)
    assert out['verified'] is False and out['accepted'] == [] and out['requirement'] is None
    assert out['reason'] == caught.value.message


def test_verify_with_sigstore_keys(fixtures):
    ref = dir_ref(fixtures, 'dir-img-cosign-valid')
    policy = sign_actions.direct_policy(ref, sigstore_keys=[str(fixtures / 'cosign.pub')], identity=COSIGN_IDENTITY,
                                        identity_match='matchRepository')
    out = verify(ref, policy, direct=True)
    assert out['verified'] and out['digest'] == COSIGN_DIGEST and out['requirement'] == 'sigstoreSigned'
    assert out['accepted'] == [{'signature': 1, 'type': 'sigstore', 'identity': COSIGN_IDENTITY,
                                'key': 'public key "%s" (%s)' % (fixtures / 'cosign.pub', out['accepted'][0]['key'].rsplit('(', 1)[1][:-1])}]
    assert out['accepted'][0]['key'].endswith('(sha256:c87a79018f346cc02482448b77296b0bea143ef2ccab99b04776fb0f638f301f)')
    # The signed identity has no tag: matchExact with a tagged identity rejects it (as the fixtures' README says).
    policy = sign_actions.direct_policy(ref, sigstore_keys=[str(fixtures / 'cosign.pub')], identity=COSIGN_IDENTITY + ':tag')
    with pytest.raises(PolicyRejectedError, match='its identity "%s" is not accepted by exactReference' % COSIGN_IDENTITY):
        verify(ref, policy, direct=True)


@pytest.mark.skipif(not GPG, reason='needs gpg')
def test_verify_with_a_policy_and_require_signature(fixtures):
    ref = dir_ref(fixtures, 'dir-img-valid')
    # A dir: image's policy identity is its path with symlinks resolved (as containers/image), and shared/ may be a symlink.
    scope = str(fixtures.resolve())
    policy = parse_policy({'default': [{'type': 'reject'}], 'transports': {'dir': {scope: [
        {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(fixtures / 'public-key.gpg'),
         'signedIdentity': {'type': 'exactReference', 'dockerReference': 'testing/manifest:latest'}}]}}})
    out = verify(ref, policy)
    assert out['verified'] and out['policy'] == 'inline' and out['scope'] == 'transports.dir["%s"]' % scope
    assert out['reason'] == 'the policy accepts "%s" (scope transports.dir["%s"])' % (ref, scope)
    anything = parse_policy({'default': [{'type': 'insecureAcceptAnything'}]})
    with pytest.raises(PolicyRejectedError) as caught:
        verify(ref, anything)
    assert caught.value.message == ('the policy rejects "%s" (scope default): a verified signature is required, '
                                    'but no requirement of the scope verified one' % ref)
    out = verify(ref, anything, require_signature=False)
    assert out['verified'] and out['requirement'] == 'insecureAcceptAnything' and out['accepted'] == []


# -- standalone sign / verify ------------------------------------------------------------------------------------------


def write_manifest(tmp_path: Path, content: bytes = MANIFEST) -> str:
    path = tmp_path / 'manifest.json'
    path.write_bytes(content)
    return str(path)


@pytest.mark.skipif(not GPG, reason='needs gpg')
def test_standalone_gpg_round_trip_is_idempotent(tmp_path, secret_home, fixtures):
    manifest = write_manifest(tmp_path)
    output = tmp_path / 'signature-1'
    digest = 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()
    planned = sign_actions.standalone_sign(manifest, 'example.com/app:v1', str(output), sign_by=TEST_KEY, gnupghome=secret_home, check_mode=True)
    assert planned == {'changed': True, 'digest': digest, 'identity': 'example.com/app:v1', 'signature': str(output), 'type': 'gpg', 'key': TEST_KEY}
    assert not output.exists()
    made = sign_actions.standalone_sign(manifest, 'example.com/app:v1', str(output), sign_by=TEST_KEY, gnupghome=secret_home)
    assert made == planned
    stamp = output.stat()
    again = sign_actions.standalone_sign(manifest, 'example.com/app:v1', str(output), sign_by=TEST_KEY[-16:], gnupghome=secret_home)
    assert again == dict(planned, changed=False)
    assert (output.stat().st_ino, output.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    checked = sign_actions.standalone_verify(manifest, 'example.com/app:v1', str(output), keys=[str(fixtures / 'public-key.gpg')])
    assert checked == {'changed': False, 'verified': True, 'digest': digest, 'key': TEST_KEY, 'identity': 'example.com/app:v1', 'type': 'gpg'}
    by_home = sign_actions.standalone_verify(manifest, 'example.com/app:v1', str(output), fingerprints=[TEST_KEY], gnupghome=secret_home)
    assert by_home == checked
    # Another reference is a new signature.
    other = sign_actions.standalone_sign(manifest, 'example.com/app:v2', str(output), sign_by=TEST_KEY, gnupghome=secret_home)
    assert other['changed'] and other['identity'] == 'example.com/app:v2'


@pytest.mark.skipif(not GPG, reason='needs gpg')
def test_standalone_verify_refusals(tmp_path, fixtures):
    manifest = str(fixtures / 'image.manifest.json')
    signature = str(fixtures / 'image.signature')
    keys = [str(fixtures / 'public-key.gpg')]
    assert sign_actions.standalone_verify(manifest, 'docker.io/testing/manifest', signature, keys=keys)['identity'] == 'testing/manifest'
    cases = [
        (dict(docker_reference='testing/other'), SignatureError, 'docker reference "testing/manifest" does not match "testing/other"'),
        (dict(manifest=write_manifest(tmp_path)), SignatureError, 'manifest digest does not match: the signature is for %s, the manifest is sha256:%s'
         % (VALID_DIGEST, hashlib.sha256(MANIFEST).hexdigest())),
        (dict(keys=[str(fixtures / 'public-key-2.gpg')]), SignatureError, 'signature by unknown key %s' % TEST_KEY),
        (dict(fingerprints=[OTHER_KEY], keys=[str(fixtures / 'pubring.gpg')]), SignatureError,
         'signature by key %s, which is not among the accepted keys (%s)' % (TEST_KEY, OTHER_KEY)),
        (dict(keys=None, sigstore_keys=[str(fixtures / 'cosign.pub')]), SignatureError,
         'signature file "%s" is not a sigstore signature' % signature),
        (dict(keys=None), InvalidInputError, 'give fingerprints (of keys in gnupghome), keys (public key files) or sigstore_keys to verify with'),
    ]
    for change, error, message in cases:
        args = dict(manifest_path=manifest, docker_reference='testing/manifest', signature_path=signature, keys=keys)
        args.update({('manifest_path' if k == 'manifest' else k): v for k, v in change.items()})
        with pytest.raises(error) as caught:
            sign_actions.standalone_verify(**args)
        assert caught.value.message == message
        if error is SignatureError:
            assert sign_actions.standalone_verify(fail_on_unverified=False, **args) == {'changed': False, 'verified': False, 'reason': message}


def test_standalone_sigstore_round_trip(tmp_path):
    private, public = sigstore_keys.generate_key_pair('pass phrase')
    (tmp_path / 'k.private').write_bytes(private)
    (tmp_path / 'k.pub').write_bytes(public)
    manifest = write_manifest(tmp_path)
    output = tmp_path / 'sig'
    made = sign_actions.standalone_sign(manifest, 'example.com/app:v1', str(output), sigstore_private_key=str(tmp_path / 'k.private'),
                                        passphrase='pass phrase')
    fingerprint = sigstore_keys.key_fingerprint(sigstore_keys.load_public_key(public))
    assert made == {'changed': True, 'digest': 'sha256:' + hashlib.sha256(MANIFEST).hexdigest(), 'identity': 'example.com/app:v1',
                    'signature': str(output), 'type': 'sigstore', 'key': fingerprint}
    blob = output.read_bytes()
    assert blob.startswith(sigstore.BLOB_PREFIX)
    again = sign_actions.standalone_sign(manifest, 'example.com/app:v1', str(output), sigstore_private_key=str(tmp_path / 'k.private'),
                                         passphrase='pass phrase')
    assert again == dict(made, changed=False) and output.read_bytes() == blob
    checked = sign_actions.standalone_verify(manifest, 'example.com/app:v1', str(output), sigstore_keys=[str(tmp_path / 'k.pub')])
    assert checked == {'changed': False, 'verified': True, 'digest': made['digest'], 'key': fingerprint, 'identity': 'example.com/app:v1',
                       'type': 'sigstore'}
    with pytest.raises(InvalidInputError, match=r'^cannot decrypt the private key sigstore private key "%s": wrong passphrase\?$' % (tmp_path / 'k.private')):
        sign_actions.standalone_sign(manifest, 'example.com/app:v1', str(output), sigstore_private_key=str(tmp_path / 'k.private'), passphrase='wrong')


# -- generate_key --------------------------------------------------------------------------------------------------------


def test_generate_key_writes_a_loadable_pair_once(tmp_path):
    prefix = str(tmp_path / 'signing')
    planned = sign_actions.generate_key(prefix, 'secret words', check_mode=True)
    assert planned == {'changed': True, 'fingerprint': None, 'private_key': prefix + '.private', 'public_key': prefix + '.pub'}
    assert list(tmp_path.iterdir()) == []
    made = sign_actions.generate_key(prefix, 'secret words')
    assert made['changed'] and made['fingerprint'].startswith('sha256:')
    private, public = Path(prefix + '.private').read_bytes(), Path(prefix + '.pub').read_bytes()
    assert stat.S_IMODE(os.stat(prefix + '.private').st_mode) == 0o600
    assert private.startswith(b'-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n') and public.startswith(b'-----BEGIN PUBLIC KEY-----\n')
    key = sigstore_keys.load_private_key(private, 'secret words')
    assert sigstore_keys.public_key_pem(key.public_key()) == public
    signed = sigstore.sign(key, MANIFEST, 'example.com/app:v1')
    assert sigstore.verify_cryptography(signed, [sigstore_keys.load_public_key(public)]).identity == 'example.com/app:v1'
    assert sign_actions.generate_key(prefix, 'secret words') == dict(made, changed=False)
    assert Path(prefix + '.private').read_bytes() == private


def test_generate_key_refuses_to_overwrite_unless_forced(tmp_path):
    prefix = str(tmp_path / 'signing')
    first = sign_actions.generate_key(prefix, 'one')
    with pytest.raises(InvalidInputError) as caught:
        sign_actions.generate_key(prefix, 'two')
    assert caught.value.message == ('refusing to overwrite the existing key pair "%s": cannot decrypt the private key "%s.private": '
                                    'wrong passphrase? (force: true replaces it)' % (prefix, prefix))
    assert 'two' not in caught.value.message.replace('"%s' % prefix, '')
    # Check mode predicts the replacement and writes nothing.
    before = Path(prefix + '.private').read_bytes()
    assert sign_actions.generate_key(prefix, 'two', force=True, check_mode=True)['changed']
    assert Path(prefix + '.private').read_bytes() == before
    replaced = sign_actions.generate_key(prefix, 'two', force=True)
    assert replaced['changed'] and replaced['fingerprint'] != first['fingerprint']
    os.unlink(prefix + '.pub')
    with pytest.raises(InvalidInputError, match='exists without its other half'):
        sign_actions.generate_key(prefix, 'two')
    other = sigstore_keys.generate_key_pair('x')[1]
    Path(prefix + '.pub').write_bytes(other)
    with pytest.raises(InvalidInputError, match=r'"%s.pub" is not the public key of "%s.private"' % (prefix, prefix)):
        sign_actions.generate_key(prefix, 'two')
    with pytest.raises(InvalidInputError, match=r'^generate_key needs passphrase or passphrase_file \(an empty passphrase is allowed\)$'):
        sign_actions.generate_key(prefix, None)


def test_cosign_fixture_keys_load_and_sign(fixtures):
    keys = fixtures.parent / 'cosign-keys'
    if not keys.is_dir():
        pytest.skip('no cosign-keys fixtures')
    for name in ('encrypted-sigstore-ec.key', 'encrypted-cosign.key'):
        manifest_key = sign_actions._load_sigstore_private_key(str(keys / name), 'hello')  # pylint: disable=protected-access
        signed = sigstore.sign(manifest_key, MANIFEST, 'example.com/app:v1')
        assert sigstore.verify_cryptography(signed, [manifest_key.public_key()]).payload.docker_reference == 'example.com/app:v1'
