# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ClientPool (one shared RegistryClient per registry and identity), its wiring through ConnectionOptions.clients, and request accounting."""

from __future__ import annotations

import copy
import dataclasses
import threading
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import KEY_FIELDS, ClientPool, client_key, merge_stats
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    USER,
    Clock,
    Credentials,
    FakeRegistry,
    make_client,
)

httpx = pytest.importorskip('httpx')

OCI = 'application/vnd.oci.image.manifest.v1+json'
PULL = (Scope('app', 'pull'),)
PUSH = (Scope('app', 'pull,push'),)
MANIFEST = b'{"schemaVersion": 2}'
CREDS = Credentials(USER, PASSWORD)


def pool_on(fake: FakeRegistry, creds: t.Any = None, made: list[tuple[str, ConnectionOptions]] | None = None) -> ClientPool:
    """A pool whose clients talk to ``fake`` (whatever the registry), recording what it made."""
    def factory(registry: str, options: ConnectionOptions) -> RegistryClient:
        if made is not None:
            made.append((registry, options))
        return RegistryClient(registry, options, transport=httpx.MockTransport(fake), credentials=lambda *args: creds,
                              clock=Clock(), sleep=lambda seconds: None)

    return ClientPool(factory)


def app_ref(tag: str = 'latest', repo: str = 'app') -> DockerImageReference:
    return DockerImageReference(parse_normalized_named('registry.test/%s:%s' % (repo, tag)))


# -- sharing and keying ----------------------------------------------------------------------------


def test_one_client_per_registry_and_identity() -> None:
    made: list[tuple[str, ConnectionOptions]] = []
    with pool_on(FakeRegistry(), made=made) as pool:
        first = pool.get('a.test', ConnectionOptions(username='u', password='p'))
        assert pool.get('a.test', ConnectionOptions(username='u', password='p')) is first
        assert pool.get('a.test', ConnectionOptions(tls_verify=False)) is not first
        assert pool.get('b.test', ConnectionOptions(username='u', password='p')) is not first
        others = [pool.get('a.test', ConnectionOptions(tls_verify=False)), pool.get('b.test', ConnectionOptions(username='u', password='p'))]
        assert pool.clients() == [first] + others
    assert [registry for registry, dummy in made] == ['a.test', 'a.test', 'b.test']


@pytest.mark.parametrize('field, value', [('username', 'other'), ('password', 'other'), ('registry_token', 'tok'), ('authfile', '/x/auth.json'),
                                          ('tls_verify', False), ('cert_dir', 'tmp_path'), ('no_creds', True), ('timeout', 5.0),
                                          ('retry_times', 9), ('retry_delay', 0.5), ('max_retry_after', 600.0), ('user_agent', 'other')])
def test_every_identity_field_makes_another_client(field: str, value: t.Any, tmp_path: t.Any) -> None:
    base = ConnectionOptions(username='u', password='p')
    if field == 'cert_dir':
        value = str(tmp_path)
    with pool_on(FakeRegistry()) as pool:
        assert pool.get('a.test', dataclasses.replace(base, **{field: value})) is not pool.get('a.test', base)
    assert field in KEY_FIELDS


def test_key_fields_are_the_options_fields_that_matter() -> None:
    # A new ConnectionOptions field must be placed on purpose: in the key, or in this list of fields a client does not use.
    not_the_clients = {'max_parallel', 'shared_blob_dir', 'registries_d', 'blob_info_cache', 'clients', 'daemon_host'}
    assert set(KEY_FIELDS) | not_the_clients == {field.name for field in dataclasses.fields(ConnectionOptions)}
    assert not set(KEY_FIELDS) & not_the_clients


@pytest.mark.parametrize('field, value', [
    ('max_parallel', 1), ('shared_blob_dir', '/x/blobs'), ('registries_d', '/x/registries.d'), ('blob_info_cache', '/x/cache.sqlite'),
    ('daemon_host', 'unix:///x/docker.sock'),
])
def test_options_a_client_does_not_use_share_it(field: str, value: t.Any) -> None:
    base = ConnectionOptions(username='u', password='p')
    with pool_on(FakeRegistry()) as pool:
        assert pool.get('a.test', dataclasses.replace(base, **{field: value})) is pool.get('a.test', base)


def test_threads_asking_at_once_get_one_client() -> None:
    made: list[tuple[str, ConnectionOptions]] = []
    barrier = threading.Barrier(8)
    got: list[RegistryClient] = []
    with pool_on(FakeRegistry(), made=made) as pool:
        def ask() -> None:
            barrier.wait()
            got.append(pool.get('a.test', ConnectionOptions()))

        threads = [threading.Thread(target=ask) for dummy in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(made) == 1 and len(got) == 8 and all(client is got[0] for client in got)


def test_close_closes_every_client_and_the_pool() -> None:
    pool = pool_on(FakeRegistry())
    with pool:
        clients = [pool.get('a.test', ConnectionOptions()), pool.get('b.test', ConnectionOptions())]
        assert not any(client._http.is_closed for client in clients)  # pylint: disable=protected-access
    assert all(client._http.is_closed for client in clients)  # pylint: disable=protected-access
    with pytest.raises(OcikitError) as info:
        pool.get('a.test', ConnectionOptions())
    assert info.value.message == 'the registry client pool is closed (asked for a client of a.test)'
    pool.close()
    assert sorted(pool.stats()) == ['a.test', 'b.test']  # still readable after close, for the summary


def test_client_key_holds_no_more_than_the_key_fields() -> None:
    options = ConnectionOptions(username='u', password='p', max_parallel=2)
    assert client_key('a.test', options) == ('a.test', 'u', 'p', None, None, True, None, False, 60.0, 3, None, 60.0, 'ocikit.images')


# -- ConnectionOptions.clients ---------------------------------------------------------------------


def test_options_with_a_pool_repr_compare_and_copy() -> None:
    with pool_on(FakeRegistry()) as pool:
        options = ConnectionOptions(username='u', password=PASSWORD, registry_token='tok-secret', clients=pool)
        text = repr(options)
        assert PASSWORD not in text and 'tok-secret' not in text and 'clients' not in text and 'ClientPool' not in text
        assert "password='********'" in text and 'max_retry_after=60.0' in text
        assert options == ConnectionOptions(username='u', password=PASSWORD, registry_token='tok-secret')
        # asdict deep-copies values: the pool is not copied (it holds locks and open connections).
        assert dataclasses.asdict(options)['clients'] is pool
        assert copy.deepcopy(options).clients is pool and copy.copy(pool) is pool
        assert dataclasses.replace(options, username='v').clients is pool


def test_pool_repr_names_registries_not_credentials() -> None:
    with pool_on(FakeRegistry()) as pool:
        pool.get('b.test', ConnectionOptions(username=USER, password=PASSWORD))
        pool.get('a.test', ConnectionOptions())
        assert repr(pool) == 'ClientPool(a.test, b.test)'


def test_sources_and_destinations_share_the_pools_client_and_leave_it_open() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    with pool_on(fake, creds=CREDS) as pool:
        options = ConnectionOptions(clients=pool)
        with app_ref().new_source(options) as first:
            first.get_manifest()
        with app_ref().new_source(options) as second:
            second.get_manifest()
            assert second.client is first.client
        assert not first.client._http.is_closed  # pylint: disable=protected-access
        with app_ref().new_destination(options) as dest:
            assert dest.client is first.client
            dest.get_manifest_digest()
        assert not first.client._http.is_closed  # pylint: disable=protected-access
        # One ping, one token for pull (both sources), one for pull,push (the destination).
        assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'GET /v2/app/manifests/latest', 'GET /v2/app/manifests/latest',
                                'TOKEN repository:app:pull,push', 'HEAD /v2/app/manifests/latest']
        assert pool.stats()['registry.test']['token_fetches'] == 2
    assert first.client._http.is_closed  # pylint: disable=protected-access


def test_an_explicit_client_wins_over_the_pool() -> None:
    fake = FakeRegistry()
    with pool_on(fake) as pool, make_client(fake) as own:
        with app_ref().new_source(ConnectionOptions(clients=pool), client=own) as src:
            assert src.client is own
        assert pool.clients() == []


def test_without_a_pool_each_source_has_its_own_client_and_closes_it() -> None:
    src = app_ref().new_source(ConnectionOptions())
    other = app_ref().new_source(ConnectionOptions())
    assert src.client is not other.client
    src.close()
    other.close()
    assert src.client._http.is_closed  # pylint: disable=protected-access


# -- accounting ------------------------------------------------------------------------------------


def test_stats_count_methods_manifest_gets_and_bytes() -> None:
    fake = FakeRegistry()
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    blob = fake.add_blob('app', b'x' * 1000)
    with make_client(fake) as client:
        assert client.stats()['requests'] == 0
        client.request('GET', '/v2/app/manifests/latest', PULL, 'reading')
        client.request('HEAD', '/v2/app/manifests/latest', PULL, 'checking')
        with client.stream('GET', '/v2/app/blobs/' + blob, PULL, 'reading blob') as response:
            assert b''.join(client.iter_body(response)) == b'x' * 1000
        client.request('PUT', '/v2/app/manifests/v2', PUSH, 'writing', content=MANIFEST, headers={'Content-Type': OCI}, ok=(201,))
        upload = client.request('POST', '/v2/app/blobs/uploads/', PUSH, 'starting', ok=(202,))
        client.request('PUT', upload.headers['location'], PUSH, 'uploading', content=iter([b'y' * 300, b'y' * 200]),
                       params={'digest': 'sha256:' + '0' * 64}, ok=(400,))
        stats = client.stats()
    assert stats == {
        'requests': 7, 'methods': {'DELETE': 0, 'GET': 3, 'HEAD': 1, 'PATCH': 0, 'POST': 1, 'PUT': 2},
        'manifest_gets': 1, 'token_fetches': 0, 'retries': 0, 'rate_limited': 0, 'rate_limit_waits': 0, 'rate_limit_wait_seconds': 0.0,
        # The manifest, the blob, and the 400's error body (read for the message); not the ping's, which is not read.
        'bytes_received': len(MANIFEST) + 1000 + len(b'{"errors": [{"code": "DIGEST_INVALID", "message": "message", "detail": null}]}'),
        'bytes_sent': len(MANIFEST) + 500, 'peak_in_flight': 1,
    }


def test_stats_count_token_fetches_and_retries() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    answers = [httpx.Response(503), httpx.Response(429)]
    fake.hooks.append(lambda request: answers.pop(0) if request.url.path.endswith('/latest') and answers else None)
    with make_client(fake, creds=CREDS) as client:
        client.request('GET', '/v2/app/manifests/latest', PULL, 'reading')
        client.request('GET', '/v2/app/manifests/latest', PULL, 'reading')
        stats = client.stats()
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull'] + ['GET /v2/app/manifests/latest'] * 4
    assert (stats['requests'], stats['manifest_gets'], stats['token_fetches'], stats['retries'], stats['rate_limited']) == (6, 4, 1, 2, 1)
    # Retried by backoff (no Retry-After): not rate-limit waits.
    assert stats['rate_limit_waits'] == 0


def test_peak_in_flight_counts_requests_in_progress_at_once() -> None:
    fake = FakeRegistry()
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    barrier = threading.Barrier(3, timeout=10)

    def hold(request: httpx.Request) -> None:
        if request.url.path.endswith('/latest'):
            barrier.wait()  # three requests are in progress at once, or this times out

    fake.hooks.append(hold)
    with make_client(fake) as client:
        client.ping()
        threads = [threading.Thread(target=client.request, args=('GET', '/v2/app/manifests/latest', PULL, 'reading')) for dummy in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = client.stats()
    assert stats['peak_in_flight'] == 3 and stats['manifest_gets'] == 3


def test_stats_are_exact_under_threads() -> None:
    fake = FakeRegistry()
    blob = fake.add_blob('app', b'z' * 10)
    with make_client(fake) as client:
        def work() -> None:
            for dummy in range(50):
                client.request('HEAD', '/v2/app/blobs/' + blob, PULL, 'checking')

        threads = [threading.Thread(target=work) for dummy in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = client.stats()
    assert stats['methods']['HEAD'] == 400 and stats['requests'] == 401


def test_pool_stats_per_registry_and_totals() -> None:
    fake = FakeRegistry()
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    with pool_on(fake) as pool:
        # Two identities at one registry: one line for the registry, added up.
        for options in (ConnectionOptions(), ConnectionOptions(username='u', password='p')):
            pool.get('registry.test', options).request('GET', '/v2/app/manifests/latest', PULL, 'reading')
        stats = pool.stats()
        totals = pool.totals()
    assert list(stats) == ['registry.test']
    assert stats['registry.test']['requests'] == 4 and stats['registry.test']['manifest_gets'] == 2
    assert stats['registry.test']['methods']['GET'] == 4 and totals == stats['registry.test']


def test_merge_stats_adds_counts_and_keeps_the_largest_peak() -> None:
    one = {'requests': 2, 'methods': {'GET': 2, 'HEAD': 0}, 'peak_in_flight': 3, 'rate_limit_wait_seconds': 1.25}
    two = {'requests': 5, 'methods': {'GET': 1, 'HEAD': 4, 'OPTIONS': 1}, 'peak_in_flight': 2, 'rate_limit_wait_seconds': 2.5}
    assert merge_stats([one, two]) == {'requests': 7, 'methods': {'DELETE': 0, 'GET': 3, 'HEAD': 4, 'PATCH': 0, 'POST': 0, 'PUT': 0, 'OPTIONS': 1},
                                       'peak_in_flight': 3, 'rate_limit_wait_seconds': 3.75}


def test_a_blob_read_through_a_pooled_source_is_counted() -> None:
    fake = FakeRegistry()
    data = b'layer' * 100
    digest = fake.add_blob('app', data)
    with pool_on(fake) as pool:
        with app_ref().new_source(ConnectionOptions(clients=pool)) as src:
            with src.get_blob(BlobInfo(Digest(digest), len(data))) as (chunks, size):
                assert b''.join(chunks) == data and size == len(data)
        assert pool.stats()['registry.test']['bytes_received'] == len(data)


def test_delete_takes_the_pools_client_too(tmp_path: t.Any) -> None:
    """A sync's prune deletes through the pool: no second ping, the client left open."""
    from ansible_collections.ocikit.images.plugins.module_utils.delete import delete_image  # pylint: disable=import-outside-toplevel

    fake = FakeRegistry()
    digest = fake.add_manifest('app', MANIFEST, OCI, tag='old')
    with pool_on(fake) as pool:
        options = ConnectionOptions(clients=pool, registries_d=str(tmp_path))
        with app_ref('latest').new_source(options) as src:
            src.client.ping()
        result = delete_image(app_ref('old'), options, check_mode=True)
        assert result.as_result()['digest'] == digest
        assert len(pool.clients()) == 1 and not pool.clients()[0]._http.is_closed  # pylint: disable=protected-access
    assert fake.calls().count('GET /v2/') == 1


# -- the bound on requests in flight ---------------------------------------------------------------


class Concurrency:
    """A hook that holds every blob request a little and records how many were at the registry at once."""

    def __init__(self, fake: FakeRegistry, hold: float = 0.02) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()
        self._hold = hold
        fake.hooks.append(self)

    def __call__(self, request: httpx.Request) -> None:
        if '/blobs/' not in request.url.path:
            return
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        threading.Event().wait(self._hold)
        with self._lock:
            self.now -= 1


def run_threads(count: int, work: t.Callable[[int], None], timeout: float = 20) -> None:
    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            work(number)
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(number,), daemon=True) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), 'threads still running: a deadlock?'
    assert not errors, errors


@pytest.mark.parametrize('max_parallel', [1, 2, 3])
def test_requests_in_flight_are_bounded_by_max_parallel(max_parallel: int) -> None:
    fake = FakeRegistry()
    blob = fake.add_blob('app', b'b' * 100)
    seen = Concurrency(fake)
    with make_client(fake, max_parallel=max_parallel) as client:
        def work(number: int) -> None:
            if number % 2:
                client.request('HEAD', '/v2/app/blobs/' + blob, PULL, 'checking')
            else:
                with client.stream('GET', '/v2/app/blobs/' + blob, PULL, 'reading') as response:
                    assert b''.join(client.iter_body(response)) == b'b' * 100

        run_threads(8, work)
        stats = client.stats()
    assert seen.most == max_parallel and stats['peak_in_flight'] == max_parallel
    assert client.max_parallel == max_parallel


def test_the_bound_is_shared_by_everyone_using_the_pools_client() -> None:
    fake = FakeRegistry()
    blob = fake.add_blob('app', b'b' * 100)
    seen = Concurrency(fake)
    with pool_on(fake) as pool:
        def work(number: int) -> None:
            # As a sync's copies: each opens its own source on the shared client.
            with app_ref('t%d' % number).new_source(ConnectionOptions(clients=pool, max_parallel=2)) as src:
                with src.get_blob(BlobInfo(Digest(blob), 100)) as (chunks, dummy):
                    assert b''.join(chunks) == b'b' * 100

        run_threads(6, work)
    assert seen.most == 2


def test_a_request_nested_in_a_stream_of_the_same_client_does_not_wait_for_itself() -> None:
    fake = FakeRegistry()
    blob = fake.add_blob('app', b'b' * 100)
    with make_client(fake, max_parallel=1) as client:
        def work(dummy: int) -> None:
            with client.stream('GET', '/v2/app/blobs/' + blob, PULL, 'reading'):
                # The upload of what is being read, to the same registry (same client): its only slot is taken.
                assert client.request('HEAD', '/v2/app/blobs/' + blob, PULL, 'checking').status == 200

        run_threads(1, work, timeout=5)
        assert client.stats()['peak_in_flight'] == 2


def test_copies_in_opposite_directions_do_not_wait_for_each_other_forever() -> None:
    fake = FakeRegistry()
    blob = fake.add_blob('app', b'b' * 100)
    both_streaming = threading.Barrier(2, timeout=5)
    with make_client(fake, registry='registry.test', max_parallel=1) as one, make_client(fake, max_parallel=1) as other:
        clients = (one, other)

        def work(number: int) -> None:
            source, destination = clients[number], clients[1 - number]
            with source.stream('GET', '/v2/app/blobs/' + blob, PULL, 'reading'):
                both_streaming.wait()  # each holds the only slot of its source, and needs the other's
                destination.request('HEAD', '/v2/app/blobs/' + blob, PULL, 'checking')

        run_threads(2, work, timeout=10)


def test_a_thread_holding_nothing_waits_for_a_slot_and_gets_it() -> None:
    fake = FakeRegistry()
    blob = fake.add_blob('app', b'b' * 100)
    order: list[str] = []
    with make_client(fake, max_parallel=1) as client:
        with client.stream('GET', '/v2/app/blobs/' + blob, PULL, 'reading'):
            waiter = threading.Thread(target=lambda: order.append(client.request('HEAD', '/v2/app/blobs/' + blob, PULL, 'checking').status and
                                                                  'request done'))
            waiter.start()
            waiter.join(0.3)
            assert waiter.is_alive()  # waiting for the slot this stream holds
            order.append('stream closed')
        waiter.join(5)
    assert order == ['stream closed', 'request done']


def test_a_stream_closed_by_another_thread_counts_down_its_owner() -> None:
    """A stream left open is closed by whichever thread collects it: its owner must not stay "nested" (never waiting) for good."""
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import client as client_module  # pylint: disable=import-outside-toplevel

    fake = FakeRegistry()
    blob = fake.add_blob('app', b'b' * 100)
    with make_client(fake, max_parallel=1) as client:
        stream = client.stream('GET', '/v2/app/blobs/' + blob, PULL, 'reading')
        stream.__enter__()  # pylint: disable=unnecessary-dunder-call
        assert client_module._SLOTS_HELD == {threading.get_ident(): 1}  # pylint: disable=protected-access
        closer = threading.Thread(target=stream.__exit__, args=(None, None, None))
        closer.start()
        closer.join(5)
        assert client_module._SLOTS_HELD == {}  # pylint: disable=protected-access
        assert client.request('HEAD', '/v2/app/blobs/' + blob, PULL, 'checking').status == 200  # the slot was given back
