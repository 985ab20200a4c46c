# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sigstore (cosign-compatible) signatures as containers/image makes, stores and verifies them.

A sigstore signature is three things: a MIME type, a payload, and string annotations
(containers/image ``internal/signature/sigstore.go``). For an image signature the MIME type is
``application/vnd.dev.cosign.simplesigning.v1+json``, the payload is JSON::

    {"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},
                 "type":"cosign container image signature"},"optional":{"creator":C,"timestamp":T}}

(keys sorted, compact, as Go marshals maps; cosign itself writes ``"optional":null`` and a
repository without tag), and ``dev.cosignproject.cosign/signature`` holds the standard base64 of
the signature over the exact payload bytes. Optional annotations: ``dev.sigstore.cosign/bundle``
(a Rekor SET), ``dev.sigstore.cosign/certificate`` and ``dev.sigstore.cosign/chain`` (Fulcio/PKI).

Where they live:

* locally (``dir:``, containers-storage): the blob ``\\x00sigstore-json\\n{"mimeType":...,"payload":B64,
  "annotations":{...}}`` (:meth:`SigstoreSignature.to_blob` / :func:`parse_blob`);
* in a registry: one layer per signature of an OCI manifest tagged ``sha256-<hex>.sig`` beside
  the image (the tag: ``lookaside.sigstore_attachment_tag``; the documents: :func:`build_attachment`,
  :func:`parse_attachment`).

Verification follows containers/image ``signature/policy_eval_sigstore.go`` and
``signature/internal/{sigstore_payload,rekor_set}.go``: the signature must be by one of the given
public keys (keyPath/keyPaths/keyData/keyDatas: any of them), and, when Rekor keys are given, a
Rekor SET signed by one of them must record that key, that signature and that payload; or by the
key of a Fulcio certificate (with a Rekor SET, checked at its time) or of a BYO-PKI certificate
(sigstore_certs.py). Then the payload is parsed strictly, its digest must be the manifest's, and
its identity is handed to the caller's check (the policy's ``signedIdentity``). The payload is
never parsed before the cryptographic check.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import json
import math
import re
import time
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidInputError,
    ManifestError,
    OcikitError,
    SignatureError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import gojson
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import guess_media_type, manifest_digest, signed_payload
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_certs, sigstore_keys

SIGSTORE_SIGNATURE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json'
SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
SET_ANNOTATION = 'dev.sigstore.cosign/bundle'
CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate'
CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain'
PAYLOAD_TYPE = 'cosign container image signature'

#: The local blob form: a 0 byte, the format name, a newline, then JSON (containers/image ``signature.Blob``).
BLOB_PREFIX = b'\x00sigstore-json\n'
#: containers/image's bound on one signature (a local file or an attachment layer).
MAX_SIGNATURE_SIZE = 4 * 1024 * 1024
#: Bound on a ``.sig`` attachment manifest or its config.
MAX_ATTACHMENT_DOCUMENT_SIZE = 4 * 1024 * 1024

DEFAULT_CREATOR = 'ocikit.images'

_HASHEDREKORD_API_VERSION = '0.0.1'
_MAX_SAFE_INTEGER = (1 << 53) - 1


# ---------------------------------------------------------------------------------------------
# Strict JSON (containers/image's ParanoidUnmarshalJSONObject)
# ---------------------------------------------------------------------------------------------

def _shown(value: str, limit: int = 100) -> str:
    """An untrusted string for a message: JSON-quoted (controls escaped) and clipped, so a huge key cannot make a huge message."""
    return json.dumps(value[:limit] + ('...' if len(value) > limit else ''))


def _shown_json(value: t.Any, limit: int = 100) -> str:
    """Any untrusted JSON value for a message, as JSON, clipped."""
    text = json.dumps(value)
    return text[:limit] + ('...' if len(text) > limit else '')


def _strict_loads(raw: bytes, what: str) -> t.Any:
    """``raw`` parsed as JSON with duplicate keys, NaN/Infinity and trailing data refused (SignatureError)."""
    return jsonutil.strict_loads(raw, what, SignatureError)


def _exact_fields(value: t.Any, fields: tuple[str, ...], what: str) -> jsonutil.StrictObject:
    """``value`` must be an object with exactly ``fields`` (containers/image's ParanoidUnmarshalJSONObjectExactFields)."""
    if not isinstance(value, dict):
        raise SignatureError('%s: JSON object expected' % what)
    for key in value:
        if key not in fields:
            raise SignatureError('%s: unknown key %s' % (what, _shown(key)))
    for key in fields:
        if key not in value:
            raise SignatureError('%s: key %s missing in a JSON object' % (what, json.dumps(key)))
    return t.cast(jsonutil.StrictObject, value)


def _string(value: t.Any, what: str) -> str:
    if not isinstance(value, str):
        raise SignatureError('%s is not a string' % what)
    return value


def _int64(value: t.Any, what: str) -> int:
    """A JSON integer that fits Go's int64 (no fraction, no exponent, no bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or not -(1 << 63) <= value < (1 << 63):
        raise SignatureError('%s is not an integer' % what)
    return value


def _b64decode(value: t.Any, what: str) -> bytes:
    """Standard padded base64, as Go decodes a ``[]byte`` JSON field or ``base64.StdEncoding``."""
    if not isinstance(value, str):
        raise SignatureError('%s is not a base64 string' % what)
    try:
        # Go's base64 decoder skips CR and LF (cosign wraps RSA signatures at 76 columns).
        return base64.b64decode(value.replace('\r', '').replace('\n', ''), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError('%s is not valid base64' % what) from None


def _go_marshal(value: t.Any) -> bytes:
    """Go's json.Marshal of maps, strings and integers: sorted keys, compact, HTML-safe escapes, UTF-8."""
    if isinstance(value, dict):
        return b'{' + b','.join(gojson.encode_string(key).encode('utf-8') + b':' + _go_marshal(value[key])
                                for key in sorted(value)) + b'}'
    if isinstance(value, str):
        return gojson.encode_string(value).encode('utf-8')
    if value is None:
        return b'null'
    if isinstance(value, bool):
        return b'true' if value else b'false'
    if isinstance(value, int):
        return str(value).encode('ascii')
    raise TypeError('cannot marshal %s' % type(value).__name__)


# ---------------------------------------------------------------------------------------------
# Payload
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SigstorePayload:
    """The parsed payload of an image signature; untrusted until a key has verified the bytes it came from."""

    manifest_digest: Digest
    docker_reference: str
    creator: str | None = None
    timestamp: int | None = None


def make_payload(digest: 'Digest | str', docker_reference: str, creator: str | None = DEFAULT_CREATOR,
                 timestamp: int | None = None) -> bytes:
    """The payload bytes containers/image signs (``NewUntrustedSigstorePayload`` + ``MarshalJSON``).

    ``docker_reference`` is normalised (``busybox:1`` → ``docker.io/library/busybox:1``) and must
    have a tag or digest, as containers/image's signer requires. ``timestamp`` defaults to now
    (integer seconds). ``creator`` is written unless None (containers/image writes
    ``containers/image <version>``; any string is valid for verifiers).
    """
    digest = Digest.parse(digest)
    reference = parse_normalized_named(docker_reference)
    if reference.is_name_only():
        raise InvalidInputError('reference %s cannot be signed, it has neither a tag nor a digest' % json.dumps(str(reference)))
    optional: dict[str, t.Any] = {}
    if creator is not None:
        optional['creator'] = creator
    optional['timestamp'] = int(time.time()) if timestamp is None else int(timestamp)
    return _go_marshal({
        'critical': {
            'type': PAYLOAD_TYPE,
            'image': {'docker-manifest-digest': str(digest)},
            'identity': {'docker-reference': str(reference)},
        },
        'optional': optional,
    })


def parse_payload(raw: bytes) -> SigstorePayload:
    """Parse payload bytes as strictly as containers/image (``UntrustedSigstorePayload.strictUnmarshalJSON``).

    Exactly ``critical`` and ``optional`` at the top; ``optional`` may be ``null`` (cosign) and its
    unknown keys are ignored, but ``creator`` must be a string and ``timestamp`` an integral
    number; ``critical`` has exactly ``type`` (the cosign type), ``image`` (exactly
    ``docker-manifest-digest``, a valid digest) and ``identity`` (exactly ``docker-reference``, a
    string). Duplicate keys anywhere and trailing data are refused. Raises SignatureError.
    Call it only on bytes whose signature has been verified.
    """
    what = 'sigstore signature payload'
    document = _exact_fields(_strict_loads(raw, what), ('critical', 'optional'), what)
    optional = document['optional']
    creator = timestamp = None
    if optional is not None:
        if not isinstance(optional, dict):
            raise SignatureError('%s: "optional" is not a JSON object' % what)
        if 'creator' in optional:
            creator = _string(optional['creator'], '%s: "optional.creator"' % what)
        if 'timestamp' in optional:
            value = optional['timestamp']
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SignatureError('%s: "optional.timestamp" is not a number' % what)
            # Go reads a float64 and requires it to survive the trip through int64.
            if isinstance(value, float) and (not math.isfinite(value) or value != math.floor(value)):
                raise SignatureError('%s: "optional.timestamp" is not an integer' % what)
            timestamp = int(value)
            if not -(1 << 63) <= timestamp < (1 << 63):
                raise SignatureError('%s: "optional.timestamp" is not an integer' % what)
    critical = _exact_fields(document['critical'], ('type', 'image', 'identity'), '%s: "critical"' % what)
    kind = _string(critical['type'], '%s: "critical.type"' % what)
    if kind != PAYLOAD_TYPE:
        raise SignatureError('%s: unrecognized signature type %s' % (what, _shown(kind)))
    image = _exact_fields(critical['image'], ('docker-manifest-digest',), '%s: "critical.image"' % what)
    digest_text = _string(image['docker-manifest-digest'], '%s: "critical.image.docker-manifest-digest"' % what)
    try:
        digest = Digest.parse(digest_text)
    except OcikitError:
        raise SignatureError('%s: invalid docker-manifest-digest value %s' % (what, _shown(digest_text))) from None
    identity = _exact_fields(critical['identity'], ('docker-reference',), '%s: "critical.identity"' % what)
    reference = _string(identity['docker-reference'], '%s: "critical.identity.docker-reference"' % what)
    return SigstorePayload(manifest_digest=digest, docker_reference=reference, creator=creator, timestamp=timestamp)


# ---------------------------------------------------------------------------------------------
# Signatures and their local blob form
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SigstoreSignature:
    """One sigstore signature (or other cosign attachment): MIME type, payload bytes, annotations. Untrusted."""

    mime_type: str
    payload: bytes
    annotations: t.Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def base64_signature(self) -> str | None:
        """The ``dev.cosignproject.cosign/signature`` annotation, if present."""
        return self.annotations.get(SIGNATURE_ANNOTATION)

    def to_blob(self) -> bytes:
        """The local storage form containers/image writes (``signature.Blob``) for ``dir:`` and containers-storage."""
        document = {'mimeType': self.mime_type, 'payload': base64.b64encode(self.payload).decode('ascii'),
                    'annotations': dict(self.annotations)}
        # Go's struct order (mimeType, payload, annotations), not sorted: build it by hand.
        body = b'{' + b','.join(gojson.encode_string(key).encode('utf-8') + b':' + _go_marshal(document[key])
                                for key in ('mimeType', 'payload', 'annotations')) + b'}'
        return BLOB_PREFIX + body


def parse_blob(blob: bytes, what: str = 'sigstore signature') -> SigstoreSignature:
    """A :class:`SigstoreSignature` from its local blob form (``\\x00sigstore-json\\n{...}``). Raises SignatureError.

    containers/image decodes the JSON leniently (unknown keys ignored); so does this, but
    duplicate keys, non-string annotations and bad base64 are refused.
    """
    if len(blob) > MAX_SIGNATURE_SIZE:
        raise SignatureError('%s exceeds the %d byte limit' % (what, MAX_SIGNATURE_SIZE))
    if not blob.startswith(BLOB_PREFIX):
        raise SignatureError('%s does not start with the sigstore-json format marker' % what)
    document = _strict_loads(blob[len(BLOB_PREFIX):], what)
    if not isinstance(document, dict):
        raise SignatureError('%s: JSON object expected' % what)
    mime_type = document.get('mimeType')
    mime_type = '' if mime_type is None else _string(mime_type, '%s: "mimeType"' % what)
    payload = document.get('payload')
    payload = b'' if payload is None else _b64decode(payload, '%s: "payload"' % what)
    annotations = document.get('annotations')
    annotations = {} if annotations is None else annotations
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise SignatureError('%s: "annotations" is not an object of strings' % what)
    return SigstoreSignature(mime_type=mime_type, payload=payload, annotations=dict(annotations))


def sign(private_key: sigstore_keys.PrivateKey, manifest: bytes, docker_reference: str, creator: str | None = DEFAULT_CREATOR,
         timestamp: int | None = None) -> SigstoreSignature:
    """Sign ``manifest`` for ``docker_reference`` with a private key, as containers/image's SigstoreSigner does.

    The payload names containers/image's digest of the manifest (schema1 signatures stripped) and
    the full normalised reference with its tag; the only annotation is the base64 signature (no
    Rekor upload, no Fulcio certificate).
    """
    try:
        digest = manifest_digest(manifest)
    except ManifestError as exc:
        raise InvalidInputError('cannot sign the manifest: %s' % exc) from None
    payload = make_payload(digest, docker_reference, creator, timestamp)
    signature = sigstore_keys.sign_raw(private_key, payload)
    return SigstoreSignature(mime_type=SIGSTORE_SIGNATURE_MIME_TYPE, payload=payload,
                             annotations={SIGNATURE_ANNOTATION: base64.b64encode(signature).decode('ascii')})


# ---------------------------------------------------------------------------------------------
# Rekor SET
# ---------------------------------------------------------------------------------------------

def _canonical_json(value: t.Any) -> str:
    """RFC 8785 (JCS) canonical JSON of parsed JSON made of objects, arrays, strings, integers, booleans and null.

    Keys are sorted by UTF-16 code units; strings escape only what JCS escapes; numbers must be
    integers within +-2^53 (what ES6 formats as plain digits): a SET has no other kind.
    """
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: item[0].encode('utf-16-be'))
        return '{' + ','.join(_canonical_json(k) + ':' + _canonical_json(v) for k, v in items) + '}'
    if isinstance(value, list):
        return '[' + ','.join(_canonical_json(v) for v in value) + ']'
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int) and abs(value) <= _MAX_SAFE_INTEGER:
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value == math.floor(value) and abs(value) <= _MAX_SAFE_INTEGER:
        return str(int(value))
    raise SignatureError('Rekor SET payload holds a number that cannot be canonicalized')


_PEM_BLOCK = re.compile(rb'-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----(?:\r?\n|\Z)', re.DOTALL)


def _single_pem(data: bytes, what: str) -> bytes:
    """The DER of the one PEM block of ``data``, as Go's pem.Decode with nothing left after it (SignatureError otherwise)."""
    match = _PEM_BLOCK.search(data)
    der = None
    if match is not None:
        try:
            der = base64.b64decode(re.sub(rb'\s+', b'', match.group(2)), validate=True)
        except (binascii.Error, ValueError):
            der = None
    if der is None:
        raise SignatureError('%s is not in PEM format' % what)
    if data[match.end():]:
        raise SignatureError('%s has trailing data' % what)
    return der


def verify_rekor_set(rekor_keys: t.Sequence[sigstore_keys.PublicKey], set_json: bytes, key_or_cert_pem: bytes,
                     base64_signature: str, payload: bytes) -> int:
    """Verify a Rekor SET (the ``dev.sigstore.cosign/bundle`` annotation) and return its integratedTime.

    As containers/image ``VerifyRekorSET``: the SET is ``{"SignedEntryTimestamp": B64, "Payload": {...}}``
    (exact fields); one of ``rekor_keys`` (ECDSA) must have signed SHA-256 of the RFC 8785 form of
    ``Payload``; the payload (exact fields body/integratedTime/logIndex/logID) is re-read from the
    canonical bytes; its body is a hashedrekord 0.0.1 entry whose public key PEM carries the same
    DER as ``key_or_cert_pem``, whose signature is the decoded ``base64_signature``, and whose
    sha256 data hash is the payload's. Raises SignatureError.
    """
    document = _exact_fields(_strict_loads(set_json, 'Rekor SET'), ('SignedEntryTimestamp', 'Payload'), 'Rekor SET')
    set_signature = _b64decode(document['SignedEntryTimestamp'], 'Rekor SET "SignedEntryTimestamp"')
    canonical = _canonical_json(document['Payload']).encode('utf-8')
    hashed = hashlib.sha256(canonical).digest()
    if not any(sigstore_keys.verify_prehashed_ecdsa(key, set_signature, hashed) for key in rekor_keys):
        raise SignatureError('cryptographic signature verification of Rekor SET failed')

    rekor_payload = _exact_fields(_strict_loads(canonical, 'Rekor SET payload'), ('body', 'integratedTime', 'logIndex', 'logID'),
                                  'Rekor SET payload')
    integrated_time = _int64(rekor_payload['integratedTime'], 'Rekor SET payload "integratedTime"')
    _int64(rekor_payload['logIndex'], 'Rekor SET payload "logIndex"')
    _string(rekor_payload['logID'], 'Rekor SET payload "logID"')
    body = _strict_loads(_b64decode(rekor_payload['body'], 'Rekor SET payload "body"'), 'body of a Rekor SET payload')
    if not isinstance(body, dict):
        raise SignatureError('body of a Rekor SET payload: JSON object expected')
    if body.get('kind') != 'hashedrekord':
        raise SignatureError('body of a Rekor SET payload is not a hashedrekord entry')
    if body.get('apiVersion') is None:
        raise SignatureError('missing Rekor SET Payload API version')
    if body.get('apiVersion') != _HASHEDREKORD_API_VERSION:
        raise SignatureError('unsupported Rekor SET Payload hashedrekord version %s' % _shown_json(body.get('apiVersion')))
    spec = body.get('spec')
    spec = spec if isinstance(spec, dict) else {}

    def member(parent: t.Any, name: str, path: str) -> t.Any:
        value = parent.get(name) if isinstance(parent, dict) else None
        if value is None:
            raise SignatureError('missing "%s" field in hashedrekord' % path)
        return value

    rekor_signature = member(spec, 'signature', 'signature')
    rekor_public_key = member(rekor_signature, 'publicKey', 'signature.publicKey')
    rekor_key_pem = _b64decode(member(rekor_public_key, 'content', 'signature.publicKey.content'), 'hashedrekord "signature.publicKey.content"')
    rekor_der = _single_pem(rekor_key_pem, 'publicKey in Rekor SET')
    given_der = _single_pem(key_or_cert_pem, 'public key or cert to be matched against publicKey in Rekor SET')
    # As containers/image: the DER is compared, not the PEM type or headers.
    if rekor_der != given_der:
        raise SignatureError('publicKey in Rekor SET does not match')
    content = member(rekor_signature, 'content', 'signature.content')
    if _b64decode(content, 'hashedrekord "signature.content"') != _b64decode(base64_signature, 'signature annotation'):
        raise SignatureError('signature in Rekor SET does not match')
    data_hash = member(member(spec, 'data', 'data'), 'hash', 'data.hash')
    algorithm = member(data_hash, 'algorithm', 'data.hash.algorithm')
    if algorithm != 'sha256':
        raise SignatureError('unexpected "data.hash.algorithm" value %s' % _shown_json(algorithm))
    value = _string(member(data_hash, 'value', 'data.hash.value'), 'hashedrekord "data.hash.value"')
    try:
        expected = bytes.fromhex(value)
    except ValueError:
        raise SignatureError('invalid "data.hash.value" field in hashedrekord') from None
    if expected != hashlib.sha256(payload).digest():
        raise SignatureError('payload in Rekor SET does not match')
    return integrated_time


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class VerifiedSignature:
    """A signature whose signer is trusted: its parsed payload, the key that verified it (``key_index`` in the keys given), Rekor's time."""

    payload: SigstorePayload
    public_key: sigstore_keys.PublicKey
    key_index: int
    integrated_time: int | None = None

    @property
    def identity(self) -> str:
        """The signed docker reference (as written in the payload; the caller's policy matched it)."""
        return self.payload.docker_reference

    @property
    def key_fingerprint(self) -> str:
        """``sha256:<hex>`` of the verifying key's DER SubjectPublicKeyInfo: a stable name for results and messages."""
        return sigstore_keys.key_fingerprint(self.public_key)


def matches_digest(manifest: bytes, digest: Digest) -> bool:
    """containers/image's ``manifest.MatchesDigest``: ``manifest`` hashed with ``digest``'s algorithm, schema1 signatures stripped.

    A schema1 manifest whose signatures cannot be stripped is a SignatureError (the image cannot be
    verified), as containers/image fails on it.
    """
    try:
        canonical = signed_payload(manifest) if guess_media_type(manifest) == mt.DOCKER_V2S1_SIGNED else manifest
    except ManifestError as exc:
        raise SignatureError('cannot compute the digest of the manifest: %s' % exc) from None
    return Digest.from_bytes(canonical, digest.algorithm) == digest


def _trusted_keys(signature: SigstoreSignature, base64_signature: str, public_keys: t.Sequence[sigstore_keys.PublicKey] | None,
                  rekor_keys: t.Sequence[sigstore_keys.PublicKey] | None, fulcio: sigstore_certs.FulcioTrustRoot | None,
                  pki: sigstore_certs.PKITrustRoot | None, now: datetime.datetime | None) -> tuple[list[tuple[int, t.Any]], int | None]:
    """The candidate (index, public key) pairs for the payload signature and the Rekor integratedTime, per the trust source."""
    if sum(source is not None for source in (public_keys, fulcio, pki)) != 1:
        raise InvalidInputError('exactly one of public keys, Fulcio or PKI must be given to verify sigstore signatures')
    if public_keys is not None and not public_keys:
        raise InvalidInputError('no public key to verify sigstore signatures with')
    if fulcio is not None and not rekor_keys:
        raise InvalidInputError('Fulcio verification needs a Rekor public key')
    if pki is not None and rekor_keys:
        raise InvalidInputError('PKI verification cannot be combined with a Rekor public key')
    if pki is not None or fulcio is not None:
        certificate = signature.annotations.get(CERTIFICATE_ANNOTATION)
        set_json = signature.annotations.get(SET_ANNOTATION)
        if fulcio is not None and set_json is None:
            raise SignatureError('missing %s annotation' % SET_ANNOTATION)
        if certificate is None:
            raise SignatureError('missing %s annotation' % CERTIFICATE_ANNOTATION)
        chain = signature.annotations.get(CHAIN_ANNOTATION)
        chain_bytes = chain.encode('utf-8') if chain is not None else None
        if fulcio is not None:
            integrated_time = verify_rekor_set(t.cast(t.Sequence[t.Any], rekor_keys), t.cast(str, set_json).encode('utf-8'),
                                               certificate.encode('utf-8'), base64_signature, signature.payload)
            key = sigstore_certs.verify_fulcio_certificate(fulcio, integrated_time, certificate.encode('utf-8'), chain_bytes)
            return [(0, key)], integrated_time
        return [(0, sigstore_certs.verify_pki_certificate(t.cast(sigstore_certs.PKITrustRoot, pki), certificate.encode('utf-8'),
                                                          chain_bytes, now))], None
    candidates = list(enumerate(t.cast(t.Sequence[t.Any], public_keys)))
    if not rekor_keys:
        return candidates, None
    set_json = signature.annotations.get(SET_ANNOTATION)
    if set_json is None:
        raise SignatureError('missing %s annotation' % SET_ANNOTATION)
    failures = []
    for index, key in candidates:
        try:
            integrated_time = verify_rekor_set(rekor_keys, set_json.encode('utf-8'), sigstore_keys.public_key_pem(key),
                                               base64_signature, signature.payload)
        except SignatureError as exc:
            failures.append(str(exc))
            continue
        # A SET records one public key: the others either do not match or are duplicates.
        return [(index, key)], integrated_time
    raise SignatureError('No public key verified against the RekorSET: %s' % ', '.join(failures))


def verify_cryptography(signature: SigstoreSignature, public_keys: t.Sequence[sigstore_keys.PublicKey] | None = None,
                        rekor_keys: t.Sequence[sigstore_keys.PublicKey] | None = None, *,
                        fulcio: sigstore_certs.FulcioTrustRoot | None = None, pki: sigstore_certs.PKITrustRoot | None = None,
                        now: datetime.datetime | None = None) -> VerifiedSignature:
    """The signer and payload of one sigstore signature, without comparing the payload to an image; SignatureError if untrusted.

    The signer is trusted through exactly one of: ``public_keys`` (any of them; with ``rekor_keys``
    a Rekor SET must record the key), ``fulcio`` (a Fulcio certificate, checked at the time of a
    Rekor SET signed by one of ``rekor_keys``, which are then required) or ``pki`` (a certificate
    chaining to the given roots at ``now``; no Rekor). Only then is the payload parsed (strictly).
    This is the part a policy engine that compares digests and identities itself needs;
    :func:`verify_signature` does the rest. A wrong combination of trust sources is InvalidInputError.
    """
    if signature.mime_type != SIGSTORE_SIGNATURE_MIME_TYPE:
        raise SignatureError('sigstore attachment of type %s is not a signature' % _shown(signature.mime_type))
    base64_signature = signature.annotations.get(SIGNATURE_ANNOTATION)
    if base64_signature is None:
        raise SignatureError('missing %s annotation' % SIGNATURE_ANNOTATION)
    candidates, integrated_time = _trusted_keys(signature, base64_signature, public_keys, rekor_keys, fulcio, pki, now)

    raw_signature = _b64decode(base64_signature, 'signature annotation')
    for index, key in candidates:
        if sigstore_keys.verify_raw(key, raw_signature, signature.payload):
            break
    else:
        raise SignatureError('cryptographic signature verification failed')
    return VerifiedSignature(payload=parse_payload(signature.payload), public_key=key, key_index=index, integrated_time=integrated_time)


def verify_signature(signature: SigstoreSignature, manifest: bytes, public_keys: t.Sequence[sigstore_keys.PublicKey] | None = None,
                     rekor_keys: t.Sequence[sigstore_keys.PublicKey] | None = None,
                     validate_identity: t.Callable[[str], None] | None = None, *,
                     fulcio: sigstore_certs.FulcioTrustRoot | None = None, pki: sigstore_certs.PKITrustRoot | None = None,
                     now: datetime.datetime | None = None) -> VerifiedSignature:
    """Verify one sigstore signature of ``manifest``; raise SignatureError if it is not accepted.

    :func:`verify_cryptography` (the trust sources are its), then the signed digest must be the
    manifest's, then ``validate_identity`` receives the signed docker reference and raises to
    refuse it (the policy's ``signedIdentity``); without it any identity is returned. Messages
    follow containers/image's.
    """
    verified = verify_cryptography(signature, public_keys, rekor_keys, fulcio=fulcio, pki=pki, now=now)
    if not matches_digest(manifest, verified.payload.manifest_digest):
        raise SignatureError('Signature for digest %s does not match' % verified.payload.manifest_digest)
    if validate_identity is not None:
        validate_identity(verified.payload.docker_reference)
    return verified


def verify_any(signatures: t.Iterable[SigstoreSignature], manifest: bytes, public_keys: t.Sequence[sigstore_keys.PublicKey] | None = None,
               rekor_keys: t.Sequence[sigstore_keys.PublicKey] | None = None,
               validate_identity: t.Callable[[str], None] | None = None, non_sigstore: int = 0, **trust: t.Any) -> VerifiedSignature:
    """The first of ``signatures`` that :func:`verify_signature` accepts; else SignatureError summarising why.

    As containers/image's ``isRunningImageAllowed`` for ``sigstoreSigned``: attachments that are
    not signatures (another MIME type) are skipped and counted; one rejection is reported as
    itself, several as "None of the signatures were accepted, reasons: a; b". ``non_sigstore`` is
    the number of other signatures the image has (simple signing), which the caller skipped and
    which the "no signature" message counts. ``trust`` passes ``fulcio``, ``pki`` and ``now`` on.
    """
    rejections: list[str] = []
    skipped = 0
    for signature in signatures:
        if signature.mime_type != SIGSTORE_SIGNATURE_MIME_TYPE:
            skipped += 1
            continue
        try:
            return verify_signature(signature, manifest, public_keys, rekor_keys, validate_identity, **trust)
        except SignatureError as exc:
            rejections.append(str(exc))
    if not rejections:
        if skipped or non_sigstore:
            raise SignatureError('A signature was required, but no signature exists (%d non-sigstore signatures, '
                                 '%d sigstore non-signature attachments)' % (non_sigstore, skipped))
        raise SignatureError('A signature was required, but no signature exists')
    if len(rejections) == 1:
        raise SignatureError(rejections[0])
    raise SignatureError('None of the signatures were accepted, reasons: %s' % '; '.join(rejections))


# ---------------------------------------------------------------------------------------------
# Registry attachments (sha256-<hex>.sig)
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Attachment:
    """An attachment manifest and its config, as bytes to upload, plus the layer blobs they need (digest → bytes)."""

    manifest: bytes
    config: bytes
    config_digest: Digest
    layers: t.Mapping[str, bytes]
    added: int


def layer_matches(layer: t.Mapping[str, t.Any], signature: SigstoreSignature) -> bool:
    """containers/image's ``layerMatchesSigstoreSignature``: same media type, size, sha256 digest and annotations."""
    return (layer.get('mediaType') == signature.mime_type and layer.get('size') == len(signature.payload)
            and layer.get('digest') == str(Digest.from_bytes(signature.payload))
            and dict(layer.get('annotations') or {}) == dict(signature.annotations))


def build_attachment(signatures: t.Iterable[SigstoreSignature], existing_manifest: bytes | None = None,
                     existing_config: bytes | None = None) -> Attachment:
    """The ``.sig`` attachment manifest and config holding ``signatures``, as containers/image writes them.

    With an existing attachment (its manifest and config bytes, digest-verified by the caller), its
    layers are kept and each new signature is appended unless an identical layer exists; the
    config's ``rootfs.diff_ids`` gets the new layer digests. Both documents are re-encoded as Go
    encodes image-spec structs (unknown fields dropped), so the bytes are containers/image's.
    ``layers`` holds the blobs of the added layers only: the others are already in the registry.
    """
    if existing_manifest is None:
        document = {'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
                    'config': dict(gojson.new_struct(gojson.OCI_DESCRIPTOR), mediaType=mt.OCI_CONFIG), 'layers': None}
        config = dict(gojson.new_struct(gojson.OCI_IMAGE), rootfs={'type': 'layers', 'diff_ids': None})
    else:
        if len(existing_manifest) > MAX_ATTACHMENT_DOCUMENT_SIZE:
            raise ManifestError('sigstore attachment manifest exceeds the %d byte limit' % MAX_ATTACHMENT_DOCUMENT_SIZE)
        document = gojson.unmarshal(gojson.OCI_MANIFEST, existing_manifest, 'sigstore attachment manifest')
        if existing_config is None:
            raise InvalidInputError('the config of the existing sigstore attachment is needed to append to it')
        config = gojson.unmarshal(gojson.OCI_IMAGE, existing_config, 'sigstore attachment config')
    layers = list(document.get('layers') or [])
    diff_ids = config['rootfs'].get('diff_ids')
    blobs: dict[str, bytes] = {}
    added = 0
    for signature in signatures:
        if any(layer_matches(layer, signature) for layer in layers):
            continue
        digest = str(Digest.from_bytes(signature.payload))
        layer = dict(gojson.new_struct(gojson.OCI_DESCRIPTOR), mediaType=signature.mime_type, digest=digest, size=len(signature.payload),
                     annotations=dict(signature.annotations) or None)
        layers.append(layer)
        diff_ids = list(diff_ids or []) + [digest]
        blobs[digest] = signature.payload
        added += 1
    if layers:
        document['layers'] = layers
    config['rootfs'] = dict(config['rootfs'], diff_ids=diff_ids)
    config_raw = gojson.marshal(gojson.OCI_IMAGE, config)
    config_digest = Digest.from_bytes(config_raw)
    document['config'] = dict(gojson.new_struct(gojson.OCI_DESCRIPTOR), mediaType=mt.OCI_CONFIG, digest=str(config_digest), size=len(config_raw))
    return Attachment(manifest=gojson.marshal(gojson.OCI_MANIFEST, document), config=config_raw, config_digest=config_digest,
                      layers=blobs, added=added)


def attachment_layers(manifest: bytes, content_type: str | None = None) -> list[tuple[Digest, int, str, dict[str, str]]]:
    """The layers of a ``.sig`` attachment manifest: (digest, size, media type, annotations), in order.

    The manifest must be an OCI image manifest (containers/image refuses any other Content-Type);
    the caller fetches each layer (digest-verified, at most :data:`MAX_SIGNATURE_SIZE`) and passes
    the payloads to :func:`parse_attachment`.
    """
    if content_type is not None and content_type != mt.OCI_MANIFEST:
        raise ManifestError('unexpected MIME type for sigstore attachment manifest: %s' % _shown(content_type))
    if len(manifest) > MAX_ATTACHMENT_DOCUMENT_SIZE:
        raise ManifestError('sigstore attachment manifest exceeds the %d byte limit' % MAX_ATTACHMENT_DOCUMENT_SIZE)
    document = gojson.unmarshal(gojson.OCI_MANIFEST, manifest, 'sigstore attachment manifest')
    if document.get('mediaType') not in ('', mt.OCI_MANIFEST):
        raise ManifestError('sigstore attachment manifest has media type %s, not an OCI image manifest' % _shown(document['mediaType']))
    result = []
    for index, layer in enumerate(document.get('layers') or []):
        try:
            digest = Digest.parse(layer['digest'])
        except OcikitError:
            raise ManifestError('sigstore attachment manifest: layer %d has an invalid digest' % index) from None
        if layer['size'] < 0 or layer['size'] > MAX_SIGNATURE_SIZE:
            raise ManifestError('sigstore attachment manifest: layer %d size %d is over the %d byte limit' % (index, layer['size'], MAX_SIGNATURE_SIZE))
        result.append((digest, layer['size'], layer['mediaType'], dict(layer.get('annotations') or {})))
    return result


def parse_attachment(manifest: bytes, blobs: t.Mapping[str, bytes], content_type: str | None = None) -> list[SigstoreSignature]:
    """Every layer of a ``.sig`` attachment as a :class:`SigstoreSignature` (signatures and other attachments alike).

    ``blobs`` maps layer digests to their content; each is checked against its digest and size.
    """
    signatures = []
    for digest, size, media_type, layer_annotations in attachment_layers(manifest, content_type):
        payload = blobs.get(str(digest))
        if payload is None:
            raise ManifestError('sigstore attachment layer %s is missing' % digest)
        if len(payload) != size:
            raise ManifestError('sigstore attachment layer %s is %d bytes, not %d' % (digest, len(payload), size))
        digest.verify_bytes(payload, 'sigstore attachment layer %s' % digest)
        signatures.append(SigstoreSignature(mime_type=media_type, payload=payload, annotations=layer_annotations))
    return signatures
