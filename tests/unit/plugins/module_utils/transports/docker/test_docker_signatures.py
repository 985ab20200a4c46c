# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DockerImageSource.get_signatures: simple signatures from the lookaside that registries.d names (file:// and http://)."""

from __future__ import annotations

import http.server
import threading
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature.lookaside import write_signatures
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import DockerImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    USER,
    Credentials,
    FakeRegistry,
    make_client,
)

httpx = pytest.importorskip('httpx')

OCI = 'application/vnd.oci.image.manifest.v1+json'
RAW = b'{"schemaVersion": 2, "mediaType": "%s", "layers": []}' % OCI.encode()
OTHER = b'{"schemaVersion": 2, "mediaType": "%s", "layers": [], "annotations": {"a": "b"}}' % OCI.encode()
REF = parse_normalized_named('registry.test/team/app:latest')


def open_source(fake: t.Any, registries_d: str, name: str = 'registry.test/team/app:latest', creds: t.Any = None) -> DockerImageSource:
    reference = DockerTransport().parse_reference('//' + name)
    client = make_client(fake, creds=creds)
    client.options.registries_d = registries_d
    return reference.new_source(client.options, client=client)


def registries_d(tmp_path: t.Any, url: str) -> str:
    directory = tmp_path / 'registries.d'
    directory.mkdir()
    (directory / 'test.yaml').write_text('docker:\n  registry.test/team:\n    lookaside: %s\n' % url)
    return str(directory)


def test_signatures_of_the_manifest_read_by_tag(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest('team/app', RAW, OCI, tag='latest')
    store = tmp_path / 'sigstore'
    base = LookasideBase('file://%s' % store, 'test')
    write_signatures(base, REF, Digest.from_bytes(RAW), [b'\x89first', b'\x89second'])
    write_signatures(base, REF, Digest.from_bytes(OTHER), [b'\x89other'])
    source = open_source(fake, registries_d(tmp_path, 'file://%s' % store))
    try:
        # Without a manifest read first, the source reads it: the signatures are those of the digest the tag names now.
        assert source.get_signatures() == [b'\x89first', b'\x89second']
        assert source.get_signatures(Digest.from_bytes(OTHER)) == [b'\x89other']
        assert source.get_signatures(Digest.from_bytes(b'unsigned')) == []
        # Read once per digest.
        (store / ('team/app@sha256=%s' % Digest.from_bytes(RAW).hex) / 'signature-1').unlink()
        assert source.get_signatures() == [b'\x89first', b'\x89second']
    finally:
        source.close()
        source.client.close()


def test_no_lookaside_configured_reads_the_default_directory(fake: FakeRegistry, tmp_path: t.Any, monkeypatch: t.Any) -> None:
    fake.add_manifest('team/app', RAW, OCI, tag='latest')
    empty = tmp_path / 'empty.d'
    empty.mkdir()
    monkeypatch.setattr('ansible_collections.ocikit.images.plugins.module_utils.config.registries_d.default_lookaside_url',
                        lambda euid=None, home=None: 'file://%s' % (tmp_path / 'default'))
    write_signatures(LookasideBase('file://%s' % (tmp_path / 'default'), 'test'), REF, Digest.from_bytes(RAW), [b'\x89default'])
    source = open_source(fake, str(empty))
    try:
        assert source.get_signatures() == [b'\x89default']
    finally:
        source.close()
        source.client.close()


def test_malformed_registries_d_fails(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest('team/app', RAW, OCI, tag='latest')
    source = open_source(fake, registries_d(tmp_path, 'ftp://example.com/sigs'))
    try:
        with pytest.raises(PolicyError) as excinfo:
            source.get_signatures()
        assert 'ftp' in str(excinfo.value)
    finally:
        source.close()
        source.client.close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:  # noqa: N802  # pylint: disable=invalid-name  # the http.server API
        self.seen.append((self.path, dict(self.headers)))
        super().do_GET()

    def log_message(self, *args: t.Any) -> None:
        pass


def test_http_lookaside_without_registry_credentials(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest('team/app', RAW, OCI, tag='latest')
    root = tmp_path / 'www'
    write_signatures(LookasideBase('file://%s' % root, 'test'), REF, Digest.from_bytes(RAW), [b'\x89over http'])
    _Handler.seen = []
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), lambda *a: _Handler(*a, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = 'http://127.0.0.1:%d' % server.server_address[1]
        source = open_source(fake, registries_d(tmp_path, url), creds=Credentials(USER, PASSWORD))
        try:
            assert source.get_signatures() == [b'\x89over http']
        finally:
            source.close()
            source.client.close()
    finally:
        server.shutdown()
        server.server_close()
    hexdigest = Digest.from_bytes(RAW).hex
    assert [path for path, dummy in _Handler.seen] == ['/team/app@sha256=%s/signature-1' % hexdigest, '/team/app@sha256=%s/signature-2' % hexdigest]
    assert all('Authorization' not in headers for dummy, headers in _Handler.seen)
