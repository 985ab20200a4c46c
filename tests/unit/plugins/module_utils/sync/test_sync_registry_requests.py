# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync's requests registry to registry, on the fake registry: what a cold sync and an up-to-date one ask."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.sync import engine
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import parse_docker_source
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import pool as pool_module
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_head_first import add_image
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import Clock, FakeRegistry, error_body

httpx = pytest.importorskip('httpx')

TAGS = ('a', 'b', 'c')


@pytest.fixture(name='fake')
def fake_fixture(monkeypatch: t.Any) -> FakeRegistry:
    """A fake registry holding src/app:a..c; every client a sync's pool makes talks to it."""
    fake = FakeRegistry()
    for number, tag in enumerate(TAGS):
        add_image(fake, 'src/app', b'layer %d' % number, tag=tag)

    def client(registry: str, options: ConnectionOptions) -> RegistryClient:
        return RegistryClient(registry, options, transport=httpx.MockTransport(fake), credentials=lambda *args: None, clock=Clock(),
                              sleep=lambda seconds: None)

    monkeypatch.setattr(pool_module, 'RegistryClient', client)
    return fake


def sync(tmp_path: t.Any, **changes: t.Any) -> engine.SyncResult:
    registries_d = tmp_path / 'registries.d'
    registries_d.mkdir(exist_ok=True)
    (registries_d / 'test.yaml').write_text('default-docker:\n  lookaside: file://%s\n' % (tmp_path / 'sigs'))
    options = ConnectionOptions(registries_d=str(registries_d))
    return engine.run_sync(parse_docker_source('registry.test/src/app'), engine.SyncOptions(dest='registry.test/mirror', dest_type='docker', **changes),
                           options, options)


def manifest_requests(fake: FakeRegistry, start: int) -> list[str]:
    return sorted(call for call in fake.calls()[start:] if '/manifests/' in call or '/tags/' in call)


def test_cold_sync_lists_the_destination_once_instead_of_a_head_per_image(fake: FakeRegistry, tmp_path: t.Any) -> None:
    first = sync(tmp_path)
    assert first.summary()['copied'] == 3 and not first.failed
    assert manifest_requests(fake, 0) == sorted(
        ['GET /v2/src/app/tags/list', 'GET /v2/mirror/app/tags/list'] + ['GET /v2/src/app/manifests/%s' % tag for tag in TAGS]
        + ['PUT /v2/mirror/app/manifests/%s' % tag for tag in TAGS])
    start = len(fake.calls())
    again = sync(tmp_path)
    assert again.summary()['skipped'] == 3 and not again.changed
    # Up to date: the tags are listed, and each image costs a HEAD at each end (HEAD-first), no manifest GET.
    assert manifest_requests(fake, start) == sorted(
        ['GET /v2/src/app/tags/list', 'GET /v2/mirror/app/tags/list'] + ['HEAD /v2/src/app/manifests/%s' % tag for tag in TAGS]
        + ['HEAD /v2/mirror/app/manifests/%s' % tag for tag in TAGS])


def test_a_destination_without_a_tag_list_is_asked_per_image(fake: FakeRegistry, tmp_path: t.Any) -> None:
    # A bare 404 (no NAME_UNKNOWN): the registry has no tag list API, which says nothing about the tags it holds.
    fake.hooks.append(lambda request: httpx.Response(404) if request.url.path == '/v2/mirror/app/tags/list' else None)
    first = sync(tmp_path)
    assert first.summary()['copied'] == 3
    assert sorted(call for call in fake.calls() if call.startswith('HEAD /v2/mirror/app/manifests/')) == [
        'HEAD /v2/mirror/app/manifests/%s' % tag for tag in TAGS]
    again = sync(tmp_path)
    assert again.summary()['skipped'] == 3 and not again.changed


def test_a_tag_list_refused_leaves_the_heads(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.hooks.append(lambda request: httpx.Response(403, content=error_body('DENIED')) if request.url.path == '/v2/mirror/app/tags/list'
                      else None)
    sync(tmp_path)
    start = len(fake.calls())
    assert sync(tmp_path).summary()['skipped'] == 3
    assert sorted(call for call in fake.calls()[start:] if call.startswith('HEAD /v2/mirror/app/manifests/')) == [
        'HEAD /v2/mirror/app/manifests/%s' % tag for tag in TAGS]


def test_a_tag_listed_is_asked_and_a_moved_one_copied(fake: FakeRegistry, tmp_path: t.Any) -> None:
    sync(tmp_path)
    moved, dummy = add_image(fake, 'src/app', b'layer moved', tag='b')
    again = sync(tmp_path)
    by_tag = {item['dest'].rsplit(':', 1)[1]: item for item in again.images}
    assert by_tag['b']['action'] == 'copied' and by_tag['b']['digest'] == moved
    assert [by_tag[tag]['action'] for tag in ('a', 'c')] == ['skipped', 'skipped']


def name_unknown(fake: FakeRegistry, repo: str) -> None:
    """As distribution: the tag list of a repository without tags is 404 NAME_UNKNOWN (the fake answers an empty list)."""
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == '/v2/%s/tags/list' % repo and not any(r == repo for (r, dummy) in fake.manifests):
            return httpx.Response(404, content=error_body('NAME_UNKNOWN', 'repository name not known to registry'))
        return None

    fake.hooks.append(hook)


def blob_heads(fake: FakeRegistry, start: int = 0) -> list[str]:
    return [call for call in fake.calls()[start:] if call.startswith('HEAD /v2/mirror/app/blobs/')]


def test_small_blobs_into_a_repository_the_registry_did_not_know_are_sent_unasked(fake: FakeRegistry, tmp_path: t.Any) -> None:
    name_unknown(fake, 'mirror/app')
    first = sync(tmp_path)
    assert first.summary()['copied'] == 3 and blob_heads(fake) == []
    assert all(fake.manifests[('mirror/app', tag)] == fake.manifests[('src/app', tag)] for tag in TAGS)
    # The repository exists now: a new image's blobs are asked for as always.
    add_image(fake, 'src/app', b'layer d', tag='d')
    start = len(fake.calls())
    assert sync(tmp_path).summary()['copied'] == 1
    assert len(blob_heads(fake, start)) == 2


def test_a_large_blob_is_asked_even_there(fake: FakeRegistry, tmp_path: t.Any, monkeypatch: t.Any) -> None:
    # What a push interrupted before its first tag left: a layer already there, and no tag.
    name_unknown(fake, 'mirror/app')
    layer = fake.add_blob('mirror/app', b'layer 0')
    monkeypatch.setattr('ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination.UNASKED_BLOB_MAX', 6)
    first = sync(tmp_path)
    assert first.summary()['copied'] == 3
    # Every layer (7 bytes) is asked, and the one there is not sent again; the configs (more bytes) are asked too.
    assert 'HEAD /v2/mirror/app/blobs/%s' % layer in blob_heads(fake)
    assert not [call for call in fake.calls() if call.startswith('PUT /v2/mirror/app/blobs/uploads/') and layer in call]
