# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry side of the hostile corpus: registries that send foreign hosts and hostile bodies.

Each case makes the fake registry answer one thing badly (a ``Location``, ``Link`` or token
``realm`` on another host or scheme, bodies nested or sized to hurt) and runs one operation. Every
case checks the same invariants: credentials (Basic or Bearer) never reach a host other than the
registry and its realm, the error (if any) is typed, one line and free of secrets, and only the
hosts the case names were contacted. Counted apart from the integration corpus (see
tests/integration/targets/hostile_corpus).
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AuthenticationError,
    ManifestError,
    ManifestTooLargeError,
    OcikitError,
    RegistryError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    AUTH_HOST,
    PASSWORD,
    REGISTRY,
    SECRET_MARKERS,
    USER,
    Credentials,
    FakeRegistry,
    make_client,
    sha256,
)

httpx = pytest.importorskip('httpx')

OCI = 'application/vnd.oci.image.manifest.v1+json'
MANIFEST = b'{"schemaVersion": 2, "mediaType": "%s", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", ' \
           b'"digest": "sha256:%s", "size": 2}, "layers": []}' % (OCI.encode(), b'4' * 64)
DATA = b'layer bytes ' * 100
DEEP = 100000


Hook = t.Callable[[httpx.Request], 'httpx.Response | None']


@dataclasses.dataclass
class RegistryCase:
    """``hook`` makes the fake misbehave; ``operation`` is manifest, blob, tags or push.

    ``error`` and ``expect`` describe the refusal (None: the operation must succeed, and
    ``result`` then checks its value); ``hosts`` are the hosts besides the registry and its realm
    the client may contact, never with credentials.
    """

    id: str
    hook: Hook
    operation: str
    error: type[OcikitError] | None
    expect: str = ''
    hosts: tuple[str, ...] = ()
    auth: str | None = 'bearer'


def when(method: str, path_part: str, response: t.Callable[[httpx.Request], httpx.Response], host: str = REGISTRY) -> Hook:
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == host and request.method == method and path_part in request.url.path:
            if host != REGISTRY or request.headers.get('authorization') or 'tags' in path_part or 'uploads' in path_part:
                return response(request)
        return None
    return hook


def redirect(location: str, status: int = 307) -> t.Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, headers={'Location': location})


def serve_on(host: str, body: bytes) -> Hook:
    return lambda request: httpx.Response(200, content=body) if request.url.host == host else None


def both(*hooks: Hook) -> Hook:
    def hook(request: httpx.Request) -> httpx.Response | None:
        for one in hooks:
            answer = one(request)
            if answer is not None:
                return answer
        return None
    return hook


def challenge(header: str) -> Hook:
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == REGISTRY and not request.headers.get('authorization'):
            return httpx.Response(401, headers={'WWW-Authenticate': header})
        return None
    return hook


def token_answer(body: bytes) -> Hook:
    return lambda request: httpx.Response(200, content=body) if request.url.host == AUTH_HOST else None


def tags_page(body: bytes, link: str | None = None) -> Hook:
    headers = {'Link': link} if link else {}
    return when('GET', '/tags/list', lambda request: httpx.Response(200, headers=headers, content=body))


def upload_location(location: str) -> Hook:
    return when('POST', '/blobs/uploads/', lambda request: httpx.Response(202, headers={'Location': location}))


BLOB = sha256(DATA)
REDIRECT_BLOB = '/blobs/' + BLOB

CASES = [
    # -- Location on blob reads: followed, but credentials stay home --------------------------
    RegistryCase('blob-redirect-foreign-host', both(when('GET', REDIRECT_BLOB, redirect('https://cdn.test/x?sig=1')), serve_on('cdn.test', DATA)),
                 'blob', None, hosts=('cdn.test',)),
    RegistryCase('blob-redirect-foreign-port', both(when('GET', REDIRECT_BLOB, redirect('https://registry.test:8443/x')),
                                                    lambda r: httpx.Response(200, content=DATA) if r.url.port == 8443 else None),
                 'blob', None, hosts=('registry.test:8443',)),
    RegistryCase('blob-redirect-plain-http', both(when('GET', REDIRECT_BLOB, redirect('http://registry.test/x')),
                                                  lambda r: httpx.Response(200, content=DATA) if r.url.scheme == 'http' else None),
                 'blob', None, hosts=('http://registry.test',)),
    RegistryCase('blob-redirect-userinfo', both(when('GET', REDIRECT_BLOB, redirect('https://user:pw@cdn.test/x')), serve_on('cdn.test', DATA)),
                 'blob', RegistryError, 'a Location with credentials in it'),
    RegistryCase('upload-location-userinfo', upload_location('https://user:pw@storage.test/u'), 'push', RegistryError,
                 'a Location with credentials in it'),
    RegistryCase('blob-redirect-file-scheme', when('GET', REDIRECT_BLOB, redirect('file:///etc/passwd')), 'blob', RegistryError,
                 'not an http(s) URL'),
    RegistryCase('blob-redirect-ftp-scheme', when('GET', REDIRECT_BLOB, redirect('ftp://cdn.test/x')), 'blob', RegistryError, 'not an http(s) URL'),
    # httpx itself refuses to build the redirect; it surfaces as a (typed) connection failure.
    RegistryCase('blob-redirect-garbage', when('GET', REDIRECT_BLOB, redirect('http://[::1')), 'blob', OcikitError, 'Invalid URL in location header'),
    RegistryCase('blob-redirect-loop-foreign', both(when('GET', REDIRECT_BLOB, redirect('https://loop.test/a')),
                                                    lambda r: httpx.Response(302, headers={'Location': 'https://loop.test/a'})
                                                    if r.url.host == 'loop.test' else None),
                 'blob', RegistryError, 'more than 10 redirects', hosts=('loop.test',)),
    RegistryCase('blob-redirect-wrong-bytes', both(when('GET', REDIRECT_BLOB, redirect('https://cdn.test/x')), serve_on('cdn.test', b'evil')),
                 'blob', OcikitError, 'sha256', hosts=('cdn.test',)),
    RegistryCase('blob-redirect-endless-bytes', both(when('GET', REDIRECT_BLOB, redirect('https://cdn.test/x')),
                                                     serve_on('cdn.test', DATA + b'x' * 100000)),
                 'blob', OcikitError, 'size', hosts=('cdn.test',)),
    # -- Link pagination ---------------------------------------------------------------------
    RegistryCase('tags-link-foreign-host', tags_page(b'{"tags": ["a"]}', '<https://evil.test/v2/app/tags/list?last=a>; rel="next"'),
                 'tags', RegistryError, 'the next page is on another host (evil.test)'),
    RegistryCase('tags-link-protocol-relative', tags_page(b'{"tags": ["a"]}', '<//evil.test/v2/app/tags/list>; rel="next"'),
                 'tags', RegistryError, 'another host'),
    RegistryCase('tags-link-other-port', tags_page(b'{"tags": ["a"]}', '<https://registry.test:444/v2/app/tags/list>; rel="next"'),
                 'tags', RegistryError, 'another host'),
    RegistryCase('tags-link-plain-http', tags_page(b'{"tags": ["a"]}', '<http://registry.test/v2/app/tags/list?last=a>; rel="next"'),
                 'tags', RegistryError, 'another host'),
    RegistryCase('tags-deep-json', tags_page(('{"tags": %s}' % ('[' * DEEP + ']' * DEEP)).encode()),
                 'tags', RegistryError, 'the tag list is nested deeper than 64 levels'),
    RegistryCase('tags-not-json', tags_page(b'<html>'), 'tags', RegistryError, 'the tag list is not valid JSON'),
    RegistryCase('tags-not-strings', tags_page(b'{"tags": [1, {"a": 2}]}'), 'tags', RegistryError, 'not a list of strings'),
    RegistryCase('tags-huge-page', tags_page(b'{"tags": ["' + b'a' * (32 * 1024 * 1024) + b'"]}'), 'tags', RegistryError, 'limit'),
    # -- Upload Location ---------------------------------------------------------------------
    RegistryCase('upload-location-foreign-host', both(upload_location('https://storage.test/upload?id=1'),
                                                      lambda r: httpx.Response(201, headers={'Docker-Content-Digest': BLOB})
                                                      if r.url.host == 'storage.test' else None),
                 'push', None, hosts=('storage.test',)),
    RegistryCase('upload-location-file-scheme', upload_location('file:///etc/passwd'), 'push', RegistryError, 'not an http(s) URL'),
    RegistryCase('upload-location-javascript', upload_location('javascript:alert(1)'), 'push', RegistryError, 'Location'),
    RegistryCase('upload-location-missing', when('POST', '/blobs/uploads/', lambda r: httpx.Response(202)), 'push', RegistryError,
                 'no upload Location'),
    # -- Token realms ------------------------------------------------------------------------
    RegistryCase('realm-foreign-host-gets-basic-by-design', lambda r: None, 'manifest', None),
    RegistryCase('realm-file-scheme', challenge('Bearer realm="file:///etc/passwd",service="x"'), 'manifest', AuthenticationError,
                 'without a usable realm URL'),
    RegistryCase('realm-empty', challenge('Bearer realm="",service="x"'), 'manifest', AuthenticationError, 'without a usable realm URL'),
    RegistryCase('realm-no-host', challenge('Bearer realm="https:///token"'), 'manifest', AuthenticationError, 'without a usable realm URL'),
    RegistryCase('realm-garbage-header', challenge('Bearer ' + 'x=' * 10000), 'manifest', AuthenticationError, 'realm'),
    RegistryCase('token-deep-json', token_answer(('{"token": %s}' % ('[' * DEEP + ']' * DEEP)).encode()), 'manifest', AuthenticationError,
                 'nested deeper than 64 levels'),
    RegistryCase('token-not-json', token_answer(b'token=abc'), 'manifest', AuthenticationError, 'the token response is not valid JSON'),
    RegistryCase('token-huge', token_answer(b'{"token": "' + b'a' * (8 * 1024 * 1024) + b'"}'), 'manifest', AuthenticationError, 'limit'),
    RegistryCase('token-with-newline', token_answer(b'{"token": "a\\r\\nX-Evil: 1"}'), 'manifest', AuthenticationError, 'token'),
    # -- Manifests and error bodies -----------------------------------------------------------
    RegistryCase('manifest-deep-json', when('GET', '/manifests/', lambda r: httpx.Response(
        200, headers={'Content-Type': OCI}, content=b'[' * DEEP + b']' * DEEP)), 'manifest', ManifestError, 'nested deeper than 64 levels'),
    RegistryCase('manifest-huge-streamed', when('GET', '/manifests/', lambda r: httpx.Response(
        200, headers={'Content-Type': OCI}, content=iter([b' ' * (1024 * 1024)] * 5))), 'manifest', ManifestTooLargeError, 'limit'),
    RegistryCase('error-body-deep-json', when('GET', '/manifests/', lambda r: httpx.Response(
        400, content=b'{"errors": ' + b'[' * DEEP + b']' * DEEP + b'}')), 'manifest', RegistryError, 'HTTP 400'),
]


def run_operation(fake: FakeRegistry, operation: str) -> t.Any:
    reference = DockerTransport().parse_reference('//%s/app:latest' % REGISTRY)
    client = make_client(fake, creds=Credentials(USER, PASSWORD))
    try:
        if operation == 'push':
            destination = reference.new_destination(client.options, client=client)
            try:
                return destination.put_blob([DATA], BlobInfo(Digest(BLOB), len(DATA)))
            finally:
                destination.close()
        source = reference.new_source(client.options, client=client)
        try:
            if operation == 'manifest':
                raw, media_type = source.get_manifest()
                return parse_manifest(raw, media_type)
            if operation == 'tags':
                return source.list_tags()
            with source.get_blob(BlobInfo(Digest(BLOB), len(DATA))) as (chunks, dummy):
                from ansible_collections.ocikit.images.plugins.module_utils.digest import verified_stream
                return b''.join(verified_stream(chunks, Digest(BLOB), len(DATA), 'blob'))
        finally:
            source.close()
    finally:
        client.close()


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_hostile_registry(case: RegistryCase) -> None:
    fake = FakeRegistry(auth=case.auth)
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    fake.add_blob('app', DATA)
    fake.hooks.append(case.hook)
    if case.error is None:
        result = run_operation(fake, case.operation)
        if case.operation == 'blob':
            assert result == DATA
    else:
        with pytest.raises(case.error) as caught:
            run_operation(fake, case.operation)
        message = str(caught.value)
        assert case.expect in message, message
        assert '\n' not in message and len(message) < 1000
        assert not any(marker in message for marker in SECRET_MARKERS)
    allowed = {REGISTRY, AUTH_HOST}
    for request in fake.requests:
        where = request.url.host if request.url.port is None else '%s:%d' % (request.url.host, request.url.port)
        if request.url.scheme == 'http':
            where = 'http://' + where
        assert where in allowed | set(case.hosts), 'contacted %s' % request.url
        home = request.url.scheme == 'https' and request.url.port is None and request.url.host in allowed
        if not home:
            assert 'authorization' not in request.headers, 'credentials sent to %s' % request.url
        # Basic credentials only ever go to the token server (bearer) or the registry (basic).
        if request.headers.get('authorization', '').startswith('Basic '):
            assert request.url.host == AUTH_HOST


def test_realm_on_another_host_gets_credentials_only_there() -> None:
    # Docker Hub's realm is auth.docker.io: a realm elsewhere is normal, and is where the password goes.
    fake = FakeRegistry(auth='bearer')
    fake.add_manifest('app', MANIFEST, OCI, tag='latest')
    run_operation(fake, 'manifest')
    basic = [r for r in fake.requests if r.headers.get('authorization', '').startswith('Basic ')]
    assert basic and all(r.url.host == AUTH_HOST for r in basic)
    assert all(not r.headers.get('authorization', '').startswith('Basic ') for r in fake.requests if r.url.host == REGISTRY)


def test_case_count() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert json.dumps([c.id for c in CASES])
