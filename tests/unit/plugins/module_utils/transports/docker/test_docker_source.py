# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DockerImageSource: manifests (bounded, verified), streamed blobs with redirects, tag pagination."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    ConnectionFailedError,
    DigestMismatchError,
    ImageNotFoundError,
    ManifestTooLargeError,
    RegistryError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import ACCEPTED_MANIFEST_TYPES, MAX_MANIFEST_SIZE
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import DockerImageSource, media_type_of, next_link
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    USER,
    Credentials,
    FakeRegistry,
    make_client,
    sha256,
)

httpx = pytest.importorskip('httpx')

OCI = 'application/vnd.oci.image.manifest.v1+json'
RAW = b'{"schemaVersion": 2, "mediaType": "%s"}' % OCI.encode()


def open_source(fake: t.Any, name: str = 'registry.test/app:latest', **kwargs: t.Any) -> DockerImageSource:
    reference = DockerTransport().parse_reference('//' + name)
    client = make_client(fake, **kwargs)
    return reference.new_source(client.options, client=client)


def close(source: DockerImageSource) -> None:
    source.close()
    source.client.close()


# -- manifests -------------------------------------------------------------------------------------


def test_manifest_by_tag(fake: FakeRegistry) -> None:
    fake.add_manifest('app', RAW, OCI + '; charset=utf-8', tag='latest')
    source = open_source(fake)
    try:
        assert source.get_manifest() == (RAW, OCI)
    finally:
        close(source)
    request = fake.requests[-1]
    assert fake.calls()[-1] == 'GET /v2/app/manifests/latest'
    assert request.headers['accept'] == ', '.join(ACCEPTED_MANIFEST_TYPES)


def test_manifest_by_reference_digest_and_instance_digest(fake: FakeRegistry) -> None:
    digest = fake.add_manifest('app', RAW, OCI)
    child = fake.add_manifest('app', b'{"child": 1}', OCI)
    source = open_source(fake, 'registry.test/app@' + digest)
    try:
        assert source.get_manifest()[0] == RAW
        assert source.get_manifest(Digest(child))[0] == b'{"child": 1}'
    finally:
        close(source)
    assert fake.calls()[-2:] == ['GET /v2/app/manifests/' + digest, 'GET /v2/app/manifests/' + child]


def test_manifest_digest_mismatch(fake: FakeRegistry) -> None:
    digest = sha256(RAW)
    fake.manifests[('app', digest)] = (RAW + b' ', OCI)  # the registry serves other bytes
    source = open_source(fake, 'registry.test/app@' + digest)
    try:
        with pytest.raises(DigestMismatchError, match='^manifest registry.test/app@%s digest mismatch' % digest):
            source.get_manifest()
        with pytest.raises(DigestMismatchError):
            source.get_manifest(Digest(digest))
    finally:
        close(source)


def test_manifest_media_type_absent(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(200, content=RAW) if 'manifests' in request.url.path else None)
    source = open_source(fake)
    try:
        assert source.get_manifest() == (RAW, None)
    finally:
        close(source)


@pytest.mark.parametrize('chunked', [False, True])
def test_manifest_too_large(fake: FakeRegistry, chunked: bool) -> None:
    big = b' ' * (MAX_MANIFEST_SIZE + 1)

    def huge(request: httpx.Request) -> httpx.Response | None:
        if 'manifests' not in request.url.path:
            return None
        return httpx.Response(200, headers={'Content-Type': OCI}, content=iter([big[:10], big[10:]]) if chunked else big)

    fake.hooks.append(huge)
    source = open_source(fake)
    try:
        with pytest.raises(ManifestTooLargeError, match='^reading manifest registry.test/app:latest: .*4194304 byte limit'):
            source.get_manifest()
    finally:
        close(source)


def test_manifest_of_exactly_the_limit_is_accepted(fake: FakeRegistry) -> None:
    fake.add_manifest('app', b' ' * MAX_MANIFEST_SIZE, OCI, tag='latest')
    source = open_source(fake)
    try:
        assert len(source.get_manifest()[0]) == MAX_MANIFEST_SIZE
    finally:
        close(source)


def test_manifest_unknown(fake: FakeRegistry) -> None:
    source = open_source(fake, 'registry.test/app:nope')
    try:
        with pytest.raises(ImageNotFoundError) as info:
            source.get_manifest()
    finally:
        close(source)
    assert info.value.message == 'reading manifest registry.test/app:nope: MANIFEST_UNKNOWN: manifest unknown (HTTP 404 Not Found)'


# -- blobs -----------------------------------------------------------------------------------------


def test_blob_is_streamed_with_its_size(fake: FakeRegistry) -> None:
    data = b'x' * 200000
    digest = fake.add_blob('app', data)
    source = open_source(fake)
    try:
        with source.get_blob(BlobInfo(Digest(digest), len(data))) as (chunks, size):
            assert size == len(data)
            assert b''.join(chunks) == data
        assert source.get_blob_bytes(BlobInfo(Digest(digest), len(data)), 1 << 20) == data
    finally:
        close(source)


def test_blob_unknown(fake: FakeRegistry) -> None:
    source = open_source(fake)
    missing = 'sha256:' + 'a' * 64
    try:
        with pytest.raises(BlobNotFoundError) as info:
            with source.get_blob(BlobInfo(Digest(missing))):
                pass
    finally:
        close(source)
    assert info.value.message == ('reading blob %s from registry.test/app: BLOB_UNKNOWN: message (HTTP 404 Not Found)' % missing)


def test_blob_redirect_to_another_host_drops_authorization() -> None:
    fake = FakeRegistry(auth='bearer')
    data = b'layer bytes'
    digest = fake.add_blob('app', data)
    captured: list[httpx.Request] = []

    def storage(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == 'registry.test' and request.url.path == '/v2/app/blobs/' + digest and \
                request.headers.get('authorization', '').startswith('Bearer '):
            # A same-host hop first, then the object store with a pre-signed URL.
            return httpx.Response(307, headers={'Location': '/v2/app/blobs/hop/' + digest})
        if request.url.path == '/v2/app/blobs/hop/' + digest:
            captured.append(request)
            return httpx.Response(307, headers={'Location': 'https://s3.test/bucket/blob?X-Amz-Signature=sig'})
        if request.url.host == 's3.test':
            captured.append(request)
            return httpx.Response(200, content=data)
        return None

    fake.hooks.append(storage)
    source = open_source(fake, creds=Credentials(USER, PASSWORD))
    try:
        with source.get_blob(BlobInfo(Digest(digest))) as (chunks, size):
            assert b''.join(chunks) == data and size == len(data)
    finally:
        close(source)
    hop, s3 = captured
    assert hop.headers['authorization'] == 'Bearer tok-1'  # same origin: the token goes along
    assert 'authorization' not in s3.headers
    assert str(s3.url) == 'https://s3.test/bucket/blob?X-Amz-Signature=sig'


def test_blob_redirect_loop_is_bounded(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(302, headers={'Location': 'https://loop.test/again'}))
    fake.hooks.insert(0, lambda request: httpx.Response(200) if request.url.path == '/v2/' else None)
    source = open_source(fake)
    try:
        with pytest.raises(RegistryError, match=r'^reading blob sha256:b+ from registry.test/app: more than 10 redirects \(the last from loop.test\)$'):
            with source.get_blob(BlobInfo(Digest('sha256:' + 'b' * 64))):
                pass
    finally:
        close(source)
    assert len(fake.requests) == 1 + 11


def test_blob_interrupted_mid_stream(fake: FakeRegistry) -> None:
    digest = 'sha256:' + 'c' * 64

    def broken() -> t.Iterator[bytes]:
        yield b'first part'
        raise httpx.ReadError('connection reset by peer')

    fake.hooks.append(lambda request: httpx.Response(200, content=broken()) if 'blobs' in request.url.path else None)
    source = open_source(fake)
    try:
        with source.get_blob(BlobInfo(Digest(digest))) as (chunks, size):
            assert size == -1
            # Bodies are handed on in 1 MiB pieces, so the partial first part never reaches the caller.
            with pytest.raises(ConnectionFailedError, match='^connection to registry.test failed: connection reset by peer$'):
                next(chunks)
    finally:
        close(source)


def test_blob_with_content_encoding_has_unknown_size(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(200, headers={'Content-Encoding': 'identity, identity'}, content=b'abc')
                      if 'blobs' in request.url.path else None)
    source = open_source(fake)
    try:
        with source.get_blob(BlobInfo(Digest('sha256:' + 'd' * 64))) as (chunks, size):
            assert size == -1 and b''.join(chunks) == b'abc'
    finally:
        close(source)


# -- tags ------------------------------------------------------------------------------------------


def paginate(fake: FakeRegistry, pages: dict[str, tuple[t.Any, str | None]]) -> None:
    """Serve tag list pages keyed by ``path?query``: (tags, Link header)."""
    def hook(request: httpx.Request) -> httpx.Response | None:
        if '/tags/list' not in request.url.path:
            return None
        key = request.url.path + (('?' + request.url.query.decode()) if request.url.query else '')
        tags, link = pages[key]
        headers = {'Link': link} if link else {}
        return httpx.Response(200, headers=headers, json={'name': 'app', 'tags': tags})

    fake.hooks.append(hook)


def test_tag_pagination_keeps_registry_order(fake: FakeRegistry) -> None:
    paginate(fake, {
        '/v2/app/tags/list': (['v2', 'v10'], '</v2/app/tags/list?last=v10&n=2>; rel="next"'),
        '/v2/app/tags/list?last=v10&n=2': (['latest', 'a'], '<https://registry.test/v2/app/tags/list?last=a&n=2>; rel=next'),
        '/v2/app/tags/list?last=a&n=2': (['b', 'v2'], None),
    })
    source = open_source(fake)
    try:
        assert source.list_tags() == ['v2', 'v10', 'latest', 'a', 'b']
    finally:
        close(source)
    assert fake.calls()[1:] == ['GET /v2/app/tags/list', 'GET /v2/app/tags/list?last=v10&n=2', 'GET /v2/app/tags/list?last=a&n=2']


def test_tag_pagination_stays_on_the_registry(fake: FakeRegistry) -> None:
    paginate(fake, {'/v2/app/tags/list': (['a'], '<https://evil.test/v2/app/tags/list?last=a>; rel="next"')})
    source = open_source(fake)
    try:
        with pytest.raises(RegistryError, match='next page is on another host'):
            source.list_tags()
    finally:
        close(source)
    assert all(r.url.host == 'registry.test' for r in fake.requests)


def test_tag_pagination_loop_stops(fake: FakeRegistry) -> None:
    paginate(fake, {'/v2/app/tags/list': (['a'], '</v2/app/tags/list>; rel="next"')})
    source = open_source(fake)
    try:
        assert source.list_tags() == ['a']
    finally:
        close(source)


@pytest.mark.parametrize('tags, expected', [(None, []), ([], [])])
def test_empty_tag_lists(fake: FakeRegistry, tags: t.Any, expected: list[str]) -> None:
    paginate(fake, {'/v2/app/tags/list': (tags, None)})
    source = open_source(fake)
    try:
        assert source.list_tags() == expected
    finally:
        close(source)


@pytest.mark.parametrize('tags', ['a', [1, 2], {'a': 1}])
def test_malformed_tag_lists(fake: FakeRegistry, tags: t.Any) -> None:
    paginate(fake, {'/v2/app/tags/list': (tags, None)})
    source = open_source(fake)
    try:
        with pytest.raises(RegistryError, match='^listing tags of registry.test/app: the tag list is not a list of strings$'):
            source.list_tags()
    finally:
        close(source)


def test_tags_of_unknown_repository(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(404, content=b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}')
                      if 'tags' in request.url.path else None)
    source = open_source(fake)
    try:
        with pytest.raises(ImageNotFoundError, match='^listing tags of registry.test/app: NAME_UNKNOWN'):
            source.list_tags()
    finally:
        close(source)


@pytest.mark.parametrize('values, expected', [
    (['</v2/a/tags/list?last=x>; rel="next"'], '/v2/a/tags/list?last=x'),
    (['<https://r/1>; rel="prev", <https://r/2>; rel="next"'], 'https://r/2'),
    (['<https://r/1>; title="a;b"; rel="prev next"'], 'https://r/1'),
    (['<https://r/1>; rel="prev"'], None),
    ([], None),
    (['garbage'], None),
])
def test_next_link(values: list[str], expected: str | None) -> None:
    assert next_link(values) == expected


@pytest.mark.parametrize('value, expected', [
    ('application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.index.v1+json'),
    ('Application/JSON; charset=utf-8', 'application/json'), ('', None), (None, None), ('; x=y', None),
])
def test_media_type_of(value: str | None, expected: str | None) -> None:
    assert media_type_of(value) == expected


def test_source_closes_only_its_own_client(fake: FakeRegistry) -> None:
    reference = DockerTransport().parse_reference('//registry.test/app:latest')
    shared = make_client(fake)
    source = reference.new_source(shared.options, client=shared)
    source.close()
    assert not shared._http.is_closed  # pylint: disable=protected-access
    shared.close()


def test_manifest_and_tag_list_redirects_are_followed_without_credentials_elsewhere() -> None:
    # Go's HTTP client (so skopeo) follows redirects for every GET; a registry that moved its
    # manifests or tag lists behind a redirect must not fail with "HTTP 307".
    fake = FakeRegistry(auth='bearer')
    fake.add_manifest('app', RAW, OCI, tag='latest')
    captured: list[httpx.Request] = []

    def moved(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == 'registry.test' and request.url.path in ('/v2/app/manifests/latest', '/v2/app/tags/list') \
                and request.headers.get('authorization', '').startswith('Bearer '):
            return httpx.Response(307, headers={'Location': 'https://mirror.test' + request.url.path})
        if request.url.host == 'mirror.test':
            captured.append(request)
            if request.url.path.endswith('/tags/list'):
                return httpx.Response(200, json={'name': 'app', 'tags': ['latest']})
            return httpx.Response(200, content=RAW, headers={'Content-Type': OCI})
        return None

    fake.hooks.append(moved)
    source = open_source(fake, creds=Credentials(USER, PASSWORD))
    try:
        assert source.get_manifest() == (RAW, OCI)
        assert source.list_tags() == ['latest']
    finally:
        close(source)
    assert [r.url.path for r in captured] == ['/v2/app/manifests/latest', '/v2/app/tags/list']
    assert all('authorization' not in r.headers for r in captured)
