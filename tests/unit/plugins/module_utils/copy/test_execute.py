# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for copy/execute.py with an in-memory source and destination that record every call."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import signal
import stat
import tarfile
import threading
import time

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy import execute
from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import (
    BlobStats,
    CopyResult,
    additional_tags_kwargs,
    copy_blobs,
    copy_image,
    read_source,
    write_digestfile,
)
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions, DestinationTraits, make_plan
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    ImageNotFoundError,
    InvalidInputError,
    ManifestError,
    NoMatchingPlatformError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest import platform as platform_mod
from ansible_collections.ocikit.images.plugins.module_utils.manifest.convert import convert_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    BlobInfo,
    ConnectionOptions,
    ImageDestination,
    ImageReference,
    ImageSource,
    ImageTransport,
)

# ---------------------------------------------------------------------------------------------
# In-memory images


def tar_bytes(files):
    """A reproducible tar of ``{name: bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zstd_decompress(data):
    zstandard = pytest.importorskip('zstandard')
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


class Store:
    """Blobs and manifests by digest, as a registry or a layout holds them."""

    def __init__(self):
        self.blobs = {}
        self.manifests = {}
        # The uncompressed tar of each real layer, by blob digest.
        self.plain = {}

    def add_blob(self, data, media_type=mt.OCI_LAYER_GZIP):
        digest = Digest.from_bytes(data)
        self.blobs[str(digest)] = data
        return {'mediaType': media_type, 'digest': str(digest), 'size': len(data)}

    def add_manifest(self, doc):
        raw = json.dumps(doc, sort_keys=True).encode()
        digest = Digest.from_bytes(raw)
        self.manifests[str(digest)] = (raw, doc['mediaType'])
        return {'mediaType': doc['mediaType'], 'digest': str(digest), 'size': len(raw)}

    def add_image(self, name, *layers):
        config = self.add_blob(json.dumps({'architecture': name}).encode(), mt.OCI_CONFIG)
        return self.add_manifest({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': config,
                                  'layers': [self.add_blob(layer) for layer in layers]})

    def add_real_image(self, arch, *layer_files, media_type=mt.OCI_MANIFEST, diff_ids=None):
        """An image whose layers are real gzip-compressed tars of ``{name: bytes}`` and whose config has their diff_ids."""
        docker = media_type == mt.DOCKER_V2S2
        layers, ids = [], []
        for files in layer_files:
            plain = tar_bytes(files)
            ids.append(str(Digest.from_bytes(plain)))
            desc = self.add_blob(gzip.compress(plain, mtime=0), mt.DOCKER_LAYER_GZIP if docker else mt.OCI_LAYER_GZIP)
            self.plain[desc['digest']] = plain
            layers.append(desc)
        config = {'architecture': arch, 'os': 'linux', 'config': {'Cmd': ['sh']},
                  'rootfs': {'type': 'layers', 'diff_ids': ids if diff_ids is None else diff_ids}}
        config_desc = self.add_blob(json.dumps(config).encode(), mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG)
        return self.add_manifest({'schemaVersion': 2, 'mediaType': media_type, 'config': config_desc, 'layers': layers})

    def add_index(self, *children, media_type=mt.OCI_INDEX):
        manifests = [dict(desc, platform=plat) for desc, plat in children]
        return self.add_manifest({'schemaVersion': 2, 'mediaType': media_type, 'manifests': manifests})

    def parsed(self, desc):
        return parse_manifest(*self.manifests[desc['digest']])

    def config_of(self, desc):
        return self.blobs[json.loads(self.manifests[desc['digest']][0])['config']['digest']]


class FakeTransport(ImageTransport):
    """A transport that only carries a name."""

    def __init__(self, name):
        self.name = name

    def parse_reference(self, details):
        raise NotImplementedError


class FakeReference(ImageReference):
    """Opens a prepared source or destination."""

    def __init__(self, transport, details, source=None, destination=None):
        self.transport = transport
        self.details = details
        self.source = source
        self.destination = destination
        self.options = []

    def string_within_transport(self):
        return self.details

    def new_source(self, options):
        self.options.append(options)
        if self.source is None:
            raise ImageNotFoundError('%s holds no image' % self.details)
        return self.source

    def new_destination(self, options):
        self.options.append(options)
        return self.destination


class FakeSource(ImageSource):
    """Reads from a Store; ``top`` names the manifest the reference points at."""

    def __init__(self, store, top, log, chunk_size=3, corrupt=(), wrong_size=(), slow=()):
        self.store = store
        self.top = top
        self.log = log
        self.chunk_size = chunk_size
        self.corrupt = set(corrupt)
        self.wrong_size = set(wrong_size)
        self.slow = set(slow)

    def get_manifest(self, instance_digest=None):
        self.log.append(('src.get_manifest', None if instance_digest is None else str(instance_digest)))
        return self.store.manifests[str(instance_digest or self.top)]

    @contextlib.contextmanager
    def get_blob(self, info):
        self.log.append(('src.get_blob', str(info.digest)))
        if str(info.digest) in self.slow:
            # Long enough for other workers to reach the same blob while this one still reads it.
            time.sleep(0.3)
        data = self.store.blobs[str(info.digest)]
        if str(info.digest) in self.corrupt:
            data = bytes([data[0] ^ 0xff]) + data[1:]
        size = len(data) + 1 if str(info.digest) in self.wrong_size else len(data)
        yield iter([data[i:i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]), size

    def close(self):
        self.log.append(('src.close',))


class FakeDestination(ImageDestination):
    """Records calls; stores a blob only once its whole stream has been read without error."""

    supported_manifest_types = (mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_V2S2, mt.DOCKER_LIST)

    def __init__(self, log, held=None, present=(), mountable=(), supported=None, compression=None, supports_index=None):
        self.log = log
        if supported is not None:
            self.supported_manifest_types = supported
        if compression is not None:
            self.desired_layer_compression = compression
        if supports_index is not None:
            self.supports_index = supports_index
        # What a source opened on this destination logs (reading what it holds now).
        self.reads = []
        self.held = held
        self.blobs = {d: b'' for d in present}
        self.mountable = set(mountable)
        self.manifests = {}
        self.name_points_at = held
        self.pending = None
        self.candidates_seen = []
        self.lock = threading.Lock()

    def get_manifest_digest(self):
        self.log.append(('dest.get_manifest_digest',))
        return self.name_points_at

    def has_blob(self, info):
        return str(info.digest) in self.blobs

    def try_reuse_blob(self, info, candidates=()):
        with self.lock:
            self.candidates_seen.append(list(candidates))
        if str(info.digest) in self.mountable and candidates:
            self.blobs[str(info.digest)] = b''
            self.log.append(('dest.mount', str(info.digest)))
            return 'mounted'
        return super().try_reuse_blob(info, candidates)

    def put_blob(self, chunks, info):
        self.log.append(('dest.put_blob.start', str(info.digest)))
        received = []
        # As the contract requires of every destination: verify while writing, store only verified content.
        for chunk in verified_stream(chunks, info.digest, info.size, 'blob'):
            received.append(chunk)
        data = b''.join(received)
        self.blobs[str(info.digest)] = data
        self.log.append(('dest.put_blob', str(info.digest)))
        return BlobInfo(Digest.from_bytes(data), len(data), info.media_type)

    def put_manifest(self, raw, media_type, instance_digest=None):
        self.log.append(('dest.put_manifest', None if instance_digest is None else str(instance_digest)))
        digest = Digest.from_bytes(raw)
        self.manifests[str(digest)] = (raw, media_type)
        if instance_digest is None:
            self.pending = digest

    def commit(self):
        self.log.append(('dest.commit',))
        self.name_points_at = self.pending

    def close(self):
        self.log.append(('dest.close',))


WRITES = ('dest.put_blob.start', 'dest.put_blob', 'dest.mount', 'dest.put_manifest', 'dest.commit')
OCI_ONLY = (mt.OCI_MANIFEST, mt.OCI_INDEX)
AMD64_PLATFORM = {'os': 'linux', 'architecture': 'amd64'}
ARM64_PLATFORM = {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}


def _names(log, *names):
    return [entry for entry in log if entry[0] in names]


class World:
    """A source with one single image and one two-platform index, and helpers to copy them."""

    def __init__(self):
        self.store = Store()
        self.log = []
        self.amd64 = self.store.add_image('amd64', b'shared base layer', b'amd64 application')
        self.arm64 = self.store.add_image('arm64', b'shared base layer', b'arm64 application')
        self.index = self.store.add_index((self.amd64, AMD64_PLATFORM), (self.arm64, ARM64_PLATFORM))

    def blobs_of(self, desc):
        raw = self.store.manifests[desc['digest']][0]
        doc = json.loads(raw)
        return [d['digest'] for d in [doc['config']] + doc['layers']]

    def copy(self, top, options=None, dest=None, check_mode=False, same_transport=False, **source_kwargs):
        source = FakeSource(self.store, top['digest'], self.log, **source_kwargs)
        dest = dest if dest is not None else FakeDestination(self.log)
        src_ref = FakeReference(FakeTransport('docker'), '//src.example/img:1', source=source)
        dest_ref = FakeReference(FakeTransport('docker' if same_transport else 'oci'), '/tmp/layout:img', destination=dest)
        if dest.name_points_at is not None and str(dest.name_points_at) in dest.manifests:
            # What the destination holds now, read back as a source (the content rule needs it).
            dest_ref.source = FakeSource(dest, dest.name_points_at, dest.reads)
        result = copy_image(src_ref, dest_ref, ConnectionOptions(), ConnectionOptions(max_parallel=2),
                            options or CopyOptions(), check_mode=check_mode)
        return result, dest


@pytest.fixture(name='world')
def world_fixture(monkeypatch):
    # Host independent: platform choices are made as on a linux/amd64 machine.
    monkeypatch.setattr(platform_mod, 'host_platform', lambda: ('linux', 'amd64', None))
    return World()


# ---------------------------------------------------------------------------------------------
# BlobStats and copy_blobs


def test_blob_stats():
    stats = BlobStats()
    stats.add('copied', 10)
    stats.add('copied', 5)
    stats.add('mounted')
    stats.add('skipped')
    stats.add('present')
    assert stats.as_result() == {'copied': 2, 'skipped': 2, 'mounted': 1}
    assert stats.bytes_copied == 15
    assert '_lock' not in repr(stats)


def _infos(store, names):
    return [BlobInfo(Digest(d), len(store.blobs[d]), mt.OCI_LAYER_GZIP) for d in names]


def test_copy_blobs_counts_skipped_mounted_and_copied():
    store, log = Store(), []
    digests = [store.add_blob(data)['digest'] for data in (b'present', b'mountable', b'copied one', b'copied two!')]
    src = FakeSource(store, None, log)
    dest = FakeDestination(log, present=[digests[0]], mountable=[digests[1]])
    stats = copy_blobs(src, dest, _infos(store, digests), candidates=['a reference'], max_parallel=3)
    assert stats.as_result() == {'copied': 2, 'skipped': 1, 'mounted': 1}
    assert stats.bytes_copied == len(b'copied one') + len(b'copied two!')
    assert dest.blobs[digests[2]] == b'copied one'
    assert dest.blobs[digests[3]] == b'copied two!'
    # Only the two copied blobs were read from the source.
    assert sorted(e[1] for e in _names(log, 'src.get_blob')) == sorted(digests[2:])
    assert dest.candidates_seen == [['a reference']] * 4


def test_copy_blobs_without_candidates_does_not_mount():
    store, log = Store(), []
    digest = store.add_blob(b'mountable elsewhere')['digest']
    dest = FakeDestination(log, mountable=[digest])
    stats = copy_blobs(FakeSource(store, None, log), dest, _infos(store, [digest]))
    assert stats.as_result() == {'copied': 1, 'skipped': 0, 'mounted': 0}


def test_copy_blobs_nothing_to_do():
    log = []
    stats = copy_blobs(FakeSource(Store(), None, log), FakeDestination(log), [])
    assert stats.as_result() == {'copied': 0, 'skipped': 0, 'mounted': 0}
    assert not log


def test_copy_blobs_unknown_size_counts_source_size():
    store, log = Store(), []
    digest = store.add_blob(b'twelve bytes')['digest']
    stats = copy_blobs(FakeSource(store, None, log), FakeDestination(log), [BlobInfo(Digest(digest), -1)])
    assert stats.bytes_copied == 12


def test_copy_blobs_corrupted_blob_fails_and_is_not_stored():
    store, log = Store(), []
    good, bad = store.add_blob(b'good blob')['digest'], store.add_blob(b'bad blob')['digest']
    dest = FakeDestination(log)
    with pytest.raises(DigestMismatchError) as excinfo:
        copy_blobs(FakeSource(store, None, log, corrupt=[bad]), dest, _infos(store, [good, bad]))
    assert str(excinfo.value).startswith('blob digest mismatch: expected %s' % bad)
    assert bad not in dest.blobs
    assert ('dest.put_blob', bad) not in log


def test_copy_blobs_size_disagreement_at_source():
    store, log = Store(), []
    digest = store.add_blob(b'sized')['digest']
    with pytest.raises(ManifestError) as excinfo:
        copy_blobs(FakeSource(store, None, log, wrong_size=[digest]), FakeDestination(log), _infos(store, [digest]))
    assert str(excinfo.value) == 'blob %s is 6 bytes at the source, the manifest says 5' % digest
    assert not _names(log, 'dest.put_blob.start')


# ---------------------------------------------------------------------------------------------
# read_source


# A destination that stores any manifest and keeps layers as they are: nothing to convert, no config to read.
AS_IS = DestinationTraits(supported_types=FakeDestination.supported_manifest_types)


def test_read_source_single_image(world):
    source = read_source(FakeSource(world.store, world.amd64['digest'], world.log), CopyOptions(multi_arch='all'), AS_IS)
    assert str(source.top.digest) == world.amd64['digest']
    assert source.instances == (source.top,)
    assert source.chosen is None and source.chosen_platform is None
    assert not source.configs
    assert world.log == [('src.get_manifest', None)]


@pytest.mark.parametrize('overrides, chosen, platform', [
    ({}, 'amd64', 'linux/amd64'),
    ({'override_arch': 'arm64'}, 'arm64', 'linux/arm64/v8'),
])
def test_read_source_index_system(world, overrides, chosen, platform):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(**overrides), AS_IS)
    expected = getattr(world, chosen)['digest']
    assert str(source.top.digest) == world.index['digest']
    assert str(source.chosen.digest) == expected
    assert source.instances == (source.chosen,)
    assert source.chosen_platform == platform
    # Only the chosen child is read.
    assert world.log == [('src.get_manifest', None), ('src.get_manifest', expected)]


@pytest.mark.parametrize('traits, options', [
    (None, CopyOptions()),
    (DestinationTraits(supported_types=(mt.OCI_MANIFEST, mt.DOCKER_V2S2)), CopyOptions(format='v2s2')),
    (DestinationTraits(supported_types=(mt.DOCKER_V2S2,), supports_index=False), CopyOptions()),
    (DestinationTraits(layer_compression='compress'), CopyOptions(compress_format='zstd')),
    (DestinationTraits(), CopyOptions(dest_decompress=True)),
])
def test_read_source_reads_the_configs_a_change_needs(world, traits, options):
    source = read_source(FakeSource(world.store, world.amd64['digest'], world.log), options, traits)
    config = world.blobs_of(world.amd64)[0]
    assert source.configs == {config: world.store.blobs[config]}
    assert world.log == [('src.get_manifest', None), ('src.get_blob', config)]


def test_read_source_reads_each_config_once(world):
    twin = world.store.add_manifest(dict(json.loads(world.store.manifests[world.amd64['digest']][0]), layers=[]))
    top = world.store.add_index((world.amd64, AMD64_PLATFORM), (twin, {'os': 'linux', 'architecture': 's390x'}))
    source = read_source(FakeSource(world.store, top['digest'], world.log), CopyOptions(multi_arch='all'))
    assert len(source.instances) == 2 and len(source.configs) == 1
    assert len(_names(world.log, 'src.get_blob')) == 1


def test_read_source_platforms(world):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(platforms=('linux/arm64/v8',)), AS_IS)
    assert [str(m.digest) for m in source.instances] == [world.arm64['digest']]
    assert source.chosen is None
    assert world.log == [('src.get_manifest', None), ('src.get_manifest', world.arm64['digest'])]


def test_read_source_missing_platform(world):
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(platforms=('linux/s390x',)), AS_IS)
    assert str(excinfo.value) == 'platform linux/s390x is not in the index (available: linux/amd64, linux/arm64/v8)'


def test_read_source_index_system_no_match(world):
    with pytest.raises(NoMatchingPlatformError):
        read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(override_arch='s390x'))


def test_read_source_index_all(world):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(multi_arch='all'), AS_IS)
    assert [str(m.digest) for m in source.instances] == [world.amd64['digest'], world.arm64['digest']]
    assert source.chosen is None
    # The top first; the children are read at once (read_children), so in any order.
    assert world.log[0] == ('src.get_manifest', None)
    assert sorted(world.log[1:]) == sorted([('src.get_manifest', world.amd64['digest']), ('src.get_manifest', world.arm64['digest'])])


class _SlowChildren(FakeSource):
    """Each child manifest takes 0.2 s to read; counts how many are read at once."""

    def __init__(self, *args, fail=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.fail = fail

    def get_manifest(self, instance_digest=None):
        if instance_digest is None:
            return super().get_manifest()
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.2)
            if str(instance_digest) == self.fail:
                raise ManifestError('cannot read %s' % instance_digest)
            return super().get_manifest(instance_digest)
        finally:
            with self.lock:
                self.now -= 1


def test_an_indexs_children_are_read_at_once_and_kept_in_index_order(world):
    images = [world.store.add_image('img%d' % number, b'base', b'app %d' % number) for number in range(4)]
    top = world.store.add_index(*[(image, {'os': 'linux', 'architecture': arch}) for image, arch in zip(images, ('amd64', 'arm64', 'ppc64le', 's390x'))])
    source = _SlowChildren(world.store, top['digest'], world.log)
    started = time.monotonic()
    read = read_source(source, CopyOptions(multi_arch='all'), AS_IS)
    assert time.monotonic() - started < 0.6  # four reads of 0.2 s, one after the other, would take 0.8 s
    assert source.most >= 2
    assert [str(m.digest) for m in read.instances] == [image['digest'] for image in images]
    failing = _SlowChildren(world.store, top['digest'], world.log, fail=images[2]['digest'])
    with pytest.raises(ManifestError, match='cannot read %s' % images[2]['digest']):
        read_source(failing, CopyOptions(multi_arch='all'), AS_IS)


def test_child_manifests_go_to_a_registry_at_once_and_the_index_after_them(world):
    class ParallelDestination(FakeDestination):
        parallel_instance_manifests = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.both = threading.Barrier(2, timeout=5)

        def put_manifest(self, raw, media_type, instance_digest=None):
            if instance_digest is not None:
                self.both.wait()  # breaks (BrokenBarrierError) unless the other child is being written at the same time
            super().put_manifest(raw, media_type, instance_digest)

    result, dest = world.copy(world.index, CopyOptions(multi_arch='all'), dest=ParallelDestination(world.log))
    puts = [entry[1] for entry in world.log if entry[0] == 'dest.put_manifest']
    assert sorted(puts[:2]) == sorted([world.amd64['digest'], world.arm64['digest']]) and puts[2:] == [None]
    assert dest.name_points_at == world.index['digest'] and result.changed


def test_read_source_index_only_reads_no_child(world):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(multi_arch='index-only'), AS_IS)
    assert not source.instances
    assert world.log == [('src.get_manifest', None)]


def _tamper_index(world, child):
    """An index whose amd64 descriptor says ``child`` (a descriptor dict)."""
    return world.store.add_index((child, {'os': 'linux', 'architecture': 'amd64'}))


def test_read_source_child_size_must_match_descriptor(world):
    top = _tamper_index(world, dict(world.amd64, size=world.amd64['size'] + 1))
    with pytest.raises(ManifestError) as excinfo:
        read_source(FakeSource(world.store, top['digest'], world.log), CopyOptions())
    digest, size = world.amd64['digest'], world.amd64['size']
    assert str(excinfo.value) == 'manifest %s is %d bytes, the index says %d' % (digest, size, size + 1)


def test_read_source_child_digest_must_match_descriptor(world):
    # A source that answers a child request with other bytes of the same size.
    top = _tamper_index(world, world.amd64)
    raw, media_type = world.store.manifests[world.amd64['digest']]
    other = raw.replace(b'"schemaVersion": 2', b'"schemaVersion":2 ')
    assert len(other) == len(raw) and other != raw and json.loads(other) == json.loads(raw)
    world.store.manifests[world.amd64['digest']] = (other, media_type)
    with pytest.raises(DigestMismatchError) as excinfo:
        read_source(FakeSource(world.store, top['digest'], world.log), CopyOptions())
    digest = world.amd64['digest']
    assert str(excinfo.value) == 'manifest %s digest mismatch: expected %s, got %s' % (digest, digest, Digest.from_bytes(other))


def test_read_source_nested_index_refused(world):
    top = _tamper_index(world, world.index)
    with pytest.raises(ManifestError) as excinfo:
        read_source(FakeSource(world.store, top['digest'], world.log), CopyOptions())
    assert str(excinfo.value) == 'manifest %s is a nested index, which is not supported' % world.index['digest']


# ---------------------------------------------------------------------------------------------
# copy_image


def test_copy_single_image_call_order(world):
    result, dest = world.copy(world.amd64)
    log = world.log
    blobs = world.blobs_of(world.amd64)
    assert result.changed
    assert result.stats.as_result() == {'copied': 3, 'skipped': 0, 'mounted': 0}
    assert result.stats.bytes_copied == sum(len(world.store.blobs[d]) for d in blobs)
    assert sorted(e[1] for e in _names(log, 'dest.put_blob')) == sorted(blobs)
    # Blobs, then the manifest, then commit, then close; the source is closed last (it is the outer context).
    tail = [e for e in log if e[0] not in ('src.get_blob', 'dest.put_blob.start', 'dest.put_blob')]
    assert tail == [('src.get_manifest', None), ('dest.get_manifest_digest',), ('dest.put_manifest', None), ('dest.commit',),
                    ('dest.close',), ('src.close',)]
    last_blob = max(i for i, e in enumerate(log) if e[0] == 'dest.put_blob')
    assert last_blob < log.index(('dest.put_manifest', None))
    assert dest.name_points_at == world.amd64['digest']
    assert result.as_result() == {
        'changed': True, 'digest': world.amd64['digest'], 'source_digest': world.amd64['digest'], 'media_type': mt.OCI_MANIFEST,
        'blobs': {'copied': 3, 'skipped': 0, 'mounted': 0}, 'bytes_copied': result.stats.bytes_copied,
        'reason': 'destination holds no image', 'rule': 'digest', 'converted': False,
        'diff': {'before': None, 'after': {'digest': world.amd64['digest']}},
    }


def test_copy_index_all_call_order(world):
    result, dest = world.copy(world.index, CopyOptions(multi_arch='all'))
    log = world.log
    writes = [e for e in log if e[0] in ('dest.put_blob', 'dest.put_manifest', 'dest.commit', 'dest.close')]
    kinds = [e[0] for e in writes]
    # 5 distinct blobs (the base layer is shared), two child manifests by digest, the index, commit, close.
    assert kinds == ['dest.put_blob'] * 5 + ['dest.put_manifest'] * 3 + ['dest.commit', 'dest.close']
    assert [e[1] for e in writes[5:8]] == [world.amd64['digest'], world.arm64['digest'], None]
    assert dest.name_points_at == world.index['digest']
    assert set(dest.manifests) == {world.amd64['digest'], world.arm64['digest'], world.index['digest']}
    assert result.stats.as_result() == {'copied': 5, 'skipped': 0, 'mounted': 0}
    assert 'platform' not in result.as_result()


def test_copy_index_system_reports_platform(world):
    result, dest = world.copy(world.index)
    assert dest.name_points_at == world.amd64['digest']
    assert result.as_result()['platform'] == 'linux/amd64'
    assert result.as_result()['source_digest'] == world.index['digest']
    assert result.as_result()['digest'] == world.amd64['digest']


def test_copy_skips_present_blobs(world):
    blobs = world.blobs_of(world.amd64)
    result, dest = world.copy(world.amd64, dest=FakeDestination(world.log, present=blobs[:2]))
    assert result.stats.as_result() == {'copied': 1, 'skipped': 2, 'mounted': 0}
    assert [e[1] for e in _names(world.log, 'src.get_blob')] == [blobs[2]]
    assert dest.name_points_at == world.amd64['digest']


@pytest.mark.parametrize('same_transport, mounted', [(True, 3), (False, 0)])
def test_copy_mount_candidates_only_within_a_transport(world, same_transport, mounted):
    blobs = world.blobs_of(world.amd64)
    result, dest = world.copy(world.amd64, dest=FakeDestination(world.log, mountable=blobs), same_transport=same_transport)
    assert result.stats.mounted == mounted
    assert result.stats.copied == 3 - mounted
    assert all(len(c) == (1 if same_transport else 0) for c in dest.candidates_seen)


def test_corrupted_source_blob_aborts_before_any_manifest(world):
    bad = world.blobs_of(world.amd64)[1]
    dest = FakeDestination(world.log, held=Digest.from_bytes(b'previous image'))
    with pytest.raises(DigestMismatchError):
        world.copy(world.amd64, dest=dest, corrupt=[bad])
    assert not _names(world.log, 'dest.put_manifest', 'dest.commit')
    assert world.log.count(('dest.close',)) == 1
    assert world.log[-2:] == [('dest.close',), ('src.close',)]
    assert bad not in dest.blobs
    # The name still points at what it held.
    assert dest.name_points_at == Digest.from_bytes(b'previous image')


def test_failing_manifest_write_still_closes(world):
    class FailingDestination(FakeDestination):
        def put_manifest(self, raw, media_type, instance_digest=None):
            raise ManifestError('refused')

    with pytest.raises(ManifestError):
        world.copy(world.amd64, dest=FailingDestination(world.log))
    assert not _names(world.log, 'dest.commit')
    assert ('dest.close',) in world.log


@pytest.mark.parametrize('top, options', [
    ('amd64', CopyOptions()),
    ('index', CopyOptions(multi_arch='all')),
    ('index', CopyOptions(multi_arch='index-only')),
])
def test_up_to_date_destination_gets_no_write(world, top, options):
    # A registry: an index there is up to date by its digest (a local destination also needs its images, see below).
    desc = getattr(world, top)
    dest = FakeDestination(world.log, held=Digest(desc['digest']))
    result, dest = world.copy(desc, options, dest=dest, same_transport=True)
    assert not result.changed
    assert result.plan.up_to_date
    assert not _names(world.log, *WRITES)
    assert _names(world.log, 'dest.get_manifest_digest', 'dest.close') == [('dest.get_manifest_digest',), ('dest.close',)]
    assert not _names(world.log, 'src.get_blob')
    assert result.as_result()['reason'] == 'destination already holds %s' % desc['digest']
    assert result.as_result()['diff'] == {'before': {'digest': desc['digest']}, 'after': {'digest': desc['digest']}}


def test_force_rewrites_an_up_to_date_destination(world):
    blobs = world.blobs_of(world.amd64)
    dest = FakeDestination(world.log, held=Digest(world.amd64['digest']), present=blobs)
    result, dest = world.copy(world.amd64, CopyOptions(force=True), dest=dest)
    assert result.changed
    assert result.stats.as_result() == {'copied': 0, 'skipped': 3, 'mounted': 0}
    assert _names(world.log, 'dest.put_manifest', 'dest.commit') == [('dest.put_manifest', None), ('dest.commit',)]


@pytest.mark.parametrize('held, changed', [(None, True), ('other', True), ('same', False)])
def test_check_mode_writes_nothing(world, held, changed):
    before = {None: None, 'other': Digest.from_bytes(b'other'), 'same': Digest(world.amd64['digest'])}[held]
    dest = FakeDestination(world.log, held=before)
    result, dest = world.copy(world.amd64, dest=dest, check_mode=True)
    assert result.changed is changed
    assert not _names(world.log, *WRITES)
    assert not _names(world.log, 'src.get_blob')
    assert ('dest.close',) in world.log
    assert not dest.blobs and not dest.manifests
    # The prediction is the plan a real run would follow.
    assert result.as_result()['digest'] == world.amd64['digest']
    assert result.stats.as_result() == {'copied': 0, 'skipped': 0, 'mounted': 0}


def test_plan_errors_close_the_destination(world):
    class NoIndexDestination(FakeDestination):
        supports_index = False

    with pytest.raises(InvalidInputError):
        world.copy(world.index, CopyOptions(multi_arch='all'), dest=NoIndexDestination(world.log))
    assert ('dest.close',) in world.log
    assert not _names(world.log, *WRITES)


def test_connection_options_go_to_their_side(world):
    source = FakeSource(world.store, world.amd64['digest'], world.log)
    dest = FakeDestination(world.log)
    src_ref = FakeReference(FakeTransport('docker'), 'a', source=source)
    dest_ref = FakeReference(FakeTransport('docker'), 'b', destination=dest)
    src_options, dest_options = ConnectionOptions(username='src'), ConnectionOptions(username='dest')
    copy_image(src_ref, dest_ref, src_options, dest_options, CopyOptions())
    assert src_ref.options == [src_options]
    assert dest_ref.options == [dest_options]


# ---------------------------------------------------------------------------------------------
# copy_image: conversion and layer transformation

BASE_FILES = {'etc/os-release': b'ID=test\n' * 40, 'bin/sh': bytes(range(256)) * 16}
APP_FILES = {'app/run': b'#!/bin/sh\necho hello\n' * 30}
ARM_FILES = {'app/run': b'#!/bin/sh\necho arm\n' * 30}


def _order_of_writes(log):
    """The write calls in order, consecutive put_blob calls folded into one 'blobs' entry."""
    out = []
    for entry in log:
        if entry[0] == 'dest.put_blob':
            if not out or out[-1] != ('blobs',):
                out.append(('blobs',))
        elif entry[0] in ('dest.put_manifest', 'dest.commit'):
            out.append(entry)
    return out


def test_docker_image_into_oci_only_destination(world):
    top = world.store.add_real_image('amd64', BASE_FILES, APP_FILES, media_type=mt.DOCKER_V2S2)
    source_config = json.loads(world.store.manifests[top['digest']][0])['config']['digest']
    expected = convert_manifest(world.store.parsed(top), mt.OCI_MANIFEST, world.store.config_of(top))
    dest = FakeDestination(world.log, supported=OCI_ONLY, compression='compress')
    result, dest = world.copy(top, dest=dest)
    # The converted config is a new blob; the source's Docker config is not written.
    new_config = str(expected.config.digest)
    assert dest.blobs[new_config] == expected.config_raw
    assert source_config not in dest.blobs
    assert sorted(e[1] for e in _names(world.log, 'dest.put_blob')) == sorted([new_config] + world.blobs_of(top)[1:])
    # Blobs first, then the converted manifest, then commit.
    assert _order_of_writes(world.log) == [('blobs',), ('dest.put_manifest', None), ('dest.commit',)]
    assert dest.manifests[str(expected.digest)] == (expected.raw, mt.OCI_MANIFEST)
    assert dest.name_points_at == expected.digest
    assert parse_manifest(expected.raw, mt.OCI_MANIFEST).layers[0].media_type == mt.OCI_LAYER_GZIP
    out = result.as_result()
    assert (out['digest'], out['media_type'], out['converted'], out['rule']) == (str(expected.digest), mt.OCI_MANIFEST, True, 'digest')
    assert result.stats.as_result() == {'copied': 3, 'skipped': 0, 'mounted': 0}
    # Copied again: the destination holds the converted digest, nothing is written.
    del world.log[:]
    again, dest = world.copy(top, dest=dest)
    assert not again.changed and again.as_result()['reason'] == 'destination already holds %s' % expected.digest
    assert not _names(world.log, *WRITES)


def test_docker_list_into_oci_only_destination(world):
    amd64 = world.store.add_real_image('amd64', BASE_FILES, APP_FILES, media_type=mt.DOCKER_V2S2)
    arm64 = world.store.add_real_image('arm64', BASE_FILES, ARM_FILES, media_type=mt.DOCKER_V2S2)
    top = world.store.add_index((amd64, AMD64_PLATFORM), (arm64, ARM64_PLATFORM), media_type=mt.DOCKER_LIST)
    children = [convert_manifest(world.store.parsed(d), mt.OCI_MANIFEST, world.store.config_of(d)) for d in (amd64, arm64)]
    dest = FakeDestination(world.log, supported=OCI_ONLY, compression='compress')
    result, dest = world.copy(top, CopyOptions(multi_arch='all'), dest=dest)
    # Blobs (two new configs, three distinct layers), the converted children by digest, the index, commit.
    assert _order_of_writes(world.log) == [('blobs',), ('dest.put_manifest', str(children[0].digest)),
                                           ('dest.put_manifest', str(children[1].digest)), ('dest.put_manifest', None), ('dest.commit',)]
    assert len(_names(world.log, 'dest.put_blob')) == 5
    assert all(str(c.config.digest) in dest.blobs for c in children)
    index_raw, index_type = dest.manifests[str(dest.name_points_at)]
    written = parse_manifest(index_raw, index_type)
    assert index_type == mt.OCI_INDEX
    assert [d.digest for d in written.manifests] == [c.digest for c in children]
    assert [str(d.platform) for d in written.manifests] == ['linux/amd64', 'linux/arm64/v8']
    out = result.as_result()
    assert out['media_type'] == mt.OCI_INDEX and out['index_digest_kept'] is False and out['converted'] is True
    assert out['platforms'] == ['linux/amd64', 'linux/arm64/v8']


def test_gzip_to_zstd_recompression(world):
    top = world.store.add_real_image('amd64', BASE_FILES, APP_FILES)
    config, base, app = world.blobs_of(top)
    dest = FakeDestination(world.log, compression='compress')
    result, dest = world.copy(top, CopyOptions(compress_format='zstd'), dest=dest)
    raw, media_type = dest.manifests[str(dest.name_points_at)]
    written = parse_manifest(raw, media_type)
    assert media_type == mt.OCI_MANIFEST
    assert [layer.media_type for layer in written.layers] == [mt.OCI_LAYER_ZSTD] * 2
    # The config is kept (so are the diff_ids); the layers are new zstd blobs holding the same tars.
    assert str(written.config.digest) == config and dest.blobs[config] == world.store.blobs[config]
    for layer, source in zip(written.layers, (base, app)):
        data = dest.blobs[str(layer.digest)]
        assert data[:4] == b'\x28\xb5\x2f\xfd'
        assert zstd_decompress(data) == world.store.plain[source]
        assert (Digest.from_bytes(data), len(data)) == (layer.digest, layer.size)
    assert base not in dest.blobs and app not in dest.blobs
    assert _order_of_writes(world.log) == [('blobs',), ('dest.put_manifest', None), ('dest.commit',)]
    assert result.stats.as_result() == {'copied': 3, 'skipped': 0, 'mounted': 0}
    assert result.stats.bytes_copied == sum(len(dest.blobs[d]) for d in [config] + [str(layer.digest) for layer in written.layers])
    out = result.as_result()
    assert (out['digest'], out['rule'], out['converted'], out['media_type']) == (str(written.digest), 'content', True, mt.OCI_MANIFEST)
    assert out['diff'] == {'before': None, 'after': {'digest': str(written.digest)}}

    # Again: the destination holds the same config and zstd layers, which the content rule sees without writing anything.
    del world.log[:]
    again, dest = world.copy(top, CopyOptions(compress_format='zstd'), dest=dest)
    assert not again.changed and again.plan.rule == 'content'
    # Only the config is read (the plan needs it when layers change); no layer moves.
    assert not _names(world.log, *WRITES) and _names(world.log, 'src.get_blob') == [('src.get_blob', config)]
    assert again.as_result()['digest'] == str(written.digest)
    assert again.as_result()['reason'] == ('destination already holds the same config and layers in the requested form (%s)'
                                           % written.digest)
    # Asked for gzip, the same destination is not up to date.
    del world.log[:]
    back, dest = world.copy(top, CopyOptions(compress_format='gzip'), dest=dest)
    assert back.changed and dest.name_points_at == Digest(top['digest'])


def test_recompression_check_mode(world):
    top = world.store.add_real_image('amd64', BASE_FILES)
    result, dest = world.copy(top, CopyOptions(compress_format='zstd'), dest=FakeDestination(world.log, compression='compress'),
                              check_mode=True)
    assert result.changed and result.after is None
    assert result.as_result()['digest'] is None and result.as_result()['diff']['after'] is None
    assert not _names(world.log, *WRITES)
    assert _names(world.log, 'src.get_blob') == [('src.get_blob', world.blobs_of(top)[0])]
    assert not dest.blobs


def test_layer_with_wrong_diff_id_is_not_committed(world):
    wrong = str(Digest.from_bytes(b'not the layer'))
    plain_base = str(Digest.from_bytes(tar_bytes(BASE_FILES)))
    top = world.store.add_real_image('amd64', BASE_FILES, APP_FILES, diff_ids=[plain_base, wrong])
    app = world.blobs_of(top)[2]
    previous = Digest.from_bytes(b'previous image')
    dest = FakeDestination(world.log, held=previous, compression='compress')
    with pytest.raises(DigestMismatchError) as excinfo:
        world.copy(top, CopyOptions(compress_format='zstd'), dest=dest)
    assert str(excinfo.value) == ('layer %s: its uncompressed content is %s, but the config says diff_id %s'
                                  % (app, Digest.from_bytes(world.store.plain[app]), wrong))
    assert not _names(world.log, 'dest.put_manifest', 'dest.commit')
    assert world.log[-2:] == [('dest.close',), ('src.close',)]
    assert dest.name_points_at == previous
    # Nothing holding the app layer's content reached the destination.
    assert all(data[:4] != b'\x28\xb5\x2f\xfd' or zstd_decompress(data) != world.store.plain[app] for data in dest.blobs.values())


def test_docker_archive_like_destination_gets_uncompressed_v2s2(world):
    top = world.store.add_real_image('amd64', BASE_FILES, APP_FILES)
    config, base, app = world.blobs_of(top)
    dest = FakeDestination(world.log, supported=(mt.DOCKER_V2S2,), compression='decompress', supports_index=False)
    result, dest = world.copy(top, dest=dest)
    raw, media_type = dest.manifests[str(dest.name_points_at)]
    written = parse_manifest(raw, media_type)
    assert media_type == mt.DOCKER_V2S2 and written.config.media_type == mt.DOCKER_CONFIG
    assert str(written.config.digest) == config
    assert [layer.media_type for layer in written.layers] == [mt.DOCKER_LAYER] * 2
    assert [dest.blobs[str(layer.digest)] for layer in written.layers] == [world.store.plain[base], world.store.plain[app]]
    assert result.as_result()['converted'] is True


def test_shared_layer_is_transformed_once(world):
    amd64 = world.store.add_real_image('amd64', BASE_FILES, APP_FILES)
    arm64 = world.store.add_real_image('arm64', BASE_FILES, ARM_FILES)
    top = world.store.add_index((amd64, AMD64_PLATFORM), (arm64, ARM64_PLATFORM))
    base = world.blobs_of(amd64)[1]
    assert base == world.blobs_of(arm64)[1]
    dest = FakeDestination(world.log, compression='compress')
    result, dest = world.copy(top, CopyOptions(multi_arch='all', compress_format='zstd'), dest=dest, slow=[base])
    assert _names(world.log, 'src.get_blob').count(('src.get_blob', base)) == 1
    # Two configs and three distinct layers, each written once.
    assert result.stats.as_result() == {'copied': 5, 'skipped': 0, 'mounted': 0}
    children = [parse_manifest(*dest.manifests[e[1]]) for e in _names(world.log, 'dest.put_manifest') if e[1] is not None]
    assert children[0].layers[0].digest == children[1].layers[0].digest
    assert _order_of_writes(world.log) == [('blobs',), ('dest.put_manifest', str(children[0].digest)),
                                           ('dest.put_manifest', str(children[1].digest)), ('dest.put_manifest', None), ('dest.commit',)]


def test_platforms_filter_writes_a_filtered_index(world):
    result, dest = world.copy(world.index, CopyOptions(platforms=('linux/arm64/v8',)))
    log = world.log
    # Only the arm64 child is read and copied.
    assert ('src.get_manifest', world.amd64['digest']) not in log
    assert sorted(e[1] for e in _names(log, 'dest.put_blob')) == sorted(world.blobs_of(world.arm64))
    assert _order_of_writes(log) == [('blobs',), ('dest.put_manifest', world.arm64['digest']), ('dest.put_manifest', None), ('dest.commit',)]
    raw, media_type = dest.manifests[str(dest.name_points_at)]
    written = parse_manifest(raw, media_type)
    assert media_type == mt.OCI_INDEX
    assert [str(d.digest) for d in written.manifests] == [world.arm64['digest']]
    assert str(written.digest) != world.index['digest']
    out = result.as_result()
    assert out['index_digest_kept'] is False and out['digest'] == str(written.digest)
    assert out['source_digest'] == world.index['digest']
    assert 'platform' not in out


def test_platforms_naming_every_platform_keeps_the_index(world):
    result, dest = world.copy(world.index, CopyOptions(platforms=('linux/arm64/v8', 'linux/amd64')))
    assert str(dest.name_points_at) == world.index['digest']
    assert result.as_result()['index_digest_kept'] is True


def test_missing_platform_writes_nothing(world):
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        world.copy(world.index, CopyOptions(platforms=('linux/arm64/v8', 'linux/s390x')))
    assert str(excinfo.value) == 'platform linux/s390x is not in the index (available: linux/amd64, linux/arm64/v8)'
    assert not _names(world.log, *WRITES)
    # The source's manifests are read (and the policy evaluated) before the destination is opened.
    assert not [entry for entry in world.log if entry[0].startswith('dest.')]


def test_artifact_layers_are_copied_as_they_are(world):
    config = world.store.add_blob(b'{}', 'application/vnd.dev.cosign.simplesigning.v1+json')
    layer = world.store.add_blob(b'{"critical": {}}', 'application/vnd.dev.cosign.simplesigning.v1+json')
    top = world.store.add_manifest({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': config, 'layers': [layer]})
    result, dest = world.copy(top, CopyOptions(compress_format='zstd'), dest=FakeDestination(world.log, compression='compress'))
    assert dest.name_points_at == Digest(top['digest'])
    assert dest.blobs[layer['digest']] == world.store.blobs[layer['digest']]
    assert result.as_result()['converted'] is False


# ---------------------------------------------------------------------------------------------
# CopyResult and additional_tags_kwargs


def test_copy_result_after():
    store = Store()
    top = parse_manifest(*store.manifests[store.add_image('amd64', b'layer')['digest']])
    source = read_source(FakeSource(store, top.digest, []), CopyOptions())
    before = Digest.from_bytes(b'before')
    registry = DestinationTraits(layer_compression='compress')
    exact = make_plan(source, None, CopyOptions(), registry)
    assert CopyResult(plan=exact, changed=True, stats=BlobStats()).after == top.digest
    inexact = make_plan(source, before, CopyOptions(compress_format='zstd'), registry)
    assert CopyResult(plan=inexact, changed=True, stats=BlobStats()).after is None
    held = make_plan(source, before, CopyOptions(compress_format='zstd'), registry,
                     current=parse_manifest(json.dumps(dict(json.loads(top.raw), layers=[
                         {'mediaType': mt.OCI_LAYER_ZSTD, 'digest': str(before), 'size': 1}])).encode()))
    assert held.up_to_date
    assert CopyResult(plan=held, changed=False, stats=BlobStats()).after == before


class NamedTransport(FakeTransport):
    """A transport with a name and nothing else."""


def test_additional_tags_kwargs():
    archive = FakeReference(NamedTransport('docker-archive'), '/tmp/a.tar')
    assert not additional_tags_kwargs(archive, None)
    assert not additional_tags_kwargs(archive, [])
    refs = additional_tags_kwargs(archive, ['example.com/app:latest', 'other/app'])['additional_tags']
    assert [str(r) for r in refs] == ['example.com/app:latest', 'docker.io/other/app:latest']
    with pytest.raises(InvalidInputError) as excinfo:
        additional_tags_kwargs(archive, ['app@sha256:' + 'a' * 64])
    assert str(excinfo.value) == 'additional tag "app@sha256:%s" must not have a digest' % ('a' * 64)
    # Other transports take their extra names elsewhere: nothing for the destination itself.
    assert not additional_tags_kwargs(FakeReference(NamedTransport('oci'), '/tmp/l'), ['a:b'])


def test_dest_kwargs_reach_the_destination(world):
    seen = []

    class KwargsReference(FakeReference):
        def new_destination(self, options, **kwargs):
            seen.append(kwargs)
            return super().new_destination(options)

    source = FakeSource(world.store, world.amd64['digest'], world.log)
    dest_ref = KwargsReference(FakeTransport('docker-archive'), 'b', destination=FakeDestination(world.log))
    copy_image(FakeReference(FakeTransport('docker'), 'a', source=source), dest_ref, ConnectionOptions(), ConnectionOptions(),
               CopyOptions(), dest_kwargs={'additional_tags': ('x',)})
    assert seen == [{'additional_tags': ('x',)}]


# ---------------------------------------------------------------------------------------------
# write_digestfile

DIGEST = Digest.from_bytes(b'image')


def test_write_digestfile_new_file(tmp_path):
    path = tmp_path / 'digest'
    assert write_digestfile(str(path), DIGEST) is True
    assert path.read_text(encoding='utf-8') == str(DIGEST)
    assert os.listdir(str(tmp_path)) == ['digest']


def test_write_digestfile_unchanged(tmp_path):
    path = tmp_path / 'digest'
    path.write_text(str(DIGEST), encoding='utf-8')
    before = os.stat(str(path))
    assert write_digestfile(str(path), DIGEST) is False
    after = os.stat(str(path))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


@pytest.mark.parametrize('old', ['sha256:' + 'f' * 64, str(DIGEST) + '\n', ''])
def test_write_digestfile_changed(tmp_path, old):
    path = tmp_path / 'digest'
    path.write_text(old, encoding='utf-8')
    assert write_digestfile(str(path), DIGEST) is True
    assert path.read_text(encoding='utf-8') == str(DIGEST)
    assert os.listdir(str(tmp_path)) == ['digest']


def test_write_digestfile_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / 'digest'
    path.write_text('old', encoding='utf-8')
    seen = []
    real_replace = os.replace

    def checking_replace(src, dst):
        # At the moment of the rename the complete new content is in a temp file in the same
        # directory, and the destination still has the old content.
        with open(src, encoding='utf-8') as handle:
            seen.append((os.path.dirname(src), handle.read(), path.read_text(encoding='utf-8')))
        real_replace(src, dst)

    monkeypatch.setattr(execute.os, 'replace', checking_replace)
    assert write_digestfile(str(path), DIGEST)
    assert seen == [(str(tmp_path), str(DIGEST), 'old')]
    assert path.read_text(encoding='utf-8') == str(DIGEST)


def test_write_digestfile_mode_follows_umask(tmp_path):
    path = tmp_path / 'digest'
    old_umask = os.umask(0o022)
    try:
        write_digestfile(str(path), DIGEST)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644


def test_write_digestfile_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / 'digest'
    path.write_text('old', encoding='utf-8')

    def failing_replace(src, dst):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(execute.os, 'replace', failing_replace)
    with pytest.raises(InvalidInputError) as excinfo:
        write_digestfile(str(path), DIGEST)
    assert str(excinfo.value) == 'cannot write digestfile %s: Permission denied' % path
    assert os.listdir(str(tmp_path)) == ['digest']
    assert path.read_text(encoding='utf-8') == 'old'


def test_write_digestfile_missing_directory(tmp_path):
    path = tmp_path / 'missing' / 'digest'
    with pytest.raises(InvalidInputError) as excinfo:
        write_digestfile(str(path), DIGEST)
    assert str(excinfo.value) == 'cannot write digestfile %s: No such file or directory' % path


def test_write_digestfile_unreadable_path(tmp_path):
    with pytest.raises(InvalidInputError) as excinfo:
        write_digestfile(str(tmp_path), DIGEST)
    assert str(excinfo.value) == 'digestfile %s is not a regular file (a directory)' % tmp_path


class FlakyDestination(FakeDestination):
    """Fails the first uploads with ``error`` (as a registry connection closed under a streamed PUT)."""

    def __init__(self, log, error, failures=1):
        super().__init__(log)
        self.error, self.failures = error, failures

    def put_blob(self, chunks, info):
        if self.failures:
            self.failures -= 1
            for dummy in chunks:
                break
            raise self.error
        return super().put_blob(chunks, info)


def test_copy_blobs_starts_a_blob_again_after_a_failure_that_may_pass():
    from ansible_collections.ocikit.images.plugins.module_utils.errors import ConnectionFailedError

    store, log = Store(), []
    digest = store.add_blob(b'retried blob')['digest']
    dest = FlakyDestination(log, ConnectionFailedError('TLS connection to r was closed early: EOF'), failures=2)
    stats = copy_blobs(FakeSource(store, None, log), dest, _infos(store, [digest]))
    assert dest.blobs[digest] == b'retried blob'
    assert stats.copied == 1


def test_copy_blobs_does_not_retry_a_final_failure():
    from ansible_collections.ocikit.images.plugins.module_utils.errors import AccessDeniedError

    store, log = Store(), []
    digest = store.add_blob(b'denied blob')['digest']
    dest = FlakyDestination(log, AccessDeniedError('denied'), failures=1)
    with pytest.raises(AccessDeniedError):
        copy_blobs(FakeSource(store, None, log), dest, _infos(store, [digest]))
    dest.failures = 0
    assert digest not in dest.blobs


def test_index_only_into_a_registry_is_reported_sparse(world):
    result, dummy = world.copy(world.index, CopyOptions(multi_arch='index-only'), same_transport=True)
    assert result.changed and result.as_result()['sparse'] is True
    result, dummy = world.copy(world.index, CopyOptions(multi_arch='all'), same_transport=True)
    assert result.as_result()['sparse'] is False


def test_write_digestfile_refuses_a_fifo_without_blocking(tmp_path):
    # It used to open() the FIFO and wait for a writer forever.
    path = tmp_path / 'digest'
    os.mkfifo(str(path))
    signal.alarm(10)
    try:
        with pytest.raises(InvalidInputError, match=r'^digestfile %s is not a regular file \(a FIFO\)$' % path):
            write_digestfile(str(path), DIGEST)
    finally:
        signal.alarm(0)
    assert stat.S_ISFIFO(os.lstat(str(path)).st_mode)


def test_write_digestfile_replaces_a_large_file_without_reading_it(tmp_path):
    path = tmp_path / 'digest'
    with open(path, 'wb') as handle:
        handle.truncate(1 << 40)
    assert write_digestfile(str(path), DIGEST) is True
    assert path.read_text(encoding='utf-8') == str(DIGEST)
