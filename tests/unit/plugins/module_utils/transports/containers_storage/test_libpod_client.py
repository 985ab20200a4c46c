# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The libpod client and the containers-storage source and destination against a fake Podman service (libpod's answers, as Podman 4.3 gives them)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, ConnectionFailedError, ImageNotFoundError, ServerError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage import client as libpod
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.client import LibpodClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.destination import ContainersStorageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.source import ContainersStorageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import ContainersStorageTransport, StoreSpec
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon import source as daemon_source
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker_daemon.test_docker_daemon_client import _image, _write

httpx = pytest.importorskip('httpx')

OPTIONS = ConnectionOptions(timeout=5)
HOST = 'unix:///fake/podman.sock'
STORE = {'graphDriverName': 'vfs', 'graphRoot': '/srv/store', 'runRoot': '/run/store'}


class FakePodman:
    """libpod's answers, as far as the client uses them; records every request."""

    def __init__(self, libpod_version: str | None = '4.3.1') -> None:
        self.libpod_version = libpod_version
        self.images: dict[str, dict[str, t.Any]] = {}
        self.exports: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.loads: list[bytes] = []
        self.load_answer: tuple[int, bytes] | None = None

    @staticmethod
    def error(status: int, cause: str, message: str) -> 'httpx.Response':
        return httpx.Response(status, json={'cause': cause, 'message': message, 'response': status})

    def __call__(self, request: 'httpx.Request') -> 'httpx.Response':
        path = request.url.path
        self.requests.append((request.method, path, dict(request.url.params)))
        headers = {'API-Version': '1.41'}
        if self.libpod_version:
            headers['Libpod-API-Version'] = self.libpod_version
        if path == '/_ping':
            return httpx.Response(200, text='OK', headers=headers)
        prefix = '/v%s/libpod/' % self.libpod_version
        if not path.startswith(prefix):
            return httpx.Response(404, text='404 page not found')
        path = path[len(prefix):]
        if path == 'info':
            return httpx.Response(200, json={'host': {}, 'store': STORE})
        if request.method == 'GET' and path.startswith('images/') and path.endswith('/json'):
            name = path[len('images/'):-len('/json')]
            if name not in self.images:
                return self.error(404, 'image not known', 'failed to find image %s: %s: image not known' % (name, name))
            return httpx.Response(200, json=self.images[name])
        if request.method == 'GET' and path.startswith('images/') and path.endswith('/get'):
            name = path[len('images/'):-len('/get')]
            assert request.url.params['format'] == 'docker-archive'
            if name not in self.exports:
                return self.error(404, 'image not known', 'failed to find image %s: image not known' % name)
            return httpx.Response(200, content=self.exports[name])
        if request.method == 'POST' and path == 'images/load':
            assert request.headers['content-type'] == 'application/x-tar'
            self.loads.append(request.read())
            if self.load_answer is not None:
                return httpx.Response(self.load_answer[0], content=self.load_answer[1])
            manifest = json.loads(tarfile.open(fileobj=io.BytesIO(self.loads[-1])).extractfile('manifest.json').read())
            for tag in manifest[0]['RepoTags']:
                # libpod gives the ID without "sha256:".
                self.images[tag] = {'Id': manifest[0]['Config'][:-len('.json')], 'Size': 1}
            return httpx.Response(200, json={'Names': manifest[0]['RepoTags']})
        return self.error(500, 'unexpected', 'unexpected %s %s' % (request.method, path))


def client_on(service: FakePodman, store: StoreSpec | None = None) -> LibpodClient:
    return LibpodClient(HOST, OPTIONS, store, transport=httpx.MockTransport(service))


def test_default_socket_for_root_and_rootless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    assert libpod.default_socket() == '/run/podman/podman.sock'
    assert LibpodClient.default_host() == 'unix:///run/podman/podman.sock'
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    monkeypatch.setattr(os, 'getuid', lambda: 1000)
    monkeypatch.setenv('XDG_RUNTIME_DIR', '/run/user/1000')
    assert libpod.default_socket() == '/run/user/1000/podman/podman.sock'
    monkeypatch.delenv('XDG_RUNTIME_DIR')
    assert libpod.default_socket() == '/run/user/1000/podman/podman.sock'
    monkeypatch.setenv('XDG_RUNTIME_DIR', '/tmp/rt')
    assert LibpodClient(None, OPTIONS).host.address == '/tmp/rt/podman/podman.sock'


def test_libpod_paths_carry_the_services_libpod_version() -> None:
    service = FakePodman()
    with client_on(service) as client:
        assert client.image_inspect('example.com/a:1') is None
        assert client.image_inspect(HEX) is None
    assert [request[1] for request in service.requests] == ['/_ping', '/v4.3.1/libpod/images/example.com/a:1/json',
                                                            '/v4.3.1/libpod/images/%s/json' % HEX]


def test_a_docker_daemon_is_not_a_podman_service() -> None:
    with client_on(FakePodman(libpod_version=None)) as client, pytest.raises(ConfigError) as info:
        client.image_inspect('a:1')
    assert info.value.message == ('the daemon at %s is not a Podman service (its ping gives no Libpod-API-Version); a Docker daemon\'s '
                                  'images are docker-daemon: references' % HOST)


HEX = '0123456789abcdef' * 4


@pytest.mark.parametrize('store', [StoreSpec('vfs', '/srv/store', '/run/store'), StoreSpec('', '/srv/store/'), StoreSpec('vfs', '/srv/./store'),
                                   StoreSpec('', '', '/run/store')])
def test_a_matching_store_is_checked_once_before_anything_else(store: StoreSpec) -> None:
    service = FakePodman()
    with client_on(service, store) as client:
        assert client.image_inspect('a:1') is None
        assert client.image_inspect('b:1') is None
    assert [request[1] for request in service.requests] == ['/_ping', '/v4.3.1/libpod/info', '/v4.3.1/libpod/images/a:1/json',
                                                            '/v4.3.1/libpod/images/b:1/json']


@pytest.mark.parametrize('store', [StoreSpec('overlay', '/srv/store'), StoreSpec('vfs', '/var/lib/containers/storage'),
                                   StoreSpec('vfs', '/srv/store', '/run/other')])
def test_another_store_is_refused_naming_both(store: StoreSpec) -> None:
    service = FakePodman()
    with client_on(service, store) as client, pytest.raises(ConfigError) as info:
        client.load(iter([b'never sent']), 'containers-storage:x')
    assert info.value.message == ('the store "%s" is not the one of the Podman service at %s, which is [vfs@/srv/store+/run/store] (a service has '
                                  'one store: name the service of that store with daemon_host, or leave the store out)' % (store, HOST))
    assert service.loads == []


def test_libpod_error_forms() -> None:
    service = FakePodman()
    with client_on(service) as client:
        with pytest.raises(ImageNotFoundError) as missing:
            with client.export('sha256:' + HEX):
                pass
        # The ID is asked for without "sha256:", as libpod names images; the message is Podman's, said once.
        assert missing.value.message == 'cannot export "%s" from the Podman service: failed to find image %s: image not known' % (HEX, HEX)
        service.load_answer = (500, b'{"cause":"payload does not match any of the supported image formats","message":"unable to load image: '
                                    b'payload does not match any of the supported image formats","response":500}')
        with pytest.raises(ServerError) as failed:
            client.load(iter([b'x']), 'containers-storage:x')
        assert failed.value.message == ('the Podman service did not load containers-storage:x: the Podman service at %s failed (HTTP 500): '
                                        'unable to load image: payload does not match any of the supported image formats' % HOST)
        service.load_answer = (200, b'{"stream":"Loaded image: x"}')
        with pytest.raises(ServerError) as odd:
            client.load(iter([b'x']), 'containers-storage:x')
        assert odd.value.message == ('the Podman service at %s answered the load of containers-storage:x with "{\\"stream\\":\\"Loaded image: x\\"}", '
                                     'not {"Names": [...]}' % HOST)


def test_missing_socket_names_it_and_what_to_start(tmp_path: t.Any) -> None:
    path = tmp_path / 'podman.sock'
    with LibpodClient('unix://%s' % path, OPTIONS) as client, pytest.raises(ConnectionFailedError) as info:
        client.image_inspect('busybox:1')
    assert info.value.message == (
        'cannot reach the Podman service at unix://%s: the socket %s does not exist; start Podman\'s API service (systemctl start podman.socket; '
        'systemctl --user start podman.socket for a rootless user; or podman system service --time=0 unix://%s), or name another service '
        'with daemon_host' % (path, path, path))


def test_destination_loads_and_source_reads_back(tmp_path: t.Any) -> None:
    config, layers, manifest = _image()
    service = FakePodman()
    ref = ContainersStorageTransport().parse_reference('[vfs@/srv/store]example.com/app')
    with ContainersStorageDestination(ref, OPTIONS, client=client_on(service, ref.store)) as dest:
        assert dest.get_manifest_digest() is None
        _write(dest, config, layers, manifest)
    assert [request[:2] for request in service.requests if request[0] == 'POST'] == [('POST', '/v4.3.1/libpod/images/load')]
    tar = tarfile.open(fileobj=io.BytesIO(service.loads[0]))
    assert json.loads(tar.extractfile('manifest.json').read())[0]['RepoTags'] == ['example.com/app:latest']
    config_id = Digest.from_bytes(config)
    service.exports[config_id.hex] = service.loads[0]
    daemon_source._MANIFESTS.clear()  # pylint: disable=protected-access
    with ContainersStorageSource(ref, OPTIONS, client=client_on(service, ref.store)) as src:
        assert src.image_id == config_id
        assert src.get_manifest() == (manifest, mt.DOCKER_V2S2)
        assert src.get_blob_bytes(BlobInfo(config_id, len(config)), 10000) == config
    assert ('GET', '/v4.3.1/libpod/images/%s/get' % config_id.hex, {'format': 'docker-archive'}) in service.requests
    # The name now holds what the copy would write: the destination says so without loading again.
    daemon_source._MANIFESTS.clear()  # pylint: disable=protected-access
    with ContainersStorageDestination(ref, OPTIONS, client=client_on(service, ref.store)) as dest:
        # Its look at the current image opens a client of its own: on the same fake service.
        dest.new_client = lambda: client_on(service, ref.store)  # type: ignore[method-assign]
        assert dest.get_manifest_digest() == Digest.from_bytes(manifest)
    assert len(service.loads) == 1


def test_missing_image_names_the_service() -> None:
    ref = ContainersStorageTransport().parse_reference('example.com/app:1')
    with pytest.raises(ImageNotFoundError) as info:
        ContainersStorageSource(ref, OPTIONS, client=client_on(FakePodman()))
    assert info.value.message == 'containers-storage:example.com/app:1: the Podman service at %s has no such image' % HOST
