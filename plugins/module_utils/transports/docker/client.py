# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An HTTP client for one registry (the distribution API v2): scheme, auth, retries, errors.

One :class:`RegistryClient` serves every repository of one registry and may be shared between
threads and between sources and destinations (see transports/docker/pool.py, :class:`ClientPool`).

Scheme
    ``https`` always. Only when ``tls_verify`` is false, and only when the https ping fails at the
    connection or TLS level, is plain ``http`` tried; no host (not even localhost) is special.

Auth
    The first request pings ``/v2/`` without credentials and keeps the challenges. Bearer is
    preferred over Basic. Bearer tokens are asked for exactly the scopes a request needs (several
    repositories in one token request for cross-repository mounts), cached per scope set until
    shortly before they expire, and fetched through the same TLS settings as the registry. An
    ``Authorization`` header goes only to the registry's own origin, never to a redirect target or
    an upload location on another host. A 401 answered to a cached token drops the token, and the
    request is sent once more with a fresh one. A 401 answered to a token fresh from the token
    server is final, and raises TokenRefusedError: the token server accepted the credentials, so
    the message does not blame the password but the token (its scope, or the registry's trust in it).

Retries
    Connection failures, 408, 429, 502, 503 and 504 are retried up to ``retry_times`` times, with
    exponential backoff (base ``retry_delay``, default 1 s, doubling, capped at 30 s, "equal
    jitter": half fixed, half random) or the server's ``Retry-After`` when it gives one
    (containers/image's docker client does so for a 429, capped at its longest backoff). A
    ``Retry-After`` beyond ``max_retry_after`` (default 60 s) is not waited for: the
    TooManyRequestsError is raised at once, carries ``retry_after`` and says how long the registry
    asked to wait. Other statuses fail at once. A request whose streamed body has
    started to be sent is never retried (the bytes are gone); uploads fail and the caller restarts
    the blob from its source. A 401 to a cached token during such an upload drops the token and
    raises TokenExpiredError, which may pass: the restarted upload gets a new token.

    Small documents (manifests, tag lists, token responses, the answers of PUT and DELETE) are
    read whole by one helper: when the connection breaks or stalls in the middle of the body,
    the whole request is sent again (within the same ``retry_times``), unless its body was a
    stream or it was a PATCH. A response says ``uncertain`` when an earlier attempt of it may
    have reached the server and been carried out although its answer was lost (a DELETE retried
    after a reset, then answered 404, deleted nonetheless).

Rate limits
    A ``Retry-After`` from the registry itself (429, 503) holds back every request of this client
    to that registry, not only the one refused: the others would be refused alike and burn their
    retries. Every answer's ``RateLimit-Remaining`` is read too: when it says ``0``, the next
    request to the registry first waits for the limit to reset instead of earning a 429. The reset
    comes from ``RateLimit-Reset`` (delta seconds, as in the IETF draft
    draft-ietf-httpapi-ratelimit-headers; a value beyond 10^9 is taken for a Unix time, as some
    servers send), else from the window of Docker Hub's ``RateLimit-Remaining: N;w=SECONDS`` (or of
    ``RateLimit-Limit``); when none is given nothing waits. A reset further away than
    ``max_retry_after`` fails the next request at once with TooManyRequestsError naming the
    registry and the wait. Headers that do not parse are ignored. containers/image reads only
    ``Retry-After``, for the refused request alone; the pacing is ours. Requests to other hosts
    (token server, redirect targets) are not paced, but honour their own ``Retry-After``.

Requests in flight
    At most ``max_parallel`` requests (:meth:`request`, and :meth:`stream` until its block ends)
    are in progress at once per client, so per registry for everyone sharing the client (a sync's
    copies through one ClientPool). A request made while its thread holds another one's slot (the
    upload of a blob being streamed from a source) does not wait for a slot: the bound then may be
    passed by as many as the threads doing so, but two copies in opposite directions cannot wait
    for each other forever.

Accounting
    :meth:`RegistryClient.stats` is a snapshot of what the client sent: requests by method (the
    ping, token requests, retries and redirects included), manifest GETs (a copy that finds its
    destination up to date makes none there), token fetches, retries, 429 answers, rate-limit waits
    and their seconds (summed over the requests that waited, so with several threads it may exceed
    the time that passed), body bytes received and sent, and the most requests that were in
    progress at once (in :meth:`request` or :meth:`stream`). pool.merge_stats adds snapshots up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import re
import threading
import time
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AuthenticationError,
    ConnectionFailedError,
    OcikitError,
    RegistryError,
    TokenExpiredError,
    TokenRefusedError,
    TooManyRequestsError,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import (
    AUTH_SCHEME_NONE,
    MAX_TOKEN_BODY,
    Challenge,
    Scope,
    TokenCache,
    TokenKey,
    basic_authorization,
    parse_challenges,
    parse_token_response,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.errors_map import (
    MAX_ERROR_BODY,
    error_from_response,
    parse_retry_after,
    transport_error,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.tls import ssl_context

from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.httpx_import import HTTPX_IMPORT_ERROR, httpx

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

#: Statuses worth sending again.
RETRY_STATUSES = frozenset((408, 429, 502, 503, 504))
#: Largest delay between two attempts chosen by backoff.
MAX_BACKOFF = 30.0
#: The default of ``ConnectionOptions.max_retry_after``: a longer ``Retry-After`` or rate-limit reset is not waited for.
MAX_RETRY_AFTER = 60.0
DEFAULT_RETRY_DELAY = 1.0
# Bodies are handed on in 1 MiB pieces: TLS gives 16 KiB reads, and every piece costs a trip
# through the digest, the writer and several generators (the pull profile was half interpreter).
BODY_CHUNK_SIZE = 1024 * 1024
#: A body of at least this many bytes (HTTP/1.1, Content-Length, no encoding) is read from the socket
#: into BODY_CHUNK_SIZE buffers, past httpx's 16 KiB-per-record generators (``_direct_body``); the
#: connection is then closed, not reused, which costs a TLS handshake (~2 ms of CPU) that the
#: saved interpreter time pays for from about 2 MiB on.
DIRECT_BODY_MIN = 4 * 1024 * 1024
MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
#: Answers that a gateway may give after it passed the request on: the server may have acted on it.
GATEWAY_STATUSES = frozenset((502, 503, 504))
#: Transport failures raised before a request can have left this host.
_NOT_SENT_ERRORS = ('ConnectError', 'ConnectTimeout', 'PoolTimeout')
#: Methods always present in :meth:`RegistryClient.stats` (others appear when used).
COUNTED_METHODS = ('DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT')
#: A ``RateLimit-Reset`` this large is a Unix time, not a delta.
_EPOCH_THRESHOLD = 10 ** 9
_MANIFEST_PATH = re.compile(r'^/v2/.+/manifests/[^/]+$')
#: How many request slots (of any client) each thread holds, by thread ident: see RegistryClient._in_flight. Not a
#: threading.local: a stream left open is closed by whichever thread collects it, and must count down its owner.
_SLOTS_HELD: dict[int, int] = {}
_SLOTS_LOCK = threading.Lock()

# Docker Hub is named docker.io in references but served from this host, as in containers/image.
_ENDPOINTS = {'docker.io': 'registry-1.docker.io'}

CredentialsResolver = t.Callable[[str, t.Optional[str], 'ConnectionOptions'], t.Any]


def _quota(value: str | None) -> tuple[int, int | None] | None:
    """``(quota, window seconds or None)`` of a RateLimit-Limit/-Remaining value (``0``, ``76;w=21600``); None if unusable."""
    if not value:
        return None
    # Several policies may be listed ("0, 0;w=60"): the first is the one in effect.
    parts = value.split(',')[0].split(';')
    quota = parts[0].strip()
    if not (quota.isascii() and quota.isdigit()):
        return None
    window = None
    for param in parts[1:]:
        name, sep, number = param.partition('=')
        number = number.strip().strip('"')
        if sep and name.strip().lower() == 'w' and number.isascii() and number.isdigit():
            window = int(number)
    return int(quota), window


def parse_rate_limit(headers: t.Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until the rate limit resets when ``headers`` say no request remains (``RateLimit-Remaining: 0``); else None.

    The reset is ``RateLimit-Reset`` (delta seconds; beyond 10^9 a Unix time, ``now`` being the
    current Unix time), else the ``w=`` window of ``RateLimit-Remaining`` or ``RateLimit-Limit``
    (Docker Hub's form). None when requests remain, when no reset is known, or when the headers do
    not parse: a registry's garbage must not stop a copy.
    """
    remaining = _quota(headers.get('ratelimit-remaining'))
    if remaining is None or remaining[0] != 0:
        return None
    reset = (headers.get('ratelimit-reset') or '').split(',')[0].strip()
    if reset.isascii() and reset.isdigit():
        seconds = float(reset)
        if seconds >= _EPOCH_THRESHOLD:
            seconds -= time.time() if now is None else now
        return seconds if seconds > 0 else None
    limit = _quota(headers.get('ratelimit-limit'))
    window = remaining[1] if remaining[1] is not None else (limit[1] if limit is not None else None)
    return float(window) if window else None


def require_httpx() -> None:
    """Raise ImportError (``name='httpx'``) with a clear message when httpx is not installed."""
    if HTTPX_IMPORT_ERROR is not None:
        raise ImportError('the Python library httpx is required to talk to registries (docker:// images); install it with "pip install httpx"',
                          name='httpx') from HTTPX_IMPORT_ERROR


def registry_endpoint(registry: str) -> str:
    """The ``host[:port]`` serving ``registry`` (the domain of a reference)."""
    return _ENDPOINTS.get(registry, registry)


def _default_resolver(registry: str, repository: str | None, options: 'ConnectionOptions') -> t.Any:
    from ansible_collections.ocikit.images.plugins.module_utils.config.auth import (  # pylint: disable=import-outside-toplevel
        resolve_credentials,
    )

    return resolve_credentials(registry, repository, options)


@dataclasses.dataclass
class RegistryResponse:
    """A registry answer read whole (bodies are bounded by the caller's ``limit``)."""

    status: int
    headers: 'httpx.Headers'
    body: bytes
    url: 'httpx.URL'
    uncertain: bool = False
    """An earlier attempt may have been carried out by the server, its answer lost (then retried)."""


@dataclasses.dataclass
class _Attempts:
    """What the attempts of one request have learnt: whether the server may have acted on one already."""

    uncertain: bool = False


class _TrackedBody:
    """An upload body that remembers whether sending it has begun (then it cannot be resent), and counts its bytes."""

    def __init__(self, chunks: t.Iterable[bytes], sent: t.Callable[[int], None]) -> None:
        self._chunks = chunks
        self._sent = sent
        self.started = False

    def __iter__(self) -> t.Iterator[bytes]:
        self.started = True
        for chunk in self._chunks:
            self._sent(len(chunk))
            yield chunk


def _origin(url: 'httpx.URL') -> tuple[str, str, int | None]:
    port = url.port or {'https': 443, 'http': 80}.get(url.scheme)
    return url.scheme, url.host.lower(), port


def _host_port(url: 'httpx.URL') -> str:
    host = url.host if ':' not in url.host else '[%s]' % url.host
    return '%s:%d' % (host, url.port) if url.port else host


def join_url(base: 'httpx.URL', location: str, what: str) -> 'httpx.URL':
    """Resolve a ``Location`` (relative or absolute) against ``base``; only http(s) URLs are accepted."""
    try:
        url = base.join(location)
    except httpx.InvalidURL as exc:
        raise RegistryError('%s: the registry gave an invalid Location' % what) from exc
    if url.scheme not in ('https', 'http') or not url.host:
        raise RegistryError('%s: the registry gave a Location that is not an http(s) URL' % what)
    if url.userinfo:
        # httpx would turn user:password@ into an Authorization header for a host the registry chose.
        raise RegistryError('%s: the registry gave a Location with credentials in it' % what)
    return url


def _read_limited(response: 'httpx.Response', limit: int, what: str, limit_error: type[OcikitError], host: str,
                  timeout: float | None) -> bytes:
    length = response.headers.get('content-length', '')
    if length.isdigit() and int(length) > limit:
        raise limit_error('%s: the response is %s bytes, more than the %d byte limit' % (what, length, limit))
    parts = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                raise limit_error('%s: the response exceeds the %d byte limit' % (what, limit))
            parts.append(chunk)
    except httpx.TransportError as exc:
        raise transport_error(exc, host, timeout) from exc
    return b''.join(parts)


class RegistryClient:
    """HTTP access to one registry, shared by every repository and thread that uses it.

    ``registry`` is the domain of a reference (``docker.io``, ``127.0.0.1:5000``). ``transport``
    replaces httpx's network transport (tests pass an ``httpx.MockTransport``); ``credentials``
    replaces the lookup of credentials (``config.auth.resolve_credentials``); ``clock``, ``sleep``
    and ``rng`` make time and jitter controllable.
    """

    def __init__(self, registry: str, options: 'ConnectionOptions', *, transport: t.Any = None,
                 credentials: CredentialsResolver | None = None, clock: t.Callable[[], float] = time.monotonic,
                 sleep: t.Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        require_httpx()
        self.registry = registry
        self.endpoint = registry_endpoint(registry)
        self.options = options
        self._resolver = credentials or _default_resolver
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._timeout = float(options.timeout)
        parallel = max(1, int(options.max_parallel or 1))
        self._http = httpx.Client(
            verify=ssl_context(registry, options),
            transport=transport,
            trust_env=True,
            http2=False,
            follow_redirects=False,
            timeout=httpx.Timeout(self._timeout),
            limits=httpx.Limits(max_connections=max(16, 2 * parallel + 4), max_keepalive_connections=max(8, parallel + 2)),
            # Blobs are read as stored: no transparent compression by a server or a proxy.
            headers={'User-Agent': options.user_agent, 'Accept-Encoding': 'identity'},
        )
        self._lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._base_url: httpx.URL | None = None
        self._challenges: list[Challenge] = []
        self._credentials: dict[str | None, t.Any] = {}
        self.tokens = TokenCache(clock)
        self._max_retry_after = max(0.0, float(options.max_retry_after))
        # Accounting and rate-limit state, shared by every thread using the client.
        self._stats_lock = threading.Lock()
        self._methods: dict[str, int] = dict.fromkeys(COUNTED_METHODS, 0)
        self._counts: dict[str, int] = dict.fromkeys(('manifest_gets', 'token_fetches', 'retries', 'rate_limited', 'rate_limit_waits',
                                                      'bytes_received', 'bytes_sent', 'in_flight', 'peak_in_flight'), 0)
        self._waited = 0.0
        self._paused_until = 0.0
        # The bound on requests in flight at this registry (see _in_flight), shared by everyone sharing the client.
        self.max_parallel = parallel
        self._slots = threading.BoundedSemaphore(parallel)
        self._pause_reason = ''
        # (repository, digest) of the blobs made present (or found) through this client: see remember_blob.
        self._present_blobs: set[tuple[str, str]] = set()
        # Repositories the registry said it did not know (NAME_UNKNOWN): see remember_new_repository.
        self._new_repositories: set[str] = set()

    def __repr__(self) -> str:
        return 'RegistryClient(%r)' % self.registry

    # -- accounting ----------------------------------------------------------------------------

    def stats(self) -> dict[str, t.Any]:
        """A snapshot of what this client has sent and waited for (see the module docstring, "Accounting").

        Keys: ``requests`` (all HTTP requests sent), ``methods`` (requests by method: DELETE, GET,
        HEAD, PATCH, POST, PUT always present), ``manifest_gets``, ``token_fetches``, ``retries``,
        ``rate_limited`` (429 answers), ``rate_limit_waits`` and ``rate_limit_wait_seconds``,
        ``bytes_received``, ``bytes_sent``, ``peak_in_flight``.
        """
        with self._stats_lock:
            snapshot: dict[str, t.Any] = {key: value for key, value in self._counts.items() if key != 'in_flight'}
            snapshot['methods'] = dict(self._methods)
            snapshot['requests'] = sum(self._methods.values())
            snapshot['rate_limit_wait_seconds'] = round(self._waited, 3)
        return snapshot

    def _count(self, key: str, amount: int = 1) -> None:
        with self._stats_lock:
            self._counts[key] += amount

    def _count_request(self, request: 'httpx.Request', attempt: int, streamed: bool) -> None:
        sent = 0
        if not streamed:
            try:
                sent = len(request.content)
            except httpx.RequestNotRead:
                sent = 0
        with self._stats_lock:
            self._methods[request.method] = self._methods.get(request.method, 0) + 1
            if request.method == 'GET' and _MANIFEST_PATH.match(request.url.path):
                self._counts['manifest_gets'] += 1
            if attempt:
                self._counts['retries'] += 1
            self._counts['bytes_sent'] += sent

    @contextlib.contextmanager
    def _in_flight(self) -> t.Iterator[None]:
        """Hold one of the ``max_parallel`` slots of this client while a request (or a stream) is in progress.

        A thread that holds no slot of any client waits for one. A thread that already holds one
        (a blob stream it is copying into a destination) takes a free slot if there is one, else
        goes on without: it must not wait, for the threads holding the slots it waits for may be
        waiting for its own (a copy from A to B beside one from B to A), and a sync that hangs is
        worse than one that sends a few requests more. The bound is exact for every request that
        is not nested in another.
        """
        owner = threading.get_ident()
        with _SLOTS_LOCK:
            nested = _SLOTS_HELD.get(owner, 0) > 0
        slot = self._slots.acquire(blocking=not nested)
        with _SLOTS_LOCK:
            _SLOTS_HELD[owner] = _SLOTS_HELD.get(owner, 0) + 1
        with self._stats_lock:
            self._counts['in_flight'] += 1
            self._counts['peak_in_flight'] = max(self._counts['peak_in_flight'], self._counts['in_flight'])
        try:
            yield
        finally:
            with self._stats_lock:
                self._counts['in_flight'] -= 1
            with _SLOTS_LOCK:
                if _SLOTS_HELD[owner] > 1:
                    _SLOTS_HELD[owner] -= 1
                else:
                    del _SLOTS_HELD[owner]
            if slot:
                self._slots.release()

    # -- blobs known present -------------------------------------------------------------------

    def blob_known(self, repository: str, digest: str) -> bool:
        """Whether a blob was made present in (or found in) ``repository`` through this client (:meth:`remember_blob`)."""
        with self._stats_lock:
            return (repository, digest) in self._present_blobs

    def remember_blob(self, repository: str, digest: str) -> None:
        """Record a blob present in ``repository`` (uploaded, mounted, or a HEAD answered 200).

        The copies of a sync share this client: the next image needing the same blob there (a base
        layer of many tags) does not ask again, one ``HEAD`` per blob and repository for the whole
        sync. A destination that meets a missing blob after all (deleted meanwhile: a manifest refused
        with MANIFEST_BLOB_UNKNOWN) calls :meth:`forget_blobs`.
        """
        with self._stats_lock:
            self._present_blobs.add((repository, digest))

    def forget_blobs(self, repository: str) -> None:
        """Forget every blob remembered in ``repository``, and that it was new."""
        with self._stats_lock:
            self._present_blobs = {key for key in self._present_blobs if key[0] != repository}
            self._new_repositories.discard(repository)

    def remember_new_repository(self, repository: str) -> None:
        """Record that the registry did not know ``repository`` (a tag list answered NAME_UNKNOWN): it holds no tag.

        In the distribution registry a blob is present in a repository only once it is linked there,
        so such a repository holds no blob but those put there since (which this client remembers,
        :meth:`remember_blob`) and those of a push interrupted before its first tag. A destination
        then uploads its small blobs without asking (see DockerImageDestination.try_reuse_blob).
        """
        with self._stats_lock:
            self._new_repositories.add(repository)

    def repository_is_new(self, repository: str) -> bool:
        """Whether :meth:`remember_new_repository` recorded ``repository`` (and nothing made it forget)."""
        with self._stats_lock:
            return repository in self._new_repositories

    # -- rate limits ---------------------------------------------------------------------------

    def _pause(self, seconds: float, reason: str) -> None:
        """Hold back every request to the registry for ``seconds`` (a later end wins)."""
        until = self._clock() + seconds
        with self._stats_lock:
            if until > self._paused_until:
                self._paused_until, self._pause_reason = until, reason

    def _pause_left(self) -> float | None:
        with self._stats_lock:
            left = self._paused_until - self._clock()
        return left if left > 0 else None

    def _wait(self, seconds: float) -> None:
        """Sleep for a rate limit, counted."""
        with self._stats_lock:
            self._counts['rate_limit_waits'] += 1
            self._waited += seconds
        self._sleep(seconds)

    def _await_rate_limit(self, what: str) -> None:
        """Before a request to the registry: wait out a pause, or fail at once when it is longer than ``max_retry_after``."""
        with self._stats_lock:
            until, reason = self._paused_until, self._pause_reason
        left = until - self._clock()
        if left <= 0:
            return
        if left > self._max_retry_after:
            raise TooManyRequestsError('%s: registry %s asks to wait %d s (%s), longer than max_retry_after (%g s); not waiting'
                                       % (what, self.registry, math.ceil(left), reason, self._max_retry_after),
                                       status=429, retry_after=left)
        self._wait(left)
        with self._stats_lock:
            # Waited out (the clock is past it now): later requests need not wait for it again.
            if self._paused_until == until:
                self._paused_until = 0.0

    def _learn_rate_limit(self, response: 'httpx.Response') -> None:
        reset = parse_rate_limit(response.headers)
        if reset is not None:
            self._pause(reset, 'RateLimit-Remaining: 0')

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> 'RegistryClient':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    # -- URLs ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> 'httpx.URL':
        """``scheme://endpoint``, after the ping has chosen the scheme."""
        self.ping()
        return t.cast('httpx.URL', self._base_url)

    def url(self, path_or_url: 't.Any') -> 'httpx.URL':
        """An absolute URL: ``path`` joined to the registry's base URL, absolute URLs kept."""
        return self.base_url.join(path_or_url)

    def same_origin(self, url: 'httpx.URL') -> bool:
        """True when ``url`` is on the registry itself (scheme, host and port)."""
        return _origin(url) == _origin(self.base_url)

    # -- ping ----------------------------------------------------------------------------------

    def ping(self) -> None:
        """Choose the scheme and read the auth challenges (once; later calls return at once)."""
        if self._base_url is not None:
            return
        with self._lock:
            if self._base_url is not None:
                return
            self._ping()

    def _ping(self) -> None:
        what = 'pinging registry %s' % self.registry
        https = httpx.URL('https://%s/v2/' % self.endpoint)
        if self.options.tls_verify:
            response = self._send_raw(self._http.build_request('GET', https), None, what=what)
        else:
            try:
                # A refused or failed TLS connection goes to http at once; statuses are retried as usual.
                response = self._send_raw(self._http.build_request('GET', https), None, retry_connection_errors=False, what=what)
            except ConnectionFailedError as https_error:
                http = https.copy_with(scheme='http')
                try:
                    response = self._send_raw(self._http.build_request('GET', http), None, what=what)
                except ConnectionFailedError as http_error:
                    raise ConnectionFailedError('%s failed over https (%s) and over http (%s)'
                                                % (what, https_error.message, http_error.message)) from http_error
        try:
            if response.status_code not in (200, 401):
                raise self._error(response, what + ' (is it a registry serving the /v2/ API?)')
            self._challenges = parse_challenges(response.headers.get_list('www-authenticate'))
            self._base_url = httpx.URL('%s://%s/' % (response.request.url.scheme, self.endpoint))
        finally:
            response.close()

    # -- credentials and tokens ------------------------------------------------------------------

    def credentials_for(self, repository: str | None) -> t.Any:
        """The credentials for ``repository`` (None: anonymous), looked up once per repository."""
        if self.options.no_creds:
            return None
        with self._auth_lock:
            if repository not in self._credentials:
                self._credentials[repository] = self._resolver(self.registry, repository, self.options)
            return self._credentials[repository]

    def auth_scheme(self) -> str:
        """The auth scheme the registry's ping asked for: ``bearer``, ``basic``, or ``none`` for a registry that asks for none."""
        self.ping()
        challenge = self._challenge()
        return challenge.scheme if challenge is not None else AUTH_SCHEME_NONE

    def _challenge(self) -> Challenge | None:
        for scheme in ('bearer', 'basic'):
            for challenge in self._challenges:
                if challenge.scheme == scheme:
                    return challenge
        return None

    def _authorization(self, scopes: t.Sequence[Scope]) -> tuple[str | None, TokenKey | None, bool]:
        """``(Authorization value, token cache key, came from cache)`` for a request needing ``scopes``."""
        challenge = self._challenge()
        if challenge is None:
            return None, None, False
        creds = self.credentials_for(scopes[0].repository if scopes else None)
        if challenge.scheme == 'basic':
            username = getattr(creds, 'username', None)
            password = getattr(creds, 'password', None)
            if username and password:
                return basic_authorization(username, password), None, False
            return None, None, False
        registry_token = getattr(creds, 'registry_token', None) or self.options.registry_token
        if registry_token:
            return 'Bearer ' + registry_token, None, False
        key: TokenKey = tuple(str(scope) for scope in scopes)
        token = self.tokens.get(key)
        if token is not None:
            return 'Bearer ' + token, key, True
        with self._auth_lock:
            # Another thread may have fetched it meanwhile.
            token = self.tokens.get(key)
            if token is None:
                token, lifetime = self._fetch_token(challenge, scopes, creds)
                self.tokens.put(key, token, lifetime)
        return 'Bearer ' + token, key, False

    def _fetch_token(self, challenge: Challenge, scopes: t.Sequence[Scope], creds: t.Any) -> tuple[str, float]:
        realm = challenge.params.get('realm', '')
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL:
            realm_url = None
        if realm_url is None or realm_url.scheme not in ('https', 'http') or not realm_url.host:
            raise AuthenticationError('registry %s sent a Bearer challenge without a usable realm URL' % self.registry)
        where = 'requesting a token from %s for %s' % (_host_port(realm_url), self.registry)
        service = challenge.params.get('service')
        username = getattr(creds, 'username', None)
        password = getattr(creds, 'password', None)
        identity_token = getattr(creds, 'identity_token', None)
        headers: dict[str, str] = {}
        if identity_token:
            # OAuth2 refresh-token grant, as containers/image does with an identity token.
            form = {'grant_type': 'refresh_token', 'refresh_token': identity_token, 'client_id': self.options.user_agent,
                    'scope': ' '.join(str(scope) for scope in scopes)}
            if service:
                form['service'] = service
            request = self._http.build_request('POST', realm_url, data=form, headers=headers)
        else:
            params: list[tuple[str, str]] = []
            if username:
                params.append(('account', username))
            if service:
                params.append(('service', service))
            params.extend(('scope', str(scope)) for scope in scopes)
            if username and password:
                headers['Authorization'] = basic_authorization(username, password)
            # Merged into (not replacing) any query the realm URL has.
            request = self._http.build_request('GET', realm_url.copy_merge_params(params), headers=headers)
        self._count('token_fetches')

        def check(response: 'httpx.Response') -> None:
            if response.status_code != 200:
                hint = _refused_hint(creds) if (username or identity_token) else 'no credentials were found for %s' % self.registry
                error = self._error(response, where, hint=hint)
                if response.status_code in (400, 401, 403) and not isinstance(error, AuthenticationError):
                    error = AuthenticationError(error.message, status=response.status_code)
                raise error

        answer = self._read_document(lambda: self._send_raw(request, None, what=where), check, where, MAX_TOKEN_BODY, AuthenticationError,
                                     replayable=True, attempts=_Attempts())
        return parse_token_response(answer.body, where)

    # -- sending -------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        base = self.options.retry_delay if self.options.retry_delay is not None else DEFAULT_RETRY_DELAY
        delay = min(MAX_BACKOFF, max(0.0, base) * (2 ** attempt))
        return delay / 2 + self._rng.uniform(0, delay / 2)

    def _send_raw(self, request: 'httpx.Request', body: _TrackedBody | None, retry_connection_errors: bool = True,
                  attempts: _Attempts | None = None, what: str = 'request') -> 'httpx.Response':
        """Send ``request`` (streamed response) with the retry and rate-limit policy; no auth, no status check.

        ``attempts`` learns whether an attempt that failed may have been carried out nonetheless.
        """
        retries = max(0, int(self.options.retry_times))
        host = _host_port(request.url)
        # Rate limits are the registry's: its token server and the object stores it redirects to keep their own.
        paced = host.lower() == self.endpoint.lower()
        attempt = 0
        delay: float | None
        while True:
            if paced:
                self._await_rate_limit(what)
            self._count_request(request, attempt, body is not None)
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                error = transport_error(exc, host, self._timeout)
                if not (error.transient and retry_connection_errors) or attempt >= retries or (body is not None and body.started):
                    raise error from exc
                if attempts is not None and type(exc).__name__ not in _NOT_SENT_ERRORS:
                    attempts.uncertain = True
                delay = self._backoff(attempt)
            else:
                if paced:
                    self._learn_rate_limit(response)
                if response.status_code == 429:
                    self._count('rate_limited')
                if response.status_code not in RETRY_STATUSES:
                    return response
                retry_after = parse_retry_after(response.headers.get('retry-after'))
                if retry_after is None and paced and response.status_code == 429:
                    # No Retry-After, but RateLimit-* headers may have said when the limit resets.
                    retry_after = self._pause_left()
                if retry_after is not None and retry_after > self._max_retry_after:
                    return response
                if retry_after is not None and paced:
                    # Every request to the registry waits (at the top of the loop), not only this one; so does the
                    # caller's next one when this one is not sent again (an upload restarted from its source).
                    self._pause(retry_after, 'Retry-After')
                if attempt >= retries or (body is not None and body.started):
                    return response
                response.close()
                if attempts is not None and response.status_code in GATEWAY_STATUSES:
                    attempts.uncertain = True
                delay = self._backoff(attempt) if retry_after is None else None
                if retry_after is not None and not paced:
                    self._wait(retry_after)
            if delay is not None:
                self._sleep(delay)
            attempt += 1

    def _error(self, response: 'httpx.Response', what: str, not_found: type[OcikitError] | None = None,
               hint: str | None = None) -> OcikitError:
        body = b''
        if response.request.method != 'HEAD':
            try:
                body = _read_limited(response, MAX_ERROR_BODY, what, RegistryError, _host_port(response.request.url), self._timeout)
            except (RegistryError, ConnectionFailedError):
                body = b''
            self._count('bytes_received', len(body))
        retry_after = parse_retry_after(response.headers.get('retry-after'))
        reset = self._pause_left() if response.status_code == 429 and retry_after is None else None
        if hint is None and response.status_code in RETRY_STATUSES and (retry_after or reset or 0) > self._max_retry_after:
            hint = ('the registry asks to wait %d s (%s), longer than max_retry_after (%g s)'
                    % (math.ceil(retry_after or reset or 0), 'Retry-After' if retry_after else 'RateLimit-Reset', self._max_retry_after))
        error = error_from_response(response.status_code, response.reason_phrase, body, what,
                                    retry_after=response.headers.get('retry-after'), not_found=not_found, hint=hint)
        if reset is not None and isinstance(error, RegistryError) and error.retry_after is None:
            error.retry_after = reset
        return error

    def _open(self, method: str, url: 't.Any', scopes: t.Sequence[Scope] | None, *,
              headers: t.Mapping[str, str] | None = None, content: 'bytes | t.Iterable[bytes] | None' = None,
              params: t.Any = None, follow_redirects: bool = False, reauthorize: bool = True, what: str = 'request',
              attempts: _Attempts | None = None) -> 'httpx.Response':
        """Send with auth, retries, one re-auth after a 401 (unless not ``reauthorize``) and (for GET/HEAD) redirects.

        The response is streamed; the caller closes it. Statuses are not checked, except a 401 to
        a cached token after a streamed body was sent: TokenExpiredError (the body cannot be resent),
        and a 401 to a token fetched for this request: TokenRefusedError.
        """
        target = self.url(url)
        if params is not None:
            # Merged: upload locations carry state in their query (``_state=...``).
            target = target.copy_merge_params(params)
        body: _TrackedBody | None = None
        if content is not None and not isinstance(content, bytes):
            body = _TrackedBody(content, lambda size: self._count('bytes_sent', size))
        redirects = 0
        reauthorized = not reauthorize
        while True:
            request_headers = dict(headers or {})
            key: TokenKey | None = None
            from_cache = False
            sent_token = None
            if scopes is not None and self.same_origin(target):
                sent_token, key, from_cache = self._authorization(scopes)
                if sent_token:
                    request_headers['Authorization'] = sent_token
            request = self._http.build_request(method, target, headers=request_headers,
                                               content=body if body is not None else content)
            response = self._send_raw(request, body, attempts=attempts, what=what)
            status = response.status_code
            if status == 401 and from_cache and key is not None and body is not None and body.started:
                # The token expired or was revoked while the upload was sent. The bytes are gone, so
                # this request cannot be sent again; the caller starts the blob again with a new token.
                response.close()
                self.tokens.drop(key, sent_token[len('Bearer '):] if sent_token else None)
                raise TokenExpiredError('%s: the registry refused the token during the upload (expired or revoked); a new one is needed'
                                        % what, status=401)
            if status == 401 and key is not None and not from_cache:
                # The token server accepted the credentials and issued this token for this request: a second one
                # would be refused alike, and "wrong password?" would send the user looking in the wrong place.
                raise self._token_refused(response, what, scopes)
            if status == 401 and not reauthorized and (body is None or not body.started):
                if from_cache and key is not None:
                    # Expired early or revoked: forget it and ask for a new one, once.
                    response.close()
                    self.tokens.drop(key, sent_token[len('Bearer '):] if sent_token else None)
                    reauthorized = True
                    continue
                if not self._challenges and response.headers.get_list('www-authenticate'):
                    # The ping needed no auth but this repository does: learn the challenge, once.
                    response.close()
                    self._challenges = parse_challenges(response.headers.get_list('www-authenticate'))
                    reauthorized = True
                    continue
            if follow_redirects and status in REDIRECT_STATUSES and method in ('GET', 'HEAD') and response.headers.get('location'):
                location = response.headers['location']
                response.close()
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise RegistryError('%s: more than %d redirects (the last from %s)' % (what, MAX_REDIRECTS, _host_port(target)), status=status)
                target = join_url(target, location, '%s: following a redirect from %s' % (what, _host_port(target)))
                continue
            return response

    def _token_refused(self, response: 'httpx.Response', what: str, scopes: t.Sequence[Scope] | None) -> TokenRefusedError:
        """The error for a 401 to a token fresh from the token server (the response is read and closed).

        The hint contains no "; ": callers (delete) replace the last "; "-separated part.
        """
        challenges = parse_challenges(response.headers.get_list('www-authenticate'))
        insufficient_scope = any(challenge.params.get('error') == 'insufficient_scope' for challenge in challenges)
        creds = self.credentials_for(scopes[0].repository if scopes else None)
        username = getattr(creds, 'username', None)
        if username:
            whose = 'the credentials of user %s from %s' % (username, creds.source)
        elif getattr(creds, 'identity_token', None):
            whose = 'the identity token from %s' % creds.source
        else:
            whose = None
        if insufficient_scope:
            hint = ('the token server accepted %s, but the token it issued does not grant this (no permission, or no such repository?)' % whose
                    if whose else 'no credentials were found for %s' % self.registry)
        else:
            hint = ('the registry refused the token its token server issued for %s (revoked, or the registry and the token server '
                    'disagree on the signing key?)' % (whose or 'an anonymous request'))
        try:
            error = self._error(response, what, hint=hint)
        finally:
            response.close()
        return TokenRefusedError(error.message, status=response.status_code, code=getattr(error, 'code', None),
                                 insufficient_scope=insufficient_scope)

    def _hint(self, status: int, scopes: t.Sequence[Scope] | None) -> str | None:
        if status != 401 or not scopes:
            return None
        creds = self.credentials_for(scopes[0].repository)
        if creds is None and not self.options.registry_token:
            return 'no credentials were found for %s' % self.registry
        return _refused_hint(creds)

    # -- public request helpers ----------------------------------------------------------------

    def request(self, method: str, url: 't.Any', scopes: t.Sequence[Scope] | None, what: str, *,
                headers: t.Mapping[str, str] | None = None, content: 'bytes | t.Iterable[bytes] | None' = None,
                params: t.Any = None, ok: t.Container[int] = (200,), not_found: type[OcikitError] | None = None,
                limit: int = MAX_ERROR_BODY, limit_error: type[OcikitError] = RegistryError,
                follow_redirects: bool | None = None, reauthorize: bool = True) -> RegistryResponse:
        """Send a request and read the answer whole.

        ``url`` is a path on the registry (``/v2/...``) or an absolute URL (an upload location).
        ``scopes`` are the token scopes it needs (None: send no credentials). A status outside
        ``ok`` raises the mapped error, whose message starts with ``what``; a 404 maps to
        ``not_found``. The body is bounded by ``limit`` (``limit_error`` beyond it). Without
        ``reauthorize`` a 401 is final at once (for best-effort requests that should not cost a
        token request). GET and HEAD follow redirects unless ``follow_redirects`` is False (Go's
        HTTP client, and so containers/image, follows them for manifests and tag lists too);
        credentials go only to the registry's own origin.
        """
        if follow_redirects is None:
            follow_redirects = method in ('GET', 'HEAD')
        attempts = _Attempts()

        def send() -> 'httpx.Response':
            return self._open(method, url, scopes, headers=headers, content=content, params=params,
                              follow_redirects=follow_redirects, reauthorize=reauthorize, what=what, attempts=attempts)

        def check(response: 'httpx.Response') -> None:
            if response.status_code not in ok:
                raise self._error(response, what, not_found, self._hint(response.status_code, scopes))

        # A stream cannot be sent twice, and a PATCH sent twice would append its bytes twice.
        replayable = (content is None or isinstance(content, bytes)) and method != 'PATCH'
        with self._in_flight():
            return self._read_document(send, check, what, limit, limit_error, replayable, attempts)

    def _read_document(self, send: t.Callable[[], 'httpx.Response'], check: t.Callable[['httpx.Response'], None], what: str,
                       limit: int, limit_error: type[OcikitError], replayable: bool, attempts: _Attempts) -> RegistryResponse:
        """Send, check the status and read the (bounded) body whole; the one reader of small documents.

        A body cut or stalled by the network (a failure that may pass) sends the whole request
        again, up to ``retry_times`` times, when it is ``replayable``; the request may then have
        been carried out twice, which ``uncertain`` records.
        """
        retries = max(0, int(self.options.retry_times))
        failures = 0
        while True:
            response = send()
            try:
                check(response)
                if response.request.method == 'HEAD':
                    # Nothing comes, but reading that nothing lets the connection see the end of the answer: closed unread,
                    # httpcore takes the answer as cut short and drops the connection (a new TLS handshake for every HEAD).
                    # (h11 knows an answer to HEAD has no body, whatever its Content-Length says: this reads no bytes.)
                    try:
                        response.read()
                    except httpx.TransportError as exc:
                        raise transport_error(exc, _host_port(response.request.url), self._timeout) from exc
                    body = b''
                else:
                    body = _read_limited(response, limit, what, limit_error, _host_port(response.request.url), self._timeout)
                    self._count('bytes_received', len(body))
                return RegistryResponse(response.status_code, response.headers, body, response.request.url, uncertain=attempts.uncertain)
            except ConnectionFailedError as exc:
                if not (exc.transient and replayable) or failures >= retries:
                    raise
                attempts.uncertain = True
            finally:
                response.close()
            self._sleep(self._backoff(failures))
            failures += 1
            self._count('retries')

    @contextlib.contextmanager
    def stream(self, method: str, url: 't.Any', scopes: t.Sequence[Scope] | None, what: str, *,
               headers: t.Mapping[str, str] | None = None, ok: t.Container[int] = (200,),
               not_found: type[OcikitError] | None = None, follow_redirects: bool = False) -> t.Iterator['httpx.Response']:
        """Like :meth:`request`, but yield the open response for reading with :meth:`iter_body`."""
        with self._in_flight():
            response = self._open(method, url, scopes, headers=headers, follow_redirects=follow_redirects, what=what)
            try:
                if response.status_code not in ok:
                    raise self._error(response, what, not_found, self._hint(response.status_code, scopes))
                yield response
            finally:
                response.close()

    def iter_body(self, response: 'httpx.Response') -> t.Iterator[bytes]:
        """The body's chunks as they arrive, network failures mapped to ConnectionFailedError."""
        host = _host_port(response.request.url)
        direct = _direct_body(response)
        try:
            for chunk in direct if direct is not None else response.iter_bytes(BODY_CHUNK_SIZE):
                if chunk:
                    self._count('bytes_received', len(chunk))
                    yield chunk
        except httpx.TransportError as exc:
            raise transport_error(exc, host, self._timeout) from exc


def _direct_body(response: 'httpx.Response') -> t.Iterator[bytes] | None:
    """A large body read straight from the connection's socket in BODY_CHUNK_SIZE pieces; None to read it through httpx.

    TLS hands over at most one 16 KiB record per read, and through httpx every record passes h11,
    httpcore's and httpx's generators and a re-chunker: for a 300 MB pull about 0.2 s of CPU per
    200 MB (measured). For an HTTP/1.1 body of DIRECT_BODY_MIN bytes or more with a Content-Length
    and no Content-Encoding, the first chunk comes through httpx (h11 hands over everything it
    already buffered in its first Data event), then the rest is ``recv_into`` one reused buffer on
    the socket httpcore exposes (its documented ``network_stream`` extension) with the read
    timeout of the request. The connection's HTTP state never learns that the body was read, so
    closing the response closes the connection instead of returning it to the pool.
    Errors are httpx's: ReadTimeout, ReadError, and RemoteProtocolError for a body cut short.
    """
    if response.http_version != 'HTTP/1.1' or response.is_stream_consumed or 'transfer-encoding' in response.headers:
        return None
    if response.headers.get('content-encoding', 'identity').strip().lower() != 'identity':
        return None
    length = response.headers.get('content-length', '')
    if not length.isdigit() or int(length) < DIRECT_BODY_MIN:
        return None
    stream = response.extensions.get('network_stream')
    # Only httpcore's plain stream, whose read is exactly the socket's recv (TLS to the registry, or
    # plain TCP, possibly through a CONNECT or SOCKS tunnel). Not its TLS-in-TLS stream (an HTTPS
    # proxy tunnelling TLS), whose socket carries the proxy's TLS around the registry's.
    if type(stream).__name__ != 'SyncStream' or type(stream).__module__ != 'httpcore._backends.sync':
        return None
    sock = stream.get_extra_info('socket')
    if sock is None or not hasattr(sock, 'recv_into'):
        return None
    timeout = (response.request.extensions.get('timeout') or {}).get('read')
    return _read_direct(response, sock, int(length), timeout)


def _read_direct(response: 'httpx.Response', sock: t.Any, length: int, timeout: float | None) -> t.Iterator[bytes]:
    # Kept open until the body is read: closing it (or dropping it) makes httpcore close the connection.
    raw = response.iter_raw()
    first = next(raw, b'')
    remaining = length - len(first)
    buffer = bytearray(min(BODY_CHUNK_SIZE, max(remaining, 0)))
    view = memoryview(buffer)
    try:
        yield first
        sock.settimeout(timeout)
        while remaining:
            want = min(len(buffer), remaining)
            filled = 0
            while filled < want:
                count = sock.recv_into(view[filled:want])
                if not count:
                    raise httpx.RemoteProtocolError('peer closed connection without sending complete message body: received %d bytes, '
                                                    'expected %d' % (length - remaining + filled, length))
                filled += count
            remaining -= filled
            yield bytes(view[:filled])
    except TimeoutError as exc:  # socket.timeout
        raise httpx.ReadTimeout(str(exc) or 'timed out') from exc
    except OSError as exc:  # ssl.SSLError included
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
    finally:
        raw.close()


def _refused_hint(creds: 't.Any') -> str:
    """Say whose credentials were refused (the user name and where it came from; never the secret)."""
    if creds is not None and getattr(creds, 'username', None):
        return 'the registry refused the credentials of user %s from %s (wrong username or password?)' % (creds.username, creds.source)
    return 'the registry refused the token'
