# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Simple signing: the GPG ("atomic container signature") signatures of containers/image and skopeo.

What is compatible with containers/image, and how:

* The payload (:func:`new_payload`) is the JSON document of ``signature/simple.go`` and
  ``docs/containers-signature.5.md``: ``{"critical": {"identity": {"docker-reference": R},
  "image": {"docker-manifest-digest": D}, "type": "atomic container signature"}, "optional":
  {"creator": C, "timestamp": T}}``, serialised as Go's ``json.Marshal`` of maps does it: keys
  sorted, no whitespace, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped. ``D`` is
  ``manifest.Digest``: the sha256 of the manifest, of its signed payload for a signed schema1
  manifest.
* The signature (:func:`sign_payload`) is what gpgme makes with armor and text mode off and
  ``SigModeNormal``: a binary, inline (not detached, not clearsigned) OpenPGP signed message.
* A blob is classified (:func:`classify_blob`) as ``internal/signature.FromBlob`` does: the first
  byte of an OpenPGP compressed-data, one-pass-signature or signature packet means simple signing;
  ``\\x00<format>\\n`` is the newer container (``sigstore-json`` goes to the sigstore code); ASCII
  armor, clearsigned text and anything else are refused.
* Verification (:func:`verify_signature`) follows ``verifyAndExtractSignature``: the blob is
  checked by gpg in a throwaway GNUPGHOME holding only the trusted keys (never the user's), it
  must hold exactly one signature, good, not expired, by a key that is not revoked, whose primary
  fingerprint is trusted (a signature by a signing subkey counts for its primary key, as in
  containers/image >= 5.37); only then is the payload parsed, strictly (:func:`parse_payload`:
  exact fields, no duplicate keys, ``optional`` may hold anything else).
* :func:`standalone_sign` and :func:`standalone_verify` are ``skopeo standalone-sign`` and
  ``skopeo standalone-verify``: the identity is signed as given, and verified by equality after
  docker normalisation (``testing/manifest`` is ``docker.io/testing/manifest``).

GnuPG is driven through python-gnupg (imported when this module is, guarded: see
:func:`require_gnupg`) and the ``gpg`` program (GnuPG 2.1 or later).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ConfigError,
    InvalidDigestError,
    InvalidInputError,
    InvalidReferenceError,
    SignatureError,
    quote,
    remember_secret,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import read_document
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import guess_media_type, signed_payload
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named

try:
    import gnupg
except ImportError as exc:  # pragma: no cover - exercised only without python-gnupg
    gnupg = None
    GNUPG_IMPORT_ERROR: ImportError | None = exc
else:
    GNUPG_IMPORT_ERROR = None

#: ``critical.type`` of every simple signing payload.
SIGNATURE_TYPE = 'atomic container signature'
#: ``optional.creator`` of the signatures this collection makes (containers/image writes "atomic <version>").
DEFAULT_CREATOR = 'atomic ocikit.images'

#: Format names of the ``\\x00<format>\\n`` container (internal/signature/signature.go).
FORMAT_SIMPLE_SIGNING = 'simple-signing'
FORMAT_SIGSTORE = 'sigstore-json'

#: Largest signature blob read (containers/image's bound for one lookaside signature).
MAX_SIGNATURE_SIZE = 4 * 1024 * 1024
#: Largest payload gpg may write while verifying: a compressed message cannot expand past it.
MAX_PAYLOAD_SIZE = 4 * 1024 * 1024
#: Largest keyring file read.
MAX_KEYRING_SIZE = 16 * 1024 * 1024

#: First bytes of a binary OpenPGP message, as FromBlob lists them: compressed data (tag 8),
#: one-pass signature (tag 4) and signature (tag 2), in the old (0b10ttttll) and new (0b11tttttt)
#: packet formats. containers/image lists 0x3d where 0x93 (old-format one-pass signature,
#: indeterminate length) belongs: both are taken, gpg's verification decides either way. The one
#: list, also used by signature/policy.py.
OPENPGP_FIRST_BYTES = frozenset((0xA0, 0xA1, 0xA2, 0xA3, 0xC8, 0x90, 0x91, 0x92, 0x93, 0x3D, 0xC4, 0x88, 0x89, 0x8A, 0x8B, 0xC2))

# Go's json.Marshal escapes these inside strings; Python's json.dumps does not.
_GO_ESCAPES = (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'), ('\u2028', '\\u2028'), ('\u2029', '\\u2029'))

# INV_SGNR reason codes (GnuPG doc/DETAILS) worth a message of their own.
_INVALID_SIGNER_REASONS = {
    '2': 'is ambiguous',
    '3': 'cannot sign (wrong key usage)',
    '4': 'is revoked',
    '5': 'is expired',
    '13': 'is disabled',
}
# gpg-error codes (the low 16 bits of a FAILURE or ERROR value) that mean a passphrase problem.
_GPG_ERR_BAD_PASSPHRASE = 11
_GPG_ERR_NO_PASSPHRASE = 177

KeySource = t.Union[bytes, str, 'os.PathLike[str]']


def require_gnupg() -> None:
    """Raise ImportError (``name='gnupg'``) with a clear message when python-gnupg is missing."""
    if GNUPG_IMPORT_ERROR is not None:
        raise ImportError('the Python library python-gnupg is required to create or verify GPG (simple signing) signatures; '
                          'install it with "pip install python-gnupg"', name='gnupg') from GNUPG_IMPORT_ERROR


# -- payload ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SimplePayload:
    """The fields of a simple signing payload.

    ``docker_reference`` is the identity exactly as signed (it is not validated here: the caller
    decides how to match it). ``creator`` and ``timestamp`` are None when absent.
    """

    docker_reference: str
    manifest_digest: Digest
    creator: str | None = None
    timestamp: int | None = None


def _go_json(value: t.Any) -> bytes:
    """``value`` serialised as Go's json.Marshal does for maps: sorted keys, compact, HTML-safe escapes."""
    text = json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
    # Keys and values are strings and integers, so these characters can only occur inside strings.
    for char, escape in _GO_ESCAPES:
        text = text.replace(char, escape)
    return text.encode('utf-8')


def new_payload(manifest_digest: Digest | str, docker_reference: str, creator: str | None = DEFAULT_CREATOR,
                timestamp: int | None = None) -> bytes:
    """The payload bytes that a simple signature of ``docker_reference`` at ``manifest_digest`` signs.

    ``docker_reference`` is written as given (containers/image passes the identity's String(): use
    :func:`signing_identity` to expand a user's reference). ``timestamp`` defaults to now, in whole
    seconds; ``creator=None`` leaves it out.
    """
    digest = Digest.parse(manifest_digest)
    if not isinstance(docker_reference, str) or not docker_reference:
        raise InvalidInputError('the signed identity must be a non-empty docker reference')
    optional: dict[str, t.Any] = {'timestamp': int(time.time()) if timestamp is None else int(timestamp)}
    if creator is not None:
        optional['creator'] = creator
    return _go_json({
        'critical': {
            'identity': {'docker-reference': docker_reference},
            'image': {'docker-manifest-digest': str(digest)},
            'type': SIGNATURE_TYPE,
        },
        'optional': optional,
    })


def signing_identity(reference: str) -> str:
    """The identity to sign for a user's ``reference``: fully expanded, refused when name-only.

    As containers/image's copy/sign.go: ``busybox:1`` becomes ``docker.io/library/busybox:1``,
    and ``busybox`` alone is refused ("must be a fully specified reference").
    """
    ref = parse_normalized_named(reference)
    if ref.is_name_only():
        raise InvalidReferenceError('the sign identity %s must be a fully specified reference (with a tag or a digest)'
                                    % quote(reference))
    return str(ref)


def _exact_object(value: t.Any, where: str, fields: tuple[str, ...]) -> dict[str, t.Any]:
    """``value`` when it is an object holding exactly ``fields`` (ParanoidUnmarshalJSONObjectExactFields)."""
    if not isinstance(value, dict):
        raise SignatureError('signature payload: %s is not a JSON object' % where)
    for key in value:
        if key not in fields:
            raise SignatureError('signature payload: %s has an unexpected field %s' % (where, quote(key)))
    for key in fields:
        if key not in value:
            raise SignatureError('signature payload: %s has no field %s' % (where, quote(key)))
    return value


def _string(value: t.Any, where: str) -> str:
    if not isinstance(value, str):
        raise SignatureError('signature payload: %s is not a string' % where)
    return value


def parse_payload(raw: bytes) -> SimplePayload:
    """Parse a simple signing payload as strictly as containers/image (``untrustedSignature.strictUnmarshalJSON``).

    Only call this on a payload whose signature was verified. Refused: anything but one JSON
    object (trailing data included), duplicate keys at any depth, a top level other than exactly
    ``critical`` and ``optional``, a ``critical`` other than exactly ``type``, ``image`` and
    ``identity``, another ``type``, an ``image`` or ``identity`` with other fields, a digest that
    does not parse, a non-string reference or creator, a timestamp that is not an integral number.
    Unknown fields of ``optional`` are ignored.
    """
    document = jsonutil.strict_loads(raw, 'signature payload', SignatureError)
    top = _exact_object(document, 'the document', ('critical', 'optional'))
    critical = _exact_object(top['critical'], 'critical', ('type', 'image', 'identity'))
    if _string(critical['type'], 'critical.type') != SIGNATURE_TYPE:
        raise SignatureError('signature payload: unrecognized signature type %s' % quote(critical['type']))
    image = _exact_object(critical['image'], 'critical.image', ('docker-manifest-digest',))
    digest_text = _string(image['docker-manifest-digest'], 'critical.image.docker-manifest-digest')
    try:
        digest = Digest(digest_text)
    except InvalidDigestError as exc:
        raise SignatureError('signature payload: critical.image.docker-manifest-digest: %s' % exc.message) from None
    identity = _exact_object(critical['identity'], 'critical.identity', ('docker-reference',))
    reference = _string(identity['docker-reference'], 'critical.identity.docker-reference')
    optional = top['optional']
    if not isinstance(optional, dict):
        raise SignatureError('signature payload: optional is not a JSON object')
    creator = None
    if 'creator' in optional:
        creator = _string(optional['creator'], 'optional.creator')
    timestamp = None
    if 'timestamp' in optional:
        value = optional['timestamp']
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SignatureError('signature payload: optional.timestamp is not a number')
        if isinstance(value, float) and not value.is_integer():
            raise SignatureError('signature payload: optional.timestamp is not an integer')
        timestamp = int(value)
    return SimplePayload(docker_reference=reference, manifest_digest=digest, creator=creator, timestamp=timestamp)


# -- blobs -----------------------------------------------------------------------------------


def classify_blob(blob: bytes) -> tuple[str, bytes]:
    """``(format, chunk)`` of a stored signature blob, as ``internal/signature.FromBlob`` decides.

    ``format`` is :data:`FORMAT_SIMPLE_SIGNING` (``chunk`` is the OpenPGP message) or
    :data:`FORMAT_SIGSTORE` (``chunk`` is the JSON for the sigstore code). Raises SignatureError
    for an empty blob, an unknown first byte (ASCII armor and clearsigned text start with "-") and
    an unknown or malformed ``\\x00<format>\\n`` header.
    """
    if not blob:
        raise SignatureError('empty signature blob')
    first = blob[0]
    if first in OPENPGP_FIRST_BYTES:
        return FORMAT_SIMPLE_SIGNING, bytes(blob)
    if first == 0:
        header, newline, chunk = bytes(blob[1:]).partition(b'\n')
        if not newline:
            raise SignatureError('invalid signature format, missing newline')
        for byte in header:
            if byte < 32 or byte >= 0x7F:
                raise SignatureError('invalid signature format, non-ASCII byte %#x' % byte)
        name = header.decode('ascii')
        if name in (FORMAT_SIMPLE_SIGNING, FORMAT_SIGSTORE):
            return name, chunk
        raise SignatureError('unrecognized signature format %s' % quote(name))
    if blob[:5] == b'-----':
        raise SignatureError('unrecognized signature format: ASCII-armored or clearsigned OpenPGP is not accepted, '
                             'a signature must be a binary OpenPGP signed message')
    raise SignatureError('unrecognized signature format, starting with binary %#x' % first)


# -- manifest and identity checks ------------------------------------------------------------


def manifest_digest(manifest: bytes, algorithm: str = 'sha256') -> Digest:
    """containers/image's ``manifest.DigestWithAlgorithm``: a signed schema1 manifest without its signatures.

    Raises ManifestError when a schema1 manifest's signatures cannot be stripped.
    """
    if guess_media_type(manifest) == mt.DOCKER_V2S1_SIGNED:
        manifest = signed_payload(manifest)
    return Digest.from_bytes(bytes(manifest), algorithm)


def check_manifest_digest(manifest: bytes, expected: Digest | str) -> None:
    """Raise SignatureError unless ``manifest`` has the digest a signature claims (``manifest.MatchesDigest``)."""
    claimed = Digest.parse(expected)
    actual = manifest_digest(manifest, claimed.algorithm)
    if actual != claimed:
        raise SignatureError('manifest digest does not match: the signature is for %s, the manifest is %s' % (claimed, actual))


def check_identity(signed_reference: str, expected_reference: str) -> None:
    """Raise SignatureError unless the two references are equal after docker normalisation.

    This is ``skopeo standalone-verify``'s test. ``expected_reference`` is the caller's input: an
    invalid one raises InvalidReferenceError; an invalid signed one is a SignatureError.
    """
    expected = parse_normalized_named(expected_reference)
    try:
        signed = parse_normalized_named(signed_reference)
    except InvalidReferenceError:
        raise SignatureError('invalid docker reference %s in the signature' % quote(signed_reference)) from None
    if str(signed) != str(expected):
        raise SignatureError('docker reference %s does not match %s' % (quote(signed_reference), quote(expected_reference)))


# -- gpg plumbing ----------------------------------------------------------------------------


def normalize_fingerprint(value: str) -> str:
    """``value`` as containers/image compares fingerprints: uppercase hexadecimal, spaces removed.

    Raises InvalidInputError for anything but 16 to 64 hexadecimal digits (a key ID or a
    fingerprint), which also keeps option-like strings away from gpg's command line.
    """
    if not isinstance(value, str):
        raise InvalidInputError('invalid key fingerprint %r: not a string' % (value,))
    text = value.replace(' ', '').upper()
    if not 16 <= len(text) <= 64 or any(char not in '0123456789ABCDEF' for char in text):
        raise InvalidInputError('invalid key fingerprint %s: expected hexadecimal digits' % quote(value))
    return text


def _statuses(result: t.Any) -> list[tuple[str, list[str]]]:
    """The ``[GNUPG:]`` status lines of a python-gnupg result, as ``(keyword, arguments)``."""
    lines = []
    for line in (getattr(result, 'stderr', '') or '').splitlines():
        if line.startswith('[GNUPG:] '):
            parts = line[len('[GNUPG:] '):].split(' ')
            lines.append((parts[0], parts[1:]))
    return lines


def _status(statuses: list[tuple[str, list[str]]], keyword: str) -> list[str] | None:
    """The arguments of the first ``keyword`` status line, or None."""
    for name, arguments in statuses:
        if name == keyword:
            return arguments
    return None


def _error_code(value: str) -> int:
    """The gpg-error code (low 16 bits) of a FAILURE/ERROR value; 0 when it does not parse."""
    try:
        return int(value) & 0xFFFF
    except ValueError:
        return 0


def _open_gpg(gnupghome: str | None, gpgbinary: str) -> t.Any:
    """A python-gnupg handle on ``gnupghome`` (None: gpg's default), with clear errors for what is missing."""
    require_gnupg()
    if shutil.which(gpgbinary) is None:
        raise ConfigError('the gpg program %s was not found: install GnuPG 2 (the gnupg package)' % quote(gpgbinary))
    if gnupghome is not None and not os.path.isdir(gnupghome):
        raise ConfigError('GNUPGHOME %s is not a directory' % quote(gnupghome))
    try:
        return gnupg.GPG(gpgbinary=gpgbinary, gnupghome=gnupghome)
    except (OSError, ValueError) as exc:
        raise ConfigError('gpg %s cannot be run: %s' % (quote(gpgbinary), type(exc).__name__)) from None


def _stop_agent(gnupghome: str) -> None:
    """Stop the gpg-agent a throwaway home may have started, so that removing the home leaves no process."""
    if not any(name.startswith('S.') for name in os.listdir(gnupghome)):
        return
    gpgconf = shutil.which('gpgconf')
    if gpgconf is None:
        return
    try:
        subprocess.run([gpgconf, '--homedir', gnupghome, '--kill', 'all'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


class _ThrowawayHome:
    """A temporary GNUPGHOME (mode 0700) that is removed, with any agent it started, on exit."""

    def __init__(self) -> None:
        self.path = ''

    def __enter__(self) -> str:
        self.path = tempfile.mkdtemp(prefix='ocikit-gpg-')
        return self.path

    def __exit__(self, *exc_info: t.Any) -> None:
        try:
            _stop_agent(self.path)
        finally:
            shutil.rmtree(self.path, ignore_errors=True)


# -- signing ---------------------------------------------------------------------------------


def _check_passphrase(passphrase: str | None) -> None:
    if passphrase is None:
        return
    if not isinstance(passphrase, str):
        raise InvalidInputError('the passphrase must be a string')
    # It goes to gpg on a line of its own (containers/image refuses "\n" for the same reason).
    if '\n' in passphrase or '\r' in passphrase:
        raise InvalidInputError('invalid passphrase: it must not contain a line break')


def sign_payload(payload: bytes, fingerprint: str, passphrase: str | None = None, gnupghome: str | None = None,
                 gpgbinary: str = 'gpg') -> bytes:
    """Sign ``payload`` with the secret key ``fingerprint`` of ``gnupghome``: a binary, inline OpenPGP signed message.

    This is gpgme's ``Sign`` with armor and text mode off, ``SigModeNormal``, as containers/image
    calls it. ``passphrase`` goes to gpg with loopback pinentry (never a prompt); without one, a
    protected key can still be used when the agent has its passphrase cached. The key is selected
    with ``--local-user``, never ``--default-key``: gpg falls back to another secret key when the
    default key is unusable, and a signature by the wrong key must not be made.
    """
    key = normalize_fingerprint(fingerprint)
    _check_passphrase(passphrase)
    if passphrase:
        remember_secret(passphrase)
    gpg = _open_gpg(gnupghome, gpgbinary)
    extra = ['--pinentry-mode', 'loopback', '--local-user', key]
    error: Exception | None = None
    for attempt in range(2):
        try:
            result = gpg.sign(bytes(payload), keyid=None, passphrase=passphrase or None, binary=True, clearsign=False,
                              detach=False, extra_args=extra)
        except ValueError as exc:  # python-gnupg's own refusal of a passphrase
            raise InvalidInputError('invalid passphrase: %s' % type(exc).__name__) from None
        statuses = _statuses(result)
        created = _status(statuses, 'SIG_CREATED')
        # python-gnupg sets data on every result it collects output for; pylint cannot see that.
        signed = getattr(result, 'data', b'')
        if created is not None and result.returncode == 0 and signed:
            # SIG_CREATED <type> <pk algo> <hash algo> <class> <time> <fingerprint>: "S" is a normal signature,
            # class 00 a binary document (not 01, text mode).
            if created[0] != 'S' or created[3] != '00':
                raise SignatureError('gpg made a signature of the wrong kind (type %s, class %s)' % (created[0], created[3]))
            return bytes(signed)
        error = _signing_error(statuses, key, passphrase, gnupghome, result.returncode, getattr(result, 'stderr', '') or '')
        if not isinstance(error, _IndefiniteSigningError) or attempt:
            break
        # No definite reason (a gpg-agent that was slow to start or to answer on a loaded host gives none): once more.
    raise t.cast(Exception, error)


class _IndefiniteSigningError(SignatureError):
    """gpg refused to sign without a reason that would hold on a second try (not a missing, expired or revoked key, not a passphrase)."""


def _gpg_complaint(stderr: str) -> str:
    """gpg's last ``gpg: ...`` line, for a message (bounded, quoted; it names keys and files, never a passphrase)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith('gpg:')]
    return ' (%s)' % quote(lines[-1][:300]) if lines else ''


def _signing_error(statuses: list[tuple[str, list[str]]], key: str, passphrase: str | None, gnupghome: str | None,
                   returncode: int | None, stderr: str = '') -> Exception:
    """The error a failed ``gpg --sign`` run deserves, from its status lines (and, without a known reason, gpg's own words)."""
    where = 'GNUPGHOME %s' % quote(gnupghome) if gnupghome else 'the default GNUPGHOME'
    invalid = _status(statuses, 'INV_SGNR')
    if invalid is not None:
        code = invalid[0] if invalid else ''
        if code in ('1', '9'):
            return InvalidInputError('signing key %s has no secret key in %s' % (key, where))
        if code in _INVALID_SIGNER_REASONS:
            return InvalidInputError('signing key %s %s' % (key, _INVALID_SIGNER_REASONS[code]))
        return _IndefiniteSigningError('signing key %s cannot be used (gpg reason code %s)%s' % (key, code or 'none', _gpg_complaint(stderr)))
    codes = [_error_code(arguments[-1]) for name, arguments in statuses if name in ('FAILURE', 'ERROR') and arguments]
    if _status(statuses, 'BAD_PASSPHRASE') is not None or _GPG_ERR_BAD_PASSPHRASE in codes:
        if passphrase:
            return InvalidInputError('wrong passphrase for signing key %s' % key)
        return InvalidInputError('signing key %s is protected by a passphrase, and none was given' % key)
    if (_status(statuses, 'NEED_PASSPHRASE') is not None and not passphrase) or _GPG_ERR_NO_PASSPHRASE in codes:
        return InvalidInputError('signing key %s is protected by a passphrase, and none was given' % key)
    return _IndefiniteSigningError('gpg could not sign with key %s (exit status %s)%s' % (key, returncode, _gpg_complaint(stderr)))


# -- verification ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VerifiedSignature:
    """A cryptographically verified simple signature and its (strictly parsed) payload.

    ``key_fingerprint`` is the trusted primary key's fingerprint; ``signing_fingerprint`` the key
    that made the signature (a subkey of it, or the same). The identity and the digest are what
    the signer claims: match them with :func:`check_identity` (or the policy's ``signedIdentity``)
    and :func:`check_manifest_digest` before trusting the image.
    """

    docker_reference: str
    manifest_digest: Digest
    key_fingerprint: str
    signing_fingerprint: str
    creator: str | None = None
    timestamp: int | None = None


def _key_bytes(source: KeySource) -> tuple[bytes, str]:
    """The content of one key source and a name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), 'GPG key data'
    path = os.fspath(source)
    what = 'GPG keyring %s' % quote(path)
    try:
        return read_document(path, MAX_KEYRING_SIZE, ConfigError, what), what
    except FileNotFoundError:
        raise ConfigError('%s does not exist' % what) from None


def import_public_keys(gpg: t.Any, keys: t.Sequence[KeySource]) -> list[str]:
    """Import ``keys`` (files or bytes, binary or ASCII-armored) into ``gpg``'s home; their primary fingerprints, in order.

    Raises ConfigError when a source holds no OpenPGP key (as containers/image, which refuses a
    keyring it imports nothing from).
    """
    if isinstance(keys, (bytes, str, os.PathLike)):
        keys = [keys]
    fingerprints: list[str] = []
    for source in keys:
        data, what = _key_bytes(source)
        result = gpg.import_keys(data, extra_args=['--no-auto-key-retrieve'])
        found = [fingerprint.upper() for fingerprint in (result.fingerprints or ()) if fingerprint]
        if not found:
            raise ConfigError('%s holds no OpenPGP public key' % what)
        for fingerprint in found:
            if fingerprint not in fingerprints:
                fingerprints.append(fingerprint)
    return fingerprints


def keyring_fingerprints(keys: t.Sequence[KeySource], gpgbinary: str = 'gpg') -> list[str]:
    """The primary fingerprints of the public keys in ``keys`` (files or bytes), in order, read in a throwaway home.

    These are the identities a ``signedBy`` requirement with ``keyPath``/``keyPaths``/``keyData`` accepts.
    """
    with _ThrowawayHome() as home:
        return import_public_keys(_open_gpg(home, gpgbinary), keys)


def _verification_failure(statuses: list[tuple[str, list[str]]], returncode: int | None) -> SignatureError | None:
    """Why gpg did not verify the message, or None when it reported one good, valid signature."""
    names = [name for name, _arguments in statuses]
    signatures = names.count('NEWSIG')
    if signatures == 0:
        if 'ENC_TO' in names or 'BEGIN_DECRYPTION' in names or 'DECRYPTION_FAILED' in names:
            return SignatureError('the signature blob is an encrypted message, not a signed one')
        if 'PLAINTEXT' in names:
            return SignatureError('the signature blob is not signed: it holds data without a signature')
        return SignatureError('the signature blob is not a valid OpenPGP signed message')
    if signatures != 1:
        return SignatureError('the signature blob holds %d signatures, exactly one is required' % signatures)
    errsig = _status(statuses, 'ERRSIG')
    if errsig is not None:
        key = errsig[6] if len(errsig) > 6 and errsig[6] != '-' else errsig[0]
        if (len(errsig) > 5 and errsig[5] == '9') or 'NO_PUBKEY' in names:
            return SignatureError('signature by unknown key %s' % key)
        return SignatureError('the signature by key %s cannot be checked (unsupported algorithm or malformed signature)' % key)
    for keyword, message in (('BADSIG', 'invalid signature by key %s'), ('EXPSIG', 'the signature by key %s is expired'),
                             ('EXPKEYSIG', 'the signing key %s is expired'), ('REVKEYSIG', 'the signing key %s is revoked')):
        arguments = _status(statuses, keyword)
        if arguments is not None:
            return SignatureError(message % (arguments[0] if arguments else '?'))
    validsig = _status(statuses, 'VALIDSIG')
    if 'KEYREVOKED' in names:
        return SignatureError('the signing key %s is revoked' % (validsig[0] if validsig else '?'))
    if _status(statuses, 'GOODSIG') is None or validsig is None or returncode != 0 or 'PLAINTEXT' not in names:
        return SignatureError('gpg could not verify the signature (exit status %s)' % returncode)
    return None


def verify_blob(blob: bytes, keys: t.Sequence[KeySource], accepted_fingerprints: t.Iterable[str] | None = None,
                gpgbinary: str = 'gpg') -> tuple[bytes, str, str]:
    """Verify a simple signing blob cryptographically; ``(payload, primary fingerprint, signing fingerprint)``.

    ``keys`` are imported into a throwaway GNUPGHOME, so only they can verify, and the user's
    keyrings are never read or written. The accepted keys are ``accepted_fingerprints`` (primary
    fingerprints; default: every key imported). The payload is returned unparsed.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise SignatureError('the signature blob is not bytes')
    if len(blob) > MAX_SIGNATURE_SIZE:
        raise SignatureError('the signature blob exceeds the %d byte limit' % MAX_SIGNATURE_SIZE)
    fmt, chunk = classify_blob(bytes(blob))
    if fmt != FORMAT_SIMPLE_SIGNING:
        raise SignatureError('the signature is a %s signature, not a simple signing (GPG) one' % fmt)
    with _ThrowawayHome() as home:
        gpg = _open_gpg(home, gpgbinary)
        imported = import_public_keys(gpg, keys)
        trusted = set(imported) if accepted_fingerprints is None else {normalize_fingerprint(f) for f in accepted_fingerprints}
        result = gpg.decrypt(chunk, extra_args=['--no-auto-key-retrieve', '--max-output', str(MAX_PAYLOAD_SIZE)])
    statuses = _statuses(result)
    length = _status(statuses, 'PLAINTEXT_LENGTH')
    declared = int(length[0]) if length and length[0].isdigit() else 0
    if len(result.data or b'') >= MAX_PAYLOAD_SIZE or declared >= MAX_PAYLOAD_SIZE:
        # gpg stops writing at --max-output: a payload this large is a compression bomb, never a signature.
        raise SignatureError('the signed payload exceeds the %d byte limit' % MAX_PAYLOAD_SIZE)
    failure = _verification_failure(statuses, result.returncode)
    if failure is not None:
        raise failure
    validsig = _status(statuses, 'VALIDSIG') or []
    # VALIDSIG <signing key fpr> <date> <time> <expiry> <version> <reserved> <pk algo> <hash algo> <class> [<primary fpr>]
    signing = validsig[0].upper()
    primary = validsig[9].upper() if len(validsig) > 9 and validsig[9] else signing
    if primary not in trusted:
        raise SignatureError('signature by key %s, which is not among the accepted keys (%s)' % (primary, ', '.join(sorted(trusted)) or 'none'))
    return bytes(result.data), primary, signing


def verify_signature(blob: bytes, keys: t.Sequence[KeySource], accepted_fingerprints: t.Iterable[str] | None = None,
                     gpgbinary: str = 'gpg') -> VerifiedSignature:
    """Verify a simple signing blob (:func:`verify_blob`), then parse its payload strictly (:func:`parse_payload`)."""
    payload, primary, signing = verify_blob(blob, keys, accepted_fingerprints, gpgbinary)
    parsed = parse_payload(payload)
    return VerifiedSignature(docker_reference=parsed.docker_reference, manifest_digest=parsed.manifest_digest,
                             key_fingerprint=primary, signing_fingerprint=signing, creator=parsed.creator,
                             timestamp=parsed.timestamp)


# -- skopeo standalone-sign / standalone-verify ----------------------------------------------


def standalone_sign(manifest_bytes: bytes, docker_reference: str, fingerprint: str, passphrase: str | None = None,
                    gnupghome: str | None = None, gpgbinary: str = 'gpg', creator: str | None = DEFAULT_CREATOR,
                    timestamp: int | None = None) -> bytes:
    """``skopeo standalone-sign``: a simple signature of ``manifest_bytes`` as ``docker_reference``, by ``fingerprint``.

    The reference is validated and signed exactly as given (skopeo does not expand it either); the
    digest is ``manifest.Digest`` of the manifest.
    """
    parse_normalized_named(docker_reference)
    payload = new_payload(manifest_digest(manifest_bytes), docker_reference, creator=creator, timestamp=timestamp)
    return sign_payload(payload, fingerprint, passphrase=passphrase, gnupghome=gnupghome, gpgbinary=gpgbinary)


def _fingerprint_list(fingerprints: 'str | t.Iterable[str]') -> list[str]:
    items = fingerprints.split(',') if isinstance(fingerprints, str) else list(fingerprints)
    result = [normalize_fingerprint(item.strip()) for item in items if isinstance(item, str) and item.strip()]
    if not result or len(result) != len(items):
        raise InvalidInputError('at least one key fingerprint is required, and none may be empty')
    return result


def export_public_keys(fingerprints: 'str | t.Iterable[str]', gnupghome: str | None = None, gpgbinary: str = 'gpg') -> bytes:
    """The public keys of ``fingerprints``, exported (binary) from ``gnupghome`` (None: gpg's default home).

    Export only reads the home. Raises ConfigError when none of the keys is there.
    """
    wanted = _fingerprint_list(fingerprints)
    gpg = _open_gpg(gnupghome, gpgbinary)
    data = gpg.export_keys(wanted, armor=False)
    if not data:
        where = 'GNUPGHOME %s' % quote(gnupghome) if gnupghome else 'the default GNUPGHOME'
        raise ConfigError('no public key for %s in %s' % (', '.join(wanted), where))
    return bytes(data)


def standalone_verify(manifest_bytes: bytes, expected_reference: str, fingerprints: 'str | t.Iterable[str]', blob: bytes,
                      keyring: KeySource | t.Sequence[KeySource] | None = None, gnupghome: str | None = None,
                      gpgbinary: str = 'gpg') -> Digest:
    """``skopeo standalone-verify``: check ``blob`` signs ``manifest_bytes`` as ``expected_reference``; the manifest digest.

    ``fingerprints`` (a list, or comma-separated as newer skopeo takes them) are the accepted
    primary keys. ``keyring`` holds their public keys; without it they are exported from
    ``gnupghome`` (gpg's default home when None, as skopeo reads it). Either way verification runs
    in a throwaway home holding only those keys. Order of checks as in containers/image: the
    signature, then the identity, then the manifest digest.
    """
    parse_normalized_named(expected_reference)
    accepted = _fingerprint_list(fingerprints)
    if keyring is None:
        keys: list[KeySource] = [export_public_keys(accepted, gnupghome, gpgbinary)]
    elif isinstance(keyring, (bytes, bytearray, str, os.PathLike)):
        keys = [keyring]
    else:
        keys = list(keyring)
    verified = verify_signature(blob, keys, accepted, gpgbinary)
    check_identity(verified.docker_reference, expected_reference)
    check_manifest_digest(manifest_bytes, verified.manifest_digest)
    return verified.manifest_digest
