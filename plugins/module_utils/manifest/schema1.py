# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Docker schema1 manifests: parsing, their digest, the config they imply, and writing them.

A schema1 manifest lists layers top first (``fsLayers`` and ``history`` run from the newest layer
down to the base), carries the image configuration as JSON strings (``v1Compatibility``), and is
usually signed with a JWS whose key nobody trusts. Its digest is the digest of the manifest
*without* the signatures, recovered exactly as containers/image recovers it (libtrust's
``formatLength`` and ``formatTail`` from the protected header); the signatures themselves are
not verified, as they prove nothing.

When converting from schema1, the config is rebuilt from the first ``v1Compatibility`` and the
diff_ids of the layers (which only decompressing the layers can tell); when converting to schema1
the manifest is signed with a throwaway key, as containers/image does, because
docker/distribution registries reject unsigned schema1 manifests.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.compression import ZSTD, compression_of_media_type, is_layer_media_type
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import gojson
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor

#: A gzip-compressed empty tar (1024 zero bytes) as docker/distribution writes it for the empty
#: layers of schema1 images; containers/image writes the same bytes when it converts to schema1.
GZIPPED_EMPTY_LAYER = bytes((
    31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88,
    0, 8, 0, 0, 255, 255, 46, 175, 181, 239, 0, 4, 0, 0,
))
GZIPPED_EMPTY_LAYER_DIGEST = Digest('sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4')

_V1_ID = re.compile(r'[a-f0-9]{64}\Z')
_JOSE_BASE64 = re.compile(r'[A-Za-z0-9_-]*\Z')
_UNREPORTED_TYPES = ('', 'application/json', 'text/plain', 'application/octet-stream')
_GUESS_SPEC: gojson.Spec = (gojson.Field('mediaType', gojson.STRING), gojson.Field('schemaVersion', gojson.INT),
                            gojson.Field('signatures', gojson.ANY))
_GUESS_V2_SPEC: gojson.Spec = (gojson.Field('config', gojson.STRUCT, False, (gojson.Field('mediaType', gojson.STRING),)),
                               gojson.Field('manifests', gojson.ANY))
_AMBIGUITY_SPEC: gojson.Spec = (gojson.Field('config', gojson.ANY), gojson.Field('layers', gojson.ANY), gojson.Field('manifests', gojson.ANY))
_JWS_SPEC: gojson.Spec = (
    gojson.Field('header', gojson.STRUCT, False, (gojson.Field('jwk', gojson.ANY), gojson.Field('alg', gojson.STRING),
                                                  gojson.Field('x5c', gojson.STRINGS))),
    gojson.Field('signature', gojson.STRING),
    gojson.Field('protected', gojson.STRING),
)


def jose_base64_decode(value: str) -> bytes:
    """libtrust's joseBase64UrlDecode: unpadded base64url, spaces and newlines ignored."""
    value = value.replace('\n', '').replace(' ', '').replace('\r', '')
    if len(value) % 4 == 1 or not _JOSE_BASE64.match(value):
        raise ValueError('illegal base64url string')
    return base64.urlsafe_b64decode(value + '=' * (-len(value) % 4))


def jose_base64_encode(data: bytes) -> str:
    """libtrust's joseBase64UrlEncode: base64url without padding."""
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def guess_media_type(raw: bytes) -> str:
    """containers/image's ``manifest.GuessMIMEType``: the manifest type its JSON suggests, or ''."""
    try:
        meta = gojson.unmarshal(_GUESS_SPEC, raw)
    except ManifestError:
        return ''
    if meta['mediaType'] in (mt.DOCKER_V2S2, mt.DOCKER_LIST, mt.OCI_MANIFEST, mt.OCI_INDEX):
        return meta['mediaType']
    if meta['schemaVersion'] == 1:
        return mt.DOCKER_V2S1_SIGNED if meta['signatures'] is not None else mt.DOCKER_V2S1
    if meta['schemaVersion'] == 2:
        try:
            shape = gojson.unmarshal(_GUESS_V2_SPEC, raw)
        except ManifestError:
            return ''
        config_type = shape['config']['mediaType']
        if config_type == mt.OCI_CONFIG:
            return mt.OCI_MANIFEST
        if config_type == mt.DOCKER_CONFIG:
            return mt.DOCKER_V2S2
        if isinstance(shape['manifests'], list) and shape['manifests']:
            return config_type or mt.OCI_INDEX
        return mt.OCI_MANIFEST
    return ''


def signed_payload(raw: bytes) -> bytes:
    """The bytes a prettyjws schema1 manifest signed: ``raw`` without its ``signatures``.

    This is libtrust's ParsePrettySignature followed by Payload(): the part of ``raw`` before
    ``formatLength`` plus the decoded ``formatTail``, both from the protected headers (which must
    agree). Raises ManifestError where containers/image fails to compute the digest.
    """
    members = gojson.object_members(raw, 'schema1 manifest')
    if 'signatures' not in members:
        raise ManifestError('schema1 manifest: missing signature key')
    blocks = gojson.loads(members['signatures'], 'schema1 signatures')
    if blocks is not None and (not isinstance(blocks, list) or isinstance(blocks, gojson.GoObject)):
        raise ManifestError('schema1 manifest: signatures is not a list')
    format_length = 0
    format_tail = b''
    for block in blocks or ():
        signature = gojson.decode_struct(_JWS_SPEC, block, 'schema1 signature')
        try:
            protected = gojson.loads(jose_base64_decode(signature['protected']), 'schema1 protected header')
        except ValueError as exc:
            raise ManifestError('schema1 manifest: base64 decode error: %s' % exc) from None
        if protected is not None and not isinstance(protected, gojson.GoObject):
            raise ManifestError('schema1 manifest: protected header is not a JSON object')
        header = dict(protected or ())
        length = header.get('formatLength')
        if not isinstance(length, gojson.GoNumber):
            raise ManifestError('schema1 manifest: missing formatted length')
        tail_text = header.get('formatTail')
        if not isinstance(tail_text, str) or isinstance(tail_text, gojson.GoNumber):
            raise ManifestError('schema1 manifest: missing formatted tail')
        try:
            tail = jose_base64_decode(tail_text)
        except ValueError as exc:
            raise ManifestError('schema1 manifest: base64 decode error on tail: %s' % exc) from None
        try:
            this_length = int(float(length))
        except (OverflowError, ValueError):
            raise ManifestError('schema1 manifest: invalid format length') from None
        if format_length == 0:
            format_length = this_length
        elif format_length != this_length:
            raise ManifestError('schema1 manifest: conflicting format length')
        if not format_tail:
            format_tail = tail
        elif format_tail != tail:
            raise ManifestError('schema1 manifest: conflicting format tail')
    if not 0 <= format_length <= len(raw):
        raise ManifestError('schema1 manifest: invalid format length')
    return raw[:format_length] + format_tail


def manifest_digest(raw: bytes) -> Digest:
    """containers/image's ``manifest.Digest`` for any manifest.

    A signed schema1 manifest is digested without its signatures; everything else as it is.
    """
    if guess_media_type(raw) == mt.DOCKER_V2S1_SIGNED:
        return Digest.from_bytes(signed_payload(raw))
    return Digest.from_bytes(raw)


def docker_version_less_than(version: str, other: str) -> bool:
    """docker's api/types/versions.LessThan: dot-separated integers, anything unparsable counts as 0."""
    def number(part: str) -> int:
        return max(min(int(part), (1 << 63) - 1), -(1 << 63)) if re.match(r'[+-]?[0-9]+\Z', part) else 0
    if version == other:
        return False
    mine, theirs = version.split('.'), other.split('.')
    for index in range(max(len(mine), len(theirs))):
        left = number(mine[index]) if index < len(mine) else 0
        right = number(theirs[index]) if index < len(theirs) else 0
        if left != right:
            return left < right
    return False


@dataclasses.dataclass(frozen=True)
class Schema1Manifest:
    """A parsed Docker schema1 manifest.

    ``fs_layers`` and ``history`` are in the document's order (top layer first), after dropping
    the consecutive duplicate layer IDs containers/image drops. ``raw`` is exactly what was
    received and ``digest`` is containers/image's digest of it (signatures stripped).
    """

    raw: bytes
    media_type: str
    digest: Digest
    name: str
    tag: str
    architecture: str
    fs_layers: tuple[Digest, ...]
    history: tuple[str, ...]
    compatibility: tuple[t.Mapping[str, t.Any], ...] = dataclasses.field(repr=False, compare=False)

    @property
    def is_index(self) -> bool:
        return False

    @property
    def config(self) -> None:
        """Schema1 has no config blob."""
        return None

    @property
    def signed(self) -> bool:
        return guess_media_type(self.raw) == mt.DOCKER_V2S1_SIGNED

    @property
    def payload(self) -> bytes:
        """The manifest without its signatures (what ``digest`` is the digest of)."""
        return signed_payload(self.raw) if self.signed else self.raw

    @property
    def throwaway(self) -> tuple[bool, ...]:
        """For every layer, base first: whether history marks it as empty (``throwaway``)."""
        return tuple(bool(entry['throwaway']) for entry in reversed(self.compatibility))

    @property
    def all_layers(self) -> tuple[Descriptor, ...]:
        """Every blob of ``fsLayers``, base first, empty layers included (sizes unknown: -1)."""
        return tuple(Descriptor(media_type=mt.DOCKER_LAYER_GZIP, digest=digest, size=-1) for digest in reversed(self.fs_layers))

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        """The layers a schema2 or OCI image made from this one has, base first: empty layers skipped."""
        return tuple(layer for layer, empty in zip(self.all_layers, self.throwaway) if not empty)

    def blobs(self) -> list[Descriptor]:
        """What a copy of this manifest needs: every fsLayers blob, base first."""
        return list(self.all_layers)

    def select_diff_ids(self, diff_ids: t.Sequence[Digest | str]) -> list[Digest]:
        """The diff_ids of the non-empty layers, from diff_ids of all layers or of the non-empty ones."""
        parsed = [Digest.parse(value) for value in diff_ids]
        if len(parsed) == len(self.fs_layers):
            return [digest for digest, empty in zip(parsed, self.throwaway) if not empty]
        if len(parsed) == len(self.layers):
            return parsed
        raise ManifestError('schema1 image %s has %d layers (%d not empty), got %d diff_ids'
                            % (self.digest, len(self.fs_layers), len(self.layers), len(parsed)))

    def to_docker_config(self, diff_ids: t.Sequence[Digest | str]) -> bytes:
        """The Docker image config containers/image builds from this manifest (``ToSchema2Config``).

        It is the first ``v1Compatibility`` without ``id``, ``parent``, ``parent_id``,
        ``layer_id``, ``throwaway`` and ``Size``, with ``rootfs`` (the diff_ids of the non-empty
        layers) and a ``history`` made from every entry, keys sorted, values kept as they were.
        """
        diffs = self.select_diff_ids(diff_ids)
        config = self.history[0]
        v1_image = gojson.unmarshal(gojson.S2_V1IMAGE, config, 'schema1 configuration')
        # Images made by Docker before 1.8.3 lack fields later readers need; re-encoding adds them.
        if v1_image['docker_version'] and docker_version_less_than(v1_image['docker_version'], '1.8.3'):
            config = gojson.encode_struct(gojson.S2_V1IMAGE, v1_image)
        history = []
        for entry in reversed(self.compatibility):
            history.append({'created': entry['created'], 'created_by': ' '.join(entry['container_config']['Cmd'] or ()),
                            'author': entry['author'], 'comment': entry['comment'], 'empty_layer': entry['throwaway']})
        members = gojson.object_members(config, 'schema1 configuration')
        for key in ('id', 'parent', 'parent_id', 'layer_id', 'throwaway', 'Size'):
            members.pop(key, None)
        members['rootfs'] = gojson.encode_struct(gojson.S2_ROOTFS, {'type': 'layers', 'diff_ids': [str(d) for d in diffs]})
        members['history'] = '[' + ','.join(gojson.encode_struct(gojson.S2_HISTORY, item) for item in history) + ']'
        return gojson.marshal_raw_map(members).encode('utf-8')

    def to_oci_config(self, diff_ids: t.Sequence[Digest | str]) -> bytes:
        """The OCI image config containers/image builds from this manifest (the Docker one, re-encoded)."""
        return oci_config_from_docker(self.to_docker_config(diff_ids))


def oci_config_from_docker(config_raw: bytes) -> bytes:
    """A Docker image config re-encoded as an OCI one, as containers/image's ``OCIConfig`` does.

    Fields OCI does not define (``container_config``, ``docker_version``, ``Hostname``...) are
    dropped, the rest re-serialised in image-spec's field order.
    """
    return gojson.marshal(gojson.OCI_IMAGE, gojson.unmarshal(gojson.OCI_IMAGE, config_raw, 'image config'))


def _check_layer_ids(compat: list[dict[str, t.Any]]) -> None:
    """containers/image's fixManifestLayers checks: valid IDs, a parentless base, one parent chain."""
    for entry in compat:
        if not _V1_ID.match(entry['id']):
            raise ManifestError('schema1 manifest: image ID %r is invalid' % entry['id'])
    if compat[-1]['parent']:
        raise ManifestError('schema1 manifest: invalid parent ID in the base layer of the image')
    seen: set[str] = set()
    last = ''
    for entry in compat:
        if entry['id'] != last and entry['id'] in seen:
            raise ManifestError('schema1 manifest: ID %s appears multiple times in manifest' % entry['id'])
        last = entry['id']
        seen.add(last)


def parse_schema1(raw: bytes, content_type: str | None = None, expected_digest: Digest | None = None,
                  what: str = 'manifest') -> Schema1Manifest:
    """Parse a Docker schema1 manifest, signed or not, as containers/image does.

    ``expected_digest`` is compared with the digest of the manifest without its signatures.
    Consecutive history entries with the same layer ID are merged (the newer one dropped), as in
    containers/image; empty (``throwaway``) layers stay in ``fs_layers`` but not in ``layers``.
    """
    if len(raw) > mt.MAX_MANIFEST_SIZE:
        raise ManifestTooLargeError('%s is %d bytes, over the %d byte limit' % (what, len(raw), mt.MAX_MANIFEST_SIZE))
    document = gojson.unmarshal(gojson.S1_MANIFEST, raw, what)
    if document['schemaVersion'] != 1:
        raise ManifestError('%s has schemaVersion %r, expected 1' % (what, document['schemaVersion']))
    ambiguous = gojson.unmarshal(_AMBIGUITY_SPEC, raw, what)
    unexpected = [key for key in ('config', 'layers', 'manifests') if ambiguous[key] is not None]
    if unexpected:
        raise ManifestError('%s: rejecting ambiguous manifest, unexpected fields %s in supposedly %s'
                            % (what, ', '.join(unexpected), mt.DOCKER_V2S1_SIGNED))
    guessed = guess_media_type(raw)
    reported = (content_type or '').split(';', 1)[0].strip().lower()
    if reported in _UNREPORTED_TYPES:
        media_type = guessed if guessed in mt.SCHEMA1_TYPES else mt.DOCKER_V2S1_SIGNED
    elif reported in mt.SCHEMA1_TYPES:
        media_type = reported
    else:
        raise UnsupportedMediaTypeError('%s is Docker schema1 but was served as %s' % (what, reported))
    layers = [entry['blobSum'] for entry in document['fsLayers'] or ()]
    history = [entry['v1Compatibility'] for entry in document['history'] or ()]
    if len(layers) != len(history):
        raise ManifestError('%s: length of history not equal to number of layers' % what)
    if not layers:
        raise ManifestError('%s: no FSLayers in manifest' % what)
    compat = [gojson.unmarshal(gojson.S1_V1COMPAT, text, '%s history entry %d' % (what, index)) for index, text in enumerate(history)]
    _check_layer_ids(compat)
    for index in range(len(compat) - 2, -1, -1):
        if compat[index]['id'] == compat[index + 1]['id']:
            del layers[index], history[index], compat[index]
        elif compat[index]['parent'] != compat[index + 1]['id']:
            raise ManifestError('%s: invalid parent ID. Expected %s, got %r' % (what, compat[index + 1]['id'], compat[index]['parent']))
    digest = manifest_digest(raw)
    if expected_digest is not None and digest != expected_digest:
        raise DigestMismatchError('%s digest mismatch: expected %s, got %s' % (what, expected_digest, digest))
    return Schema1Manifest(raw=raw, media_type=media_type, digest=digest, name=document['name'], tag=document['tag'],
                           architecture=document['architecture'], fs_layers=tuple(Digest.parse(layer) for layer in layers),
                           history=tuple(history), compatibility=tuple(compat))


def v1_id(blob_digest: Digest, *parts: 'str | bytes') -> str:
    """The fake v1 image ID Docker (and containers/image) derive: sha256 of the blob hex and ``parts``, space-joined."""
    pieces = [blob_digest.hex.encode('ascii')] + [part if isinstance(part, bytes) else part.encode('utf-8') for part in parts]
    return hashlib.sha256(b' '.join(pieces)).hexdigest()


def serialize_schema1(name: str, tag: str, architecture: str, fs_layers: t.Sequence[Digest | str], history: t.Sequence[str]) -> bytes:
    """The unsigned schema1 manifest containers/image writes (``json.Marshal`` of its Schema1 struct).

    ``fs_layers`` and ``history`` are in schema1 order: top layer first.
    """
    if len(fs_layers) != len(history) or not fs_layers:
        raise ManifestError('a schema1 manifest needs as many history entries as layers, and at least one')
    return gojson.marshal(gojson.S1_MANIFEST, {
        'name': name, 'tag': tag, 'architecture': architecture,
        'fsLayers': [{'blobSum': str(layer)} for layer in fs_layers],
        'history': [{'v1Compatibility': text} for text in history],
        'schemaVersion': 1,
    })


def sign_schema1(payload: bytes, private_key: t.Any = None, now: datetime.datetime | None = None) -> bytes:
    """Add a libtrust "pretty" JWS signature to a compact schema1 manifest (``AddDummyV2S1Signature``).

    The key is a fresh P-256 key unless ``private_key`` (a cryptography EC private key) is given;
    ``now`` sets the signing time (UTC) in the protected header. The digest of the result is the
    digest of ``payload``.
    """
    try:
        # pylint: disable-next=import-outside-toplevel
        from cryptography.hazmat.primitives import hashes, serialization
        # pylint: disable-next=import-outside-toplevel
        from cryptography.hazmat.primitives.asymmetric import ec, utils
    except ImportError as exc:  # pragma: no cover - exercised only without cryptography
        raise ImportError('the Python library cryptography is required to sign Docker schema1 manifests; '
                          'install it with "pip install cryptography"', name='cryptography') from exc
    content = payload.rstrip(b' \t\n\r\x0b\x0c')
    if not content.endswith(b'}') or content.startswith(b'{\n'):
        raise ManifestError('only compact JSON objects can be signed as schema1 manifests')
    body = content[:-1].rstrip(b' \t\n\r\x0b\x0c')
    if body.endswith(b','):
        raise ManifestError('invalid JSON content for a schema1 signature')
    format_length = len(body)
    key = private_key if private_key is not None else ec.generate_private_key(ec.SECP256R1())
    when = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    protected_json = '{"formatLength":%d,"formatTail":%s,"time":"%s"}' % (
        format_length, gojson.encode_string(jose_base64_encode(payload[format_length:])), when.strftime('%Y-%m-%dT%H:%M:%SZ'))
    protected = jose_base64_encode(protected_json.encode('ascii'))
    signing_input = (protected + '.' + jose_base64_encode(payload)).encode('ascii')
    r_value, s_value = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    public = key.public_key()
    numbers = public.public_numbers()
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode('ascii').rstrip('=')
    jwk = '{"crv":"P-256","kid":"%s","kty":"EC","x":"%s","y":"%s"}' % (
        ':'.join(key_id[i:i + 4] for i in range(0, len(key_id), 4)),
        jose_base64_encode(numbers.x.to_bytes(32, 'big')), jose_base64_encode(numbers.y.to_bytes(32, 'big')))
    signature = jose_base64_encode(r_value.to_bytes(32, 'big') + s_value.to_bytes(32, 'big'))
    signatures = '[{"header":{"jwk":%s,"alg":"ES256"},"signature":"%s","protected":"%s"}]' % (jwk, signature, protected)
    return payload[:format_length] + b',"signatures":' + signatures.encode('ascii') + b'}'


def verify_schema1_signatures(raw: bytes) -> int:
    """Check every JWS signature of a prettyjws manifest against the key embedded with it.

    This proves only that the manifest was not altered after signing by whoever holds that key
    (containers/image does not check them at all); it returns how many signatures were checked.
    Only the ES256/P-256 keys libtrust and containers/image write are supported.
    """
    # pylint: disable-next=import-outside-toplevel
    from cryptography.exceptions import InvalidSignature
    # pylint: disable-next=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes
    # pylint: disable-next=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    payload = jose_base64_encode(signed_payload(raw))
    blocks = gojson.loads(gojson.object_members(raw)['signatures']) or []
    for block in blocks:
        signature = gojson.decode_struct(_JWS_SPEC, block, 'schema1 signature')
        jwk = dict(signature['header']['jwk'] or ())
        if signature['header']['alg'] != 'ES256' or jwk.get('kty') != 'EC' or jwk.get('crv') != 'P-256':
            raise ManifestError('schema1 signature: only ES256 P-256 keys are supported')
        try:
            public = ec.EllipticCurvePublicNumbers(int.from_bytes(jose_base64_decode(jwk['x']), 'big'),
                                                   int.from_bytes(jose_base64_decode(jwk['y']), 'big'),
                                                   ec.SECP256R1()).public_key()
            value = jose_base64_decode(signature['signature'])
            if len(value) != 64:
                raise ValueError('signature is not 64 bytes')
            der = utils.encode_dss_signature(int.from_bytes(value[:32], 'big'), int.from_bytes(value[32:], 'big'))
            public.verify(der, (signature['protected'] + '.' + payload).encode('ascii'), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ManifestError('schema1 signature does not verify: %s' % (exc or type(exc).__name__)) from None
    return len(blocks)


@dataclasses.dataclass(frozen=True)
class Schema1Build:
    """A schema1 manifest built from a schema2 image (see :func:`build_schema1`).

    ``layers`` are the fsLayers blobs base first (empty layers included, as GZIPPED_EMPTY_LAYER);
    ``extra_blobs`` holds what the destination needs that the source does not have.
    """

    raw: bytes
    payload: bytes
    digest: Digest
    layers: tuple[Descriptor, ...]
    extra_blobs: tuple[tuple[Descriptor, bytes], ...]

    @property
    def media_type(self) -> str:
        return mt.DOCKER_V2S1_SIGNED if self.raw != self.payload else mt.DOCKER_V2S1


def build_schema1(name: str, tag: str, layers: t.Sequence[Descriptor], config_raw: bytes,
                  written_layers: t.Sequence[Descriptor] | None = None, sign: bool = True,
                  private_key: t.Any = None, now: datetime.datetime | None = None) -> Schema1Build:
    """Build the schema1 manifest containers/image makes from a schema2 image (``convertToManifestSchema1``).

    ``layers`` are the source image's layers (base first) and ``config_raw`` its config; ``name``
    and ``tag`` are the destination's repository path (without registry) and tag, or empty.
    One history entry becomes one schema1 layer: empty ones point at GZIPPED_EMPTY_LAYER, the
    others at the next image layer. The v1 IDs are derived from the source layer digests;
    ``written_layers`` (same length as ``layers``) are the blobs as written, when the copy changed
    them, and only change ``fsLayers``. Unsigned when ``sign`` is false (the digest is the same).
    """
    image = gojson.unmarshal(gojson.S2_IMAGE, config_raw, 'image config')
    history = image['history'] or []
    if not history:
        raise ManifestError('cannot convert an image with 0 history entries to %s' % mt.DOCKER_V2S1_SIGNED)
    if written_layers is not None and len(written_layers) != len(layers):
        raise ManifestError('layer edits for %d layers vs %d existing layers' % (len(written_layers), len(layers)))
    empty = Descriptor(media_type=mt.DOCKER_LAYER_GZIP, digest=GZIPPED_EMPTY_LAYER_DIGEST, size=len(GZIPPED_EMPTY_LAYER))
    count = len(history)
    fs_layers: list[Digest] = [empty.digest] * count
    v1_history = [''] * count
    written: list[Descriptor] = []
    next_layer = 0
    parent = ''
    layer_id = ''
    for v2_index, entry in enumerate(history):
        parent = layer_id
        if entry['empty_layer']:
            blob = empty.digest
            written.append(empty)
        else:
            if next_layer >= len(layers):
                raise ManifestError('invalid image configuration: its history needs more than the %d layers of the image' % len(layers))
            blob = layers[next_layer].digest
            written.append((written_layers or layers)[next_layer])
            next_layer += 1
        layer_id = v1_id(blob, parent)
        fake = {'id': layer_id, 'parent': parent, 'comment': entry['comment'], 'created': entry['created'],
                'container_config': {'Cmd': [entry['created_by']]}, 'author': entry['author'], 'throwaway': entry['empty_layer']}
        fs_layers[count - 1 - v2_index] = blob
        v1_history[count - 1 - v2_index] = gojson.encode_struct(gojson.S1_V1COMPAT, fake)
    if next_layer != len(layers):
        # containers/image silently drops such layers; an image without them would be wrong.
        raise ManifestError('invalid image configuration: its history accounts for %d of the %d layers of the image' % (next_layer, len(layers)))
    # The top entry carries the real configuration, as Docker wrote it.
    top_id = v1_id(fs_layers[0], parent, config_raw)
    members = gojson.object_members(config_raw, 'image config')
    members.pop('rootfs', None)
    members.pop('history', None)
    members['id'] = gojson.encode_string(top_id)
    if parent:
        members['parent'] = gojson.encode_string(parent)
    if history[-1]['empty_layer']:
        members['throwaway'] = 'true'
    v1_history[0] = gojson.marshal_raw_map(members)
    for descriptor in written:
        if is_layer_media_type(descriptor.media_type) and compression_of_media_type(descriptor.media_type) == ZSTD:
            raise UnsupportedMediaTypeError('layer %s is zstd-compressed, which schema1 images cannot carry' % descriptor.digest)
    fs_written = [d.digest for d in reversed(written)]
    payload = serialize_schema1(name, tag, image['architecture'], fs_written, v1_history)
    raw = sign_schema1(payload, private_key, now) if sign else payload
    extra = ((empty, GZIPPED_EMPTY_LAYER),) if any(entry['empty_layer'] for entry in history) else ()
    return Schema1Build(raw=raw, payload=payload, digest=Digest.from_bytes(payload), layers=tuple(written), extra_blobs=extra)
