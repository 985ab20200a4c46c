# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""RegistryClient.iter_body's direct path: large bodies read from the TLS socket past httpx, over real sockets.

A tiny HTTPS server in a thread (trustme certificates) sends bodies whole, cut short, stalled,
chunked or encoded; the client must hand over exactly the bytes sent, map every failure to the
errors the httpx path gives, never reuse a connection whose body it read itself, and keep small,
chunked and encoded bodies on the httpx path.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import ssl
import time
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConnectionFailedError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import client as client_mod
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.test_docker_tls import Server, _Handler

trustme = pytest.importorskip('trustme')
pytest.importorskip('httpx')

BIG = client_mod.DIRECT_BODY_MIN + 3 * client_mod.BODY_CHUNK_SIZE + 12345  # not a multiple of anything
BODY = os.urandom(BIG)
ENCODED = gzip.compress(BODY, 1)  # larger than DIRECT_BODY_MIN too
SCOPES = (Scope('app', 'pull'),)


class _BodyHandler(_Handler):
    """Sends the bodies the tests name by the last path component, raw where a test needs it."""

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        server = t.cast(t.Any, self.server)
        server.connections.add(self.client_address)
        path = self.path.rsplit('/', 1)[-1]
        if path == 'full':
            # Head and the start of the body in one write: the client's first read takes both, so h11 holds body
            # bytes before the direct path starts; then uneven pieces, so that reads end anywhere in a record.
            self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % BIG + BODY[:9000])
            for start in range(9000, BIG, 70_001):
                self.wfile.write(BODY[start:start + 70_001])
            return
        self.send_response(200)
        if path == '' or path == 'small':
            body = b'{}' if path == '' else BODY[:1000]
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == 'chunked':
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for start in range(0, BIG, 500_000):
                piece = BODY[start:start + 500_000]
                self.wfile.write(b'%x\r\n%s\r\n' % (len(piece), piece))
            self.wfile.write(b'0\r\n\r\n')
            return
        if path == 'encoded':
            self.send_header('Content-Length', str(len(ENCODED)))
            self.send_header('Content-Encoding', 'gzip')
            self.end_headers()
            self.wfile.write(ENCODED)
            return
        self.send_header('Content-Length', str(BIG))
        self.end_headers()
        if path in ('short', 'stall'):
            self.wfile.write(BODY[:BIG // 2])
            self.wfile.flush()
            if path == 'stall':
                time.sleep(3)
            self.close_connection = True
            if path == 'short':
                self.connection.shutdown(2)
            return
        raise AssertionError('unknown path %s' % self.path)


def connections(server: Server) -> int:
    """How many connections the server has accepted so far."""
    return len(t.cast(t.Any, server.httpd).connections)


@pytest.fixture(name='server')
def server_fixture(tmp_path: t.Any) -> t.Iterator[tuple[Server, str]]:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert('127.0.0.1').configure_cert(context)
    certs = tmp_path / 'certs'
    certs.mkdir()
    ca.cert_pem.write_to_path(str(certs / 'ca.crt'))
    server = Server(context, handler=_BodyHandler)
    t.cast(t.Any, server.httpd).connections = set()
    yield server, str(certs)
    server.close()


@pytest.fixture(name='direct_calls')
def direct_calls_fixture(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many bodies took the direct path (a spy around _read_direct)."""
    calls: list[int] = []
    real = client_mod._read_direct  # pylint: disable=protected-access

    def spy(response: t.Any, sock: t.Any, length: int, timeout: float | None) -> t.Iterator[bytes]:
        calls.append(length)
        return real(response, sock, length, timeout)

    monkeypatch.setattr(client_mod, '_read_direct', spy)
    return calls


def read(client: RegistryClient, name: str) -> list[bytes]:
    with client.stream('GET', '/v2/app/blobs/%s' % name, SCOPES, 'reading %s' % name) as response:
        return list(client.iter_body(response))


def new_client(server: tuple[Server, str], timeout: float = 10) -> RegistryClient:
    return RegistryClient(server[0].address, ConnectionOptions(cert_dir=server[1], retry_times=0, timeout=timeout), credentials=lambda *args: None)


def test_a_large_body_is_read_whole_in_big_pieces_and_its_connection_is_not_reused(server: tuple[Server, str], direct_calls: list[int]):
    with new_client(server) as client:
        chunks = read(client, 'full')
        assert direct_calls == [BIG]
        assert hashlib.sha256(b''.join(chunks)).digest() == hashlib.sha256(BODY).digest()
        # The first piece is what h11 had buffered (the body bytes that came with the head); every later one a full
        # buffer but the last.
        assert 0 < len(chunks[0]) <= 9000
        assert all(len(chunk) == client_mod.BODY_CHUNK_SIZE for chunk in chunks[1:-1]) and len(chunks[1:]) >= 3
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        assert client.stats()['bytes_received'] == BIG
        before = connections(server[0])
        # The next requests work, on a new connection (the old one's HTTP state never saw the body end).
        assert read(client, 'small') == [BODY[:1000]]
        assert connections(server[0]) == before + 1
        assert b''.join(read(client, 'full')) == BODY


def test_a_body_cut_short_is_a_connection_failure_naming_the_bytes(server: tuple[Server, str], direct_calls: list[int]):
    with new_client(server) as client:
        with pytest.raises(ConnectionFailedError) as caught:
            read(client, 'short')
        assert direct_calls == [BIG]
        assert 'expected %d' % BIG in str(caught.value) and 'received' in str(caught.value)


def test_a_stalled_body_times_out_with_the_clients_timeout(server: tuple[Server, str], direct_calls: list[int]):
    with new_client(server, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(ConnectionFailedError, match='timed out'):
            read(client, 'stall')
        assert time.monotonic() - started < 2.5
        assert direct_calls == [BIG]


@pytest.mark.parametrize('name', ['small', 'chunked', 'encoded'])
def test_small_chunked_and_encoded_bodies_stay_on_the_httpx_path(server: tuple[Server, str], direct_calls: list[int], name: str):
    with new_client(server) as client:
        data = b''.join(read(client, name))
        assert data == (BODY[:1000] if name == 'small' else BODY)  # the encoded one decoded by httpx, as before
        assert direct_calls == []
        if name == 'small':
            before = connections(server[0])
            read(client, 'small')
            assert connections(server[0]) == before  # reused, as httpx does


def test_a_consumer_that_stops_early_leaves_a_working_client(server: tuple[Server, str], direct_calls: list[int]):
    with new_client(server) as client:
        with client.stream('GET', '/v2/app/blobs/full', SCOPES, 'reading') as response:
            body = client.iter_body(response)
            assert next(body) and next(body)
            body.close()
        assert direct_calls == [BIG]
        assert b''.join(read(client, 'full')) == BODY


class _TLSinTLSStream:
    """Stands for httpcore's TLS-in-TLS stream (an HTTPS proxy): its socket carries the proxy's TLS, not the body."""

    def get_extra_info(self, info: str) -> t.Any:
        return object() if info == 'socket' else None


@pytest.mark.parametrize('stream', [None, _TLSinTLSStream()])
def test_only_httpcores_plain_stream_is_read_directly(stream: t.Any):
    import httpx  # pylint: disable=import-outside-toplevel
    extensions = {} if stream is None else {'network_stream': stream}
    response = httpx.Response(200, headers={'Content-Length': str(BIG)}, extensions=extensions, request=httpx.Request('GET', 'https://r.test/'),
                              stream=httpx.ByteStream(BODY))
    assert client_mod._direct_body(response) is None  # pylint: disable=protected-access
