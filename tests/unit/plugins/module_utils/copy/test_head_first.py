# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HEAD-first (copy_image(head_first=True), as image_sync copies): an up-to-date registry destination found with HEAD requests only.

Registry to registry on the fake registry (httpx.MockTransport); every assertion is on the requests
it saw and on what the destination holds.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image, head_first_applies
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SignOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyRejectedError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config import parse_policy
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import Clock, FakeRegistry, sha256

httpx = pytest.importorskip('httpx')

SRC = 'docker://registry.test/src/app:v1'
DEST = 'docker://registry.test/mirror/app:v1'
SIMPLE = b'\x89a simple signature'


def add_image(fake: FakeRegistry, repo: str, layer: bytes, tag: str | None = 'v1', arch: str = 'amd64') -> tuple[str, bytes]:
    """An OCI image (config + one gzip layer) in ``repo``; (digest, manifest bytes)."""
    config = json.dumps({'architecture': arch, 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [sha256(layer)]}}).encode()
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
                           'config': {'mediaType': mt.OCI_CONFIG, 'digest': fake.add_blob(repo, config), 'size': len(config)},
                           'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': fake.add_blob(repo, layer),
                                       'size': len(layer)}]}).encode()
    return fake.add_manifest(repo, manifest, mt.OCI_MANIFEST, tag), manifest


def add_index(fake: FakeRegistry, repo: str) -> str:
    """An OCI index of two images (linux/amd64, linux/arm64) tagged v1 in ``repo``; its digest."""
    children = []
    for arch in ('amd64', 'arm64'):
        digest, raw = add_image(fake, repo, b'layer for ' + arch.encode(), tag=None, arch=arch)
        children.append({'mediaType': mt.OCI_MANIFEST, 'digest': digest, 'size': len(raw), 'platform': {'os': 'linux', 'architecture': arch}})
    index = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': children}).encode()
    return fake.add_manifest(repo, index, mt.OCI_INDEX, 'v1')


@pytest.fixture(name='fake')
def fake_fixture() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture(name='options')
def options_fixture(tmp_path: t.Any, fake: FakeRegistry) -> t.Iterator[ConnectionOptions]:
    """Connection options on ``fake`` through one pool, with a registries.d whose lookasides are under tmp_path."""
    registries_d = tmp_path / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'test.yaml').write_text('docker:\n  registry.test/src:\n    lookaside: file://%s\n  registry.test/mirror:\n'
                                            '    lookaside: file://%s\n' % (tmp_path / 'src-sigs', tmp_path / 'mirror-sigs'))

    def factory(registry: str, options: ConnectionOptions) -> RegistryClient:
        return RegistryClient(registry, options, transport=httpx.MockTransport(fake), credentials=lambda *args: None, clock=Clock(),
                              sleep=lambda seconds: None)

    with ClientPool(factory) as pool:
        yield ConnectionOptions(registries_d=str(registries_d), clients=pool)


def sync_copy(options: ConnectionOptions, copy: CopyOptions | None = None, **kwargs: t.Any) -> t.Any:
    return copy_image(parse_image_name(SRC), parse_image_name(DEST), options, options, copy or CopyOptions(), head_first=True, **kwargs)


def calls_from(fake: FakeRegistry, start: int) -> list[str]:
    return [call for call in fake.calls()[start:] if call != 'GET /v2/']


def test_cold_copy_asks_the_destination_once_and_the_source_no_head(fake: FakeRegistry, options: ConnectionOptions) -> None:
    digest, dummy = add_image(fake, 'src/app', b'layer one')
    result = sync_copy(options)
    assert result.changed and str(result.after) == digest
    calls = calls_from(fake, 0)
    # The destination said it holds nothing: the source is read (GET), never HEADed first, and the destination not asked again.
    assert calls[0] == 'HEAD /v2/mirror/app/manifests/v1'
    assert calls.count('HEAD /v2/mirror/app/manifests/v1') == 1
    assert 'HEAD /v2/src/app/manifests/v1' not in calls and 'GET /v2/src/app/manifests/v1' in calls
    assert fake.manifests[('mirror/app', 'v1')][0] == fake.manifests[('src/app', 'v1')][0]


def test_up_to_date_with_two_heads_and_no_manifest_get(fake: FakeRegistry, options: ConnectionOptions) -> None:
    digest, dummy = add_image(fake, 'src/app', b'layer one')
    sync_copy(options)
    start = len(fake.calls())
    again = sync_copy(options)
    assert not again.changed and str(again.after) == digest and again.plan.reason == 'destination already holds %s' % digest
    assert calls_from(fake, start) == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1']
    assert again.as_result()['media_type'] == mt.OCI_MANIFEST and again.as_result()['digest'] == digest


def test_a_moved_source_tag_is_copied_with_one_destination_head(fake: FakeRegistry, options: ConnectionOptions) -> None:
    add_image(fake, 'src/app', b'layer one')
    sync_copy(options)
    moved, dummy = add_image(fake, 'src/app', b'layer two')
    start = len(fake.calls())
    result = sync_copy(options)
    assert result.changed and str(result.after) == moved and sha256(fake.manifests[('mirror/app', 'v1')][0]) == moved
    calls = calls_from(fake, start)
    assert calls[:3] == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1', 'GET /v2/src/app/manifests/v1']
    assert calls.count('HEAD /v2/mirror/app/manifests/v1') == 1


def test_a_source_that_refuses_head_is_read_as_always(fake: FakeRegistry, options: ConnectionOptions) -> None:
    add_image(fake, 'src/app', b'layer one')
    sync_copy(options)
    fake.hooks.append(lambda request: httpx.Response(405) if request.method == 'HEAD' and '/src/' in request.url.path else None)
    start = len(fake.calls())
    again = sync_copy(options)
    assert not again.changed
    assert calls_from(fake, start)[:3] == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1', 'GET /v2/src/app/manifests/v1']


@pytest.mark.parametrize('copy', [CopyOptions(format='oci'), CopyOptions(force=True), CopyOptions(compress_format='gzip'),
                                  CopyOptions(dest_compress=True), CopyOptions(platforms=('linux/amd64',))],
                         ids=['format', 'force', 'compress_format', 'dest_compress', 'platforms'])
def test_options_that_may_change_the_digest_read_the_source(fake: FakeRegistry, options: ConnectionOptions, copy: CopyOptions) -> None:
    add_image(fake, 'src/app', b'layer one')
    sync_copy(options)
    assert not head_first_applies(parse_image_name(SRC), parse_image_name(DEST), copy)
    start = len(fake.calls())
    sync_copy(options, copy)
    calls = calls_from(fake, start)
    assert 'GET /v2/src/app/manifests/v1' in calls and 'HEAD /v2/src/app/manifests/v1' not in calls


def test_signing_or_extra_tags_or_other_transports_never_head_first() -> None:
    src, dest = parse_image_name(SRC), parse_image_name(DEST)
    assert head_first_applies(src, dest, CopyOptions())
    assert not head_first_applies(src, dest, CopyOptions(), sign=SignOptions(gpg_key='ABCD'))
    assert not head_first_applies(src, dest, CopyOptions(), extra_refs=[parse_image_name(DEST + '-more')])
    assert not head_first_applies(src, parse_image_name('oci:/tmp/layout:app'), CopyOptions())
    assert not head_first_applies(parse_image_name('dir:/tmp/image'), dest, CopyOptions())


def test_whole_index_by_heads_but_one_platform_out_of_it_is_copied(fake: FakeRegistry, options: ConnectionOptions) -> None:
    index = add_index(fake, 'src/app')
    sync_copy(options, CopyOptions(multi_arch='all'))
    start = len(fake.calls())
    again = sync_copy(options, CopyOptions(multi_arch='all'))
    assert not again.changed and str(again.after) == index
    assert calls_from(fake, start) == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1']
    # multi_arch: system writes one image of the index: a destination holding the index itself is not that.
    single = sync_copy(options, CopyOptions(override_os='linux', override_arch='arm64'))
    assert single.changed and single.plan.platform == 'linux/arm64'
    assert fake.manifests[('mirror/app', 'v1')][1] == mt.OCI_MANIFEST


def test_a_policy_that_accepts_anything_is_asked_by_heads(fake: FakeRegistry, options: ConnectionOptions) -> None:
    add_image(fake, 'src/app', b'layer one')
    sync_copy(options)
    policy = parse_policy(b'{"default": [{"type": "insecureAcceptAnything"}]}', 'policy data')
    start = len(fake.calls())
    again = sync_copy(options, policy=policy)
    assert not again.changed and calls_from(fake, start) == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1']
    assert again.policy == {'source': 'inline', 'scope': 'default', 'requirement': 'insecureAcceptAnything'}


def test_a_policy_that_may_reject_reads_the_source_before_the_destination(fake: FakeRegistry, options: ConnectionOptions) -> None:
    add_image(fake, 'src/app', b'layer one')
    sync_copy(options)
    policy = parse_policy(b'{"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {"registry.test/src": [{"type": "reject"}]}}}',
                          'policy data')
    start = len(fake.calls())
    with pytest.raises(PolicyRejectedError):
        sync_copy(options, policy=policy)
    # Rejected on the manifest's bytes, before the destination was asked anything.
    assert calls_from(fake, start) == ['GET /v2/src/app/manifests/v1']


def test_signatures_are_compared_by_digest(fake: FakeRegistry, options: ConnectionOptions, tmp_path: t.Any) -> None:
    digest, dummy = add_image(fake, 'src/app', b'layer one')
    stored = tmp_path / 'src-sigs' / ('src/app@%s' % digest.replace(':', '=')) / 'signature-1'
    stored.parent.mkdir(parents=True)
    stored.write_bytes(SIMPLE)
    assert sync_copy(options).changed
    copied = tmp_path / 'mirror-sigs' / ('mirror/app@%s' % digest.replace(':', '=')) / 'signature-1'
    assert copied.read_bytes() == SIMPLE
    start = len(fake.calls())
    assert not sync_copy(options).changed
    assert calls_from(fake, start) == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1']
    # The destination lost its signature: HEAD-first says "not up to date" and the copy (which reads the source) puts it back.
    copied.unlink()
    start = len(fake.calls())
    again = sync_copy(options)
    assert again.changed and again.plan.reason == 'the destination holds the image but not its 1 signature'
    assert 'GET /v2/src/app/manifests/v1' in calls_from(fake, start) and copied.read_bytes() == SIMPLE
    # remove_signatures: the destination holds one to drop.
    removed = sync_copy(options, CopyOptions(remove_signatures=True))
    assert removed.changed and not copied.exists()
    start = len(fake.calls())
    assert not sync_copy(options, CopyOptions(remove_signatures=True)).changed
    assert calls_from(fake, start) == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1']


def test_what_the_destination_tag_list_said(fake: FakeRegistry, options: ConnectionOptions) -> None:
    digest, dummy = add_image(fake, 'src/app', b'layer one')
    # Absent from the list: copied without asking the destination's digest.
    assert sync_copy(options, dest_listed=False).changed
    assert not [call for call in fake.calls() if call.startswith('HEAD /v2/mirror/app/manifests/')]
    # Present in it: both ends asked (at once), still two HEADs and no manifest GET.
    start = len(fake.calls())
    again = sync_copy(options, dest_listed=True)
    assert not again.changed and str(again.after) == digest
    assert sorted(calls_from(fake, start)) == ['HEAD /v2/mirror/app/manifests/v1', 'HEAD /v2/src/app/manifests/v1']
    # Listed, but the source moved: copied, the destination asked once.
    moved, dummy = add_image(fake, 'src/app', b'layer two')
    start = len(fake.calls())
    assert str(sync_copy(options, dest_listed=True).after) == moved
    assert calls_from(fake, start).count('HEAD /v2/mirror/app/manifests/v1') == 1
