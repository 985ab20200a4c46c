# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DockerImageDestination: digests, blob checks, mounts, uploads and manifests."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import DigestMismatchError, RegistryError, TokenExpiredError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import destination as destination_module
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination import DockerImageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    USER,
    Credentials,
    FakeRegistry,
    make_client,
    sha256,
)

httpx = pytest.importorskip('httpx')

DATA = b'0123456789' * 10
DIGEST = sha256(DATA)
MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'


def parse(name: str) -> t.Any:
    return DockerTransport().parse_reference('//' + name)


def open_destination(fake: t.Any, name: str = 'registry.test/app:v1', **kwargs: t.Any) -> DockerImageDestination:
    client = make_client(fake, **kwargs)
    return parse(name).new_destination(client.options, client=client)


def close(destination: DockerImageDestination) -> None:
    destination.close()
    destination.client.close()


def chunks(data: bytes, size: int = 7) -> t.Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


# -- current state ---------------------------------------------------------------------------------


def test_manifest_digest_from_head(fake: FakeRegistry) -> None:
    digest = fake.add_manifest('app', MANIFEST, mt.OCI_MANIFEST, tag='v1')
    destination = open_destination(fake)
    try:
        assert destination.get_manifest_digest() == Digest(digest)
    finally:
        close(destination)
    assert fake.calls() == ['GET /v2/', 'HEAD /v2/app/manifests/v1']
    assert fake.requests[-1].headers['accept'].startswith(mt.OCI_MANIFEST + ', ')


@pytest.mark.parametrize('header', [None, 'sha256:nothex', 'md5:abc'])
def test_manifest_digest_without_a_usable_header_hashes_the_manifest(fake: FakeRegistry, header: str | None) -> None:
    digest = fake.add_manifest('app', MANIFEST, mt.OCI_MANIFEST, tag='v1')

    def strip_header(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != '/v2/app/manifests/v1':
            return None
        headers = {'Content-Type': mt.OCI_MANIFEST}
        if header:
            headers['Docker-Content-Digest'] = header
        return httpx.Response(200, headers=headers, content=b'' if request.method == 'HEAD' else MANIFEST)

    fake.hooks.append(strip_header)
    destination = open_destination(fake)
    try:
        assert destination.get_manifest_digest() == Digest(digest)
    finally:
        close(destination)
    assert fake.calls()[1:] == ['HEAD /v2/app/manifests/v1', 'GET /v2/app/manifests/v1']


def test_manifest_digest_absent(fake: FakeRegistry) -> None:
    destination = open_destination(fake)
    try:
        assert destination.get_manifest_digest() is None
    finally:
        close(destination)


def test_manifest_digest_of_a_digest_reference(fake: FakeRegistry) -> None:
    digest = fake.add_manifest('app', MANIFEST, mt.OCI_MANIFEST)
    destination = open_destination(fake, 'registry.test/app@' + digest)
    try:
        assert destination.get_manifest_digest() == Digest(digest)
    finally:
        close(destination)
    assert fake.calls()[-1] == 'HEAD /v2/app/manifests/' + digest


def test_has_blob(fake: FakeRegistry) -> None:
    fake.add_blob('app', DATA)
    destination = open_destination(fake)
    try:
        assert destination.has_blob(BlobInfo(Digest(DIGEST), len(DATA)))
        assert not destination.has_blob(BlobInfo(Digest(sha256(b'other'))))
    finally:
        close(destination)
    assert fake.calls()[1:] == ['HEAD /v2/app/blobs/' + DIGEST, 'HEAD /v2/app/blobs/' + sha256(b'other')]


# -- mounts ----------------------------------------------------------------------------------------


def test_reuse_present_blob(fake: FakeRegistry) -> None:
    fake.add_blob('app', DATA)
    destination = open_destination(fake)
    try:
        assert destination.try_reuse_blob(BlobInfo(Digest(DIGEST)), [parse('registry.test/src:1')]) == 'present'
    finally:
        close(destination)
    assert fake.calls() == ['GET /v2/', 'HEAD /v2/app/blobs/' + DIGEST]


def test_mount_201_with_one_token_for_both_repositories() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.add_blob('src', DATA)
    destination = open_destination(fake, creds=Credentials(USER, PASSWORD))
    try:
        candidates = [parse('other.test/src:1'), parse('registry.test/app:old'), parse('registry.test/src:1')]
        assert destination.try_reuse_blob(BlobInfo(Digest(DIGEST)), candidates) == 'mounted'
    finally:
        close(destination)
    assert fake.calls() == [
        'GET /v2/', 'TOKEN repository:app:pull,push', 'HEAD /v2/app/blobs/' + DIGEST,
        'TOKEN repository:app:pull,push repository:src:pull',
        'POST /v2/app/blobs/uploads/?mount=%s&from=src' % DIGEST.replace(':', '%3A'),
    ]
    assert ('app', DIGEST) in fake.blobs


def test_mount_202_is_cancelled_and_the_next_candidate_tried(fake: FakeRegistry) -> None:
    fake.add_blob('second', DATA)
    destination = open_destination(fake)
    try:
        result = destination.try_reuse_blob(BlobInfo(Digest(DIGEST)), [parse('registry.test/first:1'), parse('registry.test/second:1')])
    finally:
        close(destination)
    assert result == 'mounted'
    calls = fake.calls()
    assert calls[2].startswith('POST /v2/app/blobs/uploads/?mount=') and calls[2].endswith('&from=first')
    assert calls[3].startswith('DELETE /v2/app/blobs/uploads/') and '_state=' in calls[3]
    assert calls[4].endswith('&from=second')
    assert len(fake.cancelled) == 1 and not fake.uploads


def test_refused_cancel_costs_no_token_request() -> None:
    fake = FakeRegistry(auth='bearer')
    fake.add_blob('second', DATA)
    destination = open_destination(fake, creds=Credentials(USER, PASSWORD))
    try:
        result = destination.try_reuse_blob(BlobInfo(Digest(DIGEST)), [parse('registry.test/first:1'), parse('registry.test/second:1')])
    finally:
        close(destination)
    assert result == 'mounted'
    calls = [c.split('?')[0] for c in fake.calls()]
    assert calls == ['GET /v2/', 'TOKEN repository:app:pull,push', 'HEAD /v2/app/blobs/' + DIGEST,
                     'TOKEN repository:app:pull,push repository:first:pull', 'POST /v2/app/blobs/uploads/',
                     'DELETE ' + calls[5][len('DELETE '):],  # refused: a pull,push token may not delete
                     'TOKEN repository:app:pull,push repository:second:pull', 'POST /v2/app/blobs/uploads/']
    assert calls[5].startswith('DELETE /v2/app/blobs/uploads/')


def test_failed_mounts_fall_back_to_upload(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(403, content=b'{"errors":[{"code":"DENIED"}]}')
                      if request.url.params.get('mount') else None)
    destination = open_destination(fake)
    try:
        candidates = [parse('registry.test/a:1'), parse('registry.test/a:2'), parse('registry.test/b:1')]
        assert destination.try_reuse_blob(BlobInfo(Digest(DIGEST)), candidates) is None
    finally:
        close(destination)
    assert [c.split('from=')[-1] for c in fake.calls() if c.startswith('POST')] == ['a', 'b']


def test_candidates_of_other_transports_are_ignored(fake: FakeRegistry, tmp_path: t.Any) -> None:
    destination = open_destination(fake)
    try:
        layout = OCILayoutTransport().parse_reference('%s:tag' % tmp_path)
        assert destination.try_reuse_blob(BlobInfo(Digest(DIGEST)), [layout]) is None
    finally:
        close(destination)
    assert not [c for c in fake.calls() if c.startswith('POST')]


# -- uploads ---------------------------------------------------------------------------------------


def test_monolithic_upload(fake: FakeRegistry) -> None:
    destination = open_destination(fake)
    try:
        info = destination.put_blob(chunks(DATA), BlobInfo(Digest(DIGEST), len(DATA), 'application/octet-stream'))
    finally:
        close(destination)
    assert info == BlobInfo(Digest(DIGEST), len(DATA), 'application/octet-stream')
    calls = fake.calls()
    session = calls[2].split('/uploads/')[1].split('?')[0]
    assert calls[1:] == ['POST /v2/app/blobs/uploads/',
                         'PUT /v2/app/blobs/uploads/%s?_state=s-%s&digest=%s' % (session, session, DIGEST.replace(':', '%3A'))]
    put = fake.requests[-1]
    assert put.headers['content-length'] == str(len(DATA)) and 'transfer-encoding' not in put.headers
    assert put.headers['content-type'] == 'application/octet-stream'
    assert put.content == DATA
    assert fake.blobs[('app', DIGEST)] == DATA


@pytest.mark.parametrize('known_size', [True, False])
def test_chunked_upload(fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch, known_size: bool) -> None:
    monkeypatch.setattr(destination_module, 'MONOLITHIC_UPLOAD_MAX', len(DATA) - 1)
    destination = open_destination(fake)
    try:
        info = destination.put_blob(chunks(DATA), BlobInfo(Digest(DIGEST), len(DATA) if known_size else -1))
    finally:
        close(destination)
    assert info.size == len(DATA)
    calls = fake.calls()
    session = calls[2].split('/uploads/')[1].split('?')[0]
    assert calls[1:] == ['POST /v2/app/blobs/uploads/',
                         'PATCH /v2/app/blobs/uploads/%s?_state=s-%s' % (session, session),
                         'PUT /v2/app/blobs/uploads/%s?_state=p-%s&digest=%s' % (session, session, DIGEST.replace(':', '%3A'))]
    patch, put = fake.requests[-2:]
    if known_size:
        assert patch.headers['content-length'] == str(len(DATA)) and 'transfer-encoding' not in patch.headers
    else:
        assert patch.headers['transfer-encoding'] == 'chunked' and 'content-length' not in patch.headers
    assert patch.content == DATA
    assert put.content == b'' and put.headers['content-length'] == '0'
    assert fake.blobs[('app', DIGEST)] == DATA


def test_upload_location_may_be_absolute(fake: FakeRegistry) -> None:
    def absolute(request: httpx.Request) -> httpx.Response | None:
        if request.method == 'POST':
            response = fake._route(request)  # pylint: disable=protected-access
            response.headers['Location'] = 'https://registry.test' + response.headers['Location']
            return response
        return None

    fake.hooks.append(absolute)
    destination = open_destination(fake)
    try:
        destination.put_blob([DATA], BlobInfo(Digest(DIGEST), len(DATA)))
    finally:
        close(destination)
    assert fake.blobs[('app', DIGEST)] == DATA


@pytest.mark.parametrize('data, size, message', [
    (DATA + b'!', len(DATA) + 1, 'digest mismatch'),
    (DATA + b'!', len(DATA), 'larger than its declared size'),
    (DATA[:-1], len(DATA), 'declared size is'),
    (DATA + b'!', -1, 'digest mismatch'),
])
def test_bad_content_never_completes_an_upload(fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch, data: bytes, size: int,
                                               message: str) -> None:
    monkeypatch.setattr(destination_module, 'MONOLITHIC_UPLOAD_MAX', 1000)
    destination = open_destination(fake)
    try:
        with pytest.raises(DigestMismatchError, match=message):
            destination.put_blob(chunks(data), BlobInfo(Digest(DIGEST), size))
    finally:
        close(destination)
    assert not fake.blobs
    assert fake.calls()[-1].startswith('DELETE /v2/app/blobs/uploads/')
    assert len(fake.cancelled) == 1 and not fake.uploads


def test_registry_digest_mismatch_after_upload(fake: FakeRegistry) -> None:
    def lie(request: httpx.Request) -> httpx.Response | None:
        if request.method == 'PUT':
            request.read()
            return httpx.Response(201, headers={'Docker-Content-Digest': sha256(b'something else')})
        return None

    fake.hooks.append(lie)
    destination = open_destination(fake)
    try:
        with pytest.raises(DigestMismatchError, match='the registry stored sha256:'):
            destination.put_blob([DATA], BlobInfo(Digest(DIGEST), len(DATA)))
    finally:
        close(destination)


def test_upload_without_location(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(202) if request.method == 'POST' else None)
    destination = open_destination(fake)
    try:
        with pytest.raises(RegistryError, match='^uploading blob sha256:[0-9a-f]+ to registry.test/app: the registry gave no upload Location$'):
            destination.put_blob([DATA], BlobInfo(Digest(DIGEST), len(DATA)))
    finally:
        close(destination)


def test_upload_error_is_mapped(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(403, content=b'{"errors":[{"code":"DENIED","message":"no push"}]}')
                      if request.method == 'POST' else None)
    destination = open_destination(fake)
    try:
        with pytest.raises(RegistryError) as info:
            destination.put_blob([DATA], BlobInfo(Digest(DIGEST), len(DATA)))
    finally:
        close(destination)
    assert info.value.message == 'uploading blob %s to registry.test/app: DENIED: no push (HTTP 403 Forbidden)' % DIGEST


# -- manifests -------------------------------------------------------------------------------------


def test_put_manifest_by_tag_then_by_digest(fake: FakeRegistry) -> None:
    destination = open_destination(fake)
    child = Digest(sha256(b'{"child": true}'))
    try:
        destination.put_manifest(b'{"child": true}', mt.OCI_MANIFEST, instance_digest=child)
        destination.put_manifest(MANIFEST, mt.OCI_INDEX)
        destination.commit()
    finally:
        close(destination)
    assert fake.calls()[1:] == ['PUT /v2/app/manifests/' + str(child), 'PUT /v2/app/manifests/v1']
    assert fake.requests[-1].headers['content-type'] == mt.OCI_INDEX
    assert fake.manifests[('app', 'v1')] == (MANIFEST, mt.OCI_INDEX)


def test_put_manifest_checks_the_instance_digest_before_sending(fake: FakeRegistry) -> None:
    destination = open_destination(fake)
    try:
        with pytest.raises(DigestMismatchError):
            destination.put_manifest(MANIFEST, mt.OCI_MANIFEST, instance_digest=Digest(sha256(b'other')))
    finally:
        close(destination)
    assert not [c for c in fake.calls() if c.startswith('PUT')]


def test_put_manifest_to_a_digest_reference(fake: FakeRegistry) -> None:
    destination = open_destination(fake, 'registry.test/app@' + sha256(MANIFEST))
    try:
        destination.put_manifest(MANIFEST, mt.OCI_MANIFEST)
        with pytest.raises(DigestMismatchError):
            destination.put_manifest(MANIFEST + b' ', mt.OCI_MANIFEST)
    finally:
        close(destination)
    assert fake.calls()[-1] == 'PUT /v2/app/manifests/' + sha256(MANIFEST)


def test_put_manifest_registry_digest_mismatch(fake: FakeRegistry) -> None:
    fake.hooks.append(lambda request: httpx.Response(201, headers={'Docker-Content-Digest': sha256(b'x')})
                      if request.method == 'PUT' else None)
    destination = open_destination(fake)
    try:
        with pytest.raises(DigestMismatchError, match='^writing manifest registry.test/app:v1: the registry stored'):
            destination.put_manifest(MANIFEST, mt.OCI_MANIFEST)
    finally:
        close(destination)


def test_push_with_bearer_asks_pull_and_push() -> None:
    fake = FakeRegistry(auth='bearer')
    destination = open_destination(fake, creds=Credentials(USER, PASSWORD))
    try:
        destination.put_blob([DATA], BlobInfo(Digest(DIGEST), len(DATA)))
        destination.put_manifest(MANIFEST, mt.OCI_MANIFEST)
    finally:
        close(destination)
    assert [c for c in fake.calls() if c.startswith('TOKEN')] == ['TOKEN repository:app:pull,push']
    assert fake.manifests[('app', 'v1')][0] == MANIFEST


def test_a_token_revoked_during_an_upload_fails_as_may_pass_and_the_next_upload_gets_a_new_one() -> None:
    """The copy engine starts a blob again after a failure that may pass; with a new token it goes through."""
    fake = FakeRegistry(auth='bearer')

    def revoke(request: httpx.Request) -> httpx.Response | None:
        if request.method != 'PUT' or '/blobs/uploads/' not in request.url.path:
            return None
        request.read()
        fake.tokens.clear()
        fake.hooks.remove(revoke)
        return fake._challenge('invalid_token')  # pylint: disable=protected-access

    fake.hooks.append(revoke)
    destination = open_destination(fake, creds=Credentials(USER, PASSWORD))
    try:
        with pytest.raises(TokenExpiredError) as info:
            destination.put_blob(chunks(DATA), BlobInfo(Digest(DIGEST), len(DATA)))
        assert info.value.transient
        assert ('app', DIGEST) not in fake.blobs
        assert destination.put_blob(chunks(DATA), BlobInfo(Digest(DIGEST), len(DATA))).size == len(DATA)
    finally:
        close(destination)
    assert fake.blobs[('app', DIGEST)] == DATA
    assert [c for c in fake.calls() if c.startswith('TOKEN')] == ['TOKEN repository:app:pull,push'] * 2


def test_destination_properties(fake: FakeRegistry) -> None:
    destination = open_destination(fake)
    try:
        assert destination.supported_manifest_types == (mt.OCI_MANIFEST, mt.DOCKER_V2S2, mt.OCI_INDEX, mt.DOCKER_LIST,
                                                        mt.DOCKER_V2S1_SIGNED, mt.DOCKER_V2S1)
        assert destination.supports_index
    finally:
        close(destination)
    assert fake.calls() == []  # opening a destination costs no request
