# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for copy/index.py: platform selection, filtered indexes and the index a copy writes."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.index import build_index, filtered_index, select_platforms
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import NoMatchingPlatformError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.convert import convert_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, parse_manifest


def sha(text):
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


def image(name, media_type=mt.OCI_MANIFEST):
    config_type = mt.OCI_CONFIG if media_type == mt.OCI_MANIFEST else mt.DOCKER_CONFIG
    layer_type = mt.OCI_LAYER_GZIP if media_type == mt.OCI_MANIFEST else mt.DOCKER_LAYER_GZIP
    doc = {'schemaVersion': 2, 'mediaType': media_type, 'config': {'mediaType': config_type, 'digest': sha('cfg-' + name), 'size': 10},
           'layers': [{'mediaType': layer_type, 'digest': sha('layer-' + name), 'size': 20}]}
    return parse_manifest(json.dumps(doc).encode())


AMD64 = image('amd64')
ARM64 = image('arm64')
ARMV7 = image('armv7')
PLATFORMS = [(AMD64, {'os': 'linux', 'architecture': 'amd64'}),
             (ARM64, {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}),
             (ARMV7, {'os': 'linux', 'architecture': 'arm', 'variant': 'v7'})]


def make_index(children=None, media_type=mt.OCI_INDEX, **extra):
    manifests = [{'mediaType': child.media_type, 'digest': str(child.digest), 'size': len(child.raw), 'platform': plat}
                 for child, plat in (children or PLATFORMS)]
    doc = {'schemaVersion': 2, 'mediaType': media_type, 'manifests': manifests}
    doc.update(extra)
    parsed = parse_manifest(json.dumps(doc, indent=2).encode())
    assert isinstance(parsed, ImageIndex)
    return parsed


INDEX = make_index(annotations={'org.example.note': 'kept'})


def digests(descriptors):
    return [str(d.digest) for d in descriptors]


# ---------------------------------------------------------------------------------------------
# select_platforms


@pytest.mark.parametrize('platforms, expected', [
    (['linux/amd64'], [AMD64]),
    (['linux/arm64/v8'], [ARM64]),
    (['linux/arm/v7'], [ARMV7]),
    (['linux/arm64/8'], [ARM64]),
    # Index order, whatever order they were asked in; a platform named twice counts once.
    (['linux/arm/v7', 'linux/amd64'], [AMD64, ARMV7]),
    (['linux/amd64', 'linux/amd64'], [AMD64]),
    (['linux/arm/v7', 'linux/arm64/v8', 'linux/amd64'], [AMD64, ARM64, ARMV7]),
])
def test_select_platforms(platforms, expected):
    assert digests(select_platforms(INDEX, platforms)) == [str(m.digest) for m in expected]


@pytest.mark.parametrize('platforms, missing', [
    (['linux/s390x'], 'linux/s390x'),
    (['linux/amd64', 'windows/amd64'], 'windows/amd64'),
    (['linux/arm/v6'], 'linux/arm/v6'),
])
def test_select_platforms_missing_platform(platforms, missing):
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        select_platforms(INDEX, platforms)
    assert str(excinfo.value) == 'platform %s is not in the index (available: linux/amd64, linux/arm/v7, linux/arm64/v8)' % missing


def test_select_platforms_index_without_platforms():
    bare = make_index([(AMD64, None)])
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        select_platforms(bare, ['linux/amd64'])
    assert str(excinfo.value) == 'platform linux/amd64 is not in the index (available: none)'


@pytest.mark.parametrize('value', ['linux', 'linux/', '/amd64', 'linux/arm/v7/extra'])
def test_select_platforms_invalid_platform(value):
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        select_platforms(INDEX, [value])
    assert str(excinfo.value) == 'invalid platform %r: expected os/arch or os/arch/variant' % value


# ---------------------------------------------------------------------------------------------
# filtered_index


def test_filtered_index_all_platforms_is_the_source():
    assert filtered_index(INDEX, ['linux/arm/v7', 'linux/amd64', 'linux/arm64/v8']) is INDEX


@pytest.mark.parametrize('media_type', [mt.OCI_INDEX, mt.DOCKER_LIST])
def test_filtered_index_keeps_the_rest_of_the_document(media_type):
    children = [(image(n, mt.DOCKER_V2S2 if media_type == mt.DOCKER_LIST else mt.OCI_MANIFEST), p) for (n, p)
                in zip(('a', 'b', 'c'), [plat for child, plat in PLATFORMS])]
    source = make_index(children, media_type=media_type)
    result = filtered_index(source, ['linux/arm64/v8', 'linux/arm/v7'])
    assert isinstance(result, ImageIndex)
    assert result.media_type == media_type
    assert digests(result.manifests) == [str(children[1][0].digest), str(children[2][0].digest)]
    assert [str(d.platform) for d in result.manifests] == ['linux/arm64/v8', 'linux/arm/v7']
    assert result.digest == Digest.from_bytes(result.raw) != source.digest
    original = json.loads(source.raw)
    assert json.loads(result.raw) == dict(original, manifests=original['manifests'][1:])


def test_filtered_index_keeps_annotations():
    result = filtered_index(INDEX, ['linux/amd64'])
    assert json.loads(result.raw)['annotations'] == {'org.example.note': 'kept'}
    assert digests(result.manifests) == [str(AMD64.digest)]


# ---------------------------------------------------------------------------------------------
# build_index


def test_build_index_unchanged_keeps_the_source_bytes():
    result = build_index(INDEX, mt.OCI_INDEX, {})
    assert (result.raw, result.digest, result.changed) == (INDEX.raw, INDEX.digest, False)
    # Children written unchanged (a ConvertResult with changed=False) do not rewrite it either.
    unchanged = {str(m.digest): convert_manifest(m, mt.OCI_MANIFEST) for m in (AMD64, ARM64, ARMV7)}
    assert not any(r.changed for r in unchanged.values())
    assert build_index(INDEX, mt.OCI_INDEX, unchanged).digest == INDEX.digest


def test_build_index_replaces_converted_children():
    converted = convert_manifest(ARM64, mt.DOCKER_V2S2)
    assert converted.changed
    result = build_index(INDEX, mt.OCI_INDEX, {str(ARM64.digest): converted})
    assert result.changed and result.media_type == mt.OCI_INDEX
    assert digests(result.index.manifests) == [str(AMD64.digest), str(converted.digest), str(ARMV7.digest)]
    child = result.index.manifests[1]
    assert (child.media_type, child.size) == (mt.DOCKER_V2S2, len(converted.raw))
    assert str(child.platform) == 'linux/arm64/v8'


def test_build_index_index_only_ignores_written_children():
    converted = convert_manifest(ARM64, mt.DOCKER_V2S2)
    result = build_index(INDEX, mt.OCI_INDEX, {str(ARM64.digest): converted}, index_only=True)
    assert result.digest == INDEX.digest


def test_build_index_converts_the_index_type():
    result = build_index(INDEX, mt.DOCKER_LIST, {})
    assert result.media_type == mt.DOCKER_LIST == result.index.media_type
    assert digests(result.index.manifests) == digests(INDEX.manifests)
    assert result.digest != INDEX.digest


def test_build_index_filters_platforms():
    converted = convert_manifest(ARM64, mt.DOCKER_V2S2)
    written = {str(ARM64.digest): converted, str(AMD64.digest): convert_manifest(AMD64, mt.DOCKER_V2S2)}
    result = build_index(INDEX, mt.OCI_INDEX, written, platforms=['linux/arm64/v8'])
    assert digests(result.index.manifests) == [str(converted.digest)]
    assert result.digest != INDEX.digest


def test_build_index_all_platforms_named_is_the_source():
    result = build_index(INDEX, mt.OCI_INDEX, {}, platforms=['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'])
    assert result.digest == INDEX.digest


def test_platform_without_variant_selects_every_variant() -> None:
    children = [{'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': 'sha256:' + c * 64, 'size': 10,
                 'platform': {'os': 'linux', 'architecture': arch, **({'variant': var} if var else {})}}
                for c, arch, var in (('a', 'amd64', None), ('b', 'arm64', 'v8'), ('c', 'arm', 'v7'))]
    raw = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json', 'manifests': children}).encode()
    index = parse_manifest(raw)
    assert [str(d.platform) for d in select_platforms(index, ['linux/arm64'])] == ['linux/arm64/v8']
    assert [str(d.platform) for d in select_platforms(index, ['linux/arm/v7', 'linux/amd64'])] == ['linux/amd64', 'linux/arm/v7']
    with pytest.raises(NoMatchingPlatformError):
        select_platforms(index, ['linux/arm/v6'])
