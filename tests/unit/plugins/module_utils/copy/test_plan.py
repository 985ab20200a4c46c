# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for copy/plan.py: what a copy writes, decided before anything is written."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.layers import COMPRESS, KEEP, RECOMPRESS
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import (
    CopyOptions,
    DestinationTraits,
    ManifestWrite,
    SourceImage,
    choose_index_type,
    choose_manifest_type,
    make_plan,
    plan_image,
    wanted_layer_compression,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.convert import convert_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.parse import parse_any
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo


def sha(text):
    return Digest('sha256:' + hashlib.sha256(text.encode()).hexdigest())


def blob(name, size, media_type=mt.OCI_LAYER_GZIP):
    return {'mediaType': media_type, 'digest': str(sha(name)), 'size': size}


def image(config, *layers, media_type=mt.OCI_MANIFEST, layer_type=mt.OCI_LAYER_GZIP):
    doc = {'schemaVersion': 2, 'mediaType': media_type, 'config': blob(config, 10, mt.OCI_CONFIG),
           'layers': [blob(n, s, layer_type) for n, s in layers]}
    return parse_manifest(json.dumps(doc).encode())


def index(*children, media_type=mt.OCI_INDEX):
    manifests = [{'mediaType': child.media_type, 'digest': str(child.digest), 'size': len(child.raw), 'platform': plat}
                 for child, plat in children]
    return parse_manifest(json.dumps({'schemaVersion': 2, 'mediaType': media_type, 'manifests': manifests}).encode())


def docker_config(arch, *diff_ids):
    return json.dumps({'architecture': arch, 'os': 'linux', 'config': {'Cmd': ['sh']},
                       'rootfs': {'type': 'layers', 'diff_ids': [str(sha(d)) for d in diff_ids]}}).encode()


def docker_image(config_raw, *layers, layer_type=mt.DOCKER_LAYER_GZIP):
    doc = {'schemaVersion': 2, 'mediaType': mt.DOCKER_V2S2,
           'config': {'mediaType': mt.DOCKER_CONFIG, 'size': len(config_raw), 'digest': str(Digest.from_bytes(config_raw))},
           'layers': [blob(n, s, layer_type) for n, s in layers]}
    return parse_manifest(json.dumps(doc).encode())


AMD64_PLATFORM = {'os': 'linux', 'architecture': 'amd64'}
ARM64_PLATFORM = {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}
AMD64 = image('cfg-amd64', ('base', 100), ('amd64-app', 20))
ARM64 = image('cfg-arm64', ('base', 100), ('arm64-app', 30))
INDEX = index((AMD64, AMD64_PLATFORM), (ARM64, ARM64_PLATFORM))
SINGLE = image('cfg', ('layer-a', 5), ('layer-b', 7))
OTHER = sha('something else')

DOCKER_CONFIG = docker_config('amd64', 'plain-a', 'plain-b')
DOCKER_SINGLE = docker_image(DOCKER_CONFIG, ('d-layer-a', 5), ('d-layer-b', 7))
DOCKER_ARM64_CONFIG = docker_config('arm64', 'plain-a', 'plain-c')
DOCKER_ARM64 = docker_image(DOCKER_ARM64_CONFIG, ('d-layer-a', 5), ('d-layer-c', 9))
DOCKER_LIST = index((DOCKER_SINGLE, AMD64_PLATFORM), (DOCKER_ARM64, ARM64_PLATFORM), media_type=mt.DOCKER_LIST)
DOCKER_CONFIGS = {str(DOCKER_SINGLE.config.digest): DOCKER_CONFIG, str(DOCKER_ARM64.config.digest): DOCKER_ARM64_CONFIG}

ANYWHERE = DestinationTraits()
REGISTRY = DestinationTraits(supported_types=(mt.OCI_MANIFEST, mt.DOCKER_V2S2, mt.OCI_INDEX, mt.DOCKER_LIST), layer_compression='compress',
                             transport='docker')
OCI_LAYOUT = DestinationTraits(supported_types=(mt.OCI_MANIFEST, mt.OCI_INDEX), layer_compression='compress', transport='oci')
DOCKER_ARCHIVE = DestinationTraits(supported_types=(mt.DOCKER_V2S2,), supports_index=False, layer_compression='decompress',
                                   transport='docker-archive')
DIR = DestinationTraits(supported_types=(mt.OCI_MANIFEST, mt.DOCKER_V2S2, mt.OCI_INDEX, mt.DOCKER_LIST, mt.DOCKER_V2S1_SIGNED, mt.DOCKER_V2S1),
                        layer_compression='preserve', transport='dir')


def write_of(manifest):
    return ManifestWrite(manifest.raw, manifest.media_type, manifest.digest)


def blob_names(plan):
    return [str(b.digest) for b in plan.blobs()]


def single(top, configs=None):
    return SourceImage(top=top, instances=(top,), configs=configs or {})


# ---------------------------------------------------------------------------------------------
# choose_manifest_type / choose_index_type / wanted_layer_compression


@pytest.mark.parametrize('source_type, traits, fmt, expected', [
    # The source's type is kept wherever the destination can store it.
    (mt.OCI_MANIFEST, REGISTRY, None, mt.OCI_MANIFEST),
    (mt.DOCKER_V2S2, REGISTRY, None, mt.DOCKER_V2S2),
    (mt.DOCKER_V2S2, DIR, None, mt.DOCKER_V2S2),
    (mt.DOCKER_V2S1_SIGNED, DIR, None, mt.DOCKER_V2S1_SIGNED),
    (mt.OCI_MANIFEST, DestinationTraits(supported_types=(mt.DOCKER_V2S2, mt.OCI_MANIFEST)), None, mt.OCI_MANIFEST),
    (mt.DOCKER_V2S2, ANYWHERE, None, mt.DOCKER_V2S2),
    # Index types say nothing about single images: such a list means "anything".
    (mt.DOCKER_V2S2, DestinationTraits(supported_types=(mt.OCI_INDEX,)), None, mt.DOCKER_V2S2),
    # Else converted to what the destination takes, the source's family first.
    (mt.DOCKER_V2S2, OCI_LAYOUT, None, mt.OCI_MANIFEST),
    (mt.OCI_MANIFEST, DOCKER_ARCHIVE, None, mt.DOCKER_V2S2),
    (mt.DOCKER_V2S1_SIGNED, REGISTRY, None, mt.DOCKER_V2S2),
    (mt.DOCKER_V2S1_SIGNED, OCI_LAYOUT, None, mt.OCI_MANIFEST),
    (mt.OCI_MANIFEST, DestinationTraits(supported_types=(mt.DOCKER_V2S1_SIGNED,)), None, mt.DOCKER_V2S1_SIGNED),
    # format forces the type.
    (mt.OCI_MANIFEST, REGISTRY, 'v2s2', mt.DOCKER_V2S2),
    (mt.DOCKER_V2S2, REGISTRY, 'oci', mt.OCI_MANIFEST),
    (mt.OCI_MANIFEST, REGISTRY, 'oci', mt.OCI_MANIFEST),
    (mt.DOCKER_V2S2, ANYWHERE, 'oci', mt.OCI_MANIFEST),
    # v2s1 is the signed schema1 type, the unsigned one only where that is all the destination takes.
    (mt.OCI_MANIFEST, DIR, 'v2s1', mt.DOCKER_V2S1_SIGNED),
    (mt.DOCKER_V2S2, ANYWHERE, 'v2s1', mt.DOCKER_V2S1_SIGNED),
    (mt.OCI_MANIFEST, DestinationTraits(supported_types=(mt.DOCKER_V2S1,)), 'v2s1', mt.DOCKER_V2S1),
])
def test_choose_manifest_type(source_type, traits, fmt, expected):
    assert choose_manifest_type(source_type, traits, fmt) == expected


@pytest.mark.parametrize('source_type, traits, fmt, message', [
    (mt.OCI_MANIFEST, DOCKER_ARCHIVE, 'oci', 'the destination cannot store format oci (%s); it accepts %s' % (mt.OCI_MANIFEST, mt.DOCKER_V2S2)),
    (mt.OCI_MANIFEST, OCI_LAYOUT, 'v2s2', 'the destination cannot store format v2s2 (%s); it accepts %s' % (mt.DOCKER_V2S2, mt.OCI_MANIFEST)),
    (mt.DOCKER_V2S2, REGISTRY, 'v2s1', 'the destination cannot store format v2s1 (%s); it accepts %s, %s'
     % (mt.DOCKER_V2S1_SIGNED, mt.OCI_MANIFEST, mt.DOCKER_V2S2)),
    (mt.OCI_MANIFEST, DestinationTraits(supported_types=('application/x-other', mt.OCI_INDEX)), None,
     'the destination cannot store %s manifests (it accepts application/x-other)' % mt.OCI_MANIFEST),
])
def test_choose_manifest_type_unsupported(source_type, traits, fmt, message):
    with pytest.raises(InvalidInputError) as excinfo:
        choose_manifest_type(source_type, traits, fmt)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('source_type, traits, fmt, expected', [
    (mt.OCI_INDEX, REGISTRY, None, mt.OCI_INDEX),
    (mt.DOCKER_LIST, REGISTRY, None, mt.DOCKER_LIST),
    (mt.DOCKER_LIST, DIR, None, mt.DOCKER_LIST),
    (mt.DOCKER_LIST, ANYWHERE, None, mt.DOCKER_LIST),
    (mt.DOCKER_LIST, OCI_LAYOUT, None, mt.OCI_INDEX),
    (mt.OCI_INDEX, DestinationTraits(supported_types=(mt.DOCKER_V2S2, mt.DOCKER_LIST)), None, mt.DOCKER_LIST),
    (mt.OCI_INDEX, REGISTRY, 'v2s2', mt.DOCKER_LIST),
    (mt.DOCKER_LIST, REGISTRY, 'oci', mt.OCI_INDEX),
    (mt.DOCKER_LIST, OCI_LAYOUT, 'oci', mt.OCI_INDEX),
])
def test_choose_index_type(source_type, traits, fmt, expected):
    assert choose_index_type(source_type, traits, fmt) == expected


@pytest.mark.parametrize('traits, fmt, message', [
    (DOCKER_ARCHIVE, None, 'the destination cannot store an index; set multi_arch: system to copy one platform'),
    (DOCKER_ARCHIVE, 'v2s2', 'the destination cannot store an index; set multi_arch: system to copy one platform'),
    (REGISTRY, 'v2s1', 'format v2s1 cannot hold an index (schema1 is single-image); set multi_arch: system'),
    (OCI_LAYOUT, 'v2s2', 'the destination cannot store %s indexes' % mt.DOCKER_LIST),
])
def test_choose_index_type_unsupported(traits, fmt, message):
    with pytest.raises(InvalidInputError) as excinfo:
        choose_index_type(mt.OCI_INDEX, traits, fmt)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('traits, options, expected', [
    (REGISTRY, CopyOptions(), 'compress'),
    (DIR, CopyOptions(), 'preserve'),
    (DOCKER_ARCHIVE, CopyOptions(), 'decompress'),
    (DIR, CopyOptions(dest_compress=True), 'compress'),
    (DIR, CopyOptions(dest_decompress=True), 'decompress'),
    (REGISTRY, CopyOptions(dest_decompress=True), 'decompress'),
    (OCI_LAYOUT, CopyOptions(oci_accept_uncompressed_layers=True), 'preserve'),
    (DestinationTraits(layer_compression='compress', transport='oci-archive'), CopyOptions(oci_accept_uncompressed_layers=True), 'preserve'),
    # Only OCI layouts and archives may keep uncompressed layers that way.
    (REGISTRY, CopyOptions(oci_accept_uncompressed_layers=True), 'compress'),
    (DOCKER_ARCHIVE, CopyOptions(oci_accept_uncompressed_layers=True), 'decompress'),
])
def test_wanted_layer_compression(traits, options, expected):
    assert wanted_layer_compression(traits, options) == expected


@pytest.mark.parametrize('kwargs, message', [
    ({'multi_arch': 'ALL'}, "invalid multi_arch 'ALL': expected one of system, all, index-only"),
    ({'format': 'docker'}, "invalid format 'docker': expected one of oci, v2s2, v2s1"),
    ({'compress_format': 'xz'}, "invalid dest_compress_format 'xz': expected gzip or zstd"),
    ({'dest_compress': True, 'dest_decompress': True}, 'dest_compress and dest_decompress exclude each other'),
])
def test_invalid_options(kwargs, message):
    with pytest.raises(InvalidInputError) as excinfo:
        CopyOptions(**kwargs)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('value', ['', 'ALL', 'index_only', 'sparse', None])
def test_invalid_multi_arch(value):
    with pytest.raises(InvalidInputError) as excinfo:
        CopyOptions(multi_arch=value)
    assert str(excinfo.value) == 'invalid multi_arch %r: expected one of system, all, index-only' % (value,)


# ---------------------------------------------------------------------------------------------
# Single images, exact: the digest rule


@pytest.mark.parametrize('before, force, up_to_date, reason', [
    (None, False, False, 'destination holds no image'),
    (None, True, False, 'destination holds no image'),
    (SINGLE.digest, False, True, 'destination already holds %s' % SINGLE.digest),
    (SINGLE.digest, True, False, 'force: copied although the destination holds %s' % SINGLE.digest),
    (OTHER, False, False, 'destination holds %s' % OTHER),
    (OTHER, True, False, 'destination holds %s' % OTHER),
])
def test_single_image(before, force, up_to_date, reason):
    plan = make_plan(single(SINGLE), before, CopyOptions(force=force), REGISTRY)
    assert plan.up_to_date is up_to_date
    assert plan.reason == reason
    assert plan.rule == 'digest'
    assert plan.exact
    assert plan.manifest == write_of(SINGLE)
    assert plan.after == SINGLE.digest
    assert plan.source_digest == SINGLE.digest
    assert plan.before == before
    # One image, no index and no child manifests to write.
    assert len(plan.images) == 1 and plan.index is None and plan.index_type is None
    assert plan.platform is None
    assert not plan.images[0].converted and plan.images[0].config_raw is None
    assert plan.blobs() == (BlobInfo(sha('cfg'), 10, mt.OCI_CONFIG), BlobInfo(sha('layer-a'), 5, mt.OCI_LAYER_GZIP),
                            BlobInfo(sha('layer-b'), 7, mt.OCI_LAYER_GZIP))


def test_before_compared_as_digest_value():
    # A digest read back from the destination is a different object with the same value.
    plan = make_plan(single(SINGLE), Digest(str(SINGLE.digest)), CopyOptions(), REGISTRY)
    assert plan.up_to_date


@pytest.mark.parametrize('multi_arch', ['system', 'all', 'index-only'])
def test_single_image_ignores_multi_arch(multi_arch):
    traits = DestinationTraits(supports_index=False)
    plan = make_plan(single(SINGLE), None, CopyOptions(multi_arch=multi_arch, preserve_digests=True, platforms=('linux/s390x',)), traits)
    assert plan.manifest == write_of(SINGLE)
    assert len(plan.blobs()) == 3


def test_source_image_without_instances():
    # SourceImage.instances is informative for a single image: the plan uses the top manifest.
    plan = make_plan(SourceImage(top=SINGLE), None, CopyOptions(), REGISTRY)
    assert plan.manifest == write_of(SINGLE)


# ---------------------------------------------------------------------------------------------
# Conversion


def test_docker_image_into_oci_only_destination():
    plan = make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), None, CopyOptions(), OCI_LAYOUT)
    expected = convert_manifest(DOCKER_SINGLE, mt.OCI_MANIFEST, DOCKER_CONFIG)
    image_plan = plan.images[0]
    assert image_plan.target_type == mt.OCI_MANIFEST
    assert image_plan.converted and image_plan.exact
    assert plan.manifest == ManifestWrite(expected.raw, mt.OCI_MANIFEST, expected.digest)
    assert plan.after == expected.digest != DOCKER_SINGLE.digest
    # Docker to OCI re-serialises the config: a new blob, written from the plan, not copied.
    assert expected.config_raw is not None
    assert image_plan.config_raw == expected.config_raw
    assert image_plan.conversion.config_digest != DOCKER_SINGLE.config.digest
    assert blob_names(plan) == [str(sha('d-layer-a')), str(sha('d-layer-b'))]
    assert [step.media_type for step in image_plan.layers] == [mt.OCI_LAYER_GZIP] * 2
    assert make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), expected.digest, CopyOptions(), OCI_LAYOUT).up_to_date


def test_oci_image_as_v2s2_keeps_its_config():
    plan = make_plan(single(SINGLE), None, CopyOptions(format='v2s2'), REGISTRY)
    expected = convert_manifest(SINGLE, mt.DOCKER_V2S2)
    assert plan.manifest == ManifestWrite(expected.raw, mt.DOCKER_V2S2, expected.digest)
    assert plan.images[0].config_raw is None
    assert blob_names(plan) == [str(sha('cfg')), str(sha('layer-a')), str(sha('layer-b'))]


def test_conversion_needs_the_config():
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(single(DOCKER_SINGLE), None, CopyOptions(), OCI_LAYOUT)
    assert str(excinfo.value) == 'converting %s needs its config blob %s' % (DOCKER_SINGLE.digest, DOCKER_SINGLE.config.digest)


@pytest.mark.parametrize('source, options, traits, message', [
    (single(DOCKER_SINGLE, DOCKER_CONFIGS), CopyOptions(preserve_digests=True), OCI_LAYOUT,
     'preserve_digests: writing %s as %s changes its digest' % (mt.DOCKER_V2S2, mt.OCI_MANIFEST)),
    (single(SINGLE), CopyOptions(preserve_digests=True, format='v2s2'), REGISTRY,
     'preserve_digests: writing %s as %s changes its digest' % (mt.OCI_MANIFEST, mt.DOCKER_V2S2)),
    (single(SINGLE), CopyOptions(preserve_digests=True), DOCKER_ARCHIVE,
     'preserve_digests: writing %s as %s changes its digest' % (mt.OCI_MANIFEST, mt.DOCKER_V2S2)),
    (SourceImage(top=INDEX, instances=(AMD64, ARM64)), CopyOptions(multi_arch='all', preserve_digests=True, format='v2s2'), REGISTRY,
     'preserve_digests: writing %s as %s changes its digest' % (mt.OCI_MANIFEST, mt.DOCKER_V2S2)),
    (SourceImage(top=INDEX), CopyOptions(multi_arch='index-only', preserve_digests=True, format='v2s2'), REGISTRY,
     'preserve_digests: the index would be rewritten (%s), which changes its digest' % mt.DOCKER_LIST),
    (SourceImage(top=INDEX, instances=(ARM64,)), CopyOptions(platforms=('linux/arm64/v8',), preserve_digests=True), REGISTRY,
     'preserve_digests: the index would be rewritten (%s), which changes its digest' % mt.OCI_INDEX),
    (single(SINGLE), CopyOptions(preserve_digests=True, compress_format='zstd'), REGISTRY,
     'preserve_digests: layer %s would be recompressed to zstd, which changes its digest' % sha('layer-a')),
])
def test_preserve_digests_refuses_conversion(source, options, traits, message):
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(source, None, options, traits)
    assert str(excinfo.value) == message


def test_preserve_digests_allows_what_changes_nothing():
    plan = make_plan(SourceImage(top=INDEX, instances=(AMD64, ARM64)), None,
                     CopyOptions(platforms=('linux/arm64/v8', 'linux/amd64'), preserve_digests=True, format='oci', compress_format='gzip'),
                     REGISTRY)
    assert plan.manifest == write_of(INDEX)
    # An uncompressed layer stays uncompressed where compression would have been wanted.
    plain = image('cfg', ('plain', 3), layer_type=mt.OCI_LAYER)
    plan = make_plan(single(plain), None, CopyOptions(preserve_digests=True), OCI_LAYOUT)
    assert plan.manifest == write_of(plain)


def test_plan_image_forced_type():
    plan = plan_image(SINGLE, None, REGISTRY, CopyOptions(), forced_type=mt.DOCKER_V2S2)
    assert plan.target_type == mt.DOCKER_V2S2 and plan.converted
    assert plan.requested_layer_types() == (mt.DOCKER_LAYER_GZIP, mt.DOCKER_LAYER_GZIP)


# ---------------------------------------------------------------------------------------------
# Layers changing bytes: not exact, the content rule

ZSTD = CopyOptions(compress_format='zstd')


def test_recompression_is_not_exact():
    plan = make_plan(single(SINGLE), None, ZSTD, REGISTRY)
    image_plan = plan.images[0]
    assert not plan.exact and plan.manifest is None and plan.after is None
    assert not image_plan.exact
    assert [(step.action, step.compression) for step in image_plan.layers] == [(RECOMPRESS, 'zstd')] * 2
    assert image_plan.requested_layer_types() == (mt.OCI_LAYER_ZSTD, mt.OCI_LAYER_ZSTD)
    # Only the config is copied as it is; the layers are transformed on the way.
    assert plan.blobs() == (BlobInfo(sha('cfg'), 10, mt.OCI_CONFIG),)
    assert (plan.up_to_date, plan.reason, plan.rule) == (False, 'destination holds no image', 'content')


def test_partly_changed_layers():
    doc = json.loads(SINGLE.raw)
    doc['layers'][0]['mediaType'] = mt.OCI_LAYER
    mixed = parse_manifest(json.dumps(doc).encode())
    plan = make_plan(single(mixed), None, CopyOptions(), REGISTRY)
    assert not plan.exact
    assert [(step.action, step.compression) for step in plan.images[0].layers] == [(COMPRESS, 'gzip'), (KEEP, 'gzip')]
    assert plan.images[0].requested_layer_types() == (mt.OCI_LAYER_GZIP, mt.OCI_LAYER_GZIP)
    assert blob_names(plan) == [str(sha('cfg')), str(sha('layer-b'))]
    # The same image where layers are kept as they are (dir) is exact.
    assert make_plan(single(mixed), None, CopyOptions(), DIR).manifest == write_of(mixed)


def current_image(config, layer_type=mt.OCI_LAYER_ZSTD, media_type=mt.OCI_MANIFEST, names=('new-a', 'new-b')):
    """A manifest the destination might hold: new layer digests (recompressed), the given config and types."""
    return image(config, *[(n, 1) for n in names], media_type=media_type, layer_type=layer_type)


@pytest.mark.parametrize('current, up_to_date', [
    # Same config digest, same layer sequence in the requested media types: up to date, whatever the layer digests.
    (current_image('cfg'), True),
    (current_image('cfg', names=('other-1', 'other-2')), True),
    # Anything else: not.
    (current_image('cfg', layer_type=mt.OCI_LAYER_GZIP), False),
    (current_image('cfg', names=('only-one',)), False),
    (current_image('cfg', names=('a', 'b', 'c')), False),
    (current_image('other-cfg'), False),
    (current_image('cfg', media_type=mt.DOCKER_V2S2), False),
    (INDEX, False),
    (None, False),
])
def test_content_rule(current, up_to_date):
    before = OTHER
    plan = make_plan(single(SINGLE), before, ZSTD, REGISTRY, current=current)
    assert plan.rule == 'content'
    assert plan.up_to_date is up_to_date
    if up_to_date:
        assert plan.reason == 'destination already holds the same config and layers in the requested form (%s)' % before
    else:
        assert plan.reason == 'destination holds %s' % before


def test_content_rule_force():
    plan = make_plan(single(SINGLE), OTHER, CopyOptions(compress_format='zstd', force=True), REGISTRY, current=current_image('cfg'))
    assert not plan.up_to_date and plan.rule == 'content'
    assert plan.reason == 'force: copied although the destination holds the same content (%s)' % OTHER


def test_content_rule_with_conversion_compares_the_converted_config():
    # Docker to OCI with recompression: the config to compare is the converted one, not the source's.
    plan = make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), OTHER, ZSTD, OCI_LAYOUT)
    converted_config = plan.images[0].conversion.config
    assert plan.images[0].config_raw is not None
    current = parse_manifest(json.dumps({
        'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
        'config': {'mediaType': mt.OCI_CONFIG, 'digest': str(converted_config.digest), 'size': converted_config.size},
        'layers': [blob('z1', 1, mt.OCI_LAYER_ZSTD), blob('z2', 1, mt.OCI_LAYER_ZSTD)]}).encode())
    assert make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), OTHER, ZSTD, OCI_LAYOUT, current=current).up_to_date
    with_source_config = docker_image(DOCKER_CONFIG, ('z1', 1), ('z2', 1))
    assert not make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), OTHER, ZSTD, OCI_LAYOUT, current=with_source_config).up_to_date


# ---------------------------------------------------------------------------------------------
# Indexes: one platform (system)


def system_source(chosen=AMD64, platform='linux/amd64'):
    return SourceImage(top=INDEX, instances=(chosen,), chosen=chosen, chosen_platform=platform)


@pytest.mark.parametrize('before, up_to_date', [(None, False), (AMD64.digest, True), (INDEX.digest, False), (ARM64.digest, False)])
def test_index_system_copies_the_chosen_image(before, up_to_date):
    plan = make_plan(system_source(), before, CopyOptions(multi_arch='system'), REGISTRY)
    assert plan.manifest == write_of(AMD64)
    assert plan.after == AMD64.digest
    assert plan.source_digest == INDEX.digest
    assert plan.platform == 'linux/amd64'
    assert plan.index is None and plan.index_type is None
    assert [image_plan.source for image_plan in plan.images] == [AMD64]
    assert blob_names(plan) == [str(sha('cfg-amd64')), str(sha('base')), str(sha('amd64-app'))]
    assert plan.up_to_date is up_to_date


def test_index_system_arm64():
    plan = make_plan(system_source(ARM64, 'linux/arm64/v8'), None, CopyOptions(override_arch='arm64'), REGISTRY)
    assert plan.manifest == write_of(ARM64)
    assert plan.platform == 'linux/arm64/v8'
    assert blob_names(plan) == [str(sha('cfg-arm64')), str(sha('base')), str(sha('arm64-app'))]


def test_index_system_works_where_no_index_can_be_stored():
    plan = make_plan(system_source(), None, CopyOptions(), DestinationTraits(supports_index=False))
    assert plan.manifest == write_of(AMD64)


def test_index_system_converted_for_docker_archive():
    source = SourceImage(top=INDEX, instances=(AMD64,), chosen=AMD64, chosen_platform='linux/amd64')
    plan = make_plan(source, None, CopyOptions(), DestinationTraits(supported_types=(mt.DOCKER_V2S2,), supports_index=False))
    expected = convert_manifest(AMD64, mt.DOCKER_V2S2)
    assert plan.manifest == ManifestWrite(expected.raw, mt.DOCKER_V2S2, expected.digest)


def test_index_system_preserve_digests_refused():
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(system_source(), None, CopyOptions(preserve_digests=True), REGISTRY)
    assert str(excinfo.value) == ('preserve_digests: the source is an index (%s) and copying one platform would change the digest; '
                                  'use multi_arch: all' % INDEX.digest)


def test_index_system_without_chosen_instance():
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(SourceImage(top=INDEX), None, CopyOptions(), REGISTRY)
    assert str(excinfo.value) == 'no platform was chosen from the source index'


# ---------------------------------------------------------------------------------------------
# Indexes: all, index-only, platforms


@pytest.mark.parametrize('before, force, up_to_date', [
    (None, False, False), (INDEX.digest, False, True), (INDEX.digest, True, False), (AMD64.digest, False, False),
])
def test_index_all(before, force, up_to_date):
    source = SourceImage(top=INDEX, instances=(AMD64, ARM64))
    plan = make_plan(source, before, CopyOptions(multi_arch='all', force=force, preserve_digests=True), REGISTRY)
    assert plan.manifest == write_of(INDEX)
    assert plan.after == INDEX.digest == plan.source_digest
    assert plan.index is INDEX and plan.index_type == mt.OCI_INDEX
    # Each child is written as it is.
    written = [(p.conversion.raw, p.conversion.digest, p.converted) for p in plan.images]
    assert written == [(AMD64.raw, AMD64.digest, False), (ARM64.raw, ARM64.digest, False)]
    assert plan.platform is None
    assert plan.up_to_date is up_to_date and plan.rule == 'digest'
    # Union of both images' blobs, each once, in first-seen order (each image's config first).
    assert blob_names(plan) == [str(sha(n)) for n in ('cfg-amd64', 'base', 'amd64-app', 'cfg-arm64', 'arm64-app')]
    assert plan.blobs()[0] == BlobInfo(sha('cfg-amd64'), 10, mt.OCI_CONFIG)


def test_index_all_shared_config_counted_once():
    twin = image('cfg-amd64', ('base', 100), ('other', 1))
    source = SourceImage(top=index((AMD64, AMD64_PLATFORM), (twin, {'os': 'linux', 'architecture': 's390x'})), instances=(AMD64, twin))
    plan = make_plan(source, None, CopyOptions(multi_arch='all'), REGISTRY)
    assert blob_names(plan) == [str(sha(n)) for n in ('cfg-amd64', 'base', 'amd64-app', 'other')]


def test_index_only():
    plan = make_plan(SourceImage(top=INDEX), None, CopyOptions(multi_arch='index-only'), REGISTRY)
    assert plan.manifest == write_of(INDEX)
    assert not plan.images
    assert not plan.blobs()
    assert not plan.up_to_date
    assert make_plan(SourceImage(top=INDEX), INDEX.digest, CopyOptions(multi_arch='index-only'), REGISTRY).up_to_date


@pytest.mark.parametrize('multi_arch', ['all', 'index-only'])
def test_destination_that_cannot_hold_an_index(multi_arch):
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(SourceImage(top=INDEX, instances=(AMD64, ARM64)), None, CopyOptions(multi_arch=multi_arch), DestinationTraits(supports_index=False))
    assert str(excinfo.value) == 'the destination cannot store an index; set multi_arch: system to copy one platform'


def test_docker_list_into_oci_layout():
    source = SourceImage(top=DOCKER_LIST, instances=(DOCKER_SINGLE, DOCKER_ARM64), configs=DOCKER_CONFIGS)
    plan = make_plan(source, None, CopyOptions(multi_arch='all'), OCI_LAYOUT)
    assert plan.index_type == mt.OCI_INDEX
    assert [p.target_type for p in plan.images] == [mt.OCI_MANIFEST] * 2
    assert all(p.converted and p.exact for p in plan.images)
    written = parse_manifest(plan.manifest.raw, plan.manifest.media_type)
    assert plan.manifest.media_type == mt.OCI_INDEX
    assert [d.digest for d in written.manifests] == [p.conversion.digest for p in plan.images]
    assert [d.media_type for d in written.manifests] == [mt.OCI_MANIFEST] * 2
    assert [str(d.platform) for d in written.manifests] == ['linux/amd64', 'linux/arm64/v8']
    # The shared layer is copied once; the configs are new blobs.
    assert blob_names(plan) == [str(sha(n)) for n in ('d-layer-a', 'd-layer-b', 'd-layer-c')]


def test_index_platforms_subset():
    source = SourceImage(top=INDEX, instances=(ARM64,))
    plan = make_plan(source, None, CopyOptions(platforms=('linux/arm64/v8',)), REGISTRY)
    written = parse_manifest(plan.manifest.raw, plan.manifest.media_type)
    assert plan.index_type == mt.OCI_INDEX and plan.platform is None
    assert [d.digest for d in written.manifests] == [ARM64.digest]
    assert plan.after != INDEX.digest
    assert blob_names(plan) == [str(sha(n)) for n in ('cfg-arm64', 'base', 'arm64-app')]


def test_index_recompressed_is_not_exact():
    source = SourceImage(top=INDEX, instances=(AMD64, ARM64))
    plan = make_plan(source, None, CopyOptions(multi_arch='all', compress_format='zstd'), REGISTRY)
    assert plan.manifest is None and plan.index_type == mt.OCI_INDEX
    assert blob_names(plan) == [str(sha('cfg-amd64')), str(sha('cfg-arm64'))]


def zstd_child(config):
    return image(config, ('z-base', 1), ('z-app-' + config, 1), layer_type=mt.OCI_LAYER_ZSTD)


@pytest.mark.parametrize('current, children, up_to_date', [
    # Per platform, in the index's order: same config and requested layer types.
    (INDEX, (zstd_child('cfg-amd64'), zstd_child('cfg-arm64')), True),
    (INDEX, (zstd_child('cfg-arm64'), zstd_child('cfg-amd64')), False),
    (INDEX, (zstd_child('cfg-amd64'), image('cfg-arm64', ('g1', 1), ('g2', 1))), False),
    (INDEX, (zstd_child('cfg-amd64'),), False),
    (INDEX, None, False),
    (index((AMD64, AMD64_PLATFORM), (ARM64, ARM64_PLATFORM), media_type=mt.DOCKER_LIST), (zstd_child('cfg-amd64'), zstd_child('cfg-arm64')),
     False),
    (zstd_child('cfg-amd64'), None, False),
])
def test_index_content_rule_per_platform(current, children, up_to_date):
    source = SourceImage(top=INDEX, instances=(AMD64, ARM64))
    plan = make_plan(source, OTHER, CopyOptions(multi_arch='all', compress_format='zstd'), REGISTRY, current=current,
                     current_children=children)
    assert plan.rule == 'content'
    assert plan.up_to_date is up_to_date


@pytest.mark.parametrize('compress_format, level, expected', [
    (None, 42, 'invalid gzip compression level 42: expected 1 to 9'),
    (None, 0, 'invalid gzip compression level 0: expected 1 to 9'),
    ('gzip', 10, 'invalid gzip compression level 10: expected 1 to 9'),
    ('zstd', 23, 'invalid zstd compression level 23: expected 1 to 22'),
])
def test_compress_level_is_checked_even_when_nothing_is_recompressed(compress_format, level, expected):
    # A plan that keeps every layer never builds a compressor; the options themselves refuse the level.
    with pytest.raises(InvalidInputError) as excinfo:
        CopyOptions(compress_format=compress_format, compress_level=level)
    assert str(excinfo.value) == expected


@pytest.mark.parametrize('compress_format, level', [(None, 9), ('gzip', 1), ('zstd', 22), ('zstd', None), (None, None)])
def test_compress_levels_in_range_are_accepted(compress_format, level):
    assert CopyOptions(compress_format=compress_format, compress_level=level).compress_level == level


# ---------------------------------------------------------------------------------------------
# Destinations that know images by ID (docker-daemon:, containers-storage:)

DAEMON = DestinationTraits(supported_types=(mt.DOCKER_V2S2,), supports_index=False, layer_compression='decompress',
                           transport='docker-daemon', by_image_id=True)


@pytest.mark.parametrize('before_id, force, up_to_date, reason', [
    (None, False, False, 'destination holds no image'),
    ('same', False, True, 'destination already holds the image ID %s (the same config, so the same layers)'),
    ('same', True, False, 'force: copied although the destination holds the image ID %s'),
    (OTHER, False, False, 'destination holds the image ID %s' % OTHER),
])
def test_image_id_rule(before_id, force, up_to_date, reason):
    # Gzip layers bound for a store of uncompressed ones: the manifest is not known in advance, the config is.
    wanted = convert_manifest(DOCKER_SINGLE, mt.DOCKER_V2S2).config_digest
    before = wanted if before_id == 'same' else before_id
    plan = make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), None, CopyOptions(force=force), DAEMON, before_image_id=before)
    assert (plan.rule, plan.up_to_date, plan.image_id, plan.before_image_id, plan.before) == ('image_id', up_to_date, wanted, before, None)
    assert plan.reason == (reason % wanted if '%s' in reason else reason)
    assert plan.manifest is None and not plan.exact


def test_image_id_rule_for_an_oci_image_written_as_schema2():
    # An OCI image written as Docker schema2 keeps its config bytes (as containers/image): the ID is the source's config digest.
    plan = make_plan(single(SINGLE), None, CopyOptions(), DAEMON, before_image_id=SINGLE.config.digest)
    assert (plan.rule, plan.up_to_date, plan.image_id) == ('image_id', True, SINGLE.config.digest)


def test_schema1_into_an_id_store_is_decided_by_content():
    # A schema1 image's config is made from its layers' diff_ids, known only once they are read: no image ID in advance, so the
    # caller compares the manifest an export synthesizes (the content rule), whatever ID the name holds.
    history = [json.dumps({'id': 'b' * 64, 'parent': 'a' * 64, 'architecture': 'amd64', 'os': 'linux', 'config': {}}),
               json.dumps({'id': 'a' * 64})]
    doc = {'schemaVersion': 1, 'name': 'library/test', 'tag': 'latest', 'architecture': 'amd64',
           'fsLayers': [{'blobSum': str(sha('s1-top'))}, {'blobSum': str(sha('s1-base'))}], 'history': [{'v1Compatibility': h} for h in history]}
    top = parse_any(json.dumps(doc).encode(), mt.DOCKER_V2S1)
    plan = make_plan(single(top), None, CopyOptions(), DAEMON, before_image_id=OTHER)
    assert (plan.rule, plan.image_id, plan.up_to_date) == ('content', None, False)


def test_image_id_rule_for_a_platform_of_an_index():
    source = SourceImage(top=DOCKER_LIST, instances=(DOCKER_SINGLE,), chosen=DOCKER_SINGLE, chosen_platform='linux/amd64', configs=DOCKER_CONFIGS)
    plan = make_plan(source, None, CopyOptions(), DAEMON, before_image_id=DOCKER_SINGLE.config.digest)
    assert (plan.rule, plan.up_to_date, plan.platform) == ('image_id', True, 'linux/amd64')


def test_image_id_rule_only_where_the_destination_knows_ids():
    # The same plan for a docker archive (no IDs) keeps the content rule, and before_image_id is ignored.
    plan = make_plan(single(DOCKER_SINGLE, DOCKER_CONFIGS), None, CopyOptions(), DOCKER_ARCHIVE, before_image_id=DOCKER_SINGLE.config.digest)
    assert (plan.rule, plan.up_to_date, plan.image_id) == ('content', False, None)
