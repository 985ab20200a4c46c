# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One model for OCI manifests and indexes and Docker schema2 manifests and lists.

The raw bytes are kept with every parsed document: digests are always of the bytes as received,
never of a re-serialisation.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt


@dataclasses.dataclass(frozen=True)
class Platform:
    """The platform of one image in an index."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return '/'.join(parts)

    @classmethod
    def from_json(cls, data: t.Any) -> 'Platform':
        if not isinstance(data, dict) or not isinstance(data.get('os'), str) or not isinstance(data.get('architecture'), str):
            raise ManifestError('invalid platform %s: os and architecture are required strings' % json.dumps(data)[:200])
        # Checked here so that a malformed index fails as a ManifestError, not later in normalize().
        features = data.get('os.features') or []
        if (not isinstance(data.get('variant') or '', str) or not isinstance(data.get('os.version') or '', str)
                or not isinstance(features, list) or not all(isinstance(f, str) for f in features)):
            raise ManifestError('invalid platform %s: variant, os.version and os.features must be strings' % json.dumps(data)[:200])
        return cls(os=data['os'], architecture=data['architecture'], variant=data.get('variant') or None,
                   os_version=data.get('os.version') or None, os_features=tuple(data.get('os.features') or ()))

    def to_json(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {'architecture': self.architecture, 'os': self.os}
        if self.os_version:
            out['os.version'] = self.os_version
        if self.os_features:
            out['os.features'] = list(self.os_features)
        if self.variant:
            out['variant'] = self.variant
        return out


@dataclasses.dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about a blob or a child manifest."""

    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    annotations: t.Mapping[str, str] | None = None
    platform: Platform | None = None
    artifact_type: str | None = None

    @classmethod
    def from_json(cls, data: t.Any, what: str = 'descriptor') -> 'Descriptor':
        if not isinstance(data, dict):
            raise ManifestError('invalid %s: not an object' % what)
        media_type = data.get('mediaType', '')
        if not isinstance(media_type, str):
            raise ManifestError('invalid %s: mediaType is not a string' % what)
        size = data.get('size')
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError('invalid %s: size must be a non-negative integer' % what)
        annotations = data.get('annotations')
        if annotations is not None and (not isinstance(annotations, dict)
                                        or not all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())):
            raise ManifestError('invalid %s: annotations must map strings to strings' % what)
        urls = data.get('urls') or ()
        if not isinstance(urls, (list, tuple)) or not all(isinstance(u, str) for u in urls):
            raise ManifestError('invalid %s: urls must be a list of strings' % what)
        platform = Platform.from_json(data['platform']) if data.get('platform') is not None else None
        return cls(media_type=media_type, digest=Digest.parse(data.get('digest', '')), size=size, urls=tuple(urls),
                   annotations=dict(annotations) if annotations else None, platform=platform,
                   artifact_type=data.get('artifactType') if isinstance(data.get('artifactType'), str) else None)

    def to_json(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {'mediaType': self.media_type, 'digest': str(self.digest), 'size': self.size}
        if self.urls:
            out['urls'] = list(self.urls)
        if self.annotations:
            out['annotations'] = dict(self.annotations)
        if self.platform is not None:
            out['platform'] = self.platform.to_json()
        if self.artifact_type:
            out['artifactType'] = self.artifact_type
        return out


@dataclasses.dataclass(frozen=True)
class ImageManifest:
    """A single-image manifest (OCI image manifest or Docker schema2)."""

    raw: bytes
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: t.Mapping[str, str] | None = None
    subject: Descriptor | None = None

    @property
    def digest(self) -> Digest:
        return Digest.from_bytes(self.raw)

    @property
    def is_index(self) -> bool:
        return False

    def blobs(self) -> list[Descriptor]:
        """Config first, then layers: the order a destination should receive them."""
        return [self.config] + list(self.layers)


@dataclasses.dataclass(frozen=True)
class ImageIndex:
    """A multi-image document (OCI index or Docker manifest list)."""

    raw: bytes
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: t.Mapping[str, str] | None = None

    @property
    def digest(self) -> Digest:
        return Digest.from_bytes(self.raw)

    @property
    def is_index(self) -> bool:
        return True

    def platforms(self) -> list[Platform]:
        return [d.platform for d in self.manifests if d.platform is not None]


AnyManifest = t.Union[ImageManifest, ImageIndex]


def _base_type(content_type: str | None) -> str:
    return (content_type or '').split(';', 1)[0].strip().lower()


def parse_manifest(raw: bytes, content_type: str | None = None, expected_digest: Digest | None = None,
                   what: str = 'manifest') -> AnyManifest:
    """Parse ``raw`` into an ImageManifest or ImageIndex.

    ``content_type`` is what the transport reported (HTTP Content-Type, index.json descriptor); when
    both it and the document's ``mediaType`` are set they must agree (CVE-2021-41190). When
    ``expected_digest`` is given the bytes must hash to it.
    """
    if len(raw) > mt.MAX_MANIFEST_SIZE:
        raise ManifestTooLargeError('%s is %d bytes, over the %d byte limit' % (what, len(raw), mt.MAX_MANIFEST_SIZE))
    if expected_digest is not None:
        expected_digest.verify_bytes(raw, what)
    data = jsonutil.loads(raw, what, ManifestError)
    if not isinstance(data, dict):
        raise ManifestError('%s is not a JSON object' % what)
    declared = data.get('mediaType')
    if declared is not None and not isinstance(declared, str):
        raise ManifestError('%s has a non-string mediaType' % what)
    reported = _base_type(content_type)
    if reported in ('', 'application/json', 'text/plain', 'application/octet-stream'):
        reported = ''
    if declared and reported and declared != reported:
        raise UnsupportedMediaTypeError('%s declares mediaType %s but was served as %s' % (what, declared, reported))
    media_type = declared or reported or _guess_media_type(data)
    if media_type in mt.SCHEMA1_TYPES or data.get('schemaVersion') == 1:
        raise UnsupportedMediaTypeError('%s is Docker schema1 (%s), which this version cannot read yet' % (what, media_type or 'schemaVersion 1'))
    if data.get('schemaVersion') != 2:
        raise ManifestError('%s has schemaVersion %r, expected 2' % (what, data.get('schemaVersion')))
    annotations = data.get('annotations') if isinstance(data.get('annotations'), dict) else None
    if media_type in mt.INDEX_TYPES:
        if 'layers' in data or 'config' in data:
            raise ManifestError('%s is typed as an index but has config or layers' % what)
        manifests = data.get('manifests')
        if not isinstance(manifests, list):
            raise ManifestError('%s: manifests must be a list' % what)
        return ImageIndex(raw=raw, media_type=media_type, annotations=annotations,
                          manifests=tuple(Descriptor.from_json(m, 'manifest descriptor in %s' % what) for m in manifests))
    if media_type in mt.SINGLE_IMAGE_TYPES:
        if 'manifests' in data:
            raise ManifestError('%s is typed as an image manifest but has manifests' % what)
        layers = data.get('layers')
        if not isinstance(layers, list):
            raise ManifestError('%s: layers must be a list' % what)
        subject = Descriptor.from_json(data['subject'], 'subject of %s' % what) if data.get('subject') else None
        return ImageManifest(raw=raw, media_type=media_type, annotations=annotations, subject=subject,
                             config=Descriptor.from_json(data.get('config'), 'config descriptor in %s' % what),
                             layers=tuple(Descriptor.from_json(layer, 'layer descriptor in %s' % what) for layer in layers))
    raise UnsupportedMediaTypeError('%s has unsupported media type %s' % (what, media_type or '(none)'))


def _guess_media_type(data: dict[str, t.Any]) -> str:
    """OCI allows mediaType to be absent; tell a manifest from an index by its fields."""
    if 'manifests' in data:
        return mt.OCI_INDEX
    if 'config' in data or 'layers' in data:
        return mt.OCI_MANIFEST
    return ''


def check_descriptor_content(desc: Descriptor, raw: bytes, what: str) -> None:
    """Verify ``raw`` has the size and digest ``desc`` promises."""
    if len(raw) != desc.size:
        raise DigestMismatchError('%s %s is %d bytes, descriptor says %d' % (what, desc.digest, len(raw), desc.size))
    desc.digest.verify_bytes(raw, what)
