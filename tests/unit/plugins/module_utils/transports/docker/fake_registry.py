# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fake distribution registry (and token server) behind httpx.MockTransport.

It is small but honest: Basic or Bearer auth with scope checks, manifests, blobs, upload sessions
(monolithic and PATCH+PUT), cross-repository mounts and a request log to assert on. Tests add
``hooks`` to inject faults; a hook returning a response short-circuits the fake.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import typing as t
import uuid

import pytest

httpx = pytest.importorskip('httpx')

# pylint: disable=wrong-import-position
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions  # noqa: E402
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient  # noqa: E402

REGISTRY = 'registry.test'
AUTH_HOST = 'auth.test'
REALM = 'https://%s/token' % AUTH_HOST
SERVICE = 'registry.test'
USER, PASSWORD = 'alice', 'pa55-w0rd'
SECRET_MARKERS = (PASSWORD, base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode())


def sha256(data: bytes) -> str:
    """``sha256:<hex>`` of data."""
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def error_body(code: str, message: str = 'message') -> bytes:
    """A registry error body."""
    return json.dumps({'errors': [{'code': code, 'message': message, 'detail': None}]}).encode()


class Credentials:  # pylint: disable=too-few-public-methods
    """Stand-in for config.auth.Credentials."""

    def __init__(self, username: str | None = None, password: str | None = None, identity_token: str | None = None,
                 registry_token: str | None = None) -> None:
        self.username = username
        self.password = password
        self.identity_token = identity_token
        self.registry_token = registry_token
        self.source = 'test'


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRegistry:  # pylint: disable=too-many-instance-attributes
    """The registry at https://registry.test and its token server at https://auth.test/token."""

    def __init__(self, auth: str | None = None, expires_in: t.Any = 300) -> None:
        self.auth = auth
        self.expires_in = expires_in
        self.requests: list[httpx.Request] = []
        self.hooks: list[t.Callable[[httpx.Request], t.Any]] = []
        self.tokens: dict[str, set[tuple[str, str]]] = {}
        self.issued = 0
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.uploads: dict[str, tuple[str, bytearray]] = {}
        self.cancelled: list[str] = []

    # -- helpers for tests ---------------------------------------------------------------------

    def add_manifest(self, repo: str, raw: bytes, media_type: str, tag: str | None = None) -> str:
        """Store a manifest by digest (and tag); return its digest."""
        digest = sha256(raw)
        self.manifests[(repo, digest)] = (raw, media_type)
        if tag:
            self.manifests[(repo, tag)] = (raw, media_type)
        return digest

    def add_blob(self, repo: str, data: bytes) -> str:
        """Store a blob in ``repo``; return its digest."""
        digest = sha256(data)
        self.blobs[(repo, digest)] = data
        return digest

    def calls(self) -> list[str]:
        """The request log as ``METHOD /path?query`` (registry) or ``TOKEN scope scope`` (token server)."""
        out = []
        for request in self.requests:
            if request.url.host == AUTH_HOST:
                out.append(' '.join(['TOKEN'] + self.scopes_of(request)))
            else:
                query = request.url.query.decode()
                out.append('%s %s%s' % (request.method, request.url.path, ('?' + query) if query else ''))
        return out

    @staticmethod
    def scopes_of(request: httpx.Request) -> list[str]:
        """Scopes a token request asked for (GET query or POST form)."""
        if request.method == 'POST':
            form = dict(httpx.QueryParams(request.content.decode()))
            return form.get('scope', '').split()
        return request.url.params.get_list('scope')

    # -- the fake ------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for hook in list(self.hooks):
            # Hooks run before the body is read, as a refused connection would; read it to look at it.
            response = hook(request)
            if response is not None:
                return response
        request.read()
        if request.url.host == AUTH_HOST:
            return self._token(request)
        if request.url.host != REGISTRY:
            return httpx.Response(404)
        if request.url.path == '/v2/':
            if self.auth is None:
                return httpx.Response(200, json={})
            return self._challenge()
        return self._route(request)

    def _challenge(self, error: str | None = None) -> httpx.Response:
        if self.auth == 'basic':
            header = 'Basic realm="fake"'
        else:
            header = 'Bearer realm="%s",service="%s"' % (REALM, SERVICE)
            if error:
                header += ',error="%s"' % error
        return httpx.Response(401, headers={'WWW-Authenticate': header}, content=error_body('UNAUTHORIZED', 'authentication required'))

    def _token(self, request: httpx.Request) -> httpx.Response:
        if request.method == 'POST':
            form = dict(httpx.QueryParams(request.content.decode()))
            if form.get('grant_type') != 'refresh_token' or form.get('refresh_token') != 'identity-123':
                return httpx.Response(401, json={'error': 'invalid_grant'})
        else:
            authorization = request.headers.get('authorization')
            if authorization is not None and authorization != 'Basic ' + SECRET_MARKERS[1]:
                return httpx.Response(401, json={'details': 'wrong password'})
        granted = set()
        for scope in self.scopes_of(request):
            dummy, repo, actions = scope.split(':')
            for action in actions.split(','):
                granted.add((repo, action))
        self.issued += 1
        token = 'tok-%d' % self.issued
        self.tokens[token] = granted
        body: dict[str, t.Any] = {'token': token} if request.method == 'GET' else {'access_token': token}
        if self.expires_in is not None:
            body['expires_in'] = self.expires_in
        return httpx.Response(200, json=body)

    def _allowed(self, request: httpx.Request, repo: str, action: str) -> bool:
        if self.auth is None:
            return True
        authorization = request.headers.get('authorization', '')
        if self.auth == 'basic':
            return authorization == 'Basic ' + SECRET_MARKERS[1]
        if not authorization.startswith('Bearer '):
            return False
        granted = self.tokens.get(authorization[len('Bearer '):])
        return granted is not None and (repo, action) in granted

    def _route(self, request: httpx.Request) -> httpx.Response:  # pylint: disable=too-many-return-statements
        match = re.match(r'^/v2/(.+?)/(manifests|blobs|tags)/(.*)$', request.url.path)
        if not match:
            return httpx.Response(404, content=error_body('NAME_UNKNOWN'))
        repo, kind, rest = match.groups()
        # As docker/distribution does, DELETE (even of an upload session) needs the "delete" action.
        action = {'DELETE': 'delete', 'PUT': 'push', 'POST': 'push', 'PATCH': 'push'}.get(request.method, 'pull')
        if not self._allowed(request, repo, action):
            return self._challenge('insufficient_scope')
        if kind == 'manifests':
            return self._manifests(request, repo, rest)
        if kind == 'tags':
            tags = sorted({ref for (r, ref) in self.manifests if r == repo and not ref.startswith('sha256:')})
            return httpx.Response(200, json={'name': repo, 'tags': tags})
        if rest.startswith('uploads/'):
            return self._uploads(request, repo, rest[len('uploads/'):])
        data = self.blobs.get((repo, rest))
        if data is None:
            return httpx.Response(404, content=b'' if request.method == 'HEAD' else error_body('BLOB_UNKNOWN'))
        headers = {'Docker-Content-Digest': rest, 'Content-Length': str(len(data))}
        return httpx.Response(200, headers=headers, content=b'' if request.method == 'HEAD' else data)

    def _manifests(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        if request.method == 'PUT':
            raw = request.content
            digest = sha256(raw)
            if ref.startswith('sha256:') and ref != digest:
                return httpx.Response(400, content=error_body('DIGEST_INVALID'))
            self.manifests[(repo, digest)] = (raw, request.headers['content-type'])
            self.manifests[(repo, ref)] = (raw, request.headers['content-type'])
            return httpx.Response(201, headers={'Docker-Content-Digest': digest, 'Location': '/v2/%s/manifests/%s' % (repo, digest)})
        entry = self.manifests.get((repo, ref))
        if entry is None:
            return httpx.Response(404, content=b'' if request.method == 'HEAD' else error_body('MANIFEST_UNKNOWN', 'manifest unknown'))
        raw, media_type = entry
        headers = {'Content-Type': media_type, 'Docker-Content-Digest': sha256(raw), 'Content-Length': str(len(raw))}
        return httpx.Response(200, headers=headers, content=b'' if request.method == 'HEAD' else raw)

    def _uploads(self, request: httpx.Request, repo: str, session: str) -> httpx.Response:
        if request.method == 'POST' and not session:
            mount, source = request.url.params.get('mount'), request.url.params.get('from')
            if mount and source and (source, mount) in self.blobs and self._allowed(request, source, 'pull'):
                self.blobs[(repo, mount)] = self.blobs[(source, mount)]
                return httpx.Response(201, headers={'Docker-Content-Digest': mount, 'Location': '/v2/%s/blobs/%s' % (repo, mount)})
            upload = uuid.uuid4().hex
            self.uploads[upload] = (repo, bytearray())
            return httpx.Response(202, headers={'Location': '/v2/%s/blobs/uploads/%s?_state=s-%s' % (repo, upload, upload),
                                                'Docker-Upload-UUID': upload})
        if session not in self.uploads:
            return httpx.Response(404, content=error_body('BLOB_UPLOAD_UNKNOWN'))
        if request.method == 'DELETE':
            del self.uploads[session]
            self.cancelled.append(session)
            return httpx.Response(204)
        data = self.uploads[session][1]
        data.extend(request.content)
        if request.method == 'PATCH':
            return httpx.Response(202, headers={'Location': '/v2/%s/blobs/uploads/%s?_state=p-%s' % (repo, session, session),
                                                'Range': '0-%d' % (len(data) - 1)})
        digest = request.url.params.get('digest')
        if sha256(bytes(data)) != digest:
            return httpx.Response(400, content=error_body('DIGEST_INVALID'))
        del self.uploads[session]
        self.blobs[(repo, digest)] = bytes(data)
        return httpx.Response(201, headers={'Docker-Content-Digest': digest, 'Location': '/v2/%s/blobs/%s' % (repo, digest)})


def make_client(fake: t.Callable[[httpx.Request], httpx.Response], creds: t.Any = None, registry: str = REGISTRY,
                clock: Clock | None = None, sleeps: list[float] | None = None, transport: t.Any = None, **options: t.Any) -> RegistryClient:
    """A RegistryClient on ``fake`` (or on ``transport``) with tiny retry delays, recording sleeps."""
    options.setdefault('retry_delay', 0.001)
    recorded = sleeps if sleeps is not None else []
    return RegistryClient(registry, ConnectionOptions(**options), transport=transport or httpx.MockTransport(fake),
                          credentials=lambda registry, repository, opts: creds, clock=clock or Clock(), sleep=recorded.append)
