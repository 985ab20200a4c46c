# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for manifest/convert.py: format conversions, byte for byte against skopeo 1.9.3 where it is installed."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.compression import DOCKER_LAYER_FOREIGN
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidInputError,
    ManifestError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import convert as cv
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest import schema1 as s1
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor, ImageIndex, ImageManifest, parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import host_platform


def sha(text):
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


DOCKER_CONFIG = json.dumps({
    'architecture': 'amd64', 'os': 'linux', 'created': '2024-03-04T05:06:07.890000000Z', 'author': 'Ann <ann@example.com>',
    'config': {'Hostname': 'b', 'Env': ['PATH=/bin'], 'Cmd': ['sh'], 'Labels': {'z': '1', 'a': '&'}, 'OnBuild': None},
    'container_config': {'Cmd': ['x']}, 'docker_version': '24.0',
    'rootfs': {'type': 'layers', 'diff_ids': [sha('d1'), sha('d2')]},
    'history': [{'created': '2024-03-04T05:06:07Z', 'created_by': 'ADD a', 'empty_layer': False}, {'created_by': 'ADD b'}],
}, indent=2).encode()
OCI_CONFIG = json.dumps({'architecture': 'arm64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [sha('d1'), sha('d2')]},
                         'history': [{'created_by': 'ADD a'}, {'created_by': 'ADD b'}]}).encode()


def docker_manifest(layers, config=DOCKER_CONFIG):
    doc = {'schemaVersion': 2, 'mediaType': mt.DOCKER_V2S2,
           'config': {'mediaType': mt.DOCKER_CONFIG, 'size': len(config), 'digest': 'sha256:' + hashlib.sha256(config).hexdigest()},
           'layers': layers}
    return parse_manifest(json.dumps(doc, indent=1).encode())


def oci_manifest(layers, config=OCI_CONFIG, config_type=mt.OCI_CONFIG, **extra):
    doc = {'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
           'config': {'mediaType': config_type, 'size': len(config), 'digest': 'sha256:' + hashlib.sha256(config).hexdigest()},
           'layers': layers}
    doc.update(extra)
    return parse_manifest(json.dumps(doc, indent=1).encode())


def layer(media_type, name, size=100, **extra):
    out = {'mediaType': media_type, 'digest': sha(name), 'size': size}
    out.update(extra)
    return out


# --- Docker schema2 to OCI ---------------------------------------------------------------------------

@pytest.mark.parametrize('docker_type, oci_type', [
    (mt.DOCKER_LAYER_GZIP, mt.OCI_LAYER_GZIP),
    (mt.DOCKER_LAYER, mt.OCI_LAYER),
    (DOCKER_LAYER_FOREIGN, mt.OCI_LAYER_NONDISTRIBUTABLE),
    (mt.DOCKER_LAYER_FOREIGN_GZIP, mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP),
])
def test_docker_to_oci_layer_types(docker_type, oci_type):
    manifest = docker_manifest([layer(docker_type, 'l1', urls=['https://example.com/l1'])])
    result = cv.to_oci(manifest, DOCKER_CONFIG)
    assert result.media_type == mt.OCI_MANIFEST and result.changed
    assert result.layers[0] == Descriptor(oci_type, Digest(sha('l1')), 100, urls=('https://example.com/l1',))


def test_docker_to_oci_rewrites_the_config():
    manifest = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1'), layer(mt.DOCKER_LAYER_GZIP, 'l2')])
    result = cv.to_oci(manifest, DOCKER_CONFIG)
    config = json.loads(result.config_raw)
    assert result.config == Descriptor(mt.OCI_CONFIG, Digest.from_bytes(result.config_raw), len(result.config_raw))
    assert result.config_digest == result.config.digest != manifest.config.digest
    assert list(config) == ['created', 'author', 'architecture', 'os', 'config', 'rootfs', 'history']
    assert config['created'] == '2024-03-04T05:06:07.89Z'
    assert config['config'] == {'Env': ['PATH=/bin'], 'Cmd': ['sh'], 'Labels': {'a': '&', 'z': '1'}}
    assert b'"a":"\\u0026"' in result.config_raw and b'"author":"Ann \\u003cann@example.com\\u003e"' in result.config_raw
    assert config['history'] == [{'created': '2024-03-04T05:06:07Z', 'created_by': 'ADD a'}, {'created_by': 'ADD b'}]
    assert result.raw == (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":'
                          b'"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":'
                          b'"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":100},{"mediaType":'
                          b'"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":100}]}'
                          % (str(result.config.digest).encode(), len(result.config_raw), sha('l1').encode(), sha('l2').encode()))
    assert result.digest == Digest.from_bytes(result.raw)
    assert result.blobs() == [result.config] + list(result.layers)
    assert isinstance(result.parse(), ImageManifest)


def test_docker_to_oci_needs_the_right_config():
    manifest = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')])
    with pytest.raises(InvalidInputError, match='needs its config'):
        cv.to_oci(manifest)
    with pytest.raises(DigestMismatchError):
        cv.to_oci(manifest, DOCKER_CONFIG + b' ')
    with pytest.raises(ManifestError, match='cannot use'):
        bad = json.dumps({'architecture': 5}).encode()
        cv.to_oci(docker_manifest([], config=bad), bad)


def test_docker_to_oci_unknown_layer_type():
    manifest = docker_manifest([layer('application/vnd.example.blob', 'l1')])
    with pytest.raises(UnsupportedMediaTypeError, match='unknown media type'):
        cv.to_oci(manifest, DOCKER_CONFIG)


def test_docker_to_oci_with_recompressed_layers():
    manifest = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1', urls=['u']), layer(mt.DOCKER_LAYER_FOREIGN_GZIP, 'l2', urls=['v'])])
    overrides = [cv.LayerOverride(Digest(sha('z1')), 90, 'zstd'), Descriptor(mt.OCI_LAYER, Digest(sha('t2')), 300)]
    result = cv.to_oci(manifest, DOCKER_CONFIG, overrides)
    assert [(d.media_type, str(d.digest), d.size, d.urls) for d in result.layers] == [
        (mt.OCI_LAYER_ZSTD, sha('z1'), 90, ()), (mt.OCI_LAYER_NONDISTRIBUTABLE, sha('t2'), 300, ())]


# --- OCI to Docker schema2 ---------------------------------------------------------------------------

@pytest.mark.parametrize('oci_type, docker_type', [
    (mt.OCI_LAYER_GZIP, mt.DOCKER_LAYER_GZIP),
    (mt.OCI_LAYER, mt.DOCKER_LAYER),
    (mt.OCI_LAYER_NONDISTRIBUTABLE, DOCKER_LAYER_FOREIGN),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, mt.DOCKER_LAYER_FOREIGN_GZIP),
])
def test_oci_to_docker_layer_types(oci_type, docker_type):
    manifest = oci_manifest([layer(oci_type, 'l1', urls=['u'], annotations={'a': 'b'})], annotations={'k': 'v'})
    result = cv.to_docker_v2s2(manifest, OCI_CONFIG)
    assert result.media_type == mt.DOCKER_V2S2 and result.config_raw is None
    assert result.config == Descriptor(mt.DOCKER_CONFIG, manifest.config.digest, manifest.config.size)
    assert result.layers == (Descriptor(docker_type, Digest(sha('l1')), 100, urls=('u',)),)
    assert b'annotations' not in result.raw
    # Docker descriptors put size before digest.
    assert b'"mediaType":"%s","size":100,"digest"' % docker_type.encode() in result.raw


@pytest.mark.parametrize('zstd_type', [mt.OCI_LAYER_ZSTD, mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD])
def test_oci_to_docker_refuses_zstd(zstd_type):
    manifest = oci_manifest([layer(zstd_type, 'l1')])
    with pytest.raises(UnsupportedMediaTypeError, match='Docker schema2 has no zstd'):
        cv.to_docker_v2s2(manifest, OCI_CONFIG)
    # Unless the copy rewrote the layer with gzip.
    result = cv.to_docker_v2s2(manifest, OCI_CONFIG, [cv.LayerOverride(Digest(sha('g')), 5, 'gzip')])
    assert result.layers[0].media_type == (mt.DOCKER_LAYER_GZIP if zstd_type == mt.OCI_LAYER_ZSTD else mt.DOCKER_LAYER_FOREIGN_GZIP)
    with pytest.raises(UnsupportedMediaTypeError):
        cv.to_docker_v2s2(manifest, OCI_CONFIG, [cv.LayerOverride(Digest(sha('z')), 5, 'zstd')])


def test_oci_artifacts_have_no_docker_form():
    manifest = oci_manifest([layer(mt.OCI_LAYER_GZIP, 'l1')], config=b'{}', config_type='application/vnd.example.config+json')
    with pytest.raises(UnsupportedMediaTypeError, match='not a container image'):
        cv.to_docker_v2s2(manifest, b'{}')
    with pytest.raises(UnsupportedMediaTypeError, match='not a container image'):
        cv.to_schema1(manifest, b'{}')


def test_oci_to_docker_does_not_need_the_config():
    manifest = oci_manifest([layer(mt.OCI_LAYER_GZIP, 'l1')])
    assert cv.to_docker_v2s2(manifest).raw == cv.to_docker_v2s2(manifest, OCI_CONFIG).raw
    with pytest.raises(DigestMismatchError):
        cv.to_docker_v2s2(manifest, b'{}')


# --- same format: unchanged, or layers updated ---------------------------------------------------------

def test_same_format_without_changes_keeps_the_bytes():
    oci = oci_manifest([layer(mt.OCI_LAYER_GZIP, 'l1')])
    docker = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')])
    for result, source in ((cv.to_oci(oci), oci), (cv.to_docker_v2s2(docker, DOCKER_CONFIG), docker),
                           (cv.to_oci(oci, layer_overrides=[None]), oci),
                           (cv.to_oci(oci, layer_overrides=[Descriptor(mt.OCI_LAYER_GZIP, Digest(sha('l1')), 100)]), oci)):
        assert not result.changed and result.raw == source.raw and result.digest == source.digest
        assert result.config == source.config and result.layers == source.layers and result.config_raw is None


def test_oci_layer_updates_rebuild_only_the_changed_descriptors():
    manifest = oci_manifest([layer(mt.OCI_LAYER_GZIP, 'l1', annotations={'keep': 'me'}, urls=['u']),
                             layer(mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'l2', annotations={'drop': 'me'}, urls=['v'])],
                            annotations={'k': 'v'}, subject={'mediaType': mt.OCI_MANIFEST, 'digest': sha('s'), 'size': 1},
                            artifactType='dropped/by-skopeo-1.9', unknown=True)
    result = cv.to_oci(manifest, layer_overrides=[None, cv.LayerOverride(Digest(sha('z2')), 7, 'zstd')])
    doc = json.loads(result.raw)
    assert list(doc) == ['schemaVersion', 'mediaType', 'config', 'layers', 'subject', 'annotations']
    assert doc['layers'] == [layer(mt.OCI_LAYER_GZIP, 'l1', urls=['u'], annotations={'keep': 'me'}),
                             {'mediaType': mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, 'digest': sha('z2'), 'size': 7}]
    assert result.config == manifest.config and result.config_raw is None


def test_docker_layer_updates():
    manifest = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1', urls=['u']), layer(mt.DOCKER_LAYER_GZIP, 'l2')])
    result = cv.to_docker_v2s2(manifest, layer_overrides=[None, cv.LayerOverride(Digest(sha('p2')), 9, None)])
    assert json.loads(result.raw)['layers'] == [{'mediaType': mt.DOCKER_LAYER_GZIP, 'size': 100, 'digest': sha('l1'), 'urls': ['u']},
                                                {'mediaType': mt.DOCKER_LAYER, 'size': 9, 'digest': sha('p2')}]
    with pytest.raises(UnsupportedMediaTypeError):
        cv.to_docker_v2s2(manifest, layer_overrides=[None, cv.LayerOverride(Digest(sha('z')), 9, 'zstd')])


@pytest.mark.parametrize('overrides, error', [
    ([None], InvalidInputError),
    (['sha256:x', None], InvalidInputError),
    ([None, cv.LayerOverride(Digest(sha('x')), -1, 'gzip')], InvalidInputError),
])
def test_bad_overrides(overrides, error):
    manifest = oci_manifest([layer(mt.OCI_LAYER_GZIP, 'l1'), layer(mt.OCI_LAYER_GZIP, 'l2')])
    with pytest.raises(error):
        cv.to_oci(manifest, layer_overrides=overrides)


def test_unknown_layer_type_cannot_be_recompressed():
    manifest = oci_manifest([layer('application/vnd.oci.image.layer.v1.tar+gzip+encrypted', 'l1')])
    assert not cv.to_oci(manifest).changed
    with pytest.raises(UnsupportedMediaTypeError):
        cv.to_oci(manifest, layer_overrides=[cv.LayerOverride(Digest(sha('x')), 1, 'zstd')])


# --- schema1 sources and targets ----------------------------------------------------------------------

def schema1_manifest():
    base = {'id': hashlib.sha256(b'b').hexdigest(), 'created': '2020-01-01T00:00:00Z', 'container_config': {'Cmd': ['ADD a']}}
    empty = {'id': hashlib.sha256(b'e').hexdigest(), 'parent': base['id'], 'throwaway': True, 'container_config': {'Cmd': ['ENV a=b']}}
    top = {'id': hashlib.sha256(b't').hexdigest(), 'parent': empty['id'], 'architecture': 'amd64', 'os': 'linux',
           'config': {'Cmd': ['sh']}, 'container_config': {'Cmd': ['CMD sh']}, 'created': '2020-01-03T00:00:00Z'}
    doc = {'schemaVersion': 1, 'name': 'library/old', 'tag': 'v1', 'architecture': 'amd64',
           'fsLayers': [{'blobSum': sha('top')}, {'blobSum': str(s1.GZIPPED_EMPTY_LAYER_DIGEST)}, {'blobSum': sha('base')}],
           'history': [{'v1Compatibility': json.dumps(item)} for item in (top, empty, base)]}
    return s1.parse_schema1(json.dumps(doc).encode())


SCHEMA1_WRITTEN = [Descriptor(mt.DOCKER_LAYER_GZIP, Digest(sha('base')), 11), None, Descriptor(mt.DOCKER_LAYER_GZIP, Digest(sha('top')), 33)]


@pytest.mark.parametrize('convert, config_type, layer_type', [
    (cv.to_docker_v2s2, mt.DOCKER_CONFIG, mt.DOCKER_LAYER_GZIP),
    (cv.to_oci, mt.OCI_CONFIG, mt.OCI_LAYER_GZIP),
])
def test_schema1_to_schema2_and_oci(convert, config_type, layer_type):
    manifest = schema1_manifest()
    result = convert(manifest, layer_overrides=SCHEMA1_WRITTEN, diff_ids=[sha('d-base'), sha('d-top')])
    assert result.config.media_type == config_type and result.config_raw is not None
    assert json.loads(result.config_raw)['rootfs'] == {'type': 'layers', 'diff_ids': [sha('d-base'), sha('d-top')]}
    assert [(d.media_type, str(d.digest), d.size) for d in result.layers] == [(layer_type, sha('base'), 11), (layer_type, sha('top'), 33)]
    assert cv.needs_diff_ids(manifest.media_type, result.media_type)


def test_schema1_conversion_needs_diff_ids_and_sizes():
    manifest = schema1_manifest()
    with pytest.raises(InvalidInputError, match='diff_ids'):
        cv.to_oci(manifest, layer_overrides=SCHEMA1_WRITTEN)
    with pytest.raises(InvalidInputError, match='no known size'):
        cv.to_oci(manifest, diff_ids=[sha('a'), sha('b')])


def test_schema1_written_sizes_must_be_known():
    manifest = schema1_manifest()
    unknown = [SCHEMA1_WRITTEN[0], None, cv.LayerOverride(Digest(sha('top2')), -1, 'gzip')]
    with pytest.raises(InvalidInputError, match='unknown size'):
        cv.to_docker_v2s2(manifest, layer_overrides=unknown, diff_ids=[sha('a'), sha('b')])


def test_unknown_source_types_are_refused():
    docker = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')])
    odd = ImageManifest(raw=docker.raw, media_type='application/vnd.example.manifest', config=docker.config, layers=docker.layers)
    for convert in (cv.to_oci, cv.to_docker_v2s2, cv.to_schema1):
        with pytest.raises(UnsupportedMediaTypeError, match='cannot convert'):
            convert(odd, DOCKER_CONFIG)
    index = oci_index([dict(AMD64)])
    with pytest.raises(UnsupportedMediaTypeError, match='cannot convert'):
        cv.convert_index(ImageIndex(raw=index.raw, media_type='application/vnd.example.index', manifests=index.manifests), 'oci')


def test_schema1_to_schema1_renames_or_keeps():
    manifest = schema1_manifest()
    kept = cv.to_schema1(manifest)
    assert not kept.changed and kept.raw == manifest.raw and kept.layers == manifest.all_layers
    renamed = cv.to_schema1(manifest, name='library/new', tag='v2')
    parsed = s1.parse_schema1(renamed.raw)
    assert (parsed.name, parsed.tag) == ('library/new', 'v2') and parsed.history == manifest.history
    assert renamed.media_type == mt.DOCKER_V2S1_SIGNED and renamed.digest == parsed.digest
    relayered = cv.to_schema1(manifest, layer_overrides=[cv.LayerOverride(Digest(sha('plain')), 5, None), None, None])
    assert s1.parse_schema1(relayered.raw).fs_layers[-1] == Digest(sha('plain'))
    with pytest.raises(UnsupportedMediaTypeError):
        cv.to_schema1(manifest, layer_overrides=[cv.LayerOverride(Digest(sha('z')), 5, 'zstd'), None, None])


def test_to_schema1_from_oci():
    config = json.dumps({'architecture': 'arm64', 'os': 'linux', 'history': [{'created_by': 'a'}, {'created_by': 'e', 'empty_layer': True}]}).encode()
    manifest = oci_manifest([layer(mt.OCI_LAYER_GZIP, 'l1')], config=config)
    result = cv.to_schema1(manifest, config, name='ns/repo', tag='t')
    parsed = result.parse()
    assert isinstance(parsed, s1.Schema1Manifest)
    assert (parsed.name, parsed.tag, parsed.architecture) == ('ns/repo', 't', 'arm64')
    assert result.config is None and result.config_digest is None
    assert [str(d.digest) for d in result.layers] == [sha('l1'), str(s1.GZIPPED_EMPTY_LAYER_DIGEST)]
    # The empty layer is both a layer and an extra blob; blobs() lists it once.
    assert [d.digest for d in result.blobs()] == [Digest(sha('l1')), s1.GZIPPED_EMPTY_LAYER_DIGEST]
    assert result.extra_blobs[0][1] == s1.GZIPPED_EMPTY_LAYER
    with pytest.raises(UnsupportedMediaTypeError, match='zstd'):
        cv.to_schema1(oci_manifest([layer(mt.OCI_LAYER_ZSTD, 'l1')], config=config), config)


def test_convert_manifest_dispatch():
    manifest = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')])
    assert cv.convert_manifest(manifest, mt.OCI_MANIFEST, DOCKER_CONFIG).media_type == mt.OCI_MANIFEST
    assert not cv.convert_manifest(manifest, mt.DOCKER_V2S2).changed
    config = json.dumps({'history': [{'created_by': 'x'}]}).encode()
    assert cv.convert_manifest(docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')], config), mt.DOCKER_V2S1,
                               config).media_type == mt.DOCKER_V2S1_SIGNED
    with pytest.raises(UnsupportedMediaTypeError):
        cv.convert_manifest(manifest, mt.OCI_INDEX)


def test_family_of():
    assert cv.family_of(mt.OCI_INDEX) == 'oci' and cv.family_of(mt.DOCKER_V2S1) == 'docker'
    with pytest.raises(UnsupportedMediaTypeError):
        cv.family_of('text/plain')
    assert not cv.needs_diff_ids(mt.DOCKER_V2S2, mt.OCI_MANIFEST)


def test_same_content():
    docker = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')])
    converted = cv.to_oci(docker, DOCKER_CONFIG)
    assert cv.same_content(converted, converted.parse())
    assert not cv.same_content(docker, converted)
    again = docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1', urls=['x'])])
    assert cv.same_content(docker, again)
    assert not cv.same_content(docker, docker_manifest([layer(mt.DOCKER_LAYER, 'l1')]))
    assert cv.same_content(schema1_manifest(), cv.to_schema1(schema1_manifest()))


# --- indexes ---------------------------------------------------------------------------------------------

def oci_index(manifests, **extra):
    doc = {'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': manifests}
    doc.update(extra)
    return parse_manifest(json.dumps(doc, indent=2).encode())


def docker_list(manifests):
    return parse_manifest(json.dumps({'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST, 'manifests': manifests}).encode())


AMD64 = {'mediaType': mt.OCI_MANIFEST, 'digest': sha('amd64'), 'size': 10, 'annotations': {'a': 'b'}, 'urls': ['u'],
         'platform': {'os': 'linux', 'architecture': 'amd64', 'os.features': ['f']}}
NOPLATFORM = {'mediaType': mt.OCI_MANIFEST, 'digest': sha('none'), 'size': 11, 'artifactType': 'x', 'data': 'e30='}


def test_index_unchanged_keeps_its_bytes():
    index = oci_index([dict(AMD64)])
    result = cv.convert_index(index, 'oci')
    assert not result.changed and result.raw == index.raw and result.index is index
    result = cv.convert_index(index, 'oci', [None])
    assert not result.changed


def test_index_rebuilt_when_fields_would_be_lost():
    index = oci_index([dict(AMD64), dict(NOPLATFORM)], annotations={'top': '1'}, subject={'mediaType': mt.OCI_MANIFEST, 'digest': sha('s'),
                                                                                          'size': 1})
    result = cv.convert_index(index, 'oci')
    assert result.changed
    doc = json.loads(result.raw)
    assert doc == {'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'annotations': {'top': '1'},
                   'manifests': [AMD64, {'mediaType': mt.OCI_MANIFEST, 'digest': sha('none'), 'size': 11}]}


def test_oci_index_to_docker_list():
    index = oci_index([dict(AMD64), dict(NOPLATFORM)], annotations={'top': '1'})
    children = [Descriptor(mt.DOCKER_V2S2, Digest(sha('c1')), 5), None]
    result = cv.convert_index(index, 'docker', children, default_platform=('plan9', 'mips'))
    assert result.media_type == mt.DOCKER_LIST and isinstance(result.index, ImageIndex)
    assert json.loads(result.raw) == {'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST, 'manifests': [
        {'mediaType': mt.DOCKER_V2S2, 'size': 5, 'digest': sha('c1'), 'urls': ['u'],
         'platform': {'architecture': 'amd64', 'os': 'linux', 'os.features': ['f']}},
        {'mediaType': mt.OCI_MANIFEST, 'size': 11, 'digest': sha('none'), 'platform': {'architecture': 'mips', 'os': 'plan9'}}]}
    host = cv.convert_index(index, 'docker').index.manifests[1].platform
    assert (host.os, host.architecture) == host_platform()[:2]


def test_docker_list_to_oci_index():
    child = {'mediaType': mt.DOCKER_V2S2, 'size': 7, 'digest': sha('c'),
             'platform': {'architecture': 'arm', 'os': 'linux', 'variant': 'v7', 'features': ['sse4'], 'os.version': '1'}}
    converted = cv.to_oci(docker_manifest([layer(mt.DOCKER_LAYER_GZIP, 'l1')]), DOCKER_CONFIG)
    result = cv.convert_index(docker_list([child]), 'oci', [converted])
    assert json.loads(result.raw) == {'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': [
        {'mediaType': mt.OCI_MANIFEST, 'digest': str(converted.digest), 'size': len(converted.raw),
         'platform': {'architecture': 'arm', 'os': 'linux', 'os.version': '1', 'variant': 'v7'}}]}
    assert b'"platform":{"architecture":"arm","os":"linux","os.version":"1","variant":"v7"}' in result.raw


def test_docker_list_unchanged_and_updated():
    child = {'mediaType': mt.DOCKER_V2S2, 'size': 7, 'digest': sha('c'), 'platform': {'architecture': 'amd64', 'os': 'linux'}}
    listed = docker_list([child])
    assert not cv.convert_index(listed, 'docker').changed
    result = cv.convert_index(listed, 'docker', [Descriptor(mt.DOCKER_V2S2, Digest(sha('d')), 8)])
    expected = (b'{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","size":8,"digest":"%s",'
                b'"platform":{"architecture":"amd64","os":"linux"}}]}')
    assert result.raw == expected % (mt.DOCKER_LIST.encode(), mt.DOCKER_V2S2.encode(), sha('d').encode())


def test_convert_index_errors():
    index = oci_index([dict(AMD64)])
    with pytest.raises(InvalidInputError):
        cv.convert_index(index, 'appc')
    with pytest.raises(InvalidInputError):
        cv.convert_index(index, 'oci', [None, None])
    with pytest.raises(InvalidInputError):
        cv.convert_index(index, 'oci', ['sha256:x'])


# --- interop: the bytes skopeo 1.9.3 writes ---------------------------------------------------------------

CONFIGS = {
    'full': {
        'created': '2023-01-02T03:04:05.100000000+02:00', 'author': 'A <a@b> & co', 'architecture': 'amd64', 'os': 'linux',
        'variant': 'v1', 'os.version': '1.0', 'os.features': ['f1'],
        'config': {'Hostname': 'x', 'User': 'u', 'Env': ['A=<b>'], 'Cmd': ['sh'], 'ArgsEscaped': True,
                   'Labels': {'z': '1', 'a': '\u2028é\x07'}, 'ExposedPorts': {'80/tcp': {}, '53/udp': None}, 'Volumes': {'/v': {}},
                   'WorkingDir': '/w', 'StopSignal': 'SIGTERM', 'Entrypoint': None, 'OnBuild': None, 'Healthcheck': {'Test': ['NONE']}},
        'container_config': {'Cmd': ['x']}, 'docker_version': '20.10',
        'history': [{'created': '2023-01-02T03:04:05Z', 'created_by': 'ADD a.txt', 'empty_layer': False},
                    {'created': '2023-01-02T03:04:06.5-07:30', 'created_by': 'CMD sh', 'empty_layer': True, 'comment': 'c', 'author': 'me'}],
    },
    'minimal': {'architecture': 'arm64', 'os': 'linux'},
    'odd-keys': {'Architecture': 'amd64', 'OS': 'linux', 'os': 'windows', 'config': {'user': 'lower', 'Env': ['a'], 'Env ': 'ignored'},
                 'created': '2020-02-29T23:59:59.999999999Z', 'history': [{'created_by': 'x', 'Empty_Layer': True}, {}]},
    'nulls': {'architecture': 'amd64', 'os': 'linux', 'config': None, 'created': None, 'history': None, 'os.features': []},
    'empty-config': {'architecture': 'amd64', 'os': 'linux', 'config': {}, 'history': []},
}


def docker_dir_image(store, config, layer_types=(mt.DOCKER_LAYER_GZIP,), indent=3):
    """A Docker schema2 image in dir: form; returns (source, manifest, config bytes, diff_ids)."""
    layers, diffs = [], []
    for index, media_type in enumerate(layer_types):
        plain, blob = store.layer({'f%d' % index: b'%d' % index}, compress='gzip' in media_type)
        extra = {'urls': ['https://example.com/%d' % index]} if 'foreign' in media_type else {}
        layers.append(dict(store.descriptor(media_type, blob), **extra))
        diffs.append('sha256:' + hashlib.sha256(plain).hexdigest())
    config = dict(config)
    config.setdefault('rootfs', {'type': 'layers', 'diff_ids': diffs})
    config_raw = json.dumps(config, indent=indent, ensure_ascii=False).encode()
    manifest = {'schemaVersion': 2, 'mediaType': mt.DOCKER_V2S2, 'config': store.descriptor(mt.DOCKER_CONFIG, config_raw), 'layers': layers}
    raw = json.dumps(manifest, indent=indent).encode()
    return store.write_dir('docker', raw), parse_manifest(raw), config_raw, diffs


def oci_dir_image(store, config, layer_types=(mt.OCI_LAYER_GZIP,), name='oci', **extra):
    layers = []
    for index, media_type in enumerate(layer_types):
        plain, blob = store.layer({'g%d' % index: b'%d' % index}, compress='gzip' in media_type)
        del plain
        more = {'urls': ['https://example.com/%d' % index]} if 'nondistributable' in media_type else {}
        layers.append(dict(store.descriptor(media_type, blob), annotations={'n': str(index)}, **more))
    config_raw = json.dumps(config).encode()
    manifest = {'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': store.descriptor(mt.OCI_CONFIG, config_raw), 'layers': layers}
    manifest.update(extra)
    raw = json.dumps(manifest, indent=2).encode()
    return store.write_dir(name, raw), parse_manifest(raw), config_raw


@pytest.mark.parametrize('case', sorted(CONFIGS))
def test_docker_to_oci_matches_skopeo(store, skopeo, case):
    source, manifest, config_raw, dummy = docker_dir_image(store, CONFIGS[case])
    theirs = skopeo.copy(source, '--format', 'oci')
    ours = cv.to_oci(manifest, config_raw)
    assert ours.raw == theirs.manifest
    assert ours.config_raw == theirs.blob(ours.config.digest)


@pytest.mark.parametrize('layer_types', [
    (mt.DOCKER_LAYER_GZIP, mt.DOCKER_LAYER),
    (mt.DOCKER_LAYER_FOREIGN_GZIP, DOCKER_LAYER_FOREIGN, mt.DOCKER_LAYER_GZIP),
])
def test_docker_to_oci_layer_types_match_skopeo(store, skopeo, layer_types):
    source, manifest, config_raw, dummy = docker_dir_image(store, CONFIGS['minimal'], layer_types)
    assert cv.to_oci(manifest, config_raw).raw == skopeo.copy(source, '--format', 'oci').manifest


@pytest.mark.parametrize('layer_types', [
    (mt.OCI_LAYER_GZIP,),
    (mt.OCI_LAYER, mt.OCI_LAYER_GZIP),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, mt.OCI_LAYER_NONDISTRIBUTABLE),
])
def test_oci_to_docker_matches_skopeo(store, skopeo, layer_types):
    source, manifest, config_raw = oci_dir_image(store, CONFIGS['full'], layer_types, annotations={'k': 'v'})
    theirs = skopeo.copy(source, '--format', 'v2s2')
    ours = cv.to_docker_v2s2(manifest, config_raw)
    assert ours.raw == theirs.manifest and ours.config_raw is None
    assert theirs.blob(ours.config.digest) == config_raw


def test_oci_zstd_to_docker_fails_like_skopeo(store, skopeo):
    source, dummy, config_raw = oci_dir_image(store, CONFIGS['minimal'])
    # Make a zstd variant by asking skopeo to recompress, then convert that.
    zstd_image = skopeo.copy(source, '--dest-compress', '--dest-compress-format', 'zstd')
    zstd_manifest = parse_manifest(zstd_image.manifest)
    assert zstd_manifest.layers[0].media_type == mt.OCI_LAYER_ZSTD
    with pytest.raises(AssertionError, match='zstd'):
        skopeo.copy('dir:' + zstd_image.path, '--format', 'v2s2')
    with pytest.raises(UnsupportedMediaTypeError, match='zstd'):
        cv.to_docker_v2s2(zstd_manifest, config_raw)


def test_recompression_matches_skopeo(store, skopeo):
    source, manifest, config_raw = oci_dir_image(store, CONFIGS['minimal'], (mt.OCI_LAYER_GZIP, mt.OCI_LAYER),
                                                 subject={'mediaType': mt.OCI_MANIFEST, 'digest': sha('s'), 'size': 3},
                                                 annotations={'top': 'level'})
    theirs = skopeo.copy(source, '--dest-compress', '--dest-compress-format', 'zstd')
    written = parse_manifest(theirs.manifest).layers
    ours = cv.to_oci(manifest, config_raw, [cv.LayerOverride(d.digest, d.size, 'zstd') for d in written])
    assert ours.raw == theirs.manifest


@pytest.mark.parametrize('case', ['full', 'minimal'])
def test_oci_to_schema1_matches_skopeo(store, skopeo, case):
    config = dict(CONFIGS[case])
    config.setdefault('history', [{'created_by': 'ADD x'}])
    source, manifest, config_raw = oci_dir_image(store, config)
    theirs = s1.parse_schema1(skopeo.copy(source, '--format', 'v2s1').manifest)
    ours = cv.to_schema1(manifest, config_raw)
    assert ours.digest == theirs.digest and s1.parse_schema1(ours.raw).payload == theirs.payload


def test_schema1_to_schema2_and_oci_match_skopeo(store, skopeo):
    source, dummy, dummy, diffs = docker_dir_image(store, CONFIGS['full'])
    schema1_image = skopeo.copy(source, '--format', 'v2s1')
    old = s1.parse_schema1(schema1_image.manifest)
    # Schema1 records no sizes: the copy learns them as it writes the blobs.
    written = [None if empty else Descriptor(mt.DOCKER_LAYER_GZIP, layer.digest, len(schema1_image.blob(layer.digest)))
               for layer, empty in zip(old.all_layers, old.throwaway)]
    for fmt, convert in (('v2s2', cv.to_docker_v2s2), ('oci', cv.to_oci)):
        theirs = skopeo.copy('dir:' + schema1_image.path, '--format', fmt)
        ours = convert(old, layer_overrides=written, diff_ids=diffs)
        assert ours.raw == theirs.manifest
        assert ours.config_raw == theirs.blob(ours.config.digest)


def test_index_conversions_match_skopeo(store, skopeo):
    children = []
    for arch in ('amd64', 'arm64'):
        config = {'architecture': arch, 'os': 'linux', 'config': {}, 'history': [{'created_by': 'x'}]}
        dummy, manifest, config_raw = oci_dir_image(store, config, name='child-' + arch)
        children.append((manifest, config_raw))
    descriptors = [{'mediaType': mt.OCI_MANIFEST, 'digest': str(m.digest), 'size': len(m.raw), 'urls': ['u'],
                    'annotations': {'a': 'b'}, 'artifactType': 'dropped', 'platform': {'os': 'linux', 'architecture': 'amd64',
                                                                                       'os.features': ['z']}} for m, dummy in children]
    del descriptors[1]['platform']
    index_raw = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': descriptors, 'annotations': {'t': '1'},
                            'extra': True}, indent=1).encode()
    index = parse_manifest(index_raw)
    source = store.write_dir('index', index_raw, [m.raw for m, dummy in children])

    theirs = skopeo.copy(source, '--all', '--format', 'v2s2')
    converted = [cv.to_docker_v2s2(m, c) for m, c in children]
    for result in converted:
        assert result.raw == theirs.child(result.digest)
    as_list = cv.convert_index(index, 'docker', converted)
    assert as_list.raw == theirs.manifest

    back = skopeo.copy('dir:' + theirs.path, '--all', '--format', 'oci')
    docker_children = [parse_manifest(theirs.child(result.digest)) for result in converted]
    back_children = [cv.to_oci(m, theirs.blob(m.config.digest)) for m in docker_children]
    for result in back_children:
        assert result.raw == back.child(result.digest)
    assert cv.convert_index(as_list.index, 'oci', back_children).raw == back.manifest

    # Copied as it is, the index is still rebuilt: its children's artifactType cannot survive skopeo's rebuild.
    same = skopeo.copy(source, '--all')
    rebuilt = cv.convert_index(index, 'oci')
    assert rebuilt.changed and rebuilt.raw == same.manifest
    # Without such fields it keeps its bytes (unknown fields are dropped on both sides of the comparison).
    for descriptor in descriptors:
        descriptor.pop('artifactType')
    clean_raw = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': descriptors, 'extra': 1}, indent=1).encode()
    clean = skopeo.copy(store.write_dir('clean', clean_raw, [m.raw for m, dummy in children]), '--all')
    kept = cv.convert_index(parse_manifest(clean_raw), 'oci')
    assert not kept.changed and kept.raw == clean.manifest == clean_raw


@pytest.mark.parametrize('options, compression', [
    (('--dest-compress', '--dest-compress-format', 'zstd'), 'zstd'),
    (('--dest-decompress',), None),
])
def test_partial_rewrite_matches_skopeo(store, skopeo, options, compression):
    """A layer the copy leaves alone keeps its whole descriptor; a rewritten one gets a fresh one."""
    zstandard = pytest.importorskip('zstandard')
    plain_a, plain_b = b'a' * 2048, b'b' * 2048
    zstd_blob = zstandard.ZstdCompressor().compress(plain_a)
    dummy, gzip_blob = store.layer({'b': plain_b})
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [sha('a'), sha('b')]}}).encode()
    raw = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': store.descriptor(mt.OCI_CONFIG, config),
                      'layers': [store.descriptor(mt.OCI_LAYER_ZSTD, zstd_blob, annotations={'keep': '1'}),
                                 store.descriptor(mt.OCI_LAYER_GZIP, gzip_blob, annotations={'keep': '2'})]}).encode()
    manifest = parse_manifest(raw)
    theirs = skopeo.copy(store.write_dir('mixed', raw), *options)
    overrides = [None if mine.digest == written.digest else cv.LayerOverride(written.digest, written.size, compression)
                 for mine, written in zip(manifest.layers, parse_manifest(theirs.manifest).layers)]
    assert any(overrides)
    assert cv.to_oci(manifest, config, overrides).raw == theirs.manifest
