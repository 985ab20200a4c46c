# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rate limits: Retry-After waits (bounded by max_retry_after), RateLimit-Remaining pacing, and their accounting."""

from __future__ import annotations

import time
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import TooManyRequestsError
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient, parse_rate_limit

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    AUTH_HOST,
    PASSWORD,
    USER,
    Clock,
    Credentials,
    FakeRegistry,
    error_body,
    make_client,
)

httpx = pytest.importorskip('httpx')

PULL = (Scope('app', 'pull'),)
MANIFEST = '/v2/app/manifests/latest'
WHAT = 'reading manifest registry.test/app:latest'


@pytest.fixture(name='fake')
def fake_fixture() -> FakeRegistry:
    fake = FakeRegistry()
    fake.add_manifest('app', b'{"schemaVersion": 2}', 'application/vnd.oci.image.manifest.v1+json', tag='latest')
    return fake


def get(client: RegistryClient) -> t.Any:
    return client.request('GET', MANIFEST, PULL, WHAT)


def answer_first(fake: FakeRegistry, *responses: httpx.Response) -> None:
    """The manifest path answers ``responses`` in turn, then normally."""
    pending = list(responses)
    fake.hooks.append(lambda request: pending.pop(0) if request.url.path == MANIFEST and pending else None)


def with_headers(fake: FakeRegistry, headers: dict[str, t.Any], times: int = 1) -> None:
    """The next ``times`` manifest answers are the manifest (200) with ``headers``."""
    left = [times]

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != MANIFEST or not left[0]:
            return None
        left[0] -= 1
        raw, media_type = fake.manifests[('app', 'latest')]
        return httpx.Response(200, headers=dict(headers, **{'Content-Type': media_type}), content=raw)

    fake.hooks.append(hook)


def too_many(retry_after: str | None = None, **headers: str) -> httpx.Response:
    if retry_after is not None:
        headers['Retry-After'] = retry_after
    return httpx.Response(429, headers={k.replace('_', '-'): v for k, v in headers.items()}, content=error_body('TOOMANYREQUESTS', 'slow down'))


def waits(client: RegistryClient) -> tuple[int, float, int]:
    stats = client.stats()
    return stats['rate_limit_waits'], stats['rate_limit_wait_seconds'], stats['rate_limited']


# -- parsing ---------------------------------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.mark.parametrize('headers, expected', [
    ({'ratelimit-remaining': '0', 'ratelimit-reset': '5'}, 5.0),                    # IETF draft
    ({'ratelimit-remaining': '0;w=21600'}, 21600.0),                                 # Docker Hub
    ({'ratelimit-remaining': '0;w=60', 'ratelimit-limit': '100;w=21600'}, 60.0),
    ({'ratelimit-remaining': '0', 'ratelimit-limit': '100;w=3600'}, 3600.0),         # the window of the limit
    ({'ratelimit-remaining': ' 0 ; w="30" '}, 30.0),
    ({'ratelimit-remaining': '0, 10;w=60', 'ratelimit-reset': '7'}, 7.0),            # the first policy is in effect
    ({'ratelimit-remaining': '0;w=60', 'ratelimit-reset': '2'}, 2.0),                # an explicit reset wins over the window
    ({'ratelimit-remaining': '0', 'ratelimit-reset': str(int(NOW) + 30)}, 30.0),     # a Unix time
    ({'ratelimit-remaining': '0', 'ratelimit-reset': str(int(NOW) - 30)}, None),     # a Unix time past
    ({'ratelimit-remaining': '0', 'ratelimit-reset': '0'}, None),
    ({'ratelimit-remaining': '0'}, None),                                            # no reset known: nothing to wait for
    ({'ratelimit-remaining': '1', 'ratelimit-reset': '5'}, None),
    ({'ratelimit-remaining': '76;w=21600', 'ratelimit-limit': '100;w=21600'}, None),
    ({'ratelimit-reset': '5'}, None),
    ({}, None),
    # garbage
    ({'ratelimit-remaining': 'none', 'ratelimit-reset': '5'}, None),
    ({'ratelimit-remaining': '-1', 'ratelimit-reset': '5'}, None),
    ({'ratelimit-remaining': '0.0', 'ratelimit-reset': '5'}, None),
    ({'ratelimit-remaining': '\u00b2'.encode(), 'ratelimit-reset': '5'}, None),
    ({'ratelimit-remaining': '0', 'ratelimit-reset': 'soon'}, None),
    ({'ratelimit-remaining': '0', 'ratelimit-reset': '-5'}, None),
    ({'ratelimit-remaining': '0', 'ratelimit-reset': '1.5'}, None),
    ({'ratelimit-remaining': '0;w=abc'}, None),
    ({'ratelimit-remaining': '0;w=', 'ratelimit-limit': ';;;'}, None),
    ({'ratelimit-remaining': '0;x=60'}, None),
    ({'ratelimit-remaining': ''}, None),
])
def test_parse_rate_limit(headers: dict[str, t.Any], expected: float | None) -> None:
    assert parse_rate_limit(httpx.Headers(headers), now=NOW) == expected


# -- Retry-After -----------------------------------------------------------------------------------


def test_retry_after_is_waited_and_counted(fake: FakeRegistry) -> None:
    answer_first(fake, too_many('3'))
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        assert get(client).status == 200
        get(client)
        assert waits(client) == (1, 3.0, 1)
        assert client.stats()['retries'] == 1
    # Waited once: the pause is over once waited out.
    assert sleeps == [3.0]
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST, 'GET ' + MANIFEST, 'GET ' + MANIFEST]


def test_a_retry_after_holds_back_every_request_to_the_registry(fake: FakeRegistry) -> None:
    """Another thread's request, sent while the registry asks to wait, waits too instead of earning its own 429."""
    answer_first(fake, too_many('4'))
    sleeps: list[float] = []
    clients: list[RegistryClient] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            # While the first request waits: another one (as from another thread) starts.
            assert clients[0].request('HEAD', MANIFEST, PULL, 'checking').status == 200

    client = RegistryClient('registry.test', make_client(fake).options, transport=httpx.MockTransport(fake), credentials=lambda *a: None,
                            clock=Clock(), sleep=sleep)
    clients.append(client)
    with client:
        assert get(client).status == 200
        assert waits(client) == (2, 8.0, 1)
    assert sleeps == [4.0, 4.0]
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST, 'HEAD ' + MANIFEST, 'GET ' + MANIFEST]


def test_503_with_retry_after_is_waited_as_asked(fake: FakeRegistry) -> None:
    answer_first(fake, httpx.Response(503, headers={'Retry-After': '2'}))
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        get(client)
        assert waits(client) == (1, 2.0, 0)
    assert sleeps == [2.0]


def test_retry_after_beyond_max_retry_after_fails_at_once(fake: FakeRegistry) -> None:
    answer_first(fake, too_many('10'))
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, max_retry_after=5) as client, pytest.raises(TooManyRequestsError) as info:
        get(client)
    assert sleeps == []
    assert info.value.message == ('%s: TOOMANYREQUESTS: slow down (HTTP 429 Too Many Requests); the registry asks to wait 10 s (Retry-After), '
                                  'longer than max_retry_after (5 s)' % WHAT)
    assert info.value.retry_after == 10.0 and info.value.status == 429 and info.value.transient


def test_a_larger_max_retry_after_waits_longer(fake: FakeRegistry) -> None:
    answer_first(fake, too_many('3600'))
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, max_retry_after=7200) as client:
        assert get(client).status == 200
    assert sleeps == [3600.0]


def test_a_token_servers_retry_after_is_honoured_without_pausing_the_registry() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.add_manifest('app', b'{}', 'application/vnd.oci.image.manifest.v1+json', tag='latest')
    pending = [too_many('2')]
    fake.hooks.append(lambda request: pending.pop(0) if request.url.host == AUTH_HOST and pending else None)
    sleeps: list[float] = []
    with make_client(fake, creds=Credentials(USER, PASSWORD), sleeps=sleeps) as client:
        assert get(client).status == 200
        assert waits(client) == (1, 2.0, 1)
    assert sleeps == [2.0]
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'TOKEN repository:app:pull', 'GET ' + MANIFEST]


# -- RateLimit-Remaining ---------------------------------------------------------------------------


def test_remaining_zero_paces_the_next_request_instead_of_earning_a_429(fake: FakeRegistry) -> None:
    with_headers(fake, {'RateLimit-Limit': '100', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '7'})

    def refuse_early(request: httpx.Request) -> httpx.Response | None:
        # What a registry would do if the client did not wait.
        return too_many('7') if len(sleeps) == 0 and fake.calls().count('GET ' + MANIFEST) > 1 else None

    fake.hooks.append(refuse_early)
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        get(client)
        assert sleeps == []  # the answer itself is fine
        get(client)
        get(client)
        assert waits(client) == (1, 7.0, 0)
    assert sleeps == [7.0]
    assert fake.calls() == ['GET /v2/'] + ['GET ' + MANIFEST] * 3


def test_docker_hub_window_beyond_max_retry_after_fails_the_next_request_at_once(fake: FakeRegistry) -> None:
    with_headers(fake, {'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600'})
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        get(client)
        with pytest.raises(TooManyRequestsError) as info:
            client.request('HEAD', MANIFEST, PULL, 'checking manifest registry.test/app:latest')
        assert waits(client) == (0, 0.0, 0)
    assert sleeps == []
    assert info.value.message == ('checking manifest registry.test/app:latest: registry registry.test asks to wait 21600 s '
                                  '(RateLimit-Remaining: 0), longer than max_retry_after (60 s); not waiting')
    assert info.value.status == 429 and info.value.retry_after == 21600.0 and info.value.transient
    # Nothing was sent for the refused request.
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST]


def test_docker_hub_window_within_max_retry_after_is_waited(fake: FakeRegistry) -> None:
    with_headers(fake, {'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600'})
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, max_retry_after=86400) as client:
        get(client)
        get(client)
    assert sleeps == [21600.0]


def test_a_429_without_retry_after_waits_for_the_rate_limit_reset(fake: FakeRegistry) -> None:
    answer_first(fake, too_many(None, RateLimit_Remaining='0', RateLimit_Reset='3'))
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, retry_delay=100) as client:
        assert get(client).status == 200
        assert waits(client) == (1, 3.0, 1)
    assert sleeps == [3.0]  # not a backoff of ~100 s


def test_a_429_whose_reset_is_too_far_says_so(fake: FakeRegistry) -> None:
    answer_first(fake, too_many(None, RateLimit_Remaining='0', RateLimit_Reset='600'))
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client, pytest.raises(TooManyRequestsError) as info:
        get(client)
    assert sleeps == []
    assert info.value.message == ('%s: TOOMANYREQUESTS: slow down (HTTP 429 Too Many Requests); the registry asks to wait 600 s '
                                  '(RateLimit-Reset), longer than max_retry_after (60 s)' % WHAT)
    assert info.value.retry_after == 600.0


@pytest.mark.parametrize('headers', [
    {'RateLimit-Remaining': 'zero', 'RateLimit-Reset': '5'},
    {'RateLimit-Remaining': '0', 'RateLimit-Reset': 'tomorrow'},
    {'RateLimit-Remaining': '0;w=\u0661\u0662'.encode()},
    {'RateLimit-Remaining': '5', 'RateLimit-Reset': '99999999999999999999'},
])
def test_garbage_rate_limit_headers_are_ignored(fake: FakeRegistry, headers: dict[str, t.Any]) -> None:
    with_headers(fake, headers, times=3)
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        for dummy in range(3):
            assert get(client).status == 200
        assert waits(client) == (0, 0.0, 0)
    assert sleeps == []


def test_a_real_clock_waits_only_what_is_left() -> None:
    fake = FakeRegistry()
    fake.add_manifest('app', b'{}', 'application/vnd.oci.image.manifest.v1+json', tag='latest')
    with_headers(fake, {'RateLimit-Remaining': '0', 'RateLimit-Reset': '1'})
    client = RegistryClient('registry.test', make_client(fake).options, transport=httpx.MockTransport(fake), credentials=lambda *a: None)
    with client:
        get(client)
        time.sleep(0.6)
        start = time.monotonic()
        get(client)
        elapsed = time.monotonic() - start
        stats = client.stats()
    assert 0.2 < elapsed < 0.6
    assert stats['rate_limit_waits'] == 1 and 0.2 < stats['rate_limit_wait_seconds'] < 0.6


def test_requests_to_other_hosts_are_not_paced() -> None:
    """A used-up registry limit does not hold back the token server (it has limits of its own)."""
    fake = FakeRegistry(auth='bearer')
    fake.add_manifest('app', b'{}', 'application/vnd.oci.image.manifest.v1+json', tag='latest')
    fake.add_manifest('other', b'{}', 'application/vnd.oci.image.manifest.v1+json', tag='latest')
    with_headers(fake, {'RateLimit-Remaining': '0', 'RateLimit-Reset': '3600'})
    with make_client(fake, creds=Credentials(USER, PASSWORD)) as client:
        get(client)
        with pytest.raises(TooManyRequestsError):
            client.request('GET', '/v2/other/manifests/latest', (Scope('other', 'pull'),), 'reading other')
    # The token for "other" was fetched (not paced); the registry request was not sent.
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'GET ' + MANIFEST, 'TOKEN repository:other:pull']


def test_an_upload_refused_with_retry_after_fails_and_its_restart_waits(fake: FakeRegistry) -> None:
    """A streamed body cannot be sent again by the client; the caller restarts the blob, and that restart waits as asked."""
    pending = [too_many('5')]
    fake.hooks.append(lambda request: pending.pop(0) if request.method == 'PUT' and pending else None)
    sleeps: list[float] = []
    push = (Scope('app', 'pull,push'),)
    with make_client(fake, sleeps=sleeps) as client:
        upload = client.request('POST', '/v2/app/blobs/uploads/', push, 'starting', ok=(202,))
        with pytest.raises(TooManyRequestsError):
            client.request('PUT', upload.headers['location'], push, 'uploading', content=iter([b'data']), params={'digest': 'sha256:' + '0' * 64},
                           ok=(201,))
        assert sleeps == []
        client.request('POST', '/v2/app/blobs/uploads/', push, 'starting again', ok=(202,))
        assert waits(client) == (1, 5.0, 1)
    assert sleeps == [5.0]
