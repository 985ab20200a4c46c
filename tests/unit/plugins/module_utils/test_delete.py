# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Deleting images: the pure plan, registries (httpx.MockTransport) and OCI layouts with their blob collection."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.delete import (
    CHECK_MODE_CANNOT_TELL,
    DeleteTarget,
    SharedDigestError,
    blob_references,
    delete_image,
    plan_delete,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AccessDeniedError,
    AuthenticationError,
    InvalidInputError,
    InvalidReferenceError,
    UnsupportedOperationError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import ACCEPT_MANIFESTS
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    USER,
    Credentials,
    FakeRegistry,
    error_body,
    make_client,
    sha256,
)

httpx = pytest.importorskip('httpx')

D1 = Digest('sha256:' + '1' * 64)
D2 = Digest('sha256:' + '2' * 64)


# -- the plan ------------------------------------------------------------------------------------------------

PLANS = [
    # (target, force, tag_delete, last_tag_takes_digest, action, deleted_tags)
    (DeleteTarget('v1', None), False, None, True, 'absent', ()),
    (DeleteTarget('v1', D1, ('v1',)), False, None, True, 'digest', ('v1',)),
    (DeleteTarget('v1', D1, ()), False, False, True, 'digest', ('v1',)),
    (DeleteTarget('v1', D1, ('latest', 'v1')), False, None, True, 'tag', ('v1',)),
    (DeleteTarget('v1', D1, ('latest', 'v1')), True, None, True, 'tag', ('v1',)),
    (DeleteTarget('v1', D1, ('v1', 'latest', 'stable')), True, False, True, 'digest', ('latest', 'stable', 'v1')),
    (DeleteTarget(None, D1, ()), False, None, True, 'digest', ()),
    (DeleteTarget(None, D1, ('b', 'a')), True, None, True, 'digest', ('a', 'b')),
    # OCI layouts: a name always goes alone, even the last one on its digest (untagged entries stay).
    (DeleteTarget('v1', D1, ('v1',)), False, True, False, 'tag', ('v1',)),
    (DeleteTarget('v1', D1, ('v1', 'v2')), False, True, False, 'tag', ('v1',)),
]


@pytest.mark.parametrize('target, force, tag_delete, last, action, deleted', PLANS)
def test_plan(target: DeleteTarget, force: bool, tag_delete: bool | None, last: bool, action: str, deleted: tuple[str, ...]) -> None:
    plan = plan_delete(target, force, tag_delete, last_tag_takes_digest=last)
    assert (plan.action, plan.deleted_tags) == (action, deleted)
    assert plan.digest == target.digest


def test_plan_refuses_a_tag_whose_digest_carries_others() -> None:
    with pytest.raises(SharedDigestError) as info:
        plan_delete(DeleteTarget('v1', D1, ('v1', 'stable', 'latest')), False, False)
    assert info.value.message == ('not deleted: digest %s also carries the tags latest, stable, which would disappear too '
                                  '(the registry cannot delete a tag alone); set force: true to delete them all' % D1)


def test_plan_refuses_a_digest_with_tags() -> None:
    with pytest.raises(SharedDigestError) as info:
        plan_delete(DeleteTarget(None, D1, ('latest',)), False, None)
    assert info.value.message == 'not deleted: the tag latest points at %s and would disappear with it; set force: true to delete them all' % D1
    with pytest.raises(SharedDigestError, match='the tags a, b point at'):
        plan_delete(DeleteTarget(None, D1, ('b', 'a')), False, True)


def test_plan_is_pure() -> None:
    target = DeleteTarget('v1', D1, ('v1', 'latest'))
    assert plan_delete(target, False, None) == plan_delete(target, False, None)
    assert target == DeleteTarget('v1', D1, ('v1', 'latest'))


# -- registries: a fake with DELETE ---------------------------------------------------------------------------

MANIFEST_A = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': {'mediaType': mt.OCI_CONFIG, 'digest': str(D1), 'size': 2},
                         'layers': []}).encode()
MANIFEST_B = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': {'mediaType': mt.OCI_CONFIG, 'digest': str(D2), 'size': 2},
                         'layers': []}).encode()


class Deletes:
    """A DELETE hook for FakeRegistry, behaving as one kind of registry.

    ``oci11`` deletes a tag alone (distribution-spec 1.1); ``dist28`` answers a tag DELETE with 400
    DIGEST_INVALID as distribution 2.8 does; ``disabled`` answers 405 UNSUPPORTED to every DELETE;
    ``greedy`` resolves a tag and deletes its manifest with every tag on it.
    """

    def __init__(self, fake: FakeRegistry, mode: str) -> None:
        self.fake = fake
        self.mode = mode
        fake.hooks.append(self)

    def __call__(self, request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if request.method != 'DELETE' or '/manifests/' not in path:
            return None
        repo, ref = path[len('/v2/'):].split('/manifests/')
        if not self.fake._allowed(request, repo, 'delete'):  # pylint: disable=protected-access
            return None  # the fake answers the challenge
        if self.mode == 'disabled':
            return httpx.Response(405, content=error_body('UNSUPPORTED', 'The operation is unsupported.'))
        is_digest = ref.startswith('sha256:')
        if not is_digest and self.mode == 'dist28':
            return httpx.Response(400, content=error_body('DIGEST_INVALID', 'provided digest did not match uploaded content'))
        entry = self.fake.manifests.get((repo, ref))
        if entry is None:
            return httpx.Response(404, content=error_body('MANIFEST_UNKNOWN', 'manifest unknown'))
        if is_digest or self.mode == 'greedy':
            digest = sha256(entry[0])
            for key in [key for key, value in self.fake.manifests.items() if key[0] == repo and sha256(value[0]) == digest]:
                del self.fake.manifests[key]
        else:
            del self.fake.manifests[(repo, ref)]
        return httpx.Response(202)


@pytest.fixture(name='fake')
def fake_fixture() -> FakeRegistry:
    """An anonymous fake registry."""
    return FakeRegistry()


def tags_of(fake: FakeRegistry, repo: str = 'app') -> list[str]:
    return sorted(ref for (name, ref) in fake.manifests if name == repo and not ref.startswith('sha256:'))


def setup_repo(fake: FakeRegistry, shared: t.Sequence[str] = ('v1', 'latest', 'stable'), alone: t.Sequence[str] = ('other',)) -> str:
    digest = ''
    for tag in shared:
        digest = fake.add_manifest('app', MANIFEST_A, mt.OCI_MANIFEST, tag=tag)
    for tag in alone:
        fake.add_manifest('app', MANIFEST_B, mt.OCI_MANIFEST, tag=tag)
    return digest


def run_delete(fake: FakeRegistry, image: str, force: bool = False, check_mode: bool = False, **kwargs: t.Any) -> dict[str, t.Any]:
    client = make_client(fake, **kwargs)
    try:
        return delete_image(parse_image_name('docker://registry.test/' + image), client.options, force=force, check_mode=check_mode,
                            client=client).as_result()
    finally:
        client.close()


def deletes(fake: FakeRegistry) -> list[str]:
    return [call for call in fake.calls() if call.startswith('DELETE ')]


def test_tag_deleted_alone_where_the_registry_can(fake: FakeRegistry) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'oci11')
    result = run_delete(fake, 'app:v1')
    assert result == {'changed': True, 'digest': digest, 'deleted_tags': ['v1'],
                      'reason': 'deleting the tag v1 alone; %s keeps the tags latest, stable' % digest,
                      'diff': {'before': {'digest': digest, 'tags': ['v1']}, 'after': None}, 'deleted_signatures': 0}
    assert deletes(fake) == ['DELETE /v2/app/manifests/v1']
    assert tags_of(fake) == ['latest', 'other', 'stable']


def test_shared_digest_refused_where_tags_cannot_go_alone(fake: FakeRegistry) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'dist28')
    with pytest.raises(SharedDigestError) as info:
        run_delete(fake, 'app:v1')
    assert info.value.message == ('not deleted: digest %s also carries the tags latest, stable, which would disappear too '
                                  '(the registry cannot delete a tag alone); set force: true to delete them all' % digest)
    assert deletes(fake) == ['DELETE /v2/app/manifests/v1']
    assert tags_of(fake) == ['latest', 'other', 'stable', 'v1']


def test_force_deletes_the_digest_and_lists_every_tag(fake: FakeRegistry) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'dist28')
    result = run_delete(fake, 'app:v1', force=True)
    assert result['changed'] is True
    assert result['deleted_tags'] == ['latest', 'stable', 'v1']
    assert result['diff'] == {'before': {'digest': digest, 'tags': ['latest', 'stable', 'v1']}, 'after': None}
    assert deletes(fake) == ['DELETE /v2/app/manifests/v1', 'DELETE /v2/app/manifests/%s' % digest]
    assert tags_of(fake) == ['other']


def test_only_tag_deletes_the_digest_at_once(fake: FakeRegistry) -> None:
    setup_repo(fake)
    digest = sha256(MANIFEST_B)
    Deletes(fake, 'oci11')
    result = run_delete(fake, 'app:other')
    assert result['deleted_tags'] == ['other']
    assert result['digest'] == digest
    assert deletes(fake) == ['DELETE /v2/app/manifests/%s' % digest]
    assert ('app', digest) not in fake.manifests


def test_digest_reference_counts_every_tag(fake: FakeRegistry) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'oci11')
    with pytest.raises(SharedDigestError) as info:
        run_delete(fake, 'app@' + digest)
    assert info.value.message == ('not deleted: the tags latest, stable, v1 point at %s and would disappear with it; '
                                  'set force: true to delete them all' % digest)
    assert deletes(fake) == []
    result = run_delete(fake, 'app@' + digest, force=True)
    assert result['deleted_tags'] == ['latest', 'stable', 'v1']
    assert deletes(fake) == ['DELETE /v2/app/manifests/%s' % digest]


def test_untagged_digest_is_deleted_without_force(fake: FakeRegistry) -> None:
    digest = fake.add_manifest('app', MANIFEST_A, mt.OCI_MANIFEST)
    Deletes(fake, 'dist28')
    result = run_delete(fake, 'app@' + digest)
    assert (result['changed'], result['deleted_tags']) == (True, [])
    assert result['diff']['before'] == {'digest': digest, 'tags': []}


def test_absent_image_is_ok_and_sends_no_delete(fake: FakeRegistry) -> None:
    setup_repo(fake)
    Deletes(fake, 'oci11')
    for image in ('app:missing', 'nothere:v1', 'app@' + str(D2)):
        result = run_delete(fake, image)
        assert result == {'changed': False, 'digest': None, 'deleted_tags': [], 'reason': 'the image is absent',
                          'diff': {'before': None, 'after': None}}
    assert deletes(fake) == []


def test_second_run_is_ok(fake: FakeRegistry) -> None:
    setup_repo(fake)
    Deletes(fake, 'oci11')
    assert run_delete(fake, 'app:v1')['changed'] is True
    assert run_delete(fake, 'app:v1')['changed'] is False


def test_check_mode_predicts_without_deleting(fake: FakeRegistry) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'oci11')
    result = run_delete(fake, 'app:other', check_mode=True)
    assert (result['changed'], result['deleted_tags']) == (True, ['other'])
    # A shared digest: check mode cannot try the tag alone, so it predicts the refusal...
    with pytest.raises(SharedDigestError) as info:
        run_delete(fake, 'app:v1', check_mode=True)
    assert CHECK_MODE_CANNOT_TELL in info.value.message
    # ...and with force every tag, with a warning that a capable registry deletes less.
    forced = run_delete(fake, 'app:v1', check_mode=True, force=True)
    assert forced['deleted_tags'] == ['latest', 'stable', 'v1']
    assert forced['diff'] == {'before': {'digest': digest, 'tags': ['latest', 'stable', 'v1']}, 'after': None}
    assert 'will delete only it and keep the tags latest, stable' in forced['warnings'][0]
    assert deletes(fake) == []
    assert tags_of(fake) == ['latest', 'other', 'stable', 'v1']


def test_deletes_disabled_says_what_to_set(fake: FakeRegistry) -> None:
    setup_repo(fake)
    Deletes(fake, 'disabled')
    with pytest.raises(UnsupportedOperationError) as info:
        run_delete(fake, 'app:other')
    message = info.value.message
    assert message.startswith('deleting registry.test/app@%s: UNSUPPORTED: The operation is unsupported. (HTTP 405' % sha256(MANIFEST_B))
    assert message.endswith('deleting is disabled on this registry; its operator must enable it '
                            '(distribution: storage.delete.enabled: true in its configuration, or REGISTRY_STORAGE_DELETE_ENABLED=true)')


def test_deletes_disabled_with_a_shared_digest(fake: FakeRegistry) -> None:
    setup_repo(fake)
    Deletes(fake, 'disabled')
    with pytest.raises(SharedDigestError, match='refused to delete the tag alone with HTTP 405 UNSUPPORTED; deleting may be disabled'):
        run_delete(fake, 'app:v1')
    with pytest.raises(UnsupportedOperationError, match='storage.delete.enabled'):
        run_delete(fake, 'app:v1', force=True)


def test_greedy_tag_delete_is_reported(fake: FakeRegistry) -> None:
    setup_repo(fake)
    Deletes(fake, 'greedy')
    result = run_delete(fake, 'app:v1')
    assert result['deleted_tags'] == ['latest', 'stable', 'v1']
    assert result['warnings'] == ['the registry deleted more than the tag v1: the tags latest, stable disappeared too']


def test_a_404_for_a_tag_that_still_resolves_falls_back(fake: FakeRegistry) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'oci11')

    def not_found_for_tags(request: httpx.Request) -> httpx.Response | None:
        if request.method == 'DELETE' and not request.url.path.split('/')[-1].startswith('sha256:'):
            return httpx.Response(404, content=error_body('MANIFEST_UNKNOWN'))
        return None

    fake.hooks.insert(0, not_found_for_tags)
    with pytest.raises(SharedDigestError):
        run_delete(fake, 'app:v1')
    result = run_delete(fake, 'app:v1', force=True)
    assert result['deleted_tags'] == ['latest', 'stable', 'v1']
    assert deletes(fake)[-1] == 'DELETE /v2/app/manifests/%s' % digest


class LoseFirstAnswer:
    """The first DELETE reaches the registry, which carries it out; its answer is then lost (``error``)."""

    def __init__(self, fake: FakeRegistry, error: t.Any) -> None:
        self.fake = fake
        self.error = error
        fake.hooks.insert(0, self)

    def __call__(self, request: httpx.Request) -> httpx.Response | None:
        if request.method != 'DELETE':
            return None
        self.fake.hooks.remove(self)
        self.fake(request)
        self.fake.requests.pop()
        if isinstance(self.error, BaseException):
            raise self.error
        return self.error


LOST = [httpx.ReadError('[Errno 104] Connection reset by peer'), httpx.ReadTimeout('timed out'), httpx.Response(504)]


@pytest.mark.parametrize('error', LOST, ids=['reset', 'timeout', 'gateway'])
def test_a_digest_delete_whose_answer_was_lost_is_reported_as_this_runs(fake: FakeRegistry, error: t.Any) -> None:
    digest = setup_repo(fake, shared=('v1',))
    Deletes(fake, 'dist28')
    LoseFirstAnswer(fake, error)
    result = run_delete(fake, 'app:v1')
    assert result['changed'] is True
    assert result['deleted_tags'] == ['v1']
    assert result['digest'] == digest
    assert result['warnings'] == ['the answer to deleting %s was lost; the retry found it gone, so this run counts it as deleted' % digest]
    assert tags_of(fake) == ['other']
    assert deletes(fake) == ['DELETE /v2/app/manifests/%s' % digest] * 2
    assert fake.calls()[-1] == 'HEAD /v2/app/manifests/%s' % digest


def test_a_tag_delete_whose_answer_was_lost_is_reported_as_this_runs(fake: FakeRegistry) -> None:
    setup_repo(fake)
    Deletes(fake, 'oci11')
    LoseFirstAnswer(fake, LOST[0])
    result = run_delete(fake, 'app:v1')
    assert result['changed'] is True
    assert result['deleted_tags'] == ['v1']
    assert result['warnings'] == ['the answer to deleting v1 was lost; the retry found it gone, so this run counts it as deleted']
    assert tags_of(fake) == ['latest', 'other', 'stable']


def test_a_404_without_a_lost_answer_is_still_someone_elses(fake: FakeRegistry) -> None:
    digest = setup_repo(fake, shared=('v1',))

    def gone_meanwhile(request: httpx.Request) -> httpx.Response | None:
        if request.method == 'DELETE':
            return httpx.Response(404, content=error_body('MANIFEST_UNKNOWN'))
        return None

    fake.hooks.insert(0, gone_meanwhile)
    result = run_delete(fake, 'app:v1')
    assert result['changed'] is False and result['deleted_tags'] == []
    assert result['reason'] == 'the image disappeared before it was deleted'
    assert deletes(fake) == ['DELETE /v2/app/manifests/%s' % digest]


def test_tag_digests_use_the_same_accept_list_and_bounded_parallelism(fake: FakeRegistry) -> None:
    many = ['t%02d' % number for number in range(24)]
    digest = setup_repo(fake, shared=('v1',), alone=many)
    Deletes(fake, 'oci11')
    lock = threading.Lock()
    state = {'now': 0, 'peak': 0}

    def slow_heads(request: httpx.Request) -> None:
        if request.method == 'HEAD':
            with lock:
                state['now'] += 1
                state['peak'] = max(state['peak'], state['now'])
            time.sleep(0.01)
            with lock:
                state['now'] -= 1

    fake.hooks.insert(0, slow_heads)
    result = run_delete(fake, 'app:v1', max_parallel=4)
    assert result['deleted_tags'] == ['v1']
    heads = [request for request in fake.requests if request.method == 'HEAD']
    # The named tag once, then every other tag once; never the named tag twice.
    assert sorted(request.url.path for request in heads) == sorted(['/v2/app/manifests/v1'] + ['/v2/app/manifests/%s' % tag for tag in many])
    assert {request.headers['accept'] for request in heads} == {ACCEPT_MANIFESTS}
    assert 1 < state['peak'] <= 4
    assert deletes(fake) == ['DELETE /v2/app/manifests/%s' % digest]


def test_token_requests_ask_for_delete() -> None:
    fake = FakeRegistry(auth='bearer')
    digest = setup_repo(fake)
    Deletes(fake, 'dist28')
    creds = Credentials(USER, PASSWORD)
    result = run_delete(fake, 'app:v1', force=True, creds=creds)
    assert result['deleted_tags'] == ['latest', 'stable', 'v1']
    tokens = [call for call in fake.calls() if call.startswith('TOKEN')]
    assert tokens == ['TOKEN repository:app:pull,delete']
    assert deletes(fake)[-1] == 'DELETE /v2/app/manifests/%s' % digest
    fake.requests.clear()
    run_delete(fake, 'app:other', check_mode=True, creds=creds)
    assert [call for call in fake.calls() if call.startswith('TOKEN')] == ['TOKEN repository:app:pull']


@pytest.mark.parametrize('creds, error, ending', [
    (Credentials(USER, PASSWORD), AccessDeniedError, 'the same credentials could read registry.test/app, so they lack the delete permission on it'),
    (None, AuthenticationError, 'anonymous access could read registry.test/app, but deleting needs credentials with the delete permission'),
])
def test_credentials_without_delete_permission(creds: t.Any, error: type[Exception], ending: str) -> None:
    fake = FakeRegistry(auth='bearer')
    setup_repo(fake)
    Deletes(fake, 'oci11')

    def pull_only(request: httpx.Request) -> httpx.Response | None:
        # A token server that grants only pull, whatever is asked.
        if request.url.host != 'auth.test':
            return None
        token = 'pull-only-%d' % len(fake.tokens)
        fake.tokens[token] = {(scope.split(':')[1], 'pull') for scope in fake.scopes_of(request)}
        return httpx.Response(200, json={'token': token, 'expires_in': 300})

    fake.hooks.insert(0, pull_only)
    with pytest.raises(error) as info:
        run_delete(fake, 'app:other', creds=creds)
    assert info.value.message.startswith('deleting registry.test/app@%s: UNAUTHORIZED' % sha256(MANIFEST_B))
    assert info.value.message.endswith(ending)
    assert 'wrong username or password' not in info.value.message
    assert tags_of(fake) == ['latest', 'other', 'stable', 'v1']


def test_tag_and_digest_together_are_refused(fake: FakeRegistry) -> None:
    with pytest.raises(InvalidReferenceError, match='names both a tag and a digest'):
        run_delete(fake, 'app:v1@' + str(D1))
    assert fake.requests == []


@pytest.mark.parametrize('image, transport', [('dir:/tmp/x', 'dir'), ('oci-archive:/tmp/x.tar', 'oci-archive'),
                                              ('docker-archive:/tmp/x.tar', 'docker-archive')])
def test_other_transports_are_refused(image: str, transport: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        delete_image(parse_image_name(image), ConnectionOptions())
    assert info.value.message == 'deleting is not supported for %s: images (only docker:, oci: and containers-storage: images can be deleted)' % transport


# -- OCI layouts ------------------------------------------------------------------------------------------------

REF_NAME = 'org.opencontainers.image.ref.name'


class LayoutBuilder:
    """Writes a small OCI layout by hand: blobs, manifests, indexes and index.json entries."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.join(path, 'blobs', 'sha256'), exist_ok=True)
        with open(os.path.join(path, 'oci-layout'), 'w', encoding='utf-8') as handle:
            handle.write('{"imageLayoutVersion":"1.0.0"}')
        self.entries: list[dict[str, t.Any]] = []
        self.write_index()

    def blob(self, data: bytes) -> str:
        digest = 'sha256:' + hashlib.sha256(data).hexdigest()
        with open(self.blob_path(digest), 'wb') as handle:
            handle.write(data)
        return digest

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.path, 'blobs', *digest.split(':'))

    def image(self, *layers: bytes, config: bytes = b'{"architecture":"amd64","os":"linux"}') -> tuple[str, int, list[str]]:
        """A manifest over ``layers``: (digest, size, [config, layers...])."""
        config_digest = self.blob(config)
        layer_descs = [{'mediaType': mt.OCI_LAYER_GZIP, 'digest': self.blob(layer), 'size': len(layer)} for layer in layers]
        raw = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
                          'config': {'mediaType': mt.OCI_CONFIG, 'digest': config_digest, 'size': len(config)},
                          'layers': layer_descs}).encode()
        return self.blob(raw), len(raw), [config_digest] + [desc['digest'] for desc in layer_descs]

    def index(self, *children: tuple[str, int, list[str]]) -> tuple[str, int]:
        raw = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': [
            {'mediaType': mt.OCI_MANIFEST, 'digest': digest, 'size': size, 'platform': {'os': 'linux', 'architecture': 'arch%d' % number}}
            for number, (digest, size, dummy) in enumerate(children)]}).encode()
        return self.blob(raw), len(raw)

    def entry(self, digest: str, size: int, name: str | None = None, media_type: str = mt.OCI_MANIFEST) -> None:
        entry: dict[str, t.Any] = {'mediaType': media_type, 'digest': digest, 'size': size}
        if name:
            entry['annotations'] = {REF_NAME: name}
        self.entries.append(entry)
        self.write_index()

    def write_index(self) -> None:
        with open(os.path.join(self.path, 'index.json'), 'w', encoding='utf-8') as handle:
            json.dump({'schemaVersion': 2, 'manifests': self.entries}, handle)

    def names(self) -> list[str | None]:
        with open(os.path.join(self.path, 'index.json'), encoding='utf-8') as handle:
            return [(entry.get('annotations') or {}).get(REF_NAME) for entry in json.load(handle)['manifests']]

    def exists(self, digest: str) -> bool:
        return os.path.exists(self.blob_path(digest))


def oci_delete(path: str, ref: str = '', force: bool = False, check_mode: bool = False, **options: t.Any) -> dict[str, t.Any]:
    return delete_image(parse_image_name('oci:%s%s' % (path, ref)), ConnectionOptions(**options), force=force, check_mode=check_mode).as_result()


@pytest.fixture(name='layout')
def layout_fixture(tmp_path: t.Any) -> LayoutBuilder:
    return LayoutBuilder(str(tmp_path / 'layout'))


def test_layout_delete_collects_only_unreachable_blobs(layout: LayoutBuilder) -> None:
    shared_layer = b'shared layer'
    app = layout.image(b'app layer', shared_layer, config=b'{"app":1}')
    base = layout.image(shared_layer, config=b'{"base":1}')
    child_one, child_two = layout.image(b'arm layer', config=b'{"arm":1}'), layout.image(b'x86 layer', config=b'{"x86":1}')
    multi = layout.index(child_one, child_two)
    untagged = layout.image(b'untagged layer', config=b'{"untagged":1}')
    layout.entry(app[0], app[1], 'app')
    layout.entry(base[0], base[1], 'base')
    layout.entry(multi[0], multi[1], 'multi', media_type=mt.OCI_INDEX)
    layout.entry(untagged[0], untagged[1])

    result = oci_delete(layout.path, ':app')
    app_only = [app[0], app[2][0], app[2][1]]
    assert result['changed'] is True
    assert result['digest'] == app[0]
    assert result['deleted_tags'] == ['app']
    assert result['deleted_blobs'] == sorted(app_only)
    assert result['bytes_freed'] == app[1] + len(b'{"app":1}') + len(b'app layer')
    assert result['diff'] == {'before': {'digest': app[0], 'tags': ['app']}, 'after': None}
    assert layout.names() == ['base', 'multi', None]
    assert not any(layout.exists(digest) for digest in app_only)
    # Shared with a remaining image, children of a remaining index, and untagged entries stay.
    for digest in [base[0], *base[2], multi[0], child_one[0], *child_one[2], child_two[0], *child_two[2], untagged[0], *untagged[2]]:
        assert layout.exists(digest), digest

    again = oci_delete(layout.path, ':app')
    assert (again['changed'], again['deleted_tags'], again['deleted_blobs']) == (False, [], [])


def test_layout_delete_of_an_index_takes_its_children(layout: LayoutBuilder) -> None:
    child_one, child_two = layout.image(b'arm layer'), layout.image(b'x86 layer', config=b'{"x86":1}')
    multi = layout.index(child_one, child_two)
    layout.entry(multi[0], multi[1], 'multi', media_type=mt.OCI_INDEX)
    layout.entry(child_two[0], child_two[1], 'x86-only')
    result = oci_delete(layout.path, ':multi')
    assert result['deleted_blobs'] == sorted([multi[0], child_one[0], *child_one[2]])
    assert all(layout.exists(digest) for digest in [child_two[0], *child_two[2]])


def test_layout_name_on_a_shared_digest_goes_alone(layout: LayoutBuilder) -> None:
    app = layout.image(b'app layer')
    layout.entry(app[0], app[1], 'v1')
    layout.entry(app[0], app[1], 'latest')
    result = oci_delete(layout.path, ':v1')
    assert (result['deleted_tags'], result['deleted_blobs']) == (['v1'], [])
    assert layout.names() == ['latest']


def test_layout_digest_reference(layout: LayoutBuilder) -> None:
    app = layout.image(b'app layer')
    layout.entry(app[0], app[1], 'v1')
    layout.entry(app[0], app[1])
    with pytest.raises(SharedDigestError) as info:
        oci_delete(layout.path, '@' + app[0])
    assert info.value.message == 'not deleted: the tag v1 points at %s and would disappear with it; set force: true to delete them all' % app[0]
    assert layout.names() == ['v1', None]
    result = oci_delete(layout.path, '@' + app[0], force=True)
    assert result['deleted_tags'] == ['v1']
    assert result['deleted_blobs'] == sorted([app[0], *app[2]])
    assert layout.names() == []


def test_layout_check_mode_writes_nothing(layout: LayoutBuilder) -> None:
    app = layout.image(b'app layer')
    layout.entry(app[0], app[1], 'app')
    before = sorted(os.listdir(layout.path))
    with open(os.path.join(layout.path, 'index.json'), 'rb') as handle:
        index_before = handle.read()
    result = oci_delete(layout.path, ':app', check_mode=True)
    assert (result['changed'], result['deleted_tags'], result['deleted_blobs']) == (True, ['app'], sorted([app[0], *app[2]]))
    assert result['bytes_freed'] > 0
    assert sorted(os.listdir(layout.path)) == before  # not even the lock file
    with open(os.path.join(layout.path, 'index.json'), 'rb') as handle:
        assert handle.read() == index_before
    assert all(layout.exists(digest) for digest in [app[0], *app[2]])


def test_layout_absent_cases(layout: LayoutBuilder, tmp_path: t.Any) -> None:
    assert oci_delete(str(tmp_path / 'no-such-layout'), ':x')['changed'] is False
    assert oci_delete(layout.path, ':x')['changed'] is False
    assert oci_delete(layout.path)['changed'] is False
    assert oci_delete(layout.path, '@' + str(D1))['changed'] is False


def test_layout_without_name_means_its_only_image(layout: LayoutBuilder) -> None:
    one, two = layout.image(b'one'), layout.image(b'two', config=b'{"two":1}')
    layout.entry(one[0], one[1], 'one')
    layout.entry(two[0], two[1], 'two')
    with pytest.raises(InvalidReferenceError, match='holds 2 images'):
        oci_delete(layout.path)
    oci_delete(layout.path, ':two')
    result = oci_delete(layout.path)
    assert (result['deleted_tags'], layout.names()) == (['one'], [])


def test_layout_keeps_every_blob_when_a_remaining_manifest_is_unreadable(layout: LayoutBuilder) -> None:
    app = layout.image(b'app layer')
    other = layout.image(b'other layer', config=b'{"other":1}')
    layout.entry(app[0], app[1], 'app')
    layout.entry(other[0], other[1], 'other')
    os.unlink(layout.blob_path(other[0]))
    result = oci_delete(layout.path, ':app')
    assert result['deleted_blobs'] == []
    assert 'no blob deleted' in result['warnings'][0]
    assert layout.names() == ['other']
    assert all(layout.exists(digest) for digest in [app[0], *app[2]])


def test_layout_with_shared_blob_dir_deletes_no_blob(tmp_path: t.Any) -> None:
    layout = LayoutBuilder(str(tmp_path / 'layout'))
    app = layout.image(b'app layer')
    layout.entry(app[0], app[1], 'app')
    shared = str(tmp_path / 'layout' / 'blobs')
    result = oci_delete(layout.path, ':app', shared_blob_dir=shared)
    assert (result['deleted_tags'], result['deleted_blobs']) == (['app'], [])
    assert result['reason'].endswith('blobs in the shared blob directory are left alone')
    assert all(layout.exists(digest) for digest in [app[0], *app[2]])


def test_blob_references_of_an_unknown_artifact_keep_what_it_names() -> None:
    raw = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.example.thing+json',
                      'blobs': [{'mediaType': 'application/octet-stream', 'digest': str(D1), 'size': 1}],
                      'nested': {'manifest': {'mediaType': mt.OCI_MANIFEST, 'digest': str(D2), 'size': 1}}}).encode()
    assert set(blob_references(raw, None)) == {(D1, False), (D2, True)}
    assert blob_references(b'not json', None) == []
