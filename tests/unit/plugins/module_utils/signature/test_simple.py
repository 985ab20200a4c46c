# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Simple signing (GPG): payloads, blob classification, signing and verification against containers/image's fixtures.

The verdicts are those of the fixtures' README (containers/image's Go tests). GPG runs in
throwaway homes under tmp_path; the one home with secret keys is session-scoped and its agent is
stopped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import types
from pathlib import Path

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ConfigError,
    InvalidInputError,
    InvalidReferenceError,
    ManifestError,
    SignatureError,
)
from ansible_collections.ocikit.images.plugins.module_utils.signature import simple
from ansible_collections.ocikit.images.tests.testbed.ocikit_testbed.gpgkeys import GpgHome, gpg_available

pytestmark = pytest.mark.skipif(not gpg_available() or simple.gnupg is None, reason='needs gpg and python-gnupg')

TEST_KEY = '08CD26E446E2E95249B7A405E932F44B23E8DD43'
PASSPHRASE_KEY = 'F2B501009F78B0B340221A12A3CD242DA6028093'
SUBKEY_PRIMARY = 'B9F4CDB9FD8C475BFA340AC38D54A947EE396F36'
SUBKEY_SIGNING = '57D1D95BBC53BA0EAFF0718CD75B3109B3BAAEAF'
REVOKED_PRIMARY = '6D88C5A1993648A17B2BB0DC6B8499AF63388D63'
MANIFEST_DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55'


def payload(critical=None, optional=None, **top):
    """A payload document (as a dict) with the given parts replaced."""
    document = {
        'critical': critical if critical is not None else {
            'type': 'atomic container signature',
            'image': {'docker-manifest-digest': MANIFEST_DIGEST},
            'identity': {'docker-reference': 'docker.io/library/busybox:latest'},
        },
        'optional': optional if optional is not None else {'creator': 'x', 'timestamp': 1},
    }
    document.update(top)
    return json.dumps(document).encode()


@pytest.fixture(scope='session')
def secret_gpg(tmp_path_factory, cimage_fixtures):
    """A GNUPGHOME with the fixtures' secret keys (08CD… unprotected, F2B5… with a passphrase).

    The agent caches nothing, so a wrong passphrase is refused even after a right one was used.
    """
    with GpgHome(tmp_path_factory.mktemp('gnupg-secret')) as home:
        home.import_keys(cimage_fixtures / 'secring.gpg')
        yield home


@pytest.fixture(scope='session')
def secret_home(secret_gpg):
    """The path of ``secret_gpg``."""
    return str(secret_gpg)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Throwaway homes go under tmp_path/tmp (so a test can see they are removed); GNUPGHOME points at an empty dir."""
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    user_home = tmp_path / 'user-gnupg'
    user_home.mkdir(mode=0o700)
    monkeypatch.setenv('GNUPGHOME', str(user_home))
    return tmp, user_home


# -- payload ---------------------------------------------------------------------------------


def test_new_payload_is_byte_for_byte_what_containers_image_signed(cimage_fixtures):
    # dir-img-valid/signature-1 was made by containers/image; its payload, rebuilt from its fields, is identical.
    signed, _primary, _signing = simple.verify_blob((cimage_fixtures / 'dir-img-valid' / 'signature-1').read_bytes(),
                                                    [cimage_fixtures / 'public-key.gpg'])
    rebuilt = simple.new_payload(MANIFEST_DIGEST, 'testing/manifest:latest', creator='atomic 0.1.13-dev', timestamp=1464398954)
    assert rebuilt == signed
    assert rebuilt.startswith(b'{"critical":{"identity":{"docker-reference":"testing/manifest:latest"},"image":')


def test_new_payload_escapes_as_go_and_defaults():
    raw = simple.new_payload(Digest(MANIFEST_DIGEST), 'docker.io/library/busybox:1', creator='a<b>&c\u2028', timestamp=7)
    assert raw == (b'{"critical":{"identity":{"docker-reference":"docker.io/library/busybox:1"},'
                   b'"image":{"docker-manifest-digest":"' + MANIFEST_DIGEST.encode() + b'"},"type":"atomic container signature"},'
                   b'"optional":{"creator":"a\\u003cb\\u003e\\u0026c\\u2028","timestamp":7}}')
    default = json.loads(simple.new_payload(MANIFEST_DIGEST, 'docker.io/library/busybox:1'))
    assert default['optional']['creator'] == simple.DEFAULT_CREATOR
    assert isinstance(default['optional']['timestamp'], int)
    assert json.loads(simple.new_payload(MANIFEST_DIGEST, 'x/y:1', creator=None, timestamp=3))['optional'] == {'timestamp': 3}


@pytest.mark.parametrize('reference, expected', [
    ('busybox:1', 'docker.io/library/busybox:1'),
    ('quay.io/a/b:t', 'quay.io/a/b:t'),
    ('busybox@' + MANIFEST_DIGEST, 'docker.io/library/busybox@' + MANIFEST_DIGEST),
])
def test_signing_identity_expands(reference, expected):
    assert simple.signing_identity(reference) == expected


def test_signing_identity_refuses_a_name_only_reference():
    with pytest.raises(InvalidReferenceError) as info:
        simple.signing_identity('busybox')
    assert info.value.message == 'the sign identity "busybox" must be a fully specified reference (with a tag or a digest)'


def test_parse_payload_reads_every_field():
    parsed = simple.parse_payload(payload(optional={'creator': 'atomic 1', 'timestamp': 1458239713, 'other': [1, {}]}))
    assert parsed == simple.SimplePayload('docker.io/library/busybox:latest', Digest(MANIFEST_DIGEST), 'atomic 1', 1458239713)


@pytest.mark.parametrize('timestamp, expected', [(1.0, 1), (1e3, 1000), (0, 0)])
def test_parse_payload_integral_timestamps(timestamp, expected):
    assert simple.parse_payload(payload(optional={'timestamp': timestamp})).timestamp == expected


CRITICAL = {'type': 'atomic container signature', 'image': {'docker-manifest-digest': MANIFEST_DIGEST},
            'identity': {'docker-reference': 'r'}}


@pytest.mark.parametrize('raw, message', [
    (b'This is not JSON\n', 'signature payload is not valid JSON: Expecting value at line 1 column 1'),
    (payload() + b' {}', 'signature payload is not valid JSON: Extra data at line 1 column '),
    (b'{"critical":{},"critical":{},"optional":{}}', 'signature payload is not valid JSON: duplicate key "critical"'),
    (payload().replace(b'"timestamp": 1', b'"timestamp": 1, "timestamp": 2'), 'signature payload is not valid JSON: duplicate key "timestamp"'),
    (b'[]', 'signature payload: the document is not a JSON object'),
    (payload(extra=1), 'signature payload: the document has an unexpected field "extra"'),
    (b'{"critical":{}}', 'signature payload: the document has no field "optional"'),
    (payload(critical=dict(CRITICAL, more=1)), 'signature payload: critical has an unexpected field "more"'),
    (payload(critical={'type': 'atomic container signature', 'image': {'docker-manifest-digest': MANIFEST_DIGEST}}),
     'signature payload: critical has no field "identity"'),
    (payload(critical=dict(CRITICAL, type='cosign container image signature')),
     'signature payload: unrecognized signature type "cosign container image signature"'),
    (payload(critical=dict(CRITICAL, type=1)), 'signature payload: critical.type is not a string'),
    (payload(critical=dict(CRITICAL, image={'docker-manifest-digest': MANIFEST_DIGEST, 'x': 1})),
     'signature payload: critical.image has an unexpected field "x"'),
    (payload(critical=dict(CRITICAL, image={'docker-manifest-digest': 'sha256:abc'})),
     "signature payload: critical.image.docker-manifest-digest: invalid digest 'sha256:abc': sha256 needs 64 lowercase hex characters"),
    (payload(critical=dict(CRITICAL, image=[])), 'signature payload: critical.image is not a JSON object'),
    (payload(critical=dict(CRITICAL, identity={'docker-reference': 5})),
     'signature payload: critical.identity.docker-reference is not a string'),
    (payload(critical=dict(CRITICAL, identity={'docker-reference': 'r', 'n': 1})),
     'signature payload: critical.identity has an unexpected field "n"'),
    (payload(optional=[]), 'signature payload: optional is not a JSON object'),
    (payload().replace(b'"optional": {"creator": "x", "timestamp": 1}', b'"optional": null'), 'signature payload: optional is not a JSON object'),
    (payload(optional={'creator': 1}), 'signature payload: optional.creator is not a string'),
    (payload(optional={'timestamp': 1.5}), 'signature payload: optional.timestamp is not an integer'),
    (payload(optional={'timestamp': '1'}), 'signature payload: optional.timestamp is not a number'),
    (payload(optional={'timestamp': True}), 'signature payload: optional.timestamp is not a number'),
    (payload().replace(b'"timestamp": 1', b'"timestamp": NaN'), 'signature payload is not valid JSON: NaN is not valid JSON'),
    (b'\xff', 'signature payload is not valid JSON: it is not UTF-8 text'),
])
def test_parse_payload_refuses(raw, message):
    with pytest.raises(SignatureError) as info:
        simple.parse_payload(raw)
    assert info.value.message.startswith(message), info.value.message


# -- blobs -----------------------------------------------------------------------------------


@pytest.mark.parametrize('first', [0xA0, 0xA1, 0xA2, 0xA3, 0xC8, 0x90, 0x91, 0x92, 0x3D, 0xC4, 0x88, 0x89, 0x8A, 0x8B, 0xC2])
def test_classify_openpgp_first_bytes(first):
    blob = bytes([first]) + b'rest'
    assert simple.classify_blob(blob) == ('simple-signing', blob)


@pytest.mark.parametrize('blob, expected', [
    (b'\x00sigstore-json\n{"a":1}', ('sigstore-json', b'{"a":1}')),
    (b'\x00simple-signing\n\xa3xyz', ('simple-signing', b'\xa3xyz')),
])
def test_classify_container(blob, expected):
    assert simple.classify_blob(blob) == expected


@pytest.mark.parametrize('blob, message', [
    (b'', 'empty signature blob'),
    (b'\x00sigstore-json', 'invalid signature format, missing newline'),
    (b'\x00sig\x01\n', 'invalid signature format, non-ASCII byte 0x1'),
    (b'\x00other\n', 'unrecognized signature format "other"'),
    (b'-----BEGIN PGP MESSAGE-----\n', 'unrecognized signature format: ASCII-armored or clearsigned OpenPGP is not accepted, '
                                       'a signature must be a binary OpenPGP signed message'),
    (b'\x84\x8c', 'unrecognized signature format, starting with binary 0x84'),
    (b'{"critical":{}}', 'unrecognized signature format, starting with binary 0x7b'),
])
def test_classify_refuses(blob, message):
    with pytest.raises(SignatureError) as info:
        simple.classify_blob(blob)
    assert info.value.message == message


# -- verification of containers/image's fixtures ---------------------------------------------


@pytest.mark.parametrize('name, keyring, reference, creator, timestamp, primary, signing', [
    ('image.signature', 'public-key.gpg', 'testing/manifest', 'atomic ', 1458239713, TEST_KEY, TEST_KEY),
    ('image.signature', 'public-key-1.gpg', 'testing/manifest', 'atomic ', 1458239713, TEST_KEY, TEST_KEY),
    ('image.signature', 'pubring.gpg', 'testing/manifest', 'atomic ', 1458239713, TEST_KEY, TEST_KEY),
    ('no-optional-fields.signature', 'public-key.gpg', 'testing/manifest', None, None, TEST_KEY, TEST_KEY),
    # Crypto and JSON are fine; the reference is only refused when matched (see below).
    ('invalid-reference.signature', 'public-key.gpg', 'UPPERCASEISINVALID', 'atomic ', 1458239713, TEST_KEY, TEST_KEY),
    ('subkey.signature', 'public-key-with-subkey.gpg', 'testing/manifest:latest', None, None, SUBKEY_PRIMARY, SUBKEY_SIGNING),
    ('subkey.signature-v3', 'public-key-with-subkey.gpg', 'testing/manifest:latest', None, None, SUBKEY_PRIMARY, SUBKEY_SIGNING),
])
def test_fixture_accepted(cimage_fixtures, name, keyring, reference, creator, timestamp, primary, signing):
    verified = simple.verify_signature((cimage_fixtures / name).read_bytes(), [cimage_fixtures / keyring])
    assert verified == simple.VerifiedSignature(reference, Digest(MANIFEST_DIGEST), primary, signing, creator, timestamp)


@pytest.mark.parametrize('name, keyring, message', [
    ('corrupt.signature', 'public-key.gpg', 'invalid signature by key E932F44B23E8DD43'),
    ('corrupt.signature-v3', 'public-key.gpg', 'invalid signature by key E932F44B23E8DD43'),
    ('expired.signature', 'public-key.gpg', 'the signature by key E932F44B23E8DD43 is expired'),
    ('invalid-blob.signature', 'public-key.gpg', 'signature payload is not valid JSON: Expecting value at line 1 column 1'),
    ('invalid-blob.signature-v3', 'public-key.gpg', 'signature payload is not valid JSON: Expecting value at line 1 column 1'),
    ('unknown-key.signature', 'pubring.gpg', 'signature by unknown key 5F9470E3BC6C3B55'),
    ('unknown-key.signature-v3', 'pubring.gpg', 'signature by unknown key 5F9470E3BC6C3B55'),
    ('unsigned-literal.signature', 'public-key.gpg', 'the signature blob is not signed: it holds data without a signature'),
    ('unsigned-encrypted.signature', 'public-key.gpg', 'unrecognized signature format, starting with binary 0x84'),
    ('invalid-cleartext.signature', 'public-key.gpg', 'unrecognized signature format: ASCII-armored or clearsigned OpenPGP is not accepted, '
                                                      'a signature must be a binary OpenPGP signed message'),
    ('subkey-revoked.signature', 'public-key-with-revoked-subkey.gpg', 'the signing key 3EF0F93A1F602997 is revoked'),
    ('subkey-revoked.signature-v3', 'public-key-with-revoked-subkey.gpg', 'the signing key 3EF0F93A1F602997 is revoked'),
    # The subkey's primary key is not known from public-key.gpg.
    ('subkey.signature', 'public-key.gpg', 'signature by unknown key D75B3109B3BAAEAF'),
    ('unknown-cosign-key.signature', 'public-key.gpg', 'the signature is a sigstore-json signature, not a simple signing (GPG) one'),
])
def test_fixture_rejected(cimage_fixtures, name, keyring, message):
    with pytest.raises(SignatureError) as info:
        simple.verify_signature((cimage_fixtures / name).read_bytes(), [cimage_fixtures / keyring])
    assert info.value.message == message


def test_key_outside_the_accepted_list_is_refused(cimage_fixtures):
    with pytest.raises(SignatureError) as info:
        simple.verify_signature((cimage_fixtures / 'image.signature').read_bytes(), [cimage_fixtures / 'pubring.gpg'],
                                ['0123456789ABCDEF0123456789ABCDEF01234567', 'DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF'])
    assert info.value.message == ('signature by key %s, which is not among the accepted keys '
                                  '(0123456789ABCDEF0123456789ABCDEF01234567, DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF)' % TEST_KEY)


def test_subkey_signature_is_accepted_by_its_primary_fingerprint_only(cimage_fixtures):
    blob = (cimage_fixtures / 'subkey.signature').read_bytes()
    keys = [cimage_fixtures / 'public-key-with-subkey.gpg']
    assert simple.verify_signature(blob, keys, [SUBKEY_PRIMARY.lower()]).key_fingerprint == SUBKEY_PRIMARY
    with pytest.raises(SignatureError) as info:
        simple.verify_signature(blob, keys, [SUBKEY_SIGNING])
    assert info.value.message.startswith('signature by key %s, which is not among the accepted keys' % SUBKEY_PRIMARY)


def test_key_data_bytes_armored_and_binary(cimage_fixtures):
    blob = (cimage_fixtures / 'image.signature').read_bytes()
    for keyfile in ('public-key.gpg', 'public-key-1.gpg'):
        data = (cimage_fixtures / keyfile).read_bytes()
        assert simple.verify_signature(blob, [data]).key_fingerprint == TEST_KEY


@pytest.mark.parametrize('keyrings, expected', [
    (['pubring.gpg'], [PASSPHRASE_KEY, TEST_KEY, SUBKEY_PRIMARY, REVOKED_PRIMARY]),
    (['public-key-1.gpg', 'public-key-2.gpg'], [TEST_KEY, PASSPHRASE_KEY]),
    (['public-key.gpg', 'public-key-1.gpg'], [TEST_KEY]),
])
def test_keyring_fingerprints(cimage_fixtures, keyrings, expected):
    assert simple.keyring_fingerprints([cimage_fixtures / name for name in keyrings]) == expected


def test_keyring_problems(tmp_path):
    with pytest.raises(ConfigError) as info:
        simple.keyring_fingerprints([tmp_path / 'absent.gpg'])
    assert info.value.message == 'GPG keyring "%s" does not exist' % (tmp_path / 'absent.gpg')
    with pytest.raises(ConfigError) as info:
        simple.keyring_fingerprints([b'not a key'])
    assert info.value.message == 'GPG key data holds no OpenPGP public key'
    os.mkfifo(tmp_path / 'fifo')
    with pytest.raises(ConfigError) as info:
        simple.keyring_fingerprints([str(tmp_path / 'fifo')])
    assert info.value.message == 'GPG keyring "%s" is not a regular file (a FIFO)' % (tmp_path / 'fifo')


@pytest.mark.parametrize('blob, message', [
    ('text', 'the signature blob is not bytes'),
    (b'\xa3' + b'\x00' * simple.MAX_SIGNATURE_SIZE, 'the signature blob exceeds the %d byte limit' % simple.MAX_SIGNATURE_SIZE),
])
def test_verify_refuses_before_gpg(cimage_fixtures, blob, message):
    with pytest.raises(SignatureError) as info:
        simple.verify_signature(blob, [cimage_fixtures / 'public-key.gpg'])
    assert info.value.message == message


def test_payload_bound_stops_a_compression_bomb(cimage_fixtures, monkeypatch):
    monkeypatch.setattr(simple, 'MAX_PAYLOAD_SIZE', 100)
    with pytest.raises(SignatureError) as info:
        simple.verify_signature((cimage_fixtures / 'image.signature').read_bytes(), [cimage_fixtures / 'public-key.gpg'])
    assert info.value.message == 'the signed payload exceeds the 100 byte limit'


def test_verification_uses_a_throwaway_home_and_removes_it(cimage_fixtures, private_tmp):
    tmp, user_home = private_tmp
    simple.verify_signature((cimage_fixtures / 'image.signature').read_bytes(), [cimage_fixtures / 'public-key.gpg'])
    assert not list(tmp.iterdir())
    assert not list(user_home.iterdir())


# -- dir-img-* directories: the containers/image GPG policy (signedBy public-key.gpg, matchExact) --


def dir_verdict(directory: Path, reference: str, keyring: Path) -> list[simple.VerifiedSignature]:
    """The signatures of a dir: image accepted for ``reference`` (matchExact), as the Go tests judge them."""
    manifest = (directory / 'manifest.json').read_bytes()
    accepted = []
    index = 1
    while (directory / ('signature-%d' % index)).exists():
        try:
            verified = simple.verify_signature((directory / ('signature-%d' % index)).read_bytes(), [keyring])
            simple.check_identity(verified.docker_reference, reference)
            simple.check_manifest_digest(manifest, verified.manifest_digest)
        except SignatureError:
            pass
        else:
            accepted.append(verified)
        index += 1
    return accepted


@pytest.mark.parametrize('directory, keyring, timestamps', [
    ('dir-img-valid', 'public-key.gpg', [1464398954]),
    ('dir-img-valid-2', 'public-key.gpg', [1464398954, 1464640051]),
    ('dir-img-mixed', 'public-key.gpg', [1464398954]),
    ('dir-img-valid-subkey', 'public-key-with-subkey.gpg', [None]),
])
def test_dir_accepted(cimage_fixtures, directory, keyring, timestamps):
    accepted = dir_verdict(cimage_fixtures / directory, 'docker.io/testing/manifest:latest', cimage_fixtures / keyring)
    assert [v.timestamp for v in accepted] == timestamps
    assert not dir_verdict(cimage_fixtures / directory, 'docker.io/testing/manifest:notlatest', cimage_fixtures / keyring)


@pytest.mark.parametrize('directory', ['dir-img-modified-manifest', 'dir-img-unsigned', 'dir-img-cosign-valid'])
def test_dir_rejected(cimage_fixtures, directory):
    assert not dir_verdict(cimage_fixtures / directory, 'docker.io/testing/manifest:latest', cimage_fixtures / 'public-key.gpg')


def test_dir_errors(cimage_fixtures):
    with pytest.raises(ManifestError):
        dir_verdict(cimage_fixtures / 'dir-img-manifest-digest-error', 'docker.io/testing/manifest:latest', cimage_fixtures / 'public-key.gpg')
    with pytest.raises(FileNotFoundError):
        dir_verdict(cimage_fixtures / 'dir-img-no-manifest', 'docker.io/testing/manifest:latest', cimage_fixtures / 'public-key.gpg')


# -- manifest and identity checks ------------------------------------------------------------


def test_manifest_digest(cimage_fixtures):
    manifest = (cimage_fixtures / 'image.manifest.json').read_bytes()
    assert simple.manifest_digest(manifest) == MANIFEST_DIGEST
    simple.check_manifest_digest(manifest, MANIFEST_DIGEST)
    simple.check_manifest_digest(manifest, Digest.from_bytes(manifest, 'sha512'))
    with pytest.raises(SignatureError) as info:
        simple.check_manifest_digest(b'unexpected manifest', MANIFEST_DIGEST)
    assert info.value.message == ('manifest digest does not match: the signature is for %s, the manifest is %s'
                                  % (MANIFEST_DIGEST, Digest.from_bytes(b'unexpected manifest')))
    with pytest.raises(ManifestError):
        simple.manifest_digest((cimage_fixtures / 'v2s1-invalid-signatures.manifest.json').read_bytes())


@pytest.mark.parametrize('signed, expected', [
    ('testing/manifest', 'docker.io/testing/manifest'),
    ('docker.io/testing/manifest', 'testing/manifest'),
    ('busybox:1', 'docker.io/library/busybox:1'),
])
def test_check_identity_matches_after_normalisation(signed, expected):
    simple.check_identity(signed, expected)


@pytest.mark.parametrize('signed, expected, message', [
    ('testing/manifest', 'example.com/does-not/match', 'docker reference "testing/manifest" does not match "example.com/does-not/match"'),
    ('testing/manifest', 'testing/manifest:latest', 'docker reference "testing/manifest" does not match "testing/manifest:latest"'),
    ('UPPERCASEISINVALID', 'testing/manifest', 'invalid docker reference "UPPERCASEISINVALID" in the signature'),
])
def test_check_identity_refuses(signed, expected, message):
    with pytest.raises(SignatureError) as info:
        simple.check_identity(signed, expected)
    assert info.value.message == message


# -- standalone verify -----------------------------------------------------------------------


@pytest.mark.parametrize('reference', ['testing/manifest', 'docker.io/testing/manifest'])
@pytest.mark.parametrize('fingerprints', [TEST_KEY, [TEST_KEY], 'DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF,' + TEST_KEY])
def test_standalone_verify(cimage_fixtures, reference, fingerprints):
    digest = simple.standalone_verify((cimage_fixtures / 'image.manifest.json').read_bytes(), reference, fingerprints,
                                      (cimage_fixtures / 'image.signature').read_bytes(), cimage_fixtures / 'public-key.gpg')
    assert digest == MANIFEST_DIGEST


@pytest.mark.parametrize('manifest, reference, fingerprints, name, error, message', [
    (None, 'example.com/does-not/match', TEST_KEY, 'image.signature', SignatureError,
     'docker reference "testing/manifest" does not match "example.com/does-not/match"'),
    (b'unexpected manifest', 'testing/manifest', TEST_KEY, 'image.signature', SignatureError,
     'manifest digest does not match: the signature is for %s, the manifest is %s' % (MANIFEST_DIGEST, Digest.from_bytes(b'unexpected manifest'))),
    (None, 'testing/manifest', TEST_KEY, 'invalid-reference.signature', SignatureError,
     'invalid docker reference "UPPERCASEISINVALID" in the signature'),
    (None, 'testing/manifest', PASSPHRASE_KEY, 'image.signature', SignatureError,
     'signature by key %s, which is not among the accepted keys (%s)' % (TEST_KEY, PASSPHRASE_KEY)),
    (None, 'testing/manifest', '', 'image.signature', InvalidInputError, 'at least one key fingerprint is required, and none may be empty'),
    (None, 'testing/manifest', [], 'image.signature', InvalidInputError, 'at least one key fingerprint is required, and none may be empty'),
    (None, 'testing/manifest', '--homedir=/', 'image.signature', InvalidInputError, 'invalid key fingerprint "--homedir=/": expected hexadecimal digits'),
    (None, 'Bad Ref', TEST_KEY, 'image.signature', InvalidReferenceError, 'invalid reference "Bad Ref": '),
])
def test_standalone_verify_refuses(cimage_fixtures, manifest, reference, fingerprints, name, error, message):
    manifest = manifest if manifest is not None else (cimage_fixtures / 'image.manifest.json').read_bytes()
    with pytest.raises(error) as info:
        simple.standalone_verify(manifest, reference, fingerprints, (cimage_fixtures / name).read_bytes(), [cimage_fixtures / 'pubring.gpg'])
    assert info.value.message.startswith(message), info.value.message


# -- signing ---------------------------------------------------------------------------------


def test_sign_and_verify_round_trip(cimage_fixtures, secret_home):
    manifest = (cimage_fixtures / 'image.manifest.json').read_bytes()
    blob = simple.standalone_sign(manifest, 'example.com/ns/app:1', TEST_KEY.lower(), gnupghome=secret_home, timestamp=1700000000)
    fmt, _chunk = simple.classify_blob(blob)
    assert fmt == 'simple-signing'
    assert simple.standalone_verify(manifest, 'example.com/ns/app:1', TEST_KEY, blob, cimage_fixtures / 'public-key.gpg') == MANIFEST_DIGEST
    verified = simple.verify_signature(blob, [cimage_fixtures / 'public-key.gpg'])
    assert (verified.docker_reference, verified.creator, verified.timestamp) == ('example.com/ns/app:1', simple.DEFAULT_CREATOR, 1700000000)


def test_signature_is_a_binary_inline_signed_message(cimage_fixtures, secret_home):
    payload_bytes = simple.new_payload(MANIFEST_DIGEST, 'docker.io/library/busybox:latest', timestamp=1)
    blob = simple.sign_payload(payload_bytes, TEST_KEY, gnupghome=secret_home)
    packets = subprocess.run(['gpg', '--homedir', secret_home, '--batch', '--list-packets'], input=blob, capture_output=True, check=False).stdout
    # One-pass signature, literal data of the exact payload, one signature packet of class 0x00 (binary, not text mode).
    assert b':onepass_sig packet:' in packets
    assert b':literal data packet:' in packets
    assert packets.count(b':signature packet:') == 1
    assert b'sigclass 0x00' in packets
    assert simple.verify_blob(blob, [cimage_fixtures / 'public-key.gpg'])[0] == payload_bytes


def test_sign_with_passphrase(cimage_fixtures, secret_home):
    blob = simple.standalone_sign(b'{}', 'busybox:1', PASSPHRASE_KEY, passphrase='WithPassphrase123', gnupghome=secret_home)
    verified = simple.verify_signature(blob, [cimage_fixtures / 'public-key-2.gpg'])
    assert verified.key_fingerprint == PASSPHRASE_KEY
    assert verified.manifest_digest == Digest.from_bytes(b'{}')


class _FlakyGPG:
    """A python-gnupg stand-in whose first sign() fails as gpg does when its agent does not answer, then signs."""

    def __init__(self, failures):
        self.failures = failures
        self.calls = 0

    def sign(self, data, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            return types.SimpleNamespace(stderr='[GNUPG:] INV_SGNR 0 %s\ngpg: signing failed: No agent running\n' % TEST_KEY, returncode=2,
                                         data=b'')
        return types.SimpleNamespace(stderr='[GNUPG:] SIG_CREATED S 22 8 00 1 %s\n' % TEST_KEY, returncode=0, data=b'\xa3signed')


@pytest.mark.parametrize('failures, outcome', [
    (1, b'\xa3signed'),
    (2, 'signing key %s cannot be used (gpg reason code 0) ("gpg: signing failed: No agent running")' % TEST_KEY),
])
def test_a_sign_failure_without_a_definite_reason_is_tried_once_more(monkeypatch, failures, outcome):
    fake = _FlakyGPG(failures)
    monkeypatch.setattr(simple, '_open_gpg', lambda home, binary: fake)
    if isinstance(outcome, bytes):
        assert simple.sign_payload(b'{}', TEST_KEY) == outcome and fake.calls == 2
    else:
        with pytest.raises(SignatureError) as caught:
            simple.sign_payload(b'{}', TEST_KEY)
        assert str(caught.value) == outcome and fake.calls == 2


@pytest.mark.parametrize('fingerprint, passphrase, error, message', [
    (PASSPHRASE_KEY, 'wrong', InvalidInputError, 'wrong passphrase for signing key %s' % PASSPHRASE_KEY),
    (PASSPHRASE_KEY, None, InvalidInputError, 'signing key %s is protected by a passphrase, and none was given' % PASSPHRASE_KEY),
    (PASSPHRASE_KEY, 'WithPassphrase123\n', InvalidInputError, 'invalid passphrase: it must not contain a line break'),
    (SUBKEY_PRIMARY, None, InvalidInputError, 'signing key %s has no secret key in GNUPGHOME "{home}"' % SUBKEY_PRIMARY),
    ('DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF', None, InvalidInputError,
     'signing key DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF has no secret key in GNUPGHOME "{home}"'),
    ('user@example.com', None, InvalidInputError, 'invalid key fingerprint "user@example.com": expected hexadecimal digits'),
])
def test_sign_refuses(secret_home, fingerprint, passphrase, error, message):
    with pytest.raises(error) as info:
        simple.standalone_sign(b'{}', 'busybox:1', fingerprint, passphrase=passphrase, gnupghome=secret_home)
    assert info.value.message == message.format(home=secret_home)
    assert 'WithPassphrase123' not in info.value.message


def test_sign_environment_problems(tmp_path):
    with pytest.raises(ConfigError) as info:
        simple.sign_payload(b'{}', TEST_KEY, gnupghome=str(tmp_path / 'absent'))
    assert info.value.message == 'GNUPGHOME "%s" is not a directory' % (tmp_path / 'absent')
    with pytest.raises(ConfigError) as info:
        simple.sign_payload(b'{}', TEST_KEY, gnupghome=str(tmp_path), gpgbinary=str(tmp_path / 'no-gpg'))
    assert info.value.message == 'the gpg program "%s" was not found: install GnuPG 2 (the gnupg package)' % (tmp_path / 'no-gpg')
    with pytest.raises(InvalidReferenceError):
        simple.standalone_sign(b'{}', 'Not A Reference', TEST_KEY, gnupghome=str(tmp_path))


def test_missing_python_gnupg_is_named(monkeypatch, cimage_fixtures):
    monkeypatch.setattr(simple, 'GNUPG_IMPORT_ERROR', ImportError('No module named gnupg'))
    with pytest.raises(ImportError) as info:
        simple.verify_signature((cimage_fixtures / 'image.signature').read_bytes(), [cimage_fixtures / 'public-key.gpg'])
    assert info.value.name == 'gnupg'
    assert 'python-gnupg' in str(info.value)


def test_two_signatures_are_refused(cimage_fixtures, secret_gpg):
    data = simple.new_payload(MANIFEST_DIGEST, 'docker.io/library/busybox:latest', timestamp=1)
    blob = secret_gpg.run('--pinentry-mode', 'loopback', '--passphrase', 'WithPassphrase123', '-u', TEST_KEY, '-u', PASSPHRASE_KEY, '--sign',
                          data=data)
    with pytest.raises(SignatureError) as info:
        simple.verify_signature(blob, [cimage_fixtures / 'pubring.gpg'])
    assert info.value.message == 'the signature blob holds 2 signatures, exactly one is required'


def test_detached_signature_is_refused(cimage_fixtures, secret_gpg):
    data = simple.new_payload(MANIFEST_DIGEST, 'docker.io/library/busybox:latest', timestamp=1)
    blob = secret_gpg.run('-u', TEST_KEY, '--detach-sign', data=data)
    with pytest.raises(SignatureError) as info:
        simple.verify_signature(blob, [cimage_fixtures / 'public-key.gpg'])
    assert info.value.message == 'invalid signature by key E932F44B23E8DD43'


def test_standalone_verify_with_the_keys_of_a_gnupghome(cimage_fixtures, secret_home):
    # As skopeo: the accepted keys come from a GNUPGHOME (here one with secret keys; only public parts are exported).
    manifest = (cimage_fixtures / 'image.manifest.json').read_bytes()
    blob = (cimage_fixtures / 'image.signature').read_bytes()
    assert simple.standalone_verify(manifest, 'testing/manifest', TEST_KEY, blob, gnupghome=secret_home) == MANIFEST_DIGEST
    with pytest.raises(ConfigError) as info:
        simple.standalone_verify(manifest, 'testing/manifest', SUBKEY_PRIMARY, blob, gnupghome=secret_home)
    assert info.value.message == 'no public key for %s in GNUPGHOME "%s"' % (SUBKEY_PRIMARY, secret_home)


def test_expired_signing_key_is_refused(tmp_path):
    # A key that expired a day after 2020-01-01, and a signature it made while valid (gpg's faked clock).
    with GpgHome(tmp_path / 'home') as home:
        home.generate_key('expiring <e@example.com>', expire='1d', faked_time='20200101T000000!')
        data = simple.new_payload(MANIFEST_DIGEST, 'docker.io/library/busybox:latest', timestamp=1577840400)
        blob = home.run('--faked-system-time', '20200101T010000!', '--sign', data=data)
        public = home.export()
    with pytest.raises(SignatureError) as info:
        simple.verify_signature(blob, [public])
    assert info.value.message.startswith('the signing key ') and info.value.message.endswith(' is expired')
