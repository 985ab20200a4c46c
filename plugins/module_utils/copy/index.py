# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Indexes to write: the source's, converted, with rewritten children, or filtered to some platforms."""

from __future__ import annotations

import json
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, ManifestError, NoMatchingPlatformError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.convert import ConvertResult, IndexConvertResult, convert_index
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor, ImageIndex, Platform, parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import matches, parse_platform


def select_platforms(index: ImageIndex, platforms: t.Sequence[str]) -> list[Descriptor]:
    """The children of ``index`` whose platform is one of ``platforms`` (``os/arch[/variant]``), in index order.

    Every requested platform must be present: a typo must not silently copy less.
    """
    wanted = [parse_platform(p) for p in platforms]
    chosen = []
    for plat in wanted:
        # os/arch without a variant means every variant of it (linux/arm64 is linux/arm64/v8 in most indexes).
        found = [d for d in index.manifests if d.platform is not None
                 and (matches(d.platform, plat) if plat.variant else matches(d.platform, Platform(plat.os, plat.architecture, d.platform.variant)))]
        if not found:
            available = ', '.join(sorted(str(d.platform) for d in index.manifests if d.platform is not None)) or 'none'
            raise NoMatchingPlatformError('platform %s is not in the index (available: %s)' % (plat, available))
        chosen.extend(found)
    keep = {str(d.digest) for d in chosen}
    return [d for d in index.manifests if str(d.digest) in keep]


def filtered_index(index: ImageIndex, platforms: t.Sequence[str]) -> ImageIndex:
    """A new index holding only the children for ``platforms`` (the source itself when that is all of them)."""
    keep = select_platforms(index, platforms)
    if len(keep) == len(index.manifests):
        return index
    document = jsonutil.loads(index.raw, 'index', ManifestError)
    digests = {str(d.digest) for d in keep}
    document['manifests'] = [m for m in document.get('manifests', []) if m.get('digest') in digests]
    raw = json.dumps(document, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    parsed = parse_manifest(raw, index.media_type)
    if not isinstance(parsed, ImageIndex):  # pragma: no cover - filtering keeps an index an index
        raise InvalidInputError('internal error: a filtered index is no longer an index')
    return parsed


def build_index(top: ImageIndex, index_type: str, written: t.Mapping[str, ConvertResult], platforms: t.Sequence[str] = (),
                index_only: bool = False) -> IndexConvertResult:
    """The index to write for ``top``: filtered to ``platforms``, children replaced by ``written``, as ``index_type``."""
    index = filtered_index(top, platforms) if platforms else top
    instances: list[t.Any] = []
    for desc in index.manifests:
        result = None if index_only else written.get(str(desc.digest))
        instances.append(result if result is not None and result.changed else None)
    family = 'oci' if index_type == mt.OCI_INDEX else 'docker'
    return convert_index(index, family, instances)
