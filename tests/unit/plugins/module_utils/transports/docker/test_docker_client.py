# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""RegistryClient: scheme choice, Basic and Bearer auth, token cache, retries, error mapping."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AuthenticationError,
    ConnectionFailedError,
    ImageNotFoundError,
    OcikitError,
    RegistryError,
    ServerError,
    TLSError,
    TokenExpiredError,
    TokenRefusedError,
    TooManyRequestsError,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import client as client_module
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    AUTH_HOST,
    PASSWORD,
    SECRET_MARKERS,
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
CREDS = Credentials(USER, PASSWORD)


def get(client: RegistryClient, path: str = MANIFEST, scopes: t.Sequence[Scope] = PULL, **kwargs: t.Any) -> t.Any:
    return client.request('GET', path, scopes, 'reading manifest registry.test/app:latest', not_found=ImageNotFoundError, **kwargs)


def with_manifest(fake: FakeRegistry) -> FakeRegistry:
    fake.add_manifest('app', b'{"schemaVersion": 2}', 'application/vnd.oci.image.manifest.v1+json', tag='latest')
    return fake


# -- anonymous and Basic ---------------------------------------------------------------------------


def test_anonymous_registry(fake: FakeRegistry) -> None:
    with_manifest(fake)
    with make_client(fake) as client:
        response = get(client)
        get(client)
    assert response.status == 200 and response.body == b'{"schemaVersion": 2}'
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST, 'GET ' + MANIFEST]
    assert all('authorization' not in r.headers for r in fake.requests)
    assert fake.requests[0].headers['user-agent'] == 'ocikit.images'
    assert fake.requests[0].headers['accept-encoding'] == 'identity'


def test_basic_auth_sends_credentials_after_the_ping() -> None:
    fake = with_manifest(FakeRegistry(auth='basic'))
    with make_client(fake, creds=CREDS) as client:
        get(client)
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST]
    assert 'authorization' not in fake.requests[0].headers
    assert fake.requests[1].headers['authorization'] == 'Basic ' + SECRET_MARKERS[1]


def test_basic_auth_without_credentials_says_so() -> None:
    fake = with_manifest(FakeRegistry(auth='basic'))
    with make_client(fake) as client, pytest.raises(AuthenticationError) as info:
        get(client)
    assert info.value.message == ('reading manifest registry.test/app:latest: UNAUTHORIZED: authentication required '
                                  '(HTTP 401 Unauthorized); no credentials were found for registry.test')


# -- Bearer ----------------------------------------------------------------------------------------


def test_bearer_asks_exactly_the_needed_scope_with_basic_credentials() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=CREDS) as client:
        get(client)
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'GET ' + MANIFEST]
    token_request = fake.requests[1]
    assert token_request.method == 'GET'
    assert dict(token_request.url.params) == {'account': USER, 'service': 'registry.test', 'scope': 'repository:app:pull'}
    assert token_request.headers['authorization'] == 'Basic ' + SECRET_MARKERS[1]
    assert fake.requests[2].headers['authorization'] == 'Bearer tok-1'


def test_bearer_anonymous_token() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake) as client:
        get(client)
    assert 'authorization' not in fake.requests[1].headers
    assert 'account' not in fake.requests[1].url.params


def test_one_token_request_for_several_repositories() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.add_blob('src', b'layer')
    scopes = (Scope('dst', 'pull,push'), Scope('src', 'pull'))
    with make_client(fake, creds=CREDS) as client:
        client.request('POST', '/v2/dst/blobs/uploads/', scopes, 'mounting', ok=(201, 202),
                       params={'mount': 'sha256:' + '0' * 64, 'from': 'src'})
    assert fake.calls()[1] == 'TOKEN repository:dst:pull,push repository:src:pull'
    assert fake.requests[1].url.params.get_list('scope') == ['repository:dst:pull,push', 'repository:src:pull']


def test_token_cache_is_reused_per_scope_set() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    fake.add_manifest('other', b'{}', 'application/json', tag='latest')
    with make_client(fake, creds=CREDS) as client:
        get(client)
        get(client)
        get(client, '/v2/other/manifests/latest', (Scope('other', 'pull'),))
        get(client)
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'GET ' + MANIFEST, 'GET ' + MANIFEST,
                            'TOKEN repository:other:pull', 'GET /v2/other/manifests/latest', 'GET ' + MANIFEST]
    assert fake.requests[-1].headers['authorization'] == 'Bearer tok-1'


@pytest.mark.parametrize('expires_in, still_fresh, expired', [
    (300, 289.0, 290.0),   # renewed 10 s early
    (None, 49.0, 50.0),    # no expires_in: 60 s, as the token spec says
    (20, 14.0, 15.0),      # short-lived: a quarter early
])
def test_token_refresh_after_expiry(expires_in: int | None, still_fresh: float, expired: float) -> None:
    fake = with_manifest(FakeRegistry(auth='bearer', expires_in=expires_in))
    clock = Clock()
    start = clock.now
    with make_client(fake, creds=CREDS, clock=clock) as client:
        get(client)
        clock.now = start + still_fresh
        get(client)
        assert fake.issued == 1
        clock.now = start + expired
        get(client)
    assert fake.issued == 2
    assert fake.requests[-1].headers['authorization'] == 'Bearer tok-2'


def test_reauth_once_on_401_mid_operation() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=CREDS) as client:
        get(client)
        fake.tokens.clear()  # the registry forgets (revokes) every token
        response = get(client)
    assert response.status == 200
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'GET ' + MANIFEST,
                            'GET ' + MANIFEST, 'TOKEN repository:app:pull', 'GET ' + MANIFEST]
    assert fake.requests[-1].headers['authorization'] == 'Bearer tok-2'


def test_reauth_is_not_repeated() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=CREDS) as client:
        get(client)
        fake.hooks.append(lambda request: fake._challenge('invalid_token') if request.url.path == MANIFEST else None)  # pylint: disable=protected-access
        with pytest.raises(AuthenticationError):
            get(client)
    assert fake.calls()[3:] == ['GET ' + MANIFEST, 'TOKEN repository:app:pull', 'GET ' + MANIFEST]


def test_fresh_token_refused_fails_without_second_token() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    fake.hooks.append(lambda request: fake._challenge('insufficient_scope') if request.url.path == MANIFEST else None)  # pylint: disable=protected-access
    with make_client(fake, creds=CREDS) as client, pytest.raises(AuthenticationError) as info:
        get(client)
    assert fake.issued == 1
    assert 'tok-1' not in info.value.message


REVOKED = ('reading manifest registry.test/app:latest: UNAUTHORIZED: authentication required (HTTP 401 Unauthorized); '
           'the registry refused the token its token server issued for the credentials of user %s from test '
           '(revoked, or the registry and the token server disagree on the signing key?)' % USER)


def refuse_every_token(fake: FakeRegistry, error: str | None) -> None:
    """The registry answers 401 to every token its token server issues (a revoked key, a key mismatch, or too little access)."""
    fake.hooks.append(lambda request: fake._challenge(error)  # pylint: disable=protected-access
                      if request.url.path == MANIFEST and request.headers.get('authorization', '').startswith('Bearer ') else None)


@pytest.mark.parametrize('error', [None, 'invalid_token'])
def test_fresh_token_refused_blames_the_token_not_the_password(error: str | None) -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    refuse_every_token(fake, error)
    with make_client(fake, creds=CREDS) as client, pytest.raises(TokenRefusedError) as info:
        get(client)
    assert info.value.message == REVOKED
    assert info.value.status == 401 and info.value.code == 'UNAUTHORIZED' and not info.value.insufficient_scope
    assert 'wrong username or password' not in info.value.message
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'GET ' + MANIFEST]


def test_cached_token_refused_then_its_fresh_successor_too_is_a_token_refusal() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=CREDS) as client:
        get(client)
        refuse_every_token(fake, 'invalid_token')
        with pytest.raises(TokenRefusedError) as info:
            get(client)
    assert info.value.message == REVOKED
    # One new token after the cached one was refused, and no third.
    assert fake.calls()[3:] == ['GET ' + MANIFEST, 'TOKEN repository:app:pull', 'GET ' + MANIFEST]


@pytest.mark.parametrize('creds, hint', [
    (CREDS, 'the token server accepted the credentials of user %s from test, but the token it issued does not grant this '
            '(no permission, or no such repository?)' % USER),
    (None, 'no credentials were found for registry.test'),
])
def test_fresh_token_with_insufficient_scope_says_what_it_lacks(creds: t.Any, hint: str) -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    refuse_every_token(fake, 'insufficient_scope')
    with make_client(fake, creds=creds) as client, pytest.raises(TokenRefusedError) as info:
        get(client)
    assert info.value.message == 'reading manifest registry.test/app:latest: UNAUTHORIZED: authentication required (HTTP 401 Unauthorized); ' + hint
    assert info.value.insufficient_scope and fake.issued == 1


def test_a_token_refused_by_the_token_server_still_blames_the_credentials() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=Credentials(USER, 'wrong')) as client, pytest.raises(AuthenticationError) as info:
        get(client)
    assert not isinstance(info.value, TokenRefusedError)
    assert info.value.message.endswith('the registry refused the credentials of user %s from test (wrong username or password?)' % USER)


def test_identity_token_uses_the_oauth2_refresh_grant() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=Credentials(USER, None, identity_token='identity-123')) as client:
        get(client)
    token_request = fake.requests[1]
    assert token_request.method == 'POST'
    assert token_request.headers['content-type'] == 'application/x-www-form-urlencoded'
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form == {'grant_type': 'refresh_token', 'refresh_token': 'identity-123', 'client_id': 'ocikit.images',
                    'scope': 'repository:app:pull', 'service': 'registry.test'}
    assert fake.requests[2].headers['authorization'] == 'Bearer tok-1'


@pytest.mark.parametrize('where', ['options', 'credentials'])
def test_registry_token_is_used_directly(where: str) -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    fake.tokens['given-token'] = {('app', 'pull')}
    if where == 'options':
        client = make_client(fake, registry_token='given-token')
    else:
        client = make_client(fake, creds=Credentials(registry_token='given-token'))
    with client:
        get(client)
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST]
    assert fake.requests[1].headers['authorization'] == 'Bearer given-token'


def test_wrong_password_at_the_token_server() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    with make_client(fake, creds=Credentials(USER, 'wrong')) as client, pytest.raises(AuthenticationError) as info:
        get(client)
    assert info.value.message == ('requesting a token from auth.test for registry.test: HTTP 401 Unauthorized; '
                                  'the registry refused the credentials of user %s from test (wrong username or password?)' % USER)
    assert info.value.status == 401


@pytest.mark.parametrize('chunked', [False, True])
def test_token_body_is_bounded(chunked: bool) -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    big = b'{"token": "' + b'a' * (1024 * 1024) + b'"}'

    def huge_token(request: httpx.Request) -> httpx.Response | None:
        if request.url.host != AUTH_HOST:
            return None
        return httpx.Response(200, content=iter([big[:1000], big[1000:]]) if chunked else big)

    fake.hooks.append(huge_token)
    with make_client(fake, creds=CREDS) as client, pytest.raises(AuthenticationError, match='1048576 byte limit'):
        get(client)


def test_realm_query_is_kept() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))

    def challenge(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == '/v2/':
            return httpx.Response(401, headers={'WWW-Authenticate': 'Bearer realm="https://auth.test/token?tenant=t1",service="svc"'})
        return None

    fake.hooks.append(challenge)
    with make_client(fake, creds=CREDS) as client:
        get(client)
    assert fake.requests[1].url.params.multi_items() == [('tenant', 't1'), ('account', USER), ('service', 'svc'),
                                                         ('scope', 'repository:app:pull')]


def test_every_request_has_the_timeout() -> None:
    with make_client(FakeRegistry(), timeout=7.5) as client:
        timeout = client._http.timeout  # pylint: disable=protected-access
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (7.5, 7.5, 7.5, 7.5)


@pytest.mark.parametrize('header', ['Bearer service="s"', 'Bearer realm="ftp://auth.test/token"', 'Bearer realm="/token"'])
def test_bearer_challenge_without_usable_realm(header: str) -> None:
    def registry(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={'WWW-Authenticate': header})

    with make_client(registry) as client, pytest.raises(AuthenticationError, match='without a usable realm'):
        get(client)


def test_challenge_learnt_from_a_repository_401(fake: FakeRegistry) -> None:
    """The ping needs no auth but the repository does (as with some hosted registries)."""
    with_manifest(fake)
    fake.auth = None
    secured = FakeRegistry(auth='bearer')

    def protect(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == MANIFEST and not secured._allowed(request, 'app', 'pull'):  # pylint: disable=protected-access
            return secured._challenge()  # pylint: disable=protected-access
        if request.url.host == AUTH_HOST:
            return secured._token(request)  # pylint: disable=protected-access
        return None

    fake.hooks.append(protect)
    with make_client(fake, creds=CREDS) as client:
        assert get(client).status == 200
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST, 'TOKEN repository:app:pull', 'GET ' + MANIFEST]


# -- retries ---------------------------------------------------------------------------------------


def failing(fake: FakeRegistry, responses: list[t.Any]) -> None:
    """Answer the manifest path with ``responses`` in turn (exceptions are raised), then normally."""
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != MANIFEST or not responses:
            return None
        item = responses.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    fake.hooks.append(hook)


def test_retry_after_seconds_is_honoured(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [httpx.Response(429, headers={'Retry-After': '2'}, content=error_body('TOOMANYREQUESTS'))])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        assert get(client).status == 200
    assert sleeps == [2.0]
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST, 'GET ' + MANIFEST]


def test_retry_after_http_date_is_honoured(fake: FakeRegistry) -> None:
    import email.utils  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    with_manifest(fake)
    failing(fake, [httpx.Response(429, headers={'Retry-After': email.utils.formatdate(time.time() + 20, usegmt=True)})])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        get(client)
    assert len(sleeps) == 1 and 15 < sleeps[0] <= 21


def test_503_then_success_with_exponential_backoff(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [httpx.Response(503), httpx.Response(502), httpx.Response(504)])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, retry_delay=1.0) as client:
        assert get(client).status == 200
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 2 ** attempt / 2 <= delay <= 2 ** attempt  # equal jitter around 1, 2, 4 s


def test_backoff_is_capped() -> None:
    client = make_client(FakeRegistry(), retry_delay=1.0)
    with client:
        assert all(client._backoff(attempt) <= 30.0 for attempt in range(20))  # pylint: disable=protected-access
        assert client._backoff(10) >= 15.0  # pylint: disable=protected-access


def test_retries_are_bounded(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [httpx.Response(503) for dummy in range(10)])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, retry_times=2) as client, pytest.raises(ServerError) as info:
        get(client)
    assert info.value.status == 503 and info.value.transient
    assert fake.calls().count('GET ' + MANIFEST) == 3
    assert len(sleeps) == 2


def test_long_retry_after_is_not_waited_for(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [httpx.Response(429, headers={'Retry-After': '3600'}, content=error_body('TOOMANYREQUESTS', 'rate limit'))])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client, pytest.raises(TooManyRequestsError) as info:
        get(client)
    assert sleeps == []
    assert info.value.retry_after == 3600.0


@pytest.mark.parametrize('status, error_type', [(401, AuthenticationError), (403, OcikitError), (404, ImageNotFoundError),
                                                (400, RegistryError)])
def test_fail_fast_statuses(fake: FakeRegistry, status: int, error_type: type) -> None:
    with_manifest(fake)
    failing(fake, [httpx.Response(status) for dummy in range(5)])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client, pytest.raises(error_type):
        get(client)
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST]
    assert sleeps == []


def test_connection_errors_are_retried(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [httpx.ConnectError('[Errno 111] Connection refused'), httpx.ReadTimeout('timed out')])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        assert get(client).status == 200
    assert len(sleeps) == 2


def test_connection_errors_exhausted(fake: FakeRegistry) -> None:
    failing(fake, [httpx.ConnectError('[Errno 111] Connection refused') for dummy in range(10)])
    with make_client(fake, retry_times=1) as client, pytest.raises(ConnectionFailedError) as info:
        get(client)
    assert info.value.message == 'cannot connect to registry.test: [Errno 111] Connection refused'


def test_tls_errors_are_not_retried() -> None:
    def registry(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate')

    sleeps: list[float] = []
    with make_client(registry, sleeps=sleeps) as client, pytest.raises(TLSError) as info:
        get(client)
    assert sleeps == []
    assert info.value.message.startswith('TLS certificate verification failed for registry.test: ')
    assert info.value.message.endswith('(set tls_verify: false or give cert_dir)')


def test_streamed_body_is_not_resent(fake: FakeRegistry) -> None:
    def unavailable(request: httpx.Request) -> httpx.Response | None:
        if request.method != 'PATCH':
            return None
        request.read()  # the body is sent before the status comes back
        return httpx.Response(503)

    fake.hooks.append(unavailable)
    sent = []

    def body() -> t.Iterator[bytes]:
        sent.append(1)
        yield b'data'

    with make_client(fake) as client, pytest.raises(ServerError):
        client.request('PATCH', '/v2/app/blobs/uploads/x', PULL, 'uploading', content=body(), ok=(202,))
    assert fake.calls().count('PATCH /v2/app/blobs/uploads/x') == 1
    assert sent == [1]


def test_unstarted_streamed_body_is_resent_after_a_connect_error(fake: FakeRegistry) -> None:
    class RefuseFirstPatch(httpx.BaseTransport):
        """Unlike MockTransport, does not read the body before deciding: a refused connection sends nothing."""

        refused = False

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == 'PATCH' and not self.refused:
                self.refused = True
                raise httpx.ConnectError('[Errno 111] Connection refused')
            request.read()
            fake.requests.append(request)
            return httpx.Response(202 if request.method == 'PATCH' else 200)

    with make_client(fake, transport=RefuseFirstPatch()) as client:
        client.request('PATCH', '/v2/app/blobs/uploads/x', PULL, 'uploading', content=iter([b'data']), ok=(202,))
    assert fake.calls() == ['GET /v2/', 'PATCH /v2/app/blobs/uploads/x']
    assert fake.requests[-1].content == b'data'


# -- bodies cut or stalled mid-way (issue 7, defect 9) -----------------------------------------------


class CutStream(httpx.SyncByteStream):
    """A body that delivers ``head`` and then fails as a reset, a peer close or a stall does."""

    def __init__(self, head: bytes, error: BaseException) -> None:
        self.head = head
        self.error = error

    def __iter__(self) -> t.Iterator[bytes]:
        yield self.head
        raise self.error


CUTS = [httpx.RemoteProtocolError('peer closed connection without sending complete message body (received 5 bytes, expected 20)'),
        httpx.ReadTimeout('The read operation timed out'),
        httpx.ReadError('[Errno 104] Connection reset by peer')]


def cut(status: int, body: bytes, error: BaseException, **headers: str) -> httpx.Response:
    """A response whose body stops half-way with ``error``."""
    headers = dict(headers, **{'Content-Length': str(len(body))})
    return httpx.Response(status, headers=headers, stream=CutStream(body[:len(body) // 2], error))


@pytest.mark.parametrize('error', CUTS, ids=['closed', 'stalled', 'reset'])
def test_a_manifest_cut_mid_body_is_fetched_again(fake: FakeRegistry, error: BaseException) -> None:
    with_manifest(fake)
    failing(fake, [cut(200, b'{"schemaVersion": 2}', error)])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps) as client:
        response = get(client)
    assert response.body == b'{"schemaVersion": 2}'
    assert fake.calls() == ['GET /v2/', 'GET ' + MANIFEST, 'GET ' + MANIFEST]
    assert len(sleeps) == 1


def test_a_tag_list_cut_mid_body_is_fetched_again(fake: FakeRegistry) -> None:
    with_manifest(fake)
    tags = '/v2/app/tags/list'
    answers = [cut(200, b'{"name": "app", "tags": ["latest"]}', CUTS[0])]
    fake.hooks.append(lambda request: answers.pop(0) if request.url.path == tags and answers else None)
    with make_client(fake) as client:
        response = client.request('GET', tags, PULL, 'listing tags of registry.test/app')
    assert response.body == b'{"name":"app","tags":["latest"]}'
    assert fake.calls().count('GET ' + tags) == 2


def test_a_token_response_cut_mid_body_is_fetched_again() -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    answers = [cut(200, b'{"token": "tok-cut", "expires_in": 300}', CUTS[0])]
    fake.hooks.append(lambda request: answers.pop(0) if request.url.host == AUTH_HOST and answers else None)
    with make_client(fake, creds=CREDS) as client:
        assert get(client).status == 200
    assert fake.calls() == ['GET /v2/', 'TOKEN repository:app:pull', 'TOKEN repository:app:pull', 'GET ' + MANIFEST]
    assert fake.requests[-1].headers['authorization'] == 'Bearer tok-1'


def test_cut_bodies_are_retried_within_retry_times(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [cut(200, b'{"schemaVersion": 2}', CUTS[0]) for dummy in range(10)])
    sleeps: list[float] = []
    with make_client(fake, sleeps=sleeps, retry_times=2) as client, pytest.raises(ConnectionFailedError) as info:
        get(client)
    assert info.value.message == ('connection to registry.test failed: peer closed connection without sending complete message body '
                                  '(received 5 bytes, expected 20)')
    assert fake.calls().count('GET ' + MANIFEST) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize('method, content', [('PATCH', b'data'), ('PUT', iter([b'data']))])
def test_cut_answers_to_unrepeatable_requests_are_final(fake: FakeRegistry, method: str, content: t.Any) -> None:
    path = '/v2/app/blobs/uploads/x'
    answers = [cut(202, b'{"some": "answer"}', CUTS[0])]
    fake.hooks.append(lambda request: answers.pop(0) if request.url.path == path and answers else None)
    with make_client(fake) as client, pytest.raises(ConnectionFailedError):
        client.request(method, path, PULL, 'uploading', content=content, ok=(202,))
    assert fake.calls().count('%s %s' % (method, path)) == 1


def test_a_cut_error_body_still_gives_the_status_error(fake: FakeRegistry) -> None:
    with_manifest(fake)
    failing(fake, [cut(404, error_body('MANIFEST_UNKNOWN', 'manifest unknown'), CUTS[0])])
    with make_client(fake) as client, pytest.raises(ImageNotFoundError) as info:
        get(client)
    assert info.value.message == 'reading manifest registry.test/app:latest: HTTP 404 Not Found'


# -- answers lost after the server acted (issue 7, defect 8) ------------------------------------------


def lost_then(fake: FakeRegistry, path: str, first: t.Any) -> None:
    """The first request to ``path`` reaches the fake (which acts on it), then its answer is replaced by ``first``."""
    done: list[bool] = []

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != path or done:
            return None
        done.append(True)
        fake.hooks.remove(hook)
        fake(request)  # the registry does it...
        fake.requests.pop()
        if isinstance(first, BaseException):
            raise first  # ...and the answer never arrives
        return first

    fake.hooks.insert(0, hook)


@pytest.mark.parametrize('first', [httpx.ReadError('[Errno 104] Connection reset by peer'), httpx.ReadTimeout('timed out'),
                                   httpx.Response(502), cut(202, b'{"deleted": true}', CUTS[0])],
                         ids=['reset', 'timeout', 'gateway', 'cut'])
def test_a_retry_after_a_lost_answer_is_uncertain(fake: FakeRegistry, first: t.Any) -> None:
    with_manifest(fake)
    digest = fake.add_manifest('app', b'{"schemaVersion": 2}', 'application/vnd.oci.image.manifest.v1+json')
    path = '/v2/app/manifests/' + digest
    fake.hooks.append(lambda request: fake.manifests.pop(('app', digest)) and httpx.Response(202)
                      if request.method == 'DELETE' and ('app', digest) in fake.manifests else None)
    lost_then(fake, path, first)
    with make_client(fake) as client:
        response = client.request('DELETE', path, PULL, 'deleting', ok=(202, 404))
    assert response.status == 404 and response.uncertain
    assert fake.calls()[-1] == 'DELETE ' + path


@pytest.mark.parametrize('first', [httpx.ConnectError('[Errno 111] Connection refused'), httpx.Response(429)])
def test_a_retry_after_a_request_that_never_arrived_is_certain(fake: FakeRegistry, first: t.Any) -> None:
    with_manifest(fake)
    failing(fake, [first])
    with make_client(fake) as client:
        response = get(client)
    assert response.status == 200 and not response.uncertain


# -- a token revoked during an upload (issue 7, defect 9) -----------------------------------------------


def test_a_token_refused_during_a_streamed_upload_is_dropped_and_may_pass() -> None:
    fake = FakeRegistry(auth='bearer')
    path = '/v2/app/blobs/uploads/x'
    push = (Scope('app', 'pull,push'),)

    def revoke(request: httpx.Request) -> httpx.Response | None:
        if request.method != 'PATCH':
            return None
        request.read()  # the whole body went out before the 401 came back
        fake.tokens.clear()
        return fake._challenge('invalid_token')  # pylint: disable=protected-access

    with make_client(fake, creds=CREDS) as client:
        client.request('HEAD', '/v2/app/blobs/sha256:' + '0' * 64, push, 'checking', ok=(404,))
        fake.hooks.append(revoke)
        with pytest.raises(TokenExpiredError) as info:
            client.request('PATCH', path, push, 'uploading blob x to registry.test/app', content=iter([b'data']), ok=(202,))
        assert info.value.transient and info.value.status == 401
        assert info.value.message == ('uploading blob x to registry.test/app: the registry refused the token during the upload '
                                      '(expired or revoked); a new one is needed')
        assert len(client.tokens) == 0
        fake.hooks.remove(revoke)
        client.request('HEAD', '/v2/app/blobs/sha256:' + '0' * 64, push, 'checking', ok=(404,))
    assert fake.calls().count('PATCH ' + path) == 1
    assert [c for c in fake.calls() if c.startswith('TOKEN')] == ['TOKEN repository:app:pull,push'] * 2
    assert fake.requests[-1].headers['authorization'] == 'Bearer tok-2'


def test_a_fresh_token_refused_during_an_upload_is_final() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.hooks.append(lambda request: request.read() and fake._challenge('insufficient_scope')  # pylint: disable=protected-access
                      if request.method == 'PATCH' else None)
    with make_client(fake, creds=CREDS) as client, pytest.raises(AuthenticationError) as info:
        client.request('PATCH', '/v2/app/blobs/uploads/x', (Scope('app', 'pull,push'),), 'uploading', content=iter([b'data']), ok=(202,))
    assert not isinstance(info.value, TokenExpiredError) and not info.value.transient


# -- scheme ----------------------------------------------------------------------------------------


def https_refused(fake: FakeRegistry) -> None:
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.scheme == 'https':
            raise httpx.ConnectError('[SSL: WRONG_VERSION_NUMBER] wrong version number')
        return fake._route(request) if request.url.path != '/v2/' else httpx.Response(200)  # pylint: disable=protected-access

    fake.hooks.append(hook)


def test_http_fallback_when_tls_verify_is_false(fake: FakeRegistry) -> None:
    with_manifest(fake)
    https_refused(fake)
    with make_client(fake, tls_verify=False) as client:
        assert get(client).status == 200
        assert str(client.base_url) == 'http://registry.test/'
    assert [str(r.url) for r in fake.requests] == ['https://registry.test/v2/', 'http://registry.test/v2/',
                                                   'http://registry.test/v2/app/manifests/latest']


def test_no_http_fallback_when_tls_verify_is_true(fake: FakeRegistry) -> None:
    with_manifest(fake)
    https_refused(fake)
    with make_client(fake, retry_times=0) as client, pytest.raises(ConnectionFailedError):
        get(client)
    assert all(r.url.scheme == 'https' for r in fake.requests)


@pytest.mark.parametrize('registry', ['localhost:5000', '127.0.0.1:5000'])
def test_localhost_is_not_special(registry: str) -> None:
    seen = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.scheme)
        raise httpx.ConnectError('[Errno 111] Connection refused')

    with make_client(refuse, registry=registry, retry_times=0) as client, pytest.raises(ConnectionFailedError):
        get(client)
    assert seen == ['https']


def test_https_preferred_when_tls_verify_is_false(fake: FakeRegistry) -> None:
    with_manifest(fake)
    with make_client(fake, tls_verify=False) as client:
        get(client)
    assert all(r.url.scheme == 'https' for r in fake.requests)


def test_fallback_ping_still_retries_statuses(fake: FakeRegistry) -> None:
    with_manifest(fake)
    answers = [httpx.Response(503)]
    fake.hooks.append(lambda request: answers.pop(0) if request.url.path == '/v2/' and answers else None)
    sleeps: list[float] = []
    with make_client(fake, tls_verify=False, sleeps=sleeps) as client:
        get(client)
        assert client.base_url.scheme == 'https'
    assert len(sleeps) == 1


def test_both_schemes_failing(fake: FakeRegistry) -> None:
    def refuse(request: httpx.Request) -> None:
        raise httpx.ConnectError('[Errno 111] Connection refused')

    fake.hooks.append(refuse)
    with make_client(fake, tls_verify=False, retry_times=0) as client, pytest.raises(ConnectionFailedError) as info:
        get(client)
    assert info.value.message == ('pinging registry registry.test failed over https (cannot connect to registry.test: '
                                  '[Errno 111] Connection refused) and over http (cannot connect to registry.test: [Errno 111] Connection refused)')


def test_ping_of_something_else() -> None:
    def web_server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text='<html>no</html>')

    with make_client(web_server) as client, pytest.raises(RegistryError) as info:
        get(client)
    assert info.value.message == 'pinging registry registry.test (is it a registry serving the /v2/ API?): HTTP 404 Not Found'


def test_docker_hub_endpoint() -> None:
    hosts = []

    def hub(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={})

    with make_client(hub, registry='docker.io') as client:
        client.request('GET', '/v2/library/busybox/tags/list', (Scope('library/busybox', 'pull'),), 'listing')
    assert hosts == ['registry-1.docker.io', 'registry-1.docker.io']


# -- secrets and sharing ---------------------------------------------------------------------------


@pytest.mark.parametrize('status', [400, 401, 403, 404, 405, 429, 500, 503])
def test_errors_never_contain_credentials(status: int) -> None:
    fake = with_manifest(FakeRegistry(auth='bearer'))
    fake.tokens['given'] = {('app', 'pull')}
    failing(fake, [httpx.Response(status, content=error_body('X', 'echo')) for dummy in range(10)])
    for creds in (CREDS, Credentials(registry_token='given')):
        with make_client(fake, creds=creds, retry_times=0) as client, pytest.raises(OcikitError) as info:
            get(client)
        text = str(info.value) + repr(info.value.args)
        for secret in SECRET_MARKERS + ('tok-', 'given', 'Bearer', 'Basic'):
            assert secret not in text


def test_client_repr_and_options_repr_hide_secrets() -> None:
    client = make_client(FakeRegistry(), password=PASSWORD, username=USER)
    with client:
        assert PASSWORD not in repr(client) and PASSWORD not in repr(client.options)


def test_no_creds_never_looks_credentials_up() -> None:
    looked_up = []
    fake = with_manifest(FakeRegistry(auth='bearer'))
    client = RegistryClient('registry.test', ConnectionOptions(no_creds=True), transport=httpx.MockTransport(fake),
                            credentials=lambda *args: looked_up.append(args))
    with client:
        get(client)
    assert not looked_up


def test_require_httpx_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, 'HTTPX_IMPORT_ERROR', ImportError('No module named httpx'))
    with pytest.raises(ImportError, match='httpx') as info:
        client_module.require_httpx()
    assert info.value.name == 'httpx'


@pytest.mark.parametrize('location', ['http://[::1', 'ftp://other.test/x'])
def test_an_unusable_redirect_is_the_registrys_answer_not_a_network_failure(location: str) -> None:
    # httpx refuses such a Location while it reads the answer; that used to be mapped to a
    # connection failure and retried as if the network had failed.
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(307, headers={'Location': location})

    with make_client(answer, retry_times=3) as client, pytest.raises(OcikitError) as info:
        get(client)
    assert not isinstance(info.value, ConnectionFailedError), info.value
    assert len(sent) == 1
    assert 'redirect' in str(info.value).lower()
