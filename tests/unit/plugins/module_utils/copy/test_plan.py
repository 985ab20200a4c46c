# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for copy/plan.py: what a copy writes, decided before anything is written."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import (
    CopyOptions,
    ManifestWrite,
    SourceImage,
    make_plan,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo


def sha(text):
    return Digest('sha256:' + hashlib.sha256(text.encode()).hexdigest())


def blob(name, size, media_type=mt.OCI_LAYER_GZIP):
    return {'mediaType': media_type, 'digest': str(sha(name)), 'size': size}


def image(config, *layers, media_type=mt.OCI_MANIFEST):
    doc = {'schemaVersion': 2, 'mediaType': media_type, 'config': blob(config, 10, mt.OCI_CONFIG), 'layers': [blob(n, s) for n, s in layers]}
    return parse_manifest(json.dumps(doc).encode())


def index(*children, media_type=mt.OCI_INDEX):
    manifests = [{'mediaType': child.media_type, 'digest': str(child.digest), 'size': len(child.raw), 'platform': plat}
                 for child, plat in children]
    return parse_manifest(json.dumps({'schemaVersion': 2, 'mediaType': media_type, 'manifests': manifests}).encode())


AMD64 = image('cfg-amd64', ('base', 100), ('amd64-app', 20))
ARM64 = image('cfg-arm64', ('base', 100), ('arm64-app', 30))
INDEX = index((AMD64, {'os': 'linux', 'architecture': 'amd64'}), (ARM64, {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}))
SINGLE = image('cfg', ('layer-a', 5), ('layer-b', 7))
OTHER = sha('something else')


def _write(manifest):
    return ManifestWrite(manifest.raw, manifest.media_type, manifest.digest)


def _blob_names(plan):
    return [str(b.digest) for b in plan.blobs]


@pytest.mark.parametrize('before, force, up_to_date, reason', [
    (None, False, False, 'destination holds no image'),
    (None, True, False, 'destination holds no image'),
    (SINGLE.digest, False, True, 'destination already holds %s' % SINGLE.digest),
    (SINGLE.digest, True, False, 'force: copied although the destination holds %s' % SINGLE.digest),
    (OTHER, False, False, 'destination holds %s' % OTHER),
    (OTHER, True, False, 'destination holds %s' % OTHER),
])
def test_single_image(before, force, up_to_date, reason):
    plan = make_plan(SourceImage(top=SINGLE), before, CopyOptions(force=force))
    assert plan.up_to_date is up_to_date
    assert plan.reason == reason
    assert plan.manifest == _write(SINGLE)
    assert plan.after == SINGLE.digest
    assert plan.source_digest == SINGLE.digest
    assert plan.before == before
    assert not plan.instances
    assert plan.platform is None
    assert plan.blobs == (BlobInfo(sha('cfg'), 10, mt.OCI_CONFIG), BlobInfo(sha('layer-a'), 5, mt.OCI_LAYER_GZIP),
                          BlobInfo(sha('layer-b'), 7, mt.OCI_LAYER_GZIP))


def test_before_compared_as_digest_value():
    # A digest read back from the destination is a different object with the same value.
    plan = make_plan(SourceImage(top=SINGLE), Digest(str(SINGLE.digest)), CopyOptions())
    assert plan.up_to_date


@pytest.mark.parametrize('multi_arch', ['system', 'all', 'index-only'])
def test_single_image_ignores_multi_arch(multi_arch):
    plan = make_plan(SourceImage(top=SINGLE), None, CopyOptions(multi_arch=multi_arch, preserve_digests=True), supports_index=False)
    assert plan.manifest == _write(SINGLE)
    assert len(plan.blobs) == 3


def _system_source(chosen=AMD64, platform='linux/amd64'):
    return SourceImage(top=INDEX, instances=(chosen,), chosen=chosen, chosen_platform=platform)


@pytest.mark.parametrize('before, up_to_date', [(None, False), (AMD64.digest, True), (INDEX.digest, False), (ARM64.digest, False)])
def test_index_system_copies_the_chosen_image(before, up_to_date):
    plan = make_plan(_system_source(), before, CopyOptions(multi_arch='system'))
    assert plan.manifest == _write(AMD64)
    assert plan.after == AMD64.digest
    assert plan.source_digest == INDEX.digest
    assert plan.platform == 'linux/amd64'
    assert not plan.instances
    assert _blob_names(plan) == [str(sha('cfg-amd64')), str(sha('base')), str(sha('amd64-app'))]
    assert plan.up_to_date is up_to_date


def test_index_system_arm64():
    plan = make_plan(_system_source(ARM64, 'linux/arm64/v8'), None, CopyOptions(override_arch='arm64'))
    assert plan.manifest == _write(ARM64)
    assert plan.platform == 'linux/arm64/v8'
    assert _blob_names(plan) == [str(sha('cfg-arm64')), str(sha('base')), str(sha('arm64-app'))]


def test_index_system_works_where_no_index_can_be_stored():
    plan = make_plan(_system_source(), None, CopyOptions(), supports_index=False)
    assert plan.manifest == _write(AMD64)


def test_index_system_preserve_digests_refused():
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(_system_source(), None, CopyOptions(preserve_digests=True))
    assert str(excinfo.value) == ('preserve_digests: the source is an index (%s) and copying one platform would change the digest; '
                                  'use multi_arch: all' % INDEX.digest)


def test_index_system_without_chosen_instance():
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(SourceImage(top=INDEX), None, CopyOptions())
    assert str(excinfo.value) == 'no platform was chosen from the source index'


@pytest.mark.parametrize('before, force, up_to_date', [
    (None, False, False), (INDEX.digest, False, True), (INDEX.digest, True, False), (AMD64.digest, False, False),
])
def test_index_all(before, force, up_to_date):
    source = SourceImage(top=INDEX, instances=(AMD64, ARM64))
    plan = make_plan(source, before, CopyOptions(multi_arch='all', force=force, preserve_digests=True))
    assert plan.manifest == _write(INDEX)
    assert plan.after == INDEX.digest == plan.source_digest
    assert plan.instances == (_write(AMD64), _write(ARM64))
    assert plan.platform is None
    assert plan.up_to_date is up_to_date
    # Union of both images' blobs, each once, in first-seen order (each image's config first).
    assert _blob_names(plan) == [str(sha(n)) for n in ('cfg-amd64', 'base', 'amd64-app', 'cfg-arm64', 'arm64-app')]
    assert len(set(_blob_names(plan))) == len(plan.blobs)
    assert plan.blobs[0] == BlobInfo(sha('cfg-amd64'), 10, mt.OCI_CONFIG)


def test_index_all_shared_config_counted_once():
    twin = image('cfg-amd64', ('base', 100), ('other', 1))
    source = SourceImage(top=index((AMD64, {'os': 'linux', 'architecture': 'amd64'}), (twin, {'os': 'linux', 'architecture': 's390x'})),
                         instances=(AMD64, twin))
    plan = make_plan(source, None, CopyOptions(multi_arch='all'))
    assert _blob_names(plan) == [str(sha(n)) for n in ('cfg-amd64', 'base', 'amd64-app', 'other')]


def test_index_only():
    plan = make_plan(SourceImage(top=INDEX), None, CopyOptions(multi_arch='index-only'))
    assert plan.manifest == _write(INDEX)
    assert not plan.instances
    assert not plan.blobs
    assert not plan.up_to_date
    assert make_plan(SourceImage(top=INDEX), INDEX.digest, CopyOptions(multi_arch='index-only')).up_to_date


@pytest.mark.parametrize('multi_arch', ['all', 'index-only'])
def test_destination_that_cannot_hold_an_index(multi_arch):
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(SourceImage(top=INDEX, instances=(AMD64, ARM64)), None, CopyOptions(multi_arch=multi_arch), supports_index=False)
    assert str(excinfo.value) == 'the destination cannot store an index; set multi_arch: system to copy one platform'


@pytest.mark.parametrize('source, options, supported, media_type', [
    (SourceImage(top=SINGLE), CopyOptions(), (mt.DOCKER_V2S2,), mt.OCI_MANIFEST),
    (SourceImage(top=image('c', ('l', 1), media_type=mt.DOCKER_V2S2)), CopyOptions(), (mt.OCI_MANIFEST, mt.OCI_INDEX), mt.DOCKER_V2S2),
    (SourceImage(top=INDEX, instances=(AMD64, ARM64)), CopyOptions(multi_arch='all'), (mt.OCI_MANIFEST,), mt.OCI_INDEX),
    (_system_source(), CopyOptions(), (mt.DOCKER_V2S2, mt.DOCKER_LIST), mt.OCI_MANIFEST),
])
def test_unsupported_destination_type(source, options, supported, media_type):
    with pytest.raises(InvalidInputError) as excinfo:
        make_plan(source, None, options, supported_types=supported)
    assert str(excinfo.value) == ('the destination cannot store %s manifests (it accepts %s); format conversion comes in a later version'
                                  % (media_type, ', '.join(supported)))


def test_supported_destination_type():
    plan = make_plan(SourceImage(top=SINGLE), None, CopyOptions(), supported_types=(mt.DOCKER_V2S2, mt.OCI_MANIFEST))
    assert plan.manifest.media_type == mt.OCI_MANIFEST


@pytest.mark.parametrize('value', ['', 'ALL', 'index_only', 'sparse', None])
def test_invalid_multi_arch(value):
    with pytest.raises(InvalidInputError) as excinfo:
        CopyOptions(multi_arch=value)
    assert str(excinfo.value) == 'invalid multi_arch %r: expected one of system, all, index-only' % (value,)
