# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small Docker Engine API client: one HTTP client over a unix socket, TCP with TLS, or plain HTTP.

The host is given as containers/image's ``DockerDaemonHost`` (skopeo's ``--src-daemon-host``):

    unix:///var/run/docker.sock     the default (containers/image does not read DOCKER_HOST either)
    tcp://HOST:PORT                 HTTPS; with cert_dir, its ca.pem is trusted (besides the system's
                                    CAs) and cert.pem/key.pem are the client certificate, as Docker's
                                    --tlsverify clients use them; tls_verify: false skips verification
    http://HOST:PORT                plain HTTP, no TLS

Podman's service (``podman system service``) answers the same Docker-compatible endpoints and,
under ``/libpod/``, its own: this client serves both, so a containers-storage transport can reuse it.

The API version is negotiated once per client as the Docker CLI does: ``GET /_ping`` tells the
daemon's version (header ``API-Version``), and requests go to ``/v<min(that, MAX_API_VERSION)>/...``;
a daemon that does not say is spoken to without a version prefix (its own current version).

Errors: a socket that does not exist or refuses connections is a ConnectionFailedError that names
it and what to start; 404 is ImageNotFoundError; any other refusal carries the daemon's message,
read both from Docker's ``{"message": ...}`` and Podman's ``{"cause": ..., "message": ...}``.
``POST /images/load`` answers 200 with a JSON message stream even when loading fails; a message
with ``errorDetail`` (or ``error``) in it is the failure (:func:`load_errors`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import re
import ssl
import typing as t
import urllib.parse

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ConfigError,
    ConnectionFailedError,
    ImageNotFoundError,
    InvalidInputError,
    OcikitError,
    RegistryError,
    ServerError,
    one_line_message,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import require_httpx
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.errors_map import transport_error

# None without httpx: reported by require_httpx.
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.httpx_import import httpx

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

DEFAULT_HOST = 'unix:///var/run/docker.sock'
#: The newest Engine API version this client speaks; every endpoint used exists since 1.22 (skopeo's fixed version).
MAX_API_VERSION = (1, 41)
#: Bound on an error body or a load's message stream (both are a few lines of JSON).
MAX_MESSAGE_SIZE = 1024 * 1024
#: How many times the connect/read timeout a load may take to answer once its archive is sent (the daemon
#: unpacks and registers every layer before it answers).
LOAD_TIMEOUT_FACTOR = 10

_VERSION_RE = re.compile(r'([0-9]+)\.([0-9]+)')
# How the request names the daemon; a unix socket has no host of its own.
_UNIX_BASE = 'http://docker'

START_HINT = ('start the Docker daemon (systemctl start docker) or Podman\'s Docker-compatible service (systemctl start podman.socket, '
              'or podman system service --time=0 %s), or name another daemon with daemon_host')


@dataclasses.dataclass(frozen=True)
class DaemonHost:
    """A parsed daemon address: ``scheme`` is unix, tcp or http; ``address`` a socket path or ``host:port``."""

    scheme: str
    address: str

    def __str__(self) -> str:
        return '%s://%s' % (self.scheme, self.address)


def parse_daemon_host(value: str | None) -> DaemonHost:
    """Parse ``unix:///path``, ``tcp://host:port`` or ``http://host:port`` (None: the default socket)."""
    text = value or DEFAULT_HOST
    scheme, sep, rest = text.partition('://')
    if not sep or scheme not in ('unix', 'tcp', 'http'):
        raise InvalidInputError('invalid daemon_host %s: expected unix:///PATH, tcp://HOST:PORT or http://HOST:PORT' % quote(text))
    if scheme == 'unix':
        if not rest.startswith('/') or '\x00' in rest:
            raise InvalidInputError('invalid daemon_host %s: a unix socket needs an absolute path (unix:///var/run/docker.sock)' % quote(text))
        return DaemonHost(scheme, rest)
    try:
        parsed = urllib.parse.urlsplit('//' + rest)
        port = parsed.port
    except ValueError:
        port, parsed = None, None
    if parsed is None or not parsed.hostname or port is None or parsed.path not in ('', '/') or parsed.query or parsed.username:
        raise InvalidInputError('invalid daemon_host %s: expected %s://HOST:PORT' % (quote(text), scheme))
    return DaemonHost(scheme, parsed.netloc)


def tls_context(options: 'ConnectionOptions') -> ssl.SSLContext:
    """TLS for a ``tcp://`` daemon: the system's CAs plus cert_dir's ca.pem, cert_dir's cert.pem/key.pem as client certificate."""
    context = ssl.create_default_context()
    if not options.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    directory = options.cert_dir
    if not directory:
        return context
    if not os.path.isdir(directory):
        raise ConfigError('cert_dir %s is not a directory' % quote(directory))
    ca_file, cert_file, key_file = (os.path.join(directory, name) for name in ('ca.pem', 'cert.pem', 'key.pem'))
    try:
        if os.path.exists(ca_file):
            context.load_verify_locations(cafile=ca_file)
        if os.path.exists(cert_file) != os.path.exists(key_file):
            missing = key_file if os.path.exists(cert_file) else cert_file
            raise ConfigError('cert_dir %s: %s is missing (a client certificate needs cert.pem and key.pem)' % (quote(directory), quote(missing)))
        if os.path.exists(cert_file):
            context.load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError('cannot load the daemon TLS files in cert_dir %s: %s' % (quote(directory), one_line_message(str(exc)))) from None
    return context


def parse_json(body: bytes) -> t.Any:
    """``body`` parsed as JSON, or None when it is not JSON, not UTF-8, or nested deeper than any answer is (jsonutil.loads)."""
    try:
        return jsonutil.loads(body, 'answer', ServerError)
    except ServerError:
        return None


def error_message(body: bytes) -> str:
    """The daemon's reason in an error body: Docker's ``message``, Podman's ``cause`` and ``message``, or the text itself."""
    data = parse_json(body)
    if isinstance(data, dict):
        message = data.get('message')
        cause = data.get('cause')
        if isinstance(message, str) and message:
            # Podman's message usually ends with its cause already; say it once.
            if isinstance(cause, str) and cause and cause not in message:
                return one_line_message('%s: %s' % (message, cause))
            return one_line_message(message)
        if isinstance(cause, str) and cause:
            return one_line_message(cause)
    text = body.decode('utf-8', 'replace').strip()
    return one_line_message(text[:500]) if text else 'no reason given'


def load_errors(body: bytes) -> list[str]:
    """The failures in a ``POST /images/load`` answer, a stream of JSON messages (``{"stream": ...}``, ``{"errorDetail": {...}}``).

    Docker writes one object per line; objects are read one after another whatever separates
    them. Text that is not JSON is reported as it is.
    """
    text = body.decode('utf-8', 'replace')
    decoder = json.JSONDecoder()
    position = 0
    failures = []
    while True:
        while position < len(text) and text[position] in ' \t\r\n':
            position += 1
        if position >= len(text):
            return failures
        try:
            message, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            return failures + [one_line_message(text[position:position + 500])]
        if not isinstance(message, dict):
            continue
        detail = message.get('errorDetail')
        reason = detail.get('message') if isinstance(detail, dict) else None
        reason = reason or message.get('error')
        if reason:
            failures.append(one_line_message(str(reason)))


def loaded_images(body: bytes) -> list[str]:
    """The names a load reports (``Loaded image: NAME`` / ``Loaded image ID: ID`` lines of its message stream)."""
    found = []
    for line in body.decode('utf-8', 'replace').splitlines():
        message = parse_json(line.encode('utf-8'))
        stream = message.get('stream') if isinstance(message, dict) else None
        if isinstance(stream, str):
            for part in stream.splitlines():
                name = part.partition(':')[2].strip() if part.startswith('Loaded image') else ''
                if name:
                    found.append(name)
    return found


class EngineClient:
    """One daemon (Docker or Podman's service) reached at ``host`` (a daemon_host string, None for the default).

    ``transport`` replaces httpx's network transport (tests pass an ``httpx.MockTransport``).
    Use it as a context manager, or call close(). Subclasses (containers_storage's LibpodClient) change how the daemon
    is named in messages, its default host, and the API prefix (:meth:`version_prefix`).
    """

    #: How messages name the daemon.
    daemon_name = 'Docker daemon'
    #: What to start when nothing answers (``%s`` is the host).
    start_hint = START_HINT
    #: Said after "become: true" when the socket refuses the user.
    socket_group_hint = ' or a member of the docker group'

    def __init__(self, host: str | None, options: 'ConnectionOptions', transport: t.Any = None) -> None:
        require_httpx()
        self.host = parse_daemon_host(host or self.default_host())
        self.timeout = options.timeout
        if transport is None:
            if self.host.scheme == 'unix':
                transport = httpx.HTTPTransport(uds=self.host.address)
            elif self.host.scheme == 'tcp':
                transport = httpx.HTTPTransport(verify=tls_context(options))
            else:
                transport = httpx.HTTPTransport()
        base = {'unix': _UNIX_BASE, 'tcp': 'https://' + self.host.address, 'http': 'http://' + self.host.address}[self.host.scheme]
        # trust_env=False: a proxy from the environment must not see the daemon's API (full control of the host).
        self._client = httpx.Client(base_url=base, transport=transport, timeout=httpx.Timeout(options.timeout), trust_env=False,
                                    follow_redirects=False)
        self._prefix: str | None = None

    @classmethod
    def default_host(cls) -> str:
        """The host used when none is given."""
        return DEFAULT_HOST

    def version_prefix(self, headers: t.Mapping[str, str]) -> str:
        """The path prefix of versioned requests, from the ``/_ping`` answer's headers (``API-Version``)."""
        match = _VERSION_RE.fullmatch(headers.get('api-version', '').strip())
        if match:
            return '/v%d.%d' % min((int(match.group(1)), int(match.group(2))), MAX_API_VERSION)
        return ''

    # -- plumbing -------------------------------------------------------------------------------

    def _connection_error(self, exc: BaseException) -> OcikitError:
        if self.host.scheme == 'unix':
            cause = exc
            while cause is not None and not isinstance(cause, OSError):
                cause = cause.__cause__ or cause.__context__
            code = getattr(cause, 'errno', None)
            text = str(exc)
            if code == errno.ENOENT or 'No such file' in text:
                problem = 'the socket %s does not exist' % self.host.address
            elif code == errno.ECONNREFUSED or 'refused' in text:
                problem = 'nothing answers on the socket %s (connection refused)' % self.host.address
            elif code == errno.EACCES or 'ermission denied' in text:
                return ConnectionFailedError('cannot reach the %s at %s: permission denied on the socket (run as a user allowed to use it, '
                                             'e.g. become: true%s)' % (self.daemon_name, self.host, self.socket_group_hint))
            else:
                return ConnectionFailedError('cannot reach the %s at %s: %s' % (self.daemon_name, self.host, one_line_message(text)))
            return ConnectionFailedError('cannot reach the %s at %s: %s; %s' % (self.daemon_name, self.host, problem, self.start_hint % self.host))
        mapped = transport_error(exc, self.host.address, self.timeout)
        if type(exc).__name__ == 'ConnectError' and type(mapped) is ConnectionFailedError:  # pylint: disable=unidiomatic-typecheck
            return ConnectionFailedError('cannot reach the %s at %s: %s' % (self.daemon_name, self.host, mapped.message))
        return mapped

    def _api_prefix(self) -> str:
        if self._prefix is None:
            response = self._send('GET', '/_ping', versioned=False)
            with contextlib.closing(response):
                response.read()
                if response.status_code != 200:
                    raise ServerError('the %s at %s did not answer its ping (HTTP %d: %s)'
                                      % (self.daemon_name, self.host, response.status_code, error_message(response.content[:MAX_MESSAGE_SIZE])),
                                      status=response.status_code)
                self._prefix = self.version_prefix(response.headers)
        return self._prefix

    def _send(self, method: str, path: str, versioned: bool = True, params: t.Mapping[str, str] | None = None,
              content: t.Iterable[bytes] | None = None, headers: t.Mapping[str, str] | None = None,
              timeout: float | None = None) -> 'httpx.Response':
        url = (self._api_prefix() if versioned else '') + path
        request = self._client.build_request(method, url, params=params, content=content, headers=headers,
                                             timeout=httpx.Timeout(timeout) if timeout else None)
        try:
            return self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from None
        except OSError as exc:
            raise self._connection_error(exc) from None

    def _read(self, response: 'httpx.Response', limit: int = MAX_MESSAGE_SIZE) -> bytes:
        parts = []
        total = 0
        try:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise ServerError('the %s at %s sent an answer over the %d byte limit' % (self.daemon_name, self.host, limit))
                parts.append(chunk)
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from None
        return b''.join(parts)

    def _failure(self, response: 'httpx.Response', what: str) -> OcikitError:
        status = response.status_code
        reason = error_message(self._read(response))
        if status == 404:
            return ImageNotFoundError('%s: %s' % (what, reason))
        if status >= 500:
            return ServerError('%s: the %s at %s failed (HTTP %d): %s' % (what, self.daemon_name, self.host, status, reason), status=status)
        return RegistryError('%s: the %s at %s refused (HTTP %d): %s' % (what, self.daemon_name, self.host, status, reason), status=status)

    # -- endpoints ------------------------------------------------------------------------------

    def get_object(self, path: str, what: str) -> dict[str, t.Any] | None:
        """``GET path`` (versioned): a JSON object, None on 404; another refusal raises, naming ``what``."""
        response = self._send('GET', path)
        with contextlib.closing(response):
            if response.status_code == 404:
                self._read(response)
                return None
            if response.status_code != 200:
                raise self._failure(response, what)
            body = self._read(response)
        data = parse_json(body)
        if not isinstance(data, dict):
            raise ServerError('the %s at %s answered GET %s with something that is not a JSON object' % (self.daemon_name, self.host, path))
        return data

    def image_inspect(self, name: str) -> dict[str, t.Any] | None:
        """``GET /images/{name}/json``: the image's record (``Id``, ``RepoTags``, ``RootFS``...), None when there is none."""
        return self.get_object('/images/%s/json' % urllib.parse.quote(name, safe='/:@'), 'cannot inspect %s in the Docker daemon' % quote(name))

    @contextlib.contextmanager
    def export(self, name: str) -> t.Iterator[t.Iterator[bytes]]:
        """``GET /images/get?names=NAME``: the image as a ``docker save`` tar, streamed."""
        response = self._send('GET', '/images/get', params={'names': name})
        with contextlib.closing(response):
            if response.status_code != 200:
                raise self._failure(response, 'cannot export %s from the Docker daemon' % quote(name))
            yield self.stream(response)

    def stream(self, response: 'httpx.Response') -> t.Iterator[bytes]:
        """The body of ``response`` as it arrives; a broken connection raises as any other."""
        try:
            yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from None

    def load(self, chunks: t.Iterable[bytes], what: str) -> list[str]:
        """``POST /images/load?quiet=1`` with a docker-archive as the body; the names loaded. Any failure raises, naming ``what``."""
        response = self._send('POST', '/images/load', params={'quiet': '1'}, content=chunks,
                              headers={'Content-Type': 'application/x-tar'}, timeout=self.timeout * LOAD_TIMEOUT_FACTOR)
        with contextlib.closing(response):
            if response.status_code != 200:
                raise self._failure(response, 'the Docker daemon did not load %s' % what)
            body = self._read(response)
        failures = load_errors(body)
        if failures:
            raise ServerError('the Docker daemon at %s did not load %s: %s' % (self.host, what, '; '.join(failures)))
        return loaded_images(body)

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> 'EngineClient':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()
