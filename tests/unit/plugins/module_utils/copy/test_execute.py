# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for copy/execute.py with an in-memory source and destination that record every call."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy import execute
from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import (
    BlobStats,
    copy_blobs,
    copy_image,
    read_source,
    write_digestfile,
)
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidInputError,
    ManifestError,
    NoMatchingPlatformError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest import platform as platform_mod
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


class Store:
    """Blobs and manifests by digest, as a registry or a layout holds them."""

    def __init__(self):
        self.blobs = {}
        self.manifests = {}

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

    def add_index(self, *children):
        manifests = [dict(desc, platform=plat) for desc, plat in children]
        return self.add_manifest({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': manifests})


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
        return self.source

    def new_destination(self, options):
        self.options.append(options)
        return self.destination


class FakeSource(ImageSource):
    """Reads from a Store; ``top`` names the manifest the reference points at."""

    def __init__(self, store, top, log, chunk_size=3, corrupt=(), wrong_size=()):
        self.store = store
        self.top = top
        self.log = log
        self.chunk_size = chunk_size
        self.corrupt = set(corrupt)
        self.wrong_size = set(wrong_size)

    def get_manifest(self, instance_digest=None):
        self.log.append(('src.get_manifest', None if instance_digest is None else str(instance_digest)))
        return self.store.manifests[str(instance_digest or self.top)]

    @contextlib.contextmanager
    def get_blob(self, info):
        self.log.append(('src.get_blob', str(info.digest)))
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

    def __init__(self, log, held=None, present=(), mountable=()):
        self.log = log
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
        return self.held

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
        for chunk in chunks:
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


def _names(log, *names):
    return [entry for entry in log if entry[0] in names]


class World:
    """A source with one single image and one two-platform index, and helpers to copy them."""

    def __init__(self):
        self.store = Store()
        self.log = []
        self.amd64 = self.store.add_image('amd64', b'shared base layer', b'amd64 application')
        self.arm64 = self.store.add_image('arm64', b'shared base layer', b'arm64 application')
        self.index = self.store.add_index((self.amd64, {'os': 'linux', 'architecture': 'amd64'}),
                                          (self.arm64, {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}))

    def blobs_of(self, desc):
        raw = self.store.manifests[desc['digest']][0]
        doc = json.loads(raw)
        return [d['digest'] for d in [doc['config']] + doc['layers']]

    def copy(self, top, options=None, dest=None, check_mode=False, same_transport=False, **source_kwargs):
        source = FakeSource(self.store, top['digest'], self.log, **source_kwargs)
        dest = dest if dest is not None else FakeDestination(self.log)
        src_ref = FakeReference(FakeTransport('docker'), '//src.example/img:1', source=source)
        dest_ref = FakeReference(FakeTransport('docker' if same_transport else 'oci'), '/tmp/layout:img', destination=dest)
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


def test_read_source_single_image(world):
    source = read_source(FakeSource(world.store, world.amd64['digest'], world.log), CopyOptions(multi_arch='all'))
    assert str(source.top.digest) == world.amd64['digest']
    assert not source.instances and source.chosen is None and source.chosen_platform is None
    assert world.log == [('src.get_manifest', None)]


@pytest.mark.parametrize('overrides, chosen, platform', [
    ({}, 'amd64', 'linux/amd64'),
    ({'override_arch': 'arm64'}, 'arm64', 'linux/arm64/v8'),
])
def test_read_source_index_system(world, overrides, chosen, platform):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(**overrides))
    expected = getattr(world, chosen)['digest']
    assert str(source.top.digest) == world.index['digest']
    assert str(source.chosen.digest) == expected
    assert source.instances == (source.chosen,)
    assert source.chosen_platform == platform
    # Only the chosen child is read.
    assert world.log == [('src.get_manifest', None), ('src.get_manifest', expected)]


def test_read_source_index_system_no_match(world):
    with pytest.raises(NoMatchingPlatformError):
        read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(override_arch='s390x'))


def test_read_source_index_all(world):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(multi_arch='all'))
    assert [str(m.digest) for m in source.instances] == [world.amd64['digest'], world.arm64['digest']]
    assert source.chosen is None
    assert world.log == [('src.get_manifest', None), ('src.get_manifest', world.amd64['digest']),
                         ('src.get_manifest', world.arm64['digest'])]


def test_read_source_index_only_reads_no_child(world):
    source = read_source(FakeSource(world.store, world.index['digest'], world.log), CopyOptions(multi_arch='index-only'))
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
        'reason': 'destination holds no image', 'diff': {'before': None, 'after': {'digest': world.amd64['digest']}},
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
    desc = getattr(world, top)
    dest = FakeDestination(world.log, held=Digest(desc['digest']))
    result, dest = world.copy(desc, options, dest=dest)
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
    assert str(excinfo.value).startswith('cannot read digestfile %s: ' % tmp_path)
