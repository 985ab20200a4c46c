# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The copy plan: a pure function of what the source holds, what the destination holds, and the options.

Check mode, diff mode and the real copy all use the same plan, so a prediction can never disagree
with what a run would do.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, ImageManifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo

MULTI_ARCH_CHOICES = ('system', 'all', 'index-only')


@dataclasses.dataclass(frozen=True)
class CopyOptions:
    """What the user asked of a copy, beyond where from and where to."""

    multi_arch: str = 'system'
    override_os: str | None = None
    override_arch: str | None = None
    override_variant: str | None = None
    preserve_digests: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        if self.multi_arch not in MULTI_ARCH_CHOICES:
            raise InvalidInputError('invalid multi_arch %r: expected one of %s' % (self.multi_arch, ', '.join(MULTI_ARCH_CHOICES)))


@dataclasses.dataclass(frozen=True)
class SourceImage:
    """What was read, verified and parsed from the source.

    ``top`` is the manifest the source name points at. ``instances`` are the single-image manifests
    read from an index (the chosen platform only, or all of them), in index order. ``chosen`` is
    the instance picked for the host platform when a single image is copied out of an index.
    """

    top: ImageManifest | ImageIndex
    instances: tuple[ImageManifest, ...] = ()
    chosen: ImageManifest | None = None
    chosen_platform: str | None = None


@dataclasses.dataclass(frozen=True)
class ManifestWrite:
    """One manifest to store: raw bytes, media type, digest."""

    raw: bytes
    media_type: str
    digest: Digest


@dataclasses.dataclass(frozen=True)
class CopyPlan:
    """Everything a copy will do, decided before anything is written."""

    manifest: ManifestWrite
    instances: tuple[ManifestWrite, ...]
    blobs: tuple[BlobInfo, ...]
    source_digest: Digest
    before: Digest | None
    up_to_date: bool
    reason: str
    platform: str | None = None

    @property
    def after(self) -> Digest:
        return self.manifest.digest


def _unique_blobs(manifests: t.Iterable[ImageManifest]) -> tuple[BlobInfo, ...]:
    seen: dict[str, BlobInfo] = {}
    for manifest in manifests:
        for desc in manifest.blobs():
            key = str(desc.digest)
            if key not in seen:
                seen[key] = BlobInfo(digest=desc.digest, size=desc.size, media_type=desc.media_type)
    return tuple(seen.values())


def make_plan(source: SourceImage, before: Digest | None, options: CopyOptions,
              supported_types: t.Sequence[str] = (), supports_index: bool = True) -> CopyPlan:
    """Decide what to write and whether the destination already holds it.

    The destination is up to date when the manifest it holds has exactly the digest this copy would
    write; ``force`` copies anyway.
    """
    top = source.top
    instances: tuple[ManifestWrite, ...] = ()
    platform = None
    if isinstance(top, ImageIndex) and options.multi_arch in ('all', 'index-only'):
        if not supports_index:
            raise InvalidInputError('the destination cannot store an index; set multi_arch: system to copy one platform')
        target = ManifestWrite(top.raw, top.media_type, top.digest)
        children = source.instances if options.multi_arch == 'all' else ()
        instances = tuple(ManifestWrite(m.raw, m.media_type, m.digest) for m in children)
        blobs = _unique_blobs(children)
    elif isinstance(top, ImageIndex):
        if source.chosen is None:
            raise InvalidInputError('no platform was chosen from the source index')
        if options.preserve_digests:
            raise InvalidInputError('preserve_digests: the source is an index (%s) and copying one platform would change the '
                                    'digest; use multi_arch: all' % top.digest)
        target = ManifestWrite(source.chosen.raw, source.chosen.media_type, source.chosen.digest)
        blobs = _unique_blobs([source.chosen])
        platform = source.chosen_platform
    else:
        target = ManifestWrite(top.raw, top.media_type, top.digest)
        blobs = _unique_blobs([top])
    if supported_types and target.media_type not in supported_types:
        raise InvalidInputError('the destination cannot store %s manifests (it accepts %s); format conversion comes in a later version'
                                % (target.media_type, ', '.join(supported_types)))
    if before is not None and before == target.digest and not options.force:
        up_to_date, reason = True, 'destination already holds %s' % target.digest
    elif before is None:
        up_to_date, reason = False, 'destination holds no image'
    elif before == target.digest:
        up_to_date, reason = False, 'force: copied although the destination holds %s' % target.digest
    else:
        up_to_date, reason = False, 'destination holds %s' % before
    return CopyPlan(manifest=target, instances=instances, blobs=blobs, source_digest=top.digest, before=before,
                    up_to_date=up_to_date, reason=reason, platform=platform)
