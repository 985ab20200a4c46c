# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The record of where blobs were seen (blobcache) and the mounts a registry destination makes from it."""

from __future__ import annotations

import os
import stat
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import blobcache
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.blobcache import BlobLocations, blob_locations, default_path
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    USER,
    Credentials,
    FakeRegistry,
    make_client,
    sha256,
)

httpx = pytest.importorskip('httpx')

DATA = b'shared base layer' * 10
DIGEST = sha256(DATA)


def test_default_path_follows_xdg_then_home() -> None:
    assert default_path({'XDG_CACHE_HOME': '/x/cache', 'HOME': '/home/u'}) == '/x/cache/ocikit/blob-locations-v1.sqlite'
    # A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
    assert default_path({'XDG_CACHE_HOME': 'rel', 'HOME': '/home/u'}) == '/home/u/.cache/ocikit/blob-locations-v1.sqlite'
    assert default_path({}) is None
    assert default_path({'HOME': ''}) is None


def test_record_candidates_forget(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(100))
    monkeypatch.setattr(blobcache.time, 'time', lambda: float(next(clock)))
    record = BlobLocations(str(tmp_path / 'c' / 'cache.sqlite'))
    record.record('reg.test', 'a', DIGEST)
    record.record('reg.test', 'b', DIGEST)
    record.record('reg.test', 'c', DIGEST)
    record.record('other.test', 'd', DIGEST)
    record.record('reg.test', 'e', 'sha256:' + '0' * 64)
    # Most recently seen first, at most MAX_CANDIDATES, never the repository being written, only this registry.
    assert record.candidates('reg.test', DIGEST, exclude='c') == ['b', 'a']
    assert record.candidates('reg.test', DIGEST, exclude='z', limit=5) == ['c', 'b', 'a']
    record.forget('reg.test', 'b', DIGEST)
    assert record.candidates('reg.test', DIGEST, exclude='c') == ['a']
    record.close()
    # Another process (a new object) sees the same record; the file and its directory are private.
    again = BlobLocations(str(tmp_path / 'c' / 'cache.sqlite'))
    assert again.candidates('reg.test', DIGEST, exclude='') == ['c', 'a']
    again.close()
    assert stat.S_IMODE(os.stat(tmp_path / 'c' / 'cache.sqlite').st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / 'c').st_mode) == 0o700


def test_loaded_images_are_recorded_per_daemon(tmp_path: t.Any) -> None:
    record = BlobLocations(str(tmp_path / 'cache.sqlite'))
    image_id, other = 'sha256:' + 'a' * 64, 'sha256:' + 'b' * 64
    assert record.loaded_image('unix:///run/podman/podman.sock', image_id) is None
    record.record_image('unix:///run/podman/podman.sock', image_id, DIGEST)
    record.record_image('unix:///var/run/docker.sock', image_id, other)
    record.close()
    again = BlobLocations(str(tmp_path / 'cache.sqlite'))
    # Per daemon: the same image ID loaded elsewhere from another archive keeps its own digest; a newer load replaces.
    assert again.loaded_image('unix:///run/podman/podman.sock', image_id) == DIGEST
    assert again.loaded_image('unix:///var/run/docker.sock', image_id) == other
    again.record_image('unix:///var/run/docker.sock', image_id, DIGEST)
    assert again.loaded_image('unix:///var/run/docker.sock', image_id) == DIGEST
    assert again.loaded_image('unix:///var/run/docker.sock', other) is None
    again.close()


def test_the_record_is_bounded(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobcache, 'MAX_ROWS', 3)
    record = BlobLocations(str(tmp_path / 'cache.sqlite'))
    for number in range(5):
        record.record('reg.test', 'r%d' % number, DIGEST)
    # Pruned on the first write and every 500th after: the next write prunes again.
    record._writes = 500  # pylint: disable=protected-access
    record.record('reg.test', 'r5', DIGEST)
    assert record.candidates('reg.test', DIGEST, exclude='', limit=10) == ['r5', 'r4', 'r3']
    record.close()


@pytest.mark.parametrize('damage', ['garbage', 'directory', 'read-only'])
def test_a_broken_record_turns_itself_off_and_never_raises(tmp_path: t.Any, damage: str) -> None:
    path = tmp_path / 'cache' / 'cache.sqlite'
    path.parent.mkdir()
    if damage == 'garbage':
        path.write_bytes(b'this is not a database' * 100)
    elif damage == 'directory':
        path.mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip('root writes into read-only directories')
        path.parent.chmod(0o500)
    record = BlobLocations(str(path))
    record.record('reg.test', 'a', DIGEST)
    assert record.candidates('reg.test', DIGEST, exclude='') == []
    record.forget('reg.test', 'a', DIGEST)
    assert not record.enabled


def test_one_record_per_path_per_process(tmp_path: t.Any) -> None:
    assert blob_locations(None) is None and blob_locations('') is None
    first = blob_locations(str(tmp_path / 'x.sqlite'))
    assert first is blob_locations(str(tmp_path / 'x.sqlite')) and first is not blob_locations(str(tmp_path / 'y.sqlite'))


# -- what a registry destination does with it ------------------------------------------------------------------


def destination(fake: t.Any, repository: str, cache: str | None, **kwargs: t.Any) -> t.Any:
    client = make_client(fake, **kwargs)
    client.options.blob_info_cache = cache
    return DockerTransport().parse_reference('//registry.test/%s:v1' % repository).new_destination(client.options, client=client)


def close(dest: t.Any) -> None:
    dest.close()
    dest.client.close()


def test_an_upload_is_recorded_and_a_later_copy_mounts_from_it(fake: FakeRegistry, tmp_path: t.Any) -> None:
    cache = str(tmp_path / 'cache.sqlite')
    first = destination(fake, 'team/one', cache)
    try:
        assert first.try_reuse_blob(BlobInfo(Digest(DIGEST))) is None
        first.put_blob(iter([DATA]), BlobInfo(Digest(DIGEST), len(DATA)))
    finally:
        close(first)
    fake.requests.clear()
    # Another task (no candidates of its own) writing the same blob into another repository of the registry.
    second = destination(fake, 'team/two', cache)
    try:
        assert second.try_reuse_blob(BlobInfo(Digest(DIGEST))) == 'mounted'
    finally:
        close(second)
    posts = [c for c in fake.calls() if c.startswith('POST')]
    assert posts == ['POST /v2/team/two/blobs/uploads/?mount=%s&from=team%%2Fone' % DIGEST.replace(':', '%3A')]
    assert ('team/two', DIGEST) in fake.blobs and not fake.uploads
    # The mount is a fact too: a third repository may mount from either.
    assert sorted(blob_locations(cache).candidates('registry.test', DIGEST, exclude='x')) == ['team/one', 'team/two']


def test_without_a_record_the_blob_is_uploaded(fake: FakeRegistry) -> None:
    fake.add_blob('team/one', DATA)
    dest = destination(fake, 'team/two', None)
    try:
        assert dest.try_reuse_blob(BlobInfo(Digest(DIGEST))) is None
    finally:
        close(dest)
    assert not [c for c in fake.calls() if c.startswith('POST')]


def test_a_present_blob_is_recorded(fake: FakeRegistry, tmp_path: t.Any) -> None:
    cache = str(tmp_path / 'cache.sqlite')
    fake.add_blob('team/one', DATA)
    dest = destination(fake, 'team/one', cache)
    try:
        assert dest.try_reuse_blob(BlobInfo(Digest(DIGEST))) == 'present'
    finally:
        close(dest)
    assert blob_locations(cache).candidates('registry.test', DIGEST, exclude='x') == ['team/one']


@pytest.mark.parametrize('refusal', [
    # The blob is gone from the recorded repository: the registry opens an upload session instead (202).
    'deleted',
    # These credentials may not read the recorded repository: the token server refuses the scope.
    'no-access',
])
def test_a_wrong_record_costs_one_try_is_forgotten_and_never_fails_the_copy(tmp_path: t.Any, refusal: str) -> None:
    cache = str(tmp_path / 'cache.sqlite')
    blob_locations(cache).record('registry.test', 'team/private', DIGEST)
    fake = FakeRegistry(auth='bearer')
    if refusal == 'no-access':
        fake.hooks.append(lambda request: httpx.Response(401, json={'errors': [{'code': 'UNAUTHORIZED'}]})
                          if any('team/private' in scope for scope in request.url.params.get_list('scope')) else None)
    dest = destination(fake, 'team/two', cache, creds=Credentials(USER, PASSWORD))
    try:
        assert dest.try_reuse_blob(BlobInfo(Digest(DIGEST))) is None
        dest.put_blob(iter([DATA]), BlobInfo(Digest(DIGEST), len(DATA)))
    finally:
        close(dest)
    assert ('team/two', DIGEST) in fake.blobs
    assert blob_locations(cache).candidates('registry.test', DIGEST, exclude='x') == ['team/two']
    mounts = [c for c in fake.calls() if 'mount=' in c]
    if refusal == 'deleted':
        # The upload session the declined mount opened is cancelled (DELETE), as for any declined mount.
        assert [c.split('from=')[-1] for c in mounts] == ['team%2Fprivate'] and any(c.startswith('DELETE ') for c in fake.calls())
    else:
        assert 'TOKEN repository:team/two:pull,push repository:team/private:pull' in fake.calls() and not mounts
