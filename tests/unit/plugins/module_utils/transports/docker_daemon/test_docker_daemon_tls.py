# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tcp:// daemons: HTTPS with cert_dir's ca.pem, cert.pem and key.pem, as Docker's --tlsverify clients use them."""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, ConnectionFailedError, TLSError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.client import EngineClient
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.test_docker_tls import Server, server_context

trustme = pytest.importorskip('trustme')
pytest.importorskip('httpx')

RECORD = {'Id': 'sha256:' + 'c' * 64, 'Size': 10}


def daemon_answer(handler: t.Any) -> tuple[int, dict[str, str], bytes]:
    if handler.path == '/_ping':
        return 200, {'API-Version': '1.41'}, b'OK'
    if handler.path == '/v1.41/images/example.com/app:1/json':
        return 200, {'Content-Type': 'application/json'}, json.dumps(RECORD).encode()
    return 404, {}, b'{"message":"No such image"}'


@pytest.fixture(name='ca')
def ca_fixture() -> t.Any:
    return trustme.CA()


def serve(ca: t.Any, require_client_cert: bool = False) -> Server:
    return Server(server_context(ca, require_client_cert), answer=daemon_answer)


def cert_dir(ca: t.Any, directory: t.Any, client: bool = False, ca_file: bool = True) -> str:
    directory.mkdir()
    if ca_file:
        ca.cert_pem.write_to_path(str(directory / 'ca.pem'))
    if client:
        issued = ca.issue_cert('client@example.test')
        issued.cert_chain_pems[0].write_to_path(str(directory / 'cert.pem'))
        issued.private_key_pem.write_to_path(str(directory / 'key.pem'))
    return str(directory)


def inspect(server: Server, **options: t.Any) -> t.Any:
    with EngineClient('tcp://%s' % server.address, ConnectionOptions(timeout=10, **options)) as client:
        return client.image_inspect('example.com/app:1')


def test_ca_pem_is_trusted(ca: t.Any, tmp_path: t.Any) -> None:
    server = serve(ca)
    try:
        assert inspect(server, cert_dir=cert_dir(ca, tmp_path / 'certs')) == RECORD
    finally:
        server.close()


def test_an_untrusted_daemon_is_refused_unless_tls_verify_is_false(ca: t.Any, tmp_path: t.Any) -> None:
    server = serve(ca)
    try:
        with pytest.raises(TLSError) as info:
            inspect(server)
        assert info.value.message.startswith('TLS certificate verification failed for %s: ' % server.address)
        assert inspect(server, tls_verify=False) == RECORD
    finally:
        server.close()


def test_client_certificate_from_cert_and_key_pem(ca: t.Any, tmp_path: t.Any) -> None:
    server = serve(ca, require_client_cert=True)
    try:
        assert inspect(server, cert_dir=cert_dir(ca, tmp_path / 'with-client', client=True)) == RECORD
        # Refused in the handshake (TLS 1.3's CERTIFICATE_REQUIRED alert), or as the connection closes right after it.
        with pytest.raises(ConnectionFailedError, match=r'^(TLS handshake with|TLS connection to|connection to) %s' % server.address):
            inspect(server, cert_dir=cert_dir(ca, tmp_path / 'without-client'))
    finally:
        server.close()


def test_a_certificate_without_its_key_is_named(ca: t.Any, tmp_path: t.Any) -> None:
    directory = cert_dir(ca, tmp_path / 'half', client=True)
    (tmp_path / 'half' / 'key.pem').unlink()
    with pytest.raises(ConfigError) as info:
        EngineClient('tcp://127.0.0.1:1', ConnectionOptions(cert_dir=directory))
    assert info.value.message == ('cert_dir "%s": "%s/key.pem" is missing (a client certificate needs cert.pem and key.pem)'
                                  % (directory, directory))


def test_cert_dir_must_be_a_directory(tmp_path: t.Any) -> None:
    with pytest.raises(ConfigError, match='^cert_dir ".*/nope" is not a directory$'):
        EngineClient('tcp://127.0.0.1:1', ConnectionOptions(cert_dir=str(tmp_path / 'nope')))
