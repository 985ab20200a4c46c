# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for manifest/model.py: parsing manifests and indexes, media type checks, descriptors."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidDigestError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    Platform,
    check_descriptor_content,
    parse_manifest,
)


def sha(text):
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


CONFIG = {'mediaType': mt.OCI_CONFIG, 'digest': sha('config'), 'size': 6}
LAYER1 = {'mediaType': mt.OCI_LAYER_GZIP, 'digest': sha('layer1'), 'size': 100}
LAYER2 = {'mediaType': mt.OCI_LAYER_GZIP, 'digest': sha('layer2'), 'size': 200,
          'annotations': {'org.opencontainers.image.title': 'two.tar.gz'}}
AMD64 = {'mediaType': mt.OCI_MANIFEST, 'digest': sha('amd64'), 'size': 500, 'platform': {'os': 'linux', 'architecture': 'amd64'}}
ARM64 = {'mediaType': mt.OCI_MANIFEST, 'digest': sha('arm64'), 'size': 501,
         'platform': {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}}


def oci_manifest(**extra):
    doc = {'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': CONFIG, 'layers': [LAYER1, LAYER2]}
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not None}


def oci_index(**extra):
    doc = {'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': [AMD64, ARM64]}
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not None}


def docker_manifest():
    return {'schemaVersion': 2, 'mediaType': mt.DOCKER_V2S2,
            'config': dict(CONFIG, mediaType=mt.DOCKER_CONFIG),
            'layers': [dict(LAYER1, mediaType=mt.DOCKER_LAYER_GZIP)]}


def docker_list():
    return {'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST,
            'manifests': [dict(AMD64, mediaType=mt.DOCKER_V2S2), dict(ARM64, mediaType=mt.DOCKER_V2S2)]}


def raw(doc, indent=None):
    return json.dumps(doc, indent=indent).encode()


@pytest.mark.parametrize('doc, content_type, media_type', [
    (oci_manifest(), mt.OCI_MANIFEST, mt.OCI_MANIFEST),
    (oci_manifest(), None, mt.OCI_MANIFEST),
    (docker_manifest(), mt.DOCKER_V2S2, mt.DOCKER_V2S2),
    (docker_manifest(), 'application/json', mt.DOCKER_V2S2),
    # OCI allows mediaType to be absent: the transport's type, or the fields, tell.
    (oci_manifest(mediaType=None), None, mt.OCI_MANIFEST),
    (oci_manifest(mediaType=None), mt.OCI_MANIFEST, mt.OCI_MANIFEST),
    (oci_manifest(mediaType=None), 'application/octet-stream', mt.OCI_MANIFEST),
])
def test_parse_image_manifest(doc, content_type, media_type):
    data = raw(doc)
    parsed = parse_manifest(data, content_type)
    assert isinstance(parsed, ImageManifest)
    assert not parsed.is_index
    assert parsed.media_type == media_type
    assert parsed.raw == data
    assert parsed.digest == Digest.from_bytes(data)
    assert parsed.config.digest == doc['config']['digest']
    assert parsed.config.size == 6
    assert [layer.digest for layer in parsed.layers] == [layer['digest'] for layer in doc['layers']]
    assert parsed.blobs() == [parsed.config] + list(parsed.layers)


def test_parse_oci_manifest_details():
    subject = {'mediaType': mt.OCI_MANIFEST, 'digest': sha('subject'), 'size': 42}
    parsed = parse_manifest(raw(oci_manifest(annotations={'a': 'b'}, subject=subject)))
    assert parsed.annotations == {'a': 'b'}
    assert parsed.subject == Descriptor(mt.OCI_MANIFEST, Digest(sha('subject')), 42)
    assert parsed.layers[1].annotations == {'org.opencontainers.image.title': 'two.tar.gz'}
    assert parsed.layers[0].annotations is None


@pytest.mark.parametrize('doc, content_type, media_type', [
    (oci_index(), mt.OCI_INDEX, mt.OCI_INDEX),
    (oci_index(), None, mt.OCI_INDEX),
    (oci_index(mediaType=None), None, mt.OCI_INDEX),
    (oci_index(mediaType=None), mt.OCI_INDEX, mt.OCI_INDEX),
    (docker_list(), mt.DOCKER_LIST, mt.DOCKER_LIST),
    (docker_list(), None, mt.DOCKER_LIST),
])
def test_parse_index(doc, content_type, media_type):
    data = raw(doc)
    parsed = parse_manifest(data, content_type)
    assert isinstance(parsed, ImageIndex)
    assert parsed.is_index
    assert parsed.media_type == media_type
    assert parsed.digest == Digest.from_bytes(data)
    assert [str(d.digest) for d in parsed.manifests] == [sha('amd64'), sha('arm64')]
    assert parsed.platforms() == [Platform('linux', 'amd64'), Platform('linux', 'arm64', 'v8')]


def test_index_platforms_skip_descriptors_without_one():
    no_platform = {'mediaType': mt.OCI_MANIFEST, 'digest': sha('attestation'), 'size': 10}
    parsed = parse_manifest(raw(oci_index(manifests=[AMD64, no_platform])))
    assert len(parsed.manifests) == 2
    assert parsed.platforms() == [Platform('linux', 'amd64')]


@pytest.mark.parametrize('content_type', [
    mt.OCI_MANIFEST + '; charset=utf-8',
    mt.OCI_MANIFEST + ';charset=UTF-8',
    ' ' + mt.OCI_MANIFEST.upper() + ' ; charset=utf-8',
])
def test_content_type_parameters_tolerated(content_type):
    assert parse_manifest(raw(oci_manifest()), content_type).media_type == mt.OCI_MANIFEST


@pytest.mark.parametrize('doc, content_type, declared, served', [
    (oci_manifest(), mt.DOCKER_V2S2, mt.OCI_MANIFEST, mt.DOCKER_V2S2),
    (docker_manifest(), mt.OCI_MANIFEST, mt.DOCKER_V2S2, mt.OCI_MANIFEST),
    (oci_manifest(), mt.OCI_INDEX, mt.OCI_MANIFEST, mt.OCI_INDEX),
    # An index served as a manifest type: the confusion CVE-2021-41190 is about.
    (oci_index(), mt.OCI_MANIFEST, mt.OCI_INDEX, mt.OCI_MANIFEST),
    (oci_index(), mt.DOCKER_V2S2 + '; charset=utf-8', mt.OCI_INDEX, mt.DOCKER_V2S2),
    (docker_list(), mt.OCI_INDEX, mt.DOCKER_LIST, mt.OCI_INDEX),
])
def test_content_type_disagreement_rejected(doc, content_type, declared, served):
    with pytest.raises(UnsupportedMediaTypeError) as excinfo:
        parse_manifest(raw(doc), content_type, what='manifest of x')
    assert str(excinfo.value) == 'manifest of x declares mediaType %s but was served as %s' % (declared, served)


@pytest.mark.parametrize('doc, content_type, message', [
    # Without mediaType the served type decides, and the fields must agree with it.
    (oci_index(mediaType=None), mt.OCI_MANIFEST, 'manifest is typed as an image manifest but has manifests'),
    (oci_manifest(mediaType=None), mt.OCI_INDEX, 'manifest is typed as an index but has config or layers'),
    (dict(oci_index(), config=CONFIG), None, 'manifest is typed as an index but has config or layers'),
    (dict(oci_index(), layers=[]), None, 'manifest is typed as an index but has config or layers'),
    (dict(oci_manifest(), manifests=[]), None, 'manifest is typed as an image manifest but has manifests'),
])
def test_fields_must_match_the_type(doc, content_type, message):
    with pytest.raises(ManifestError) as excinfo:
        parse_manifest(raw(doc), content_type)
    assert str(excinfo.value) == message


def test_manifest_over_4mib_rejected():
    doc = oci_manifest(annotations={'pad': 'x' * mt.MAX_MANIFEST_SIZE})
    data = raw(doc)
    with pytest.raises(ManifestTooLargeError) as excinfo:
        parse_manifest(data)
    assert str(excinfo.value) == 'manifest is %d bytes, over the %d byte limit' % (len(data), 4 * 1024 * 1024)


def test_manifest_at_exactly_4mib_accepted():
    base = raw(oci_manifest(annotations={'pad': ''}))
    data = raw(oci_manifest(annotations={'pad': 'x' * (mt.MAX_MANIFEST_SIZE - len(base))}))
    assert len(data) == mt.MAX_MANIFEST_SIZE
    assert parse_manifest(data).annotations['pad'].startswith('xxx')


def test_expected_digest():
    data = raw(oci_manifest())
    assert parse_manifest(data, expected_digest=Digest.from_bytes(data)).digest == Digest.from_bytes(data)
    other = Digest(sha('something else'))
    with pytest.raises(DigestMismatchError) as excinfo:
        parse_manifest(data, expected_digest=other, what='manifest sha256:x')
    assert str(excinfo.value) == 'manifest sha256:x digest mismatch: expected %s, got %s' % (other, Digest.from_bytes(data))


@pytest.mark.parametrize('doc, content_type, detail', [
    ({'schemaVersion': 1, 'name': 'x', 'tag': 'latest', 'fsLayers': []}, None, 'schemaVersion 1'),
    ({'schemaVersion': 1, 'name': 'x', 'tag': 'latest', 'fsLayers': []}, mt.DOCKER_V2S1_SIGNED, mt.DOCKER_V2S1_SIGNED),
    ({'schemaVersion': 1, 'name': 'x', 'tag': 'latest', 'fsLayers': []}, mt.DOCKER_V2S1, mt.DOCKER_V2S1),
    ({'schemaVersion': 1, 'mediaType': mt.DOCKER_V2S1}, None, mt.DOCKER_V2S1),
])
def test_schema1_not_yet(doc, content_type, detail):
    with pytest.raises(UnsupportedMediaTypeError) as excinfo:
        parse_manifest(raw(doc), content_type)
    assert str(excinfo.value) == 'manifest is Docker schema1 (%s), which this version cannot read yet' % detail


@pytest.mark.parametrize('data, content_type, error, message', [
    (b'not json', None, ManifestError, 'manifest is not valid JSON'),
    (b'\xff\xfe\x00', None, ManifestError, 'manifest is not valid JSON'),
    (b'[]', None, ManifestError, 'manifest is not a JSON object'),
    (b'"x"', None, ManifestError, 'manifest is not a JSON object'),
    (raw(oci_manifest(mediaType=7)), None, ManifestError, 'manifest has a non-string mediaType'),
    (raw(oci_manifest(schemaVersion=3)), None, ManifestError, 'manifest has schemaVersion 3, expected 2'),
    (raw(oci_manifest(schemaVersion=None)), None, ManifestError, 'manifest has schemaVersion None, expected 2'),
    (raw(oci_manifest(schemaVersion='2')), None, ManifestError, "manifest has schemaVersion '2', expected 2"),
    (raw(oci_manifest(mediaType='application/vnd.example+json')), None, UnsupportedMediaTypeError,
     'manifest has unsupported media type application/vnd.example+json'),
    (raw({'schemaVersion': 2}), None, UnsupportedMediaTypeError, 'manifest has unsupported media type (none)'),
    (raw({'schemaVersion': 2}), 'text/plain', UnsupportedMediaTypeError, 'manifest has unsupported media type (none)'),
    (raw(oci_manifest(layers={'a': 1})), None, ManifestError, 'manifest: layers must be a list'),
    (raw(oci_index(manifests=None, mediaType=mt.OCI_INDEX)), None, ManifestError, 'manifest: manifests must be a list'),
    (raw(oci_manifest(config=None)), None, ManifestError, 'invalid config descriptor in manifest: not an object'),
])
def test_malformed_documents(data, content_type, error, message):
    with pytest.raises(error) as excinfo:
        parse_manifest(data, content_type)
    assert str(excinfo.value).startswith(message)


def _layer(**changes):
    layer = dict(LAYER1)
    layer.update(changes)
    return {k: v for k, v in layer.items() if v is not None}


@pytest.mark.parametrize('layer, message', [
    (_layer(size=-1), 'invalid layer descriptor in manifest: size must be a non-negative integer'),
    (_layer(size=True), 'invalid layer descriptor in manifest: size must be a non-negative integer'),
    (_layer(size=False), 'invalid layer descriptor in manifest: size must be a non-negative integer'),
    (_layer(size=1.5), 'invalid layer descriptor in manifest: size must be a non-negative integer'),
    (_layer(size='100'), 'invalid layer descriptor in manifest: size must be a non-negative integer'),
    (_layer(size=None), 'invalid layer descriptor in manifest: size must be a non-negative integer'),
    (_layer(mediaType=5), 'invalid layer descriptor in manifest: mediaType is not a string'),
    (_layer(annotations={'a': 1}), 'invalid layer descriptor in manifest: annotations must map strings to strings'),
    (_layer(annotations={'a': None}), 'invalid layer descriptor in manifest: annotations must map strings to strings'),
    (_layer(annotations=['a']), 'invalid layer descriptor in manifest: annotations must map strings to strings'),
    (_layer(urls='https://x'), 'invalid layer descriptor in manifest: urls must be a list of strings'),
    (_layer(urls=[1]), 'invalid layer descriptor in manifest: urls must be a list of strings'),
    ('sha256:abc', 'invalid layer descriptor in manifest: not an object'),
])
def test_bad_descriptors(layer, message):
    with pytest.raises(ManifestError) as excinfo:
        parse_manifest(raw(oci_manifest(layers=[LAYER1, layer])))
    assert str(excinfo.value) == message


@pytest.mark.parametrize('digest', ['sha256:../../x', 'sha256:' + 'A' * 64, 'md5:' + 'a' * 32, None, 7])
def test_bad_descriptor_digests(digest):
    with pytest.raises(InvalidDigestError) as excinfo:
        parse_manifest(raw(oci_manifest(layers=[_layer(digest=digest)])))
    assert str(excinfo.value).startswith('invalid digest')


@pytest.mark.parametrize('plat, message', [
    ({'os': 'linux'}, 'os and architecture are required strings'),
    ({'architecture': 'amd64'}, 'os and architecture are required strings'),
    ({'os': 'linux', 'architecture': 64}, 'os and architecture are required strings'),
    ('linux/amd64', 'os and architecture are required strings'),
    ({'os': 'linux', 'architecture': 'arm', 'variant': 7}, 'variant, os.version and os.features must be strings'),
    ({'os': 'windows', 'architecture': 'amd64', 'os.version': 10}, 'variant, os.version and os.features must be strings'),
    ({'os': 'windows', 'architecture': 'amd64', 'os.features': 'win32k'}, 'variant, os.version and os.features must be strings'),
    ({'os': 'windows', 'architecture': 'amd64', 'os.features': [1]}, 'variant, os.version and os.features must be strings'),
])
def test_bad_platforms(plat, message):
    with pytest.raises(ManifestError) as excinfo:
        parse_manifest(raw(oci_index(manifests=[dict(AMD64, platform=plat)])))
    assert str(excinfo.value).startswith('invalid platform ')
    assert str(excinfo.value).endswith(message)


def test_digest_is_of_the_raw_bytes():
    doc = oci_manifest()
    compact, pretty = raw(doc), raw(doc, indent=3)
    first, second = parse_manifest(compact), parse_manifest(pretty)
    assert first.config == second.config and first.layers == second.layers
    assert first.digest == 'sha256:' + hashlib.sha256(compact).hexdigest()
    assert second.digest == 'sha256:' + hashlib.sha256(pretty).hexdigest()
    assert first.digest != second.digest
    assert parse_manifest(compact + b'\n').digest != first.digest


PLATFORMS = [
    Platform('linux', 'amd64'),
    Platform('linux', 'arm', 'v7'),
    Platform('windows', 'amd64', os_version='10.0.17763.1879', os_features=('win32k',)),
]


@pytest.mark.parametrize('plat', PLATFORMS)
def test_platform_round_trip(plat):
    assert Platform.from_json(plat.to_json()) == plat
    assert Platform.from_json(json.loads(json.dumps(plat.to_json()))) == plat


def test_platform_json_and_str():
    plat = PLATFORMS[2]
    assert plat.to_json() == {'architecture': 'amd64', 'os': 'windows', 'os.version': '10.0.17763.1879', 'os.features': ['win32k']}
    assert str(plat) == 'windows/amd64'
    assert str(PLATFORMS[1]) == 'linux/arm/v7'
    assert PLATFORMS[0].to_json() == {'architecture': 'amd64', 'os': 'linux'}
    # An empty variant is no variant.
    assert Platform.from_json({'os': 'linux', 'architecture': 'amd64', 'variant': ''}) == PLATFORMS[0]


DESCRIPTORS = [
    CONFIG,
    LAYER2,
    dict(LAYER1, urls=['https://example.com/a', 'https://example.com/b'], mediaType=mt.DOCKER_LAYER_FOREIGN_GZIP),
    ARM64,
    dict(AMD64, artifactType='application/vnd.example', annotations={'k': 'v'}),
    {'mediaType': mt.OCI_LAYER, 'digest': sha('empty'), 'size': 0},
]


@pytest.mark.parametrize('data', DESCRIPTORS)
def test_descriptor_round_trip(data):
    desc = Descriptor.from_json(data)
    assert desc.to_json() == data
    assert Descriptor.from_json(desc.to_json()) == desc
    assert isinstance(desc.digest, Digest)


def test_descriptor_fields():
    desc = Descriptor.from_json(DESCRIPTORS[4])
    assert desc.platform == Platform('linux', 'amd64')
    assert desc.artifact_type == 'application/vnd.example'
    assert desc.annotations == {'k': 'v'}
    assert Descriptor.from_json(dict(CONFIG, artifactType=5)).artifact_type is None


def test_check_descriptor_content():
    desc = Descriptor.from_json({'mediaType': mt.OCI_CONFIG, 'digest': sha('config'), 'size': 6})
    check_descriptor_content(desc, b'config', 'image config')
    with pytest.raises(DigestMismatchError) as excinfo:
        check_descriptor_content(desc, b'config!', 'image config')
    assert str(excinfo.value) == 'image config %s is 7 bytes, descriptor says 6' % sha('config')
    with pytest.raises(DigestMismatchError) as excinfo:
        check_descriptor_content(desc, b'CONFIG', 'image config')
    assert 'image config digest mismatch' in str(excinfo.value)
