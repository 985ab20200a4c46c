# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Keys for sigstore signatures, in the formats skopeo, containers/image and cosign read and write.

Public keys are PEM ``PUBLIC KEY`` (PKIX) blocks, as sigstore's ``cryptoutils.UnmarshalPEMToPublicKey``
reads them; the algorithms are those of sigstore's ``LoadVerifier(key, SHA256)``, which
containers/image uses: ECDSA on any curve with SHA-256 and ASN.1 DER signatures, RSA PKCS#1 v1.5
with SHA-256, and Ed25519 (which hashes internally).

Private keys are either plain PKCS#8 PEM (``PRIVATE KEY``) or the encrypted cosign format that
``skopeo generate-sigstore-key`` writes and ``--sign-by-sigstore-private-key`` reads
(containers/image ``signature/sigstore/copied.go``, cosign ``pkg/cosign/keys.go``, the JSON of
go-securesystemslib ``encrypted.Encrypt``): a PEM block typed ``ENCRYPTED SIGSTORE PRIVATE KEY``
(cosign 2.x) or ``ENCRYPTED COSIGN PRIVATE KEY`` (what containers/image writes, for older cosign),
whose body is::

    {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":B64},
     "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}

The secretbox key is scrypt(passphrase, salt, N, r, p, 32 bytes); the box (XSalsa20-Poly1305, tag
first) opens to a PKCS#8 DER private key. Only the three parameter sets go-securesystemslib accepts
are accepted (N = 2^15, 2^16, 2^17 with r = 8, p = 1), which also bounds scrypt's memory.

``cryptography`` has no XSalsa20, so the box needs PyNaCl (libsodium); it is imported only when an
encrypted key is read or written, and its absence is reported by name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, OcikitError

try:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
except ImportError as exc:  # pragma: no cover - exercised only without cryptography
    CRYPTOGRAPHY_IMPORT_ERROR: ImportError | None = exc
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

PUBLIC_KEY_PEM_TYPE = 'PUBLIC KEY'
PRIVATE_KEY_PEM_TYPE = 'PRIVATE KEY'
#: What cosign >= 2 writes.
SIGSTORE_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY'
#: What containers/image (skopeo generate-sigstore-key) writes, for compatibility with older cosign.
ENCRYPTED_COSIGN_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY'
ENCRYPTED_PEM_TYPES = (SIGSTORE_PRIVATE_KEY_PEM_TYPE, ENCRYPTED_COSIGN_PRIVATE_KEY_PEM_TYPE)

#: go-securesystemslib's scrypt parameter sets: legacy, standard (the default it writes) and OWASP.
SCRYPT_LEGACY = (1 << 15, 8, 1)
SCRYPT_STANDARD = (1 << 16, 8, 1)
SCRYPT_OWASP = (1 << 17, 8, 1)
SCRYPT_ACCEPTED = (SCRYPT_LEGACY, SCRYPT_STANDARD, SCRYPT_OWASP)
# scrypt needs 128 * r * N bytes (128 MiB for the OWASP set); hashlib's default cap is 32 MiB.
_SCRYPT_MAXMEM = 256 * 1024 * 1024
_SALT_SIZE = 32
_NONCE_SIZE = 24
_KEY_SIZE = 32

#: Bound on a key file (a PEM key or certificate bundle is a few KiB).
MAX_KEY_SIZE = 1024 * 1024

PublicKey = t.Any   # ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = t.Any  # the matching private key classes


def require_cryptography() -> None:
    """Raise ImportError (``name='cryptography'``) with a clear message when cryptography is missing."""
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        raise ImportError('the Python library cryptography is required for sigstore signatures; '
                          'install it with "pip install cryptography"', name='cryptography') from CRYPTOGRAPHY_IMPORT_ERROR


def _secret_box(key: bytes) -> t.Any:
    """A PyNaCl SecretBox for ``key``, or ImportError (``name='PyNaCl'``) naming the missing library."""
    try:
        from nacl.secret import SecretBox  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise ImportError('the Python library PyNaCl is required to read or write encrypted sigstore (cosign) private keys; '
                          'install it with "pip install PyNaCl"', name='PyNaCl') from exc
    return SecretBox(key)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Every PEM block of ``data`` as (type, DER bytes), in order; text between blocks is skipped, as Go's pem.Decode does.

    A block whose base64 body does not decode is skipped too (Go's pem.Decode does not recognise it
    as a block). Headers (``Proc-Type: ...``) are not supported: no format read here has them.
    """
    blocks = []
    lines = data.replace(b'\r\n', b'\n').split(b'\n')
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not (line.startswith(b'-----BEGIN ') and line.endswith(b'-----')):
            continue
        kind = line[len(b'-----BEGIN '):-5]
        body = []
        while index < len(lines) and not lines[index].strip().startswith(b'-----END '):
            body.append(lines[index].strip())
            index += 1
        if index >= len(lines) or lines[index].strip() != b'-----END ' + kind + b'-----':
            break
        index += 1
        try:
            der = base64.b64decode(b''.join(body), validate=True)
        except (binascii.Error, ValueError):
            continue
        blocks.append((kind.decode('ascii', 'replace'), der))
    return blocks


def encode_pem(kind: str, der: bytes) -> bytes:
    """A PEM block as Go's pem.Encode writes it: base64 in 64-character lines, a final newline."""
    body = base64.b64encode(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b''.join([b'-----BEGIN %s-----\n' % kind.encode('ascii')] + [line + b'\n' for line in lines]
                    + [b'-----END %s-----\n' % kind.encode('ascii')])


def load_public_key(data: bytes, what: str = 'public key', error: type[OcikitError] = InvalidInputError) -> PublicKey:
    """The public key in ``data``: the first PEM block, which must be ``PUBLIC KEY`` (PKIX) of a supported algorithm.

    ``error`` is raised for anything else, with a message that starts with ``what`` (the caller
    passes the policy's field name or the key's path); the policy engine passes its PolicyError.
    """
    require_cryptography()
    blocks = pem_blocks(data)
    if not blocks:
        raise error('%s is not a PEM public key' % what)
    kind, der = blocks[0]
    if kind != PUBLIC_KEY_PEM_TYPE:
        raise error('%s is a PEM %r block, not a PUBLIC KEY' % (what, kind[:100]))
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise error('%s cannot be parsed as a PKIX public key' % what) from None
    if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise error('%s uses an unsupported algorithm (%s); ECDSA, RSA and Ed25519 are supported' % (what, type(key).__name__))
    return key


def load_public_keys(datas: t.Iterable[bytes], what: str = 'public key', error: type[OcikitError] = InvalidInputError) -> list[PublicKey]:
    """Every key of ``datas`` (keyPaths / keyDatas: a signature by any of them is accepted), at least one.

    Each must load (:func:`load_public_key`); the n-th is named ``<what> n`` in messages (1-based).
    """
    datas = list(datas)
    if not datas:
        raise error('%s: no key given' % what)
    if len(datas) == 1:
        return [load_public_key(datas[0], what, error)]
    return [load_public_key(data, '%s %d' % (what, index), error) for index, data in enumerate(datas, 1)]


def load_rekor_public_key(data: bytes, what: str = 'Rekor public key', error: type[OcikitError] = InvalidInputError) -> PublicKey:
    """A Rekor log's public key: as :func:`load_public_key`, and it must be ECDSA (as containers/image requires)."""
    key = load_public_key(data, what, error)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise error('%s is not using ECDSA' % what)
    return key


def public_key_pem(key: PublicKey) -> bytes:
    """``key`` as a PEM ``PUBLIC KEY`` block, byte for byte what sigstore's MarshalPublicKeyToPEM writes."""
    require_cryptography()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return encode_pem(PUBLIC_KEY_PEM_TYPE, der)


def key_fingerprint(key: PublicKey) -> str:
    """``sha256:<hex>`` of ``key``'s DER SubjectPublicKeyInfo (what a PEM PUBLIC KEY block holds)."""
    require_cryptography()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return 'sha256:' + hashlib.sha256(der).hexdigest()


def verify_raw(key: PublicKey, signature: bytes, payload: bytes) -> bool:
    """True when ``signature`` is ``key``'s signature of ``payload`` (SHA-256; see the module docstring)."""
    require_cryptography()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, payload)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verify_prehashed_ecdsa(key: PublicKey, signature: bytes, sha256_digest: bytes) -> bool:
    """True when ``signature`` (ASN.1 DER) is ECDSA ``key``'s signature of a SHA-256 hash (Go's ecdsa.VerifyASN1)."""
    require_cryptography()
    try:
        key.verify(signature, sha256_digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


def sign_raw(key: PrivateKey, payload: bytes) -> bytes:
    """``key``'s signature of ``payload``, in the form :func:`verify_raw` checks (ECDSA signatures are ASN.1 DER)."""
    require_cryptography()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(payload, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(payload)
    raise InvalidInputError('cannot sign with a %s private key; ECDSA, RSA and Ed25519 are supported' % type(key).__name__)


def _passphrase_bytes(passphrase: 'str | bytes') -> bytes:
    return passphrase.encode('utf-8') if isinstance(passphrase, str) else bytes(passphrase)


def _b64_field(value: t.Any, what: str, size: int | None = None) -> bytes:
    """A base64 (standard, padded) field of the encrypted key JSON, as Go decodes a []byte."""
    if not isinstance(value, str):
        raise InvalidInputError('%s is not a base64 string' % what)
    try:
        # Go's base64 decoder skips CR and LF.
        raw = base64.b64decode(value.replace('\r', '').replace('\n', ''), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError('%s is not valid base64' % what) from None
    if size is not None and len(raw) != size:
        raise InvalidInputError('%s is %d bytes long, not %d' % (what, len(raw), size))
    return raw


def _clipped(value: t.Any, limit: int = 100) -> t.Any:
    """A value from a key file for a message: strings clipped (repr then escapes them), other values as their type name."""
    if isinstance(value, str):
        return value[:limit]
    return value if value is None or isinstance(value, (int, float)) else type(value).__name__


def _object(value: t.Any, what: str) -> dict[str, t.Any]:
    if not isinstance(value, dict):
        raise InvalidInputError('%s is not a JSON object' % what)
    return value


def _decrypt_sealed(sealed: bytes, passphrase: bytes, what: str) -> bytes:
    """The plaintext of go-securesystemslib's encrypted JSON ``sealed`` (the body of an encrypted key PEM)."""
    document = _object(jsonutil.loads(sealed, what, InvalidInputError), what)
    kdf = _object(document.get('kdf'), '%s: "kdf"' % what)
    cipher = _object(document.get('cipher'), '%s: "cipher"' % what)
    if kdf.get('name') != 'scrypt':
        raise InvalidInputError('%s uses an unsupported key derivation %r; only scrypt is supported' % (what, _clipped(kdf.get('name'))))
    if cipher.get('name') != 'nacl/secretbox':
        raise InvalidInputError('%s uses an unsupported cipher %r; only nacl/secretbox is supported' % (what, _clipped(cipher.get('name'))))
    params = _object(kdf.get('params'), '%s: "kdf.params"' % what)
    numbers = tuple(params.get(name) for name in ('N', 'r', 'p'))
    if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers) or numbers not in SCRYPT_ACCEPTED:
        raise InvalidInputError('%s uses unsupported scrypt parameters (N, r, p = %s); accepted: %s'
                                % (what, ', '.join(map(str, numbers)), '; '.join('%d, %d, %d' % s for s in SCRYPT_ACCEPTED)))
    salt = _b64_field(kdf.get('salt'), '%s: "kdf.salt"' % what)
    nonce = _b64_field(cipher.get('nonce'), '%s: "cipher.nonce"' % what, _NONCE_SIZE)
    ciphertext = _b64_field(document.get('ciphertext'), '%s: "ciphertext"' % what)
    n, r, p = numbers
    key = hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=_KEY_SIZE)
    box = _secret_box(key)
    from nacl.exceptions import CryptoError  # pylint: disable=import-outside-toplevel
    try:
        return box.decrypt(ciphertext, nonce)
    except CryptoError:
        named = '' if what == _PRIVATE_KEY else ' ' + what
        raise InvalidInputError('cannot decrypt the private key%s: wrong passphrase?' % named) from None


def _seal(plaintext: bytes, passphrase: bytes, params: tuple[int, int, int]) -> bytes:
    """go-securesystemslib's encrypted JSON of ``plaintext``, byte for byte in Go's field order."""
    n, r, p = params
    salt = os.urandom(_SALT_SIZE)
    nonce = os.urandom(_NONCE_SIZE)
    key = hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=_KEY_SIZE)
    ciphertext = _secret_box(key).encrypt(plaintext, nonce).ciphertext
    document = {
        'kdf': {'name': 'scrypt', 'params': {'N': n, 'r': r, 'p': p}, 'salt': base64.b64encode(salt).decode('ascii')},
        'cipher': {'name': 'nacl/secretbox', 'nonce': base64.b64encode(nonce).decode('ascii')},
        'ciphertext': base64.b64encode(ciphertext).decode('ascii'),
    }
    return json.dumps(document, separators=(',', ':')).encode('ascii')


_PRIVATE_KEY = 'private key'


def load_private_key(data: bytes, passphrase: 'str | bytes | None' = None, what: str = _PRIVATE_KEY) -> PrivateKey:
    """The private key in ``data`` (the first PEM block), decrypting the cosign format with ``passphrase``.

    An encrypted key needs a passphrase (the empty one is valid, as in cosign and skopeo >= 1.21);
    a wrong one is ``InvalidInputError('cannot decrypt the private key <what>: wrong passphrase?')``
    (``what`` names the key, a path for instance; without it the message has no name).
    A plain PKCS#8 ``PRIVATE KEY`` ignores the passphrase. Messages never include the passphrase.
    """
    require_cryptography()
    blocks = pem_blocks(data)
    if not blocks:
        raise InvalidInputError('%s is not a PEM private key' % what)
    kind, der = blocks[0]
    if kind in ENCRYPTED_PEM_TYPES:
        if passphrase is None:
            raise InvalidInputError('%s is encrypted and no passphrase was given' % what)
        der = _decrypt_sealed(der, _passphrase_bytes(passphrase), what)
    elif kind != PRIVATE_KEY_PEM_TYPE:
        raise InvalidInputError('%s is a PEM %r block; expected %s or %s'
                                % (what, kind[:100], ', '.join(ENCRYPTED_PEM_TYPES), PRIVATE_KEY_PEM_TYPE))
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInputError('%s does not hold a PKCS#8 private key' % what) from None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise InvalidInputError('%s uses an unsupported algorithm (%s); ECDSA, RSA and Ed25519 are supported' % (what, type(key).__name__))
    return key


def encrypt_private_key(key: PrivateKey, passphrase: 'str | bytes', params: tuple[int, int, int] = SCRYPT_STANDARD,
                        pem_type: str = ENCRYPTED_COSIGN_PRIVATE_KEY_PEM_TYPE) -> bytes:
    """``key`` as an encrypted cosign private key PEM (PKCS#8 inside; ``pem_type`` as containers/image writes by default)."""
    require_cryptography()
    if params not in SCRYPT_ACCEPTED:
        raise InvalidInputError('unsupported scrypt parameters %r' % (params,))
    if pem_type not in ENCRYPTED_PEM_TYPES:
        raise InvalidInputError('unsupported PEM type %r for an encrypted private key' % pem_type)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return encode_pem(pem_type, _seal(der, _passphrase_bytes(passphrase), params))


def generate_key_pair(passphrase: 'str | bytes') -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key pair as ``skopeo generate-sigstore-key`` makes it: (private PEM, public PEM).

    The private key is PKCS#8, encrypted with ``passphrase`` (empty allowed) and the standard scrypt
    parameters, in an ``ENCRYPTED COSIGN PRIVATE KEY`` block; the public key is a ``PUBLIC KEY`` block.
    Writing the files (0600 / 0644, refusing to overwrite) is the caller's business.
    """
    require_cryptography()
    key = ec.generate_private_key(ec.SECP256R1())
    return encrypt_private_key(key, passphrase), public_key_pem(key.public_key())
