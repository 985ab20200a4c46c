# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Engine API client: hosts, version negotiation, Docker's and Podman's error forms, the export spool and the load request."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ConnectionFailedError,
    ImageNotFoundError,
    InvalidInputError,
    LayoutError,
    ManifestError,
    RegistryError,
    ServerError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.archive import DockerArchive, synthesize_manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon import source as daemon_source
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.client import (
    DaemonHost,
    EngineClient,
    error_message,
    load_errors,
    loaded_images,
    parse_daemon_host,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.destination import DockerDaemonDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.source import DockerDaemonSource, spool, spool_limit
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.transport import DockerDaemonTransport

httpx = pytest.importorskip('httpx')

OPTIONS = ConnectionOptions(timeout=5)


@pytest.mark.parametrize('value, expected', [
    (None, DaemonHost('unix', '/var/run/docker.sock')),
    ('unix:///run/podman/podman.sock', DaemonHost('unix', '/run/podman/podman.sock')),
    ('tcp://127.0.0.1:2376', DaemonHost('tcp', '127.0.0.1:2376')),
    ('http://localhost:2375', DaemonHost('http', 'localhost:2375')),
    ('tcp://[::1]:2376', DaemonHost('tcp', '[::1]:2376')),
])
def test_daemon_hosts(value: str | None, expected: DaemonHost) -> None:
    assert parse_daemon_host(value) == expected


@pytest.mark.parametrize('value, problem', [
    ('/var/run/docker.sock', 'expected unix:///PATH, tcp://HOST:PORT or http://HOST:PORT'),
    ('https://h:1', 'expected unix:///PATH'),
    ('unix://relative.sock', 'a unix socket needs an absolute path'),
    ('tcp://host', 'expected tcp://HOST:PORT'),
    ('tcp://host:99999', 'expected tcp://HOST:PORT'),
    ('tcp://user:secret@host:1', 'expected tcp://HOST:PORT'),
    ('http://host:1/path', 'expected http://HOST:PORT'),
])
def test_bad_daemon_hosts(value: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_daemon_host(value)
    assert problem in info.value.message
    assert 'secret' not in info.value.message


@pytest.mark.parametrize('body, message', [
    (b'{"message":"No such image: busybox:1"}', 'No such image: busybox:1'),
    # Podman: the message already ends with the cause; said once.
    (b'{"cause":"no such image","message":"failed to find image x: no such image","response":404}', 'failed to find image x: no such image'),
    (b'{"cause":"payload does not match","message":"failed to load image","response":500}', 'failed to load image: payload does not match'),
    (b'{"cause":"only a cause"}', 'only a cause'),
    (b'{"message":"line one\\n * line two"}', 'line one * line two'),
    (b'plain text\n', 'plain text'),
    (b'', 'no reason given'),
])
def test_error_messages(body: bytes, message: str) -> None:
    assert error_message(body) == message


def test_load_stream_errors_and_names() -> None:
    ok = b'{"stream":"Loaded image: example.com/app:v1\\n"}\r\n'
    assert load_errors(ok) == []
    assert loaded_images(ok) == ['example.com/app:v1']
    failed = (b'{"stream":"Loading layer"}{"errorDetail":{"message":"open /var/lib/docker/tmp/x: no space left on device"},'
              b'"error":"open /var/lib/docker/tmp/x: no space left on device"}\n')
    assert load_errors(failed) == ['open /var/lib/docker/tmp/x: no space left on device']
    assert load_errors(b'{"error":"only the old field"}') == ['only the old field']
    assert load_errors(b'{"stream":"ok"}\nnot json\x1b[31m') == ['not json\\x1b[31m']


# -- a fake daemon on httpx.MockTransport ----------------------------------------------------------


class FakeDaemon:
    """Docker's or Podman's answers, as far as the client uses them; records every request."""

    def __init__(self, api_version: str | None = '1.43', podman: bool = False) -> None:
        self.api_version = api_version
        self.podman = podman
        self.images: dict[str, dict[str, t.Any]] = {}
        self.exports: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.loads: list[bytes] = []
        self.load_answer: tuple[int, bytes] | None = None

    def error(self, status: int, message: str) -> 'httpx.Response':
        if self.podman:
            return httpx.Response(status, json={'cause': message, 'message': 'failed: ' + message, 'response': status})
        return httpx.Response(status, json={'message': message})

    def __call__(self, request: 'httpx.Request') -> 'httpx.Response':
        path = request.url.path
        self.requests.append((request.method, path, dict(request.url.params)))
        if path == '/_ping':
            return httpx.Response(200, text='OK', headers={'API-Version': self.api_version} if self.api_version else {})
        path = path.split('/', 2)[2] if path.startswith('/v1.') else path.lstrip('/')
        if request.method == 'GET' and path.startswith('images/') and path.endswith('/json'):
            name = path[len('images/'):-len('/json')]
            if name not in self.images:
                return self.error(404, 'No such image: %s' % name)
            return httpx.Response(200, json=self.images[name])
        if request.method == 'GET' and path == 'images/get':
            name = request.url.params['names']
            if name not in self.exports:
                return self.error(404, 'No such image: %s' % name)
            return httpx.Response(200, content=self.exports[name])
        if request.method == 'POST' and path == 'images/load':
            assert request.headers['content-type'] == 'application/x-tar'
            self.loads.append(request.read())
            if self.load_answer is not None:
                return httpx.Response(self.load_answer[0], content=self.load_answer[1])
            manifest = json.loads(tarfile.open(fileobj=io.BytesIO(self.loads[-1])).extractfile('manifest.json').read())
            for tag in manifest[0]['RepoTags']:
                self.images[tag] = {'Id': 'sha256:' + manifest[0]['Config'][:-len('.json')], 'Size': 1}
            return httpx.Response(200, content=b'{"stream":"Loaded image: %s\\n"}\n' % manifest[0]['RepoTags'][0].encode())
        return self.error(500, 'unexpected %s %s' % (request.method, path))


def client_on(daemon: FakeDaemon) -> EngineClient:
    return EngineClient('unix:///fake/docker.sock', OPTIONS, transport=httpx.MockTransport(daemon))


@pytest.mark.parametrize('server, prefix', [('1.43', '/v1.41'), ('1.40', '/v1.40'), ('1.41', '/v1.41'), (None, ''), ('garbage', '')])
def test_api_version_is_negotiated_once(server: str | None, prefix: str) -> None:
    daemon = FakeDaemon(api_version=server)
    with client_on(daemon) as client:
        assert client.image_inspect('a:1') is None
        assert client.image_inspect('b:1') is None
    assert [request[1] for request in daemon.requests] == ['/_ping', prefix + '/images/a:1/json', prefix + '/images/b:1/json']


@pytest.mark.parametrize('podman', [False, True])
def test_load_failures_name_the_daemons_reason(podman: bool) -> None:
    daemon = FakeDaemon(podman=podman)
    if podman:
        daemon.load_answer = (500, b'{"cause":"unexpected EOF","message":"failed to load image: unexpected EOF","response":500}')
        expected = ('the Docker daemon did not load docker-daemon:x: the Docker daemon at unix:///fake/docker.sock failed (HTTP 500): '
                    'failed to load image: unexpected EOF')
    else:
        daemon.load_answer = (200, b'{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar header"}\n')
        expected = 'the Docker daemon at unix:///fake/docker.sock did not load docker-daemon:x: archive/tar: invalid tar header'
    with client_on(daemon) as client, pytest.raises(ServerError) as info:
        client.load(iter([b'x' * 10]), 'docker-daemon:x')
    assert info.value.message == expected


def test_other_refusals_and_missing_images() -> None:
    daemon = FakeDaemon(podman=True)
    with client_on(daemon) as client:
        with pytest.raises(ImageNotFoundError, match='^cannot export "a:1" from the Docker daemon: failed: No such image: a:1$'):
            with client.export('a:1'):
                pass
        daemon.load_answer = (403, b'{"message":"authorization denied by plugin"}')
        with pytest.raises(RegistryError, match=r'refused \(HTTP 403\): authorization denied by plugin$'):
            client.load(iter([b'']), 'docker-daemon:x')


def test_missing_socket_names_it_and_what_to_start(tmp_path: t.Any) -> None:
    path = tmp_path / 'docker.sock'
    with EngineClient('unix://%s' % path, OPTIONS) as client, pytest.raises(ConnectionFailedError) as info:
        client.image_inspect('busybox:1')
    assert info.value.message == (
        'cannot reach the Docker daemon at unix://%s: the socket %s does not exist; start the Docker daemon (systemctl start docker) '
        'or Podman\'s Docker-compatible service (systemctl start podman.socket, or podman system service --time=0 unix://%s), '
        'or name another daemon with daemon_host' % (path, path, path))


def test_refused_socket_says_nothing_answers(tmp_path: t.Any) -> None:
    path = str(tmp_path / 'stale.sock')
    # A socket file nobody listens on: what a stopped service leaves behind.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    with EngineClient('unix://%s' % path, OPTIONS) as client, pytest.raises(ConnectionFailedError) as info:
        client.image_inspect('busybox:1')
    assert info.value.message.startswith('cannot reach the Docker daemon at unix://%s: nothing answers on the socket %s '
                                         '(connection refused); start the Docker daemon' % (path, path))


# -- spool --------------------------------------------------------------------------------------


@pytest.mark.parametrize('record, limit', [
    ({'Size': 1000}, 2000 + daemon_source.EXPORT_ALLOWANCE),
    ({'Size': 0}, daemon_source.EXPORT_ALLOWANCE),
    ({'Size': 10 ** 15}, daemon_source.MAX_EXPORT_SIZE),
    ({}, daemon_source.MAX_EXPORT_SIZE),
    ({'Size': -1}, daemon_source.MAX_EXPORT_SIZE),
    ({'Size': True}, daemon_source.MAX_EXPORT_SIZE),
    ({'Size': '5'}, daemon_source.MAX_EXPORT_SIZE),
])
def test_spool_limit(record: dict[str, t.Any], limit: int) -> None:
    assert spool_limit(record) == limit


def test_spool_is_bounded(tmp_path: t.Any) -> None:
    path = str(tmp_path / 'image.tar')
    assert spool(iter([b'a' * 10, b'b' * 10]), path, 20, 'docker-daemon:x:1') == 20
    assert open(path, 'rb').read() == b'a' * 10 + b'b' * 10
    other = str(tmp_path / 'other.tar')
    sent: list[int] = []

    def endless() -> t.Iterator[bytes]:
        while True:
            sent.append(1)
            yield b'z' * 8

    with pytest.raises(LayoutError) as info:
        spool(endless(), other, 20, 'docker-daemon:x:1')
    assert info.value.message == 'refusing the export of docker-daemon:x:1: the daemon sent more than 20 bytes'
    # It stopped at the first chunk over the bound.
    assert len(sent) == 3


# -- source and destination through the fake daemon ------------------------------------------------


def _layer(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as archive:
        info = tarfile.TarInfo('file')
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _image() -> tuple[bytes, list[bytes], bytes]:
    layers = [_layer(b'one' * 100), _layer(b'two' * 50)]
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [
        str(Digest.from_bytes(layer)) for layer in layers]}}).encode()
    manifest = synthesize_manifest(config, [(mt.DOCKER_LAYER, len(layer), Digest.from_bytes(layer)) for layer in layers])
    return config, layers, manifest


def _write(dest: DockerDaemonDestination, config: bytes, layers: list[bytes], manifest: bytes) -> None:
    for blob in [config] + layers:
        dest.put_blob(iter([blob]), BlobInfo(Digest.from_bytes(blob), len(blob)))
    dest.put_manifest(manifest, mt.DOCKER_V2S2)
    dest.commit()


def test_destination_loads_a_docker_archive_and_source_reads_it_back(tmp_path: t.Any) -> None:
    config, layers, manifest = _image()
    daemon = FakeDaemon()
    ref = DockerDaemonTransport().parse_reference('example.com/app:v1')
    with DockerDaemonDestination(ref, OPTIONS, client=client_on(daemon)) as dest:
        assert dest.get_manifest_digest() is None
        _write(dest, config, layers, manifest)
    assert len(daemon.loads) == 1
    load = [request for request in daemon.requests if request[0] == 'POST']
    assert load == [('POST', '/v1.41/images/load', {'quiet': '1'})]
    sent = tmp_path / 'sent.tar'
    sent.write_bytes(daemon.loads[0])
    with DockerArchive(str(sent)) as archive:
        # The fully qualified name, as containers/image writes it.
        assert archive.items[0].repo_tags == ('example.com/app:v1',)
        assert archive.image(0).manifest == manifest
    config_id = str(Digest.from_bytes(config))
    assert daemon.images['example.com/app:v1']['Id'] == config_id
    daemon.exports[config_id] = daemon.loads[0]
    daemon_source._MANIFESTS.clear()  # pylint: disable=protected-access
    with DockerDaemonSource(ref, OPTIONS, client=client_on(daemon)) as src:
        assert src.get_manifest() == (manifest, mt.DOCKER_V2S2)
        assert src.get_blob_bytes(BlobInfo(Digest(config_id), len(config)), 10000) == config
        spooled = src.archive.path
        assert os.path.exists(spooled)
    # The export was asked for by image ID, and its spool is gone.
    assert ('GET', '/v1.41/images/get', {'names': config_id}) in daemon.requests
    assert not os.path.exists(spooled)


def test_source_refuses_an_export_of_another_image(tmp_path: t.Any) -> None:
    config, layers, manifest = _image()
    daemon = FakeDaemon()
    ref = DockerDaemonTransport().parse_reference('example.com/app:v1')
    with DockerDaemonDestination(ref, OPTIONS, client=client_on(daemon)) as dest:
        _write(dest, config, layers, manifest)
    other = 'sha256:' + 'e' * 64
    daemon.images['example.com/app:v1'] = {'Id': other, 'Size': 10}
    daemon.exports[other] = daemon.loads[0]
    daemon_source._MANIFESTS.clear()  # pylint: disable=protected-access
    with DockerDaemonSource(ref, OPTIONS, client=client_on(daemon)) as src, pytest.raises(ManifestError) as info:
        src.get_manifest()
    assert info.value.message == 'docker-daemon:example.com/app:v1: the daemon exported the image %s, not %s' % (Digest.from_bytes(config), other)


def test_destination_fails_when_the_name_does_not_move(tmp_path: t.Any) -> None:
    config, layers, manifest = _image()
    daemon = FakeDaemon()
    daemon.load_answer = (200, b'{"stream":"Loaded image: something-else:1\\n"}\n')
    ref = DockerDaemonTransport().parse_reference('example.com/app:v1')
    with DockerDaemonDestination(ref, OPTIONS, client=client_on(daemon)) as dest, pytest.raises(ServerError) as info:
        _write(dest, config, layers, manifest)
    assert info.value.message == ('docker-daemon:example.com/app:v1: the Docker daemon reported the image loaded, but the name points at '
                                  'no image, not %s' % Digest.from_bytes(config))


def test_nothing_is_sent_before_commit_and_staging_is_removed() -> None:
    config, layers, manifest = _image()
    daemon = FakeDaemon()
    ref = DockerDaemonTransport().parse_reference('example.com/app:v1')
    dest = DockerDaemonDestination(ref, OPTIONS, client=client_on(daemon))
    try:
        for blob in [config] + layers:
            dest.put_blob(iter([blob]), BlobInfo(Digest.from_bytes(blob), len(blob)))
        staging = dest.staging().path
        assert os.path.isdir(staging)
    finally:
        dest.close()
    assert not os.path.exists(staging)
    assert not daemon.loads and not daemon.requests
