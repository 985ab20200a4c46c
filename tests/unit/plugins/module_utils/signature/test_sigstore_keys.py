# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sigstore keys: cosign's encrypted private key vectors, generation, PEM public keys, raw signatures."""

from __future__ import annotations

import base64
import json
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, PolicyError
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys as keys

VECTORS = ('encrypted-cosign.key', 'encrypted-sigstore-ec.key')


def _pkcs8_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _sealed_json(pem: bytes) -> dict:
    (kind, der), = keys.pem_blocks(pem)
    assert kind in keys.ENCRYPTED_PEM_TYPES
    return json.loads(der)


def _reseal(document: dict, kind: str = keys.ENCRYPTED_COSIGN_PRIVATE_KEY_PEM_TYPE) -> bytes:
    return keys.encode_pem(kind, json.dumps(document).encode())


@pytest.fixture(scope='module')
def generated_pair():
    """One generated key pair (scrypt at N=2^16 twice is the slow part, so it is shared)."""
    return keys.generate_key_pair('correct horse')


# --- cosign's encrypted key vectors -----------------------------------------------------------

@pytest.mark.parametrize('name', VECTORS)
def test_cosign_vectors_decrypt_with_hello_to_a_p256_key_that_signs(cosign_key_fixtures, name):
    pem = (cosign_key_fixtures / name).read_bytes()
    assert _sealed_json(pem)['kdf']['params'] == {'N': 32768, 'r': 8, 'p': 1}
    key = keys.load_private_key(pem, 'hello', name)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == 'secp256r1'
    signature = keys.sign_raw(key, b'payload')
    assert keys.verify_raw(key.public_key(), signature, b'payload')


@pytest.mark.parametrize('name', VECTORS)
@pytest.mark.parametrize('passphrase', ['', 'Hello', 'hello\n', b'hell'])
def test_cosign_vectors_refuse_a_wrong_passphrase_clearly(cosign_key_fixtures, name, passphrase):
    pem = (cosign_key_fixtures / name).read_bytes()
    with pytest.raises(InvalidInputError) as info:
        keys.load_private_key(pem, passphrase, name)
    assert str(info.value) == 'cannot decrypt the private key %s: wrong passphrase?' % name


def test_an_encrypted_key_without_passphrase_is_refused(cosign_key_fixtures):
    pem = (cosign_key_fixtures / VECTORS[0]).read_bytes()
    with pytest.raises(InvalidInputError, match=r'^k\.pem is encrypted and no passphrase was given$'):
        keys.load_private_key(pem, None, 'k.pem')


# --- generation ---------------------------------------------------------------------------------

def test_generated_pair_is_what_skopeo_generate_sigstore_key_writes(generated_pair):
    private_pem, public_pem = generated_pair
    assert private_pem.startswith(b'-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n')
    assert public_pem.startswith(b'-----BEGIN PUBLIC KEY-----\n') and public_pem.endswith(b'-----END PUBLIC KEY-----\n')
    # Go's pem.Encode: 64-column lines.
    assert all(len(line) <= 64 for line in private_pem.splitlines())
    sealed = _sealed_json(private_pem)
    assert list(sealed) == ['kdf', 'cipher', 'ciphertext']
    assert sealed['kdf']['name'] == 'scrypt' and sealed['kdf']['params'] == {'N': 65536, 'r': 8, 'p': 1}
    assert len(base64.b64decode(sealed['kdf']['salt'])) == 32
    assert sealed['cipher']['name'] == 'nacl/secretbox' and len(base64.b64decode(sealed['cipher']['nonce'])) == 24
    private = keys.load_private_key(private_pem, 'correct horse')
    public = keys.load_public_key(public_pem)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == 'secp256r1'
    assert keys.public_key_pem(private.public_key()) == public_pem
    assert keys.verify_raw(public, keys.sign_raw(private, b'x'), b'x')


def test_generated_pair_refuses_another_passphrase(generated_pair):
    with pytest.raises(InvalidInputError, match=r'^cannot decrypt the private key: wrong passphrase\?$'):
        keys.load_private_key(generated_pair[0], 'correct horsE')


def test_empty_passphrase_is_a_passphrase():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = keys.encrypt_private_key(key, '', keys.SCRYPT_LEGACY, keys.SIGSTORE_PRIVATE_KEY_PEM_TYPE)
    assert pem.startswith(b'-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n')
    assert keys.load_private_key(pem, b'').private_numbers() == key.private_numbers()
    with pytest.raises(InvalidInputError, match='wrong passphrase'):
        keys.load_private_key(pem, ' ')


def test_owasp_parameters_need_the_raised_scrypt_memory_bound():
    # N=2^17, r=8 needs 128 MiB: hashlib's default maxmem (32 MiB) would refuse it.
    key = ed25519.Ed25519PrivateKey.generate()
    pem = keys.encrypt_private_key(key, 'p', keys.SCRYPT_OWASP)
    assert _sealed_json(pem)['kdf']['params'] == {'N': 131072, 'r': 8, 'p': 1}
    loaded = keys.load_private_key(pem, 'p')
    assert loaded.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d['kdf']['params'].update(N=1024), 'uses unsupported scrypt parameters (N, r, p = 1024, 8, 1)'),
    (lambda d: d['kdf']['params'].update(r=1), 'uses unsupported scrypt parameters (N, r, p = 32768, 1, 1)'),
    (lambda d: d['kdf']['params'].update(N=True), 'uses unsupported scrypt parameters'),
    (lambda d: d['kdf'].update(name='pbkdf2'), "uses an unsupported key derivation 'pbkdf2'; only scrypt is supported"),
    (lambda d: d['cipher'].update(name='aes'), "uses an unsupported cipher 'aes'; only nacl/secretbox is supported"),
    (lambda d: d['cipher'].update(nonce='AAAA'), '"cipher.nonce" is 3 bytes long, not 24'),
    (lambda d: d['kdf'].update(salt=5), '"kdf.salt" is not a base64 string'),
    (lambda d: d.update(ciphertext='***'), '"ciphertext" is not valid base64'),
    (lambda d: d.update(kdf=[]), '"kdf" is not a JSON object'),
])
def test_malformed_encrypted_keys_are_refused_by_name(cosign_key_fixtures, mutate, message):
    document = _sealed_json((cosign_key_fixtures / VECTORS[0]).read_bytes())
    mutate(document)
    with pytest.raises(InvalidInputError) as info:
        keys.load_private_key(_reseal(document), 'hello', 'k.pem')
    assert str(info.value).startswith('k.pem')
    assert message in str(info.value)


def test_encrypted_key_body_that_is_not_json_is_refused():
    with pytest.raises(InvalidInputError, match=r'^k\.pem is not valid JSON: '):
        keys.load_private_key(keys.encode_pem(keys.SIGSTORE_PRIVATE_KEY_PEM_TYPE, b'\x00\x01'), 'x', 'k.pem')


def test_missing_pynacl_is_reported_by_name(cosign_key_fixtures, monkeypatch):
    monkeypatch.setitem(sys.modules, 'nacl.secret', None)
    with pytest.raises(ImportError) as info:
        keys.load_private_key((cosign_key_fixtures / VECTORS[0]).read_bytes(), 'hello')
    assert info.value.name == 'PyNaCl'
    assert 'PyNaCl is required' in str(info.value)


# --- plain private keys -----------------------------------------------------------------------

@pytest.mark.parametrize('make', [
    lambda: ec.generate_private_key(ec.SECP384R1()),
    lambda: rsa.generate_private_key(65537, 2048),
    ed25519.Ed25519PrivateKey.generate,
], ids=['ecdsa-p384', 'rsa', 'ed25519'])
def test_plain_pkcs8_private_keys_load_and_ignore_the_passphrase(make):
    key = make()
    loaded = keys.load_private_key(_pkcs8_pem(key), 'ignored')
    assert keys.verify_raw(key.public_key(), keys.sign_raw(loaded, b'm'), b'm')


@pytest.mark.parametrize('data, message', [
    (b'not a key', 'k is not a PEM private key'),
    (b'-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n',
     "k is a PEM 'EC PRIVATE KEY' block; expected ENCRYPTED SIGSTORE PRIVATE KEY, ENCRYPTED COSIGN PRIVATE KEY or PRIVATE KEY"),
    (b'-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'k does not hold a PKCS#8 private key'),
])
def test_unusable_private_keys_are_refused(data, message):
    with pytest.raises(InvalidInputError) as info:
        keys.load_private_key(data, None, 'k')
    assert str(info.value) == message


def test_a_dsa_private_key_is_refused():
    pem = _pkcs8_pem(dsa.generate_private_key(1024))
    with pytest.raises(InvalidInputError, match=r'^k uses an unsupported algorithm \(DSAPrivateKey\); ECDSA, RSA and Ed25519 are supported$'):
        keys.load_private_key(pem, None, 'k')


# --- public keys ------------------------------------------------------------------------------

def test_fixture_public_keys_load_and_re_encode_byte_for_byte(cimage_fixtures):
    for name in ('cosign.pub', 'cosign2.pub', 'rekor.pub'):
        raw = (cimage_fixtures / name).read_bytes()
        key = keys.load_public_key(raw, name)
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == 'secp256r1'
        assert keys.public_key_pem(key) == raw
    assert isinstance(keys.load_public_key((cimage_fixtures / 'some-rsa-key.pub').read_bytes()), rsa.RSAPublicKey)


def test_several_public_keys_load_and_are_named_by_position(cimage_fixtures):
    datas = [(cimage_fixtures / name).read_bytes() for name in ('cosign.pub', 'cosign2.pub')]
    loaded = keys.load_public_keys(datas, 'keyDatas', PolicyError)
    assert [keys.public_key_pem(key) for key in loaded] == datas
    with pytest.raises(PolicyError, match=r'^keyDatas 2 is not a PEM public key$'):
        keys.load_public_keys([datas[0], b'junk'], 'keyDatas', PolicyError)
    with pytest.raises(PolicyError, match=r'^keyPaths: no key given$'):
        keys.load_public_keys([], 'keyPaths', PolicyError)


def test_a_rekor_key_must_be_ecdsa(cimage_fixtures):
    raw = (cimage_fixtures / 'some-rsa-key.pub').read_bytes()
    with pytest.raises(PolicyError, match=r'^rekorPublicKeyPath is not using ECDSA$'):
        keys.load_rekor_public_key(raw, 'rekorPublicKeyPath', PolicyError)
    assert isinstance(keys.load_rekor_public_key((cimage_fixtures / 'rekor.pub').read_bytes()), ec.EllipticCurvePublicKey)


@pytest.mark.parametrize('data, message', [
    (b'', 'key is not a PEM public key'),
    (b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', "key is a PEM 'CERTIFICATE' block, not a PUBLIC KEY"),
    (b'-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'key cannot be parsed as a PKIX public key'),
])
def test_unusable_public_keys_are_refused(data, message):
    with pytest.raises(InvalidInputError) as info:
        keys.load_public_key(data, 'key')
    assert str(info.value) == message


def test_a_dsa_public_key_is_refused():
    pem = dsa.generate_private_key(1024).public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidInputError, match=r'unsupported algorithm \(DSAPublicKey\)'):
        keys.load_public_key(pem, 'key')


@pytest.mark.parametrize('make', [
    lambda: ec.generate_private_key(ec.SECP256R1()),
    lambda: ec.generate_private_key(ec.SECP521R1()),
    lambda: rsa.generate_private_key(65537, 2048),
    ed25519.Ed25519PrivateKey.generate,
], ids=['p256', 'p521', 'rsa', 'ed25519'])
def test_raw_signatures_verify_only_for_their_key_and_payload(make):
    key, other = make(), ec.generate_private_key(ec.SECP256R1())
    public = keys.load_public_key(keys.public_key_pem(key.public_key()))
    signature = keys.sign_raw(key, b'payload')
    assert keys.verify_raw(public, signature, b'payload')
    assert not keys.verify_raw(public, signature, b'payload!')
    assert not keys.verify_raw(other.public_key(), signature, b'payload')
    assert not keys.verify_raw(public, signature[:-1] + bytes([signature[-1] ^ 1]), b'payload')


def test_pem_blocks_skip_text_and_undecodable_blocks():
    data = (b'comment\n' + keys.encode_pem('A', b'\x01') + b'-----BEGIN B-----\n!!!\n-----END B-----\n'
            + keys.encode_pem('C', b'\x02' * 100))
    assert keys.pem_blocks(data) == [('A', b'\x01'), ('C', b'\x02' * 100)]
