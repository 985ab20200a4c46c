# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TLS: certs.d directories, verification, client certificates and the http fallback, over real sockets.

The servers are tiny in-process HTTP(S) servers on 127.0.0.1 with trustme certificates.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, TLSError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import tls
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient

trustme = pytest.importorskip('trustme')
pytest.importorskip('httpx')


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args: t.Any) -> None:  # pylint: disable=arguments-differ
        pass

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        server = t.cast(t.Any, self.server)
        server.seen.append((self.path, self.headers.get('Authorization')))
        status, headers, body = server.answer(self)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _default_answer(handler: _Handler) -> tuple[int, dict[str, str], bytes]:
    if handler.path == '/v2/':
        return 200, {}, b'{}'
    return 200, {'Content-Type': 'application/json'}, json.dumps({'name': 'app', 'tags': ['1']}).encode()


class Server:
    """An HTTP(S) server in a thread; ``answer(handler)`` gives (status, headers, body) to the default ``handler``."""

    def __init__(self, context: ssl.SSLContext | None = None,
                 answer: t.Callable[[_Handler], tuple[int, dict[str, str], bytes]] = _default_answer,
                 handler: type[http.server.BaseHTTPRequestHandler] = _Handler) -> None:
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.httpd.daemon_threads = True
        httpd = t.cast(t.Any, self.httpd)
        httpd.seen = []
        httpd.answer = answer
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return '127.0.0.1:%d' % self.httpd.server_address[1]

    @property
    def seen(self) -> list[tuple[str, str | None]]:
        return t.cast(t.Any, self.httpd).seen

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(name='ca')
def ca_fixture() -> t.Any:
    return trustme.CA()


def server_context(ca: t.Any, require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert('127.0.0.1').configure_cert(context)
    if require_client_cert:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture(name='tls_server')
def tls_server_fixture(ca: t.Any) -> t.Iterator[Server]:
    server = Server(server_context(ca))
    yield server
    server.close()


def list_tags(registry: str, **options: t.Any) -> t.Any:
    options.setdefault('retry_times', 0)
    options.setdefault('timeout', 10)
    with RegistryClient(registry, ConnectionOptions(**options), credentials=lambda *args: None) as client:
        response = client.request('GET', '/v2/app/tags/list', (Scope('app', 'pull'),), 'listing tags')
        return client.base_url, json.loads(response.body)


def write_ca(ca: t.Any, directory: t.Any, name: str = 'ca.crt') -> None:
    directory.mkdir(exist_ok=True)
    ca.cert_pem.write_to_path(str(directory / name))


# -- verification ----------------------------------------------------------------------------------


def test_untrusted_certificate_is_a_tls_error(tls_server: Server) -> None:
    with pytest.raises(TLSError) as info:
        list_tags(tls_server.address)
    message = info.value.message
    assert message.startswith('TLS certificate verification failed for %s: ' % tls_server.address)
    assert message.endswith(' (set tls_verify: false or give cert_dir)')
    assert 'unable to get local issuer certificate' in message or 'self-signed' in message or 'self signed' in message


def test_cert_dir_ca_is_trusted(tls_server: Server, ca: t.Any, tmp_path: t.Any) -> None:
    write_ca(ca, tmp_path / 'certs')
    base_url, body = list_tags(tls_server.address, cert_dir=str(tmp_path / 'certs'))
    assert str(base_url) == 'https://%s/' % tls_server.address
    assert body['tags'] == ['1']


def test_certs_d_directory_is_found_by_host_and_port(tls_server: Server, ca: t.Any, tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, 'SYSTEM_CERT_ROOTS', (str(tmp_path / 'etc-containers'), str(tmp_path / 'etc-docker')))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    (tmp_path / 'etc-docker').mkdir()
    write_ca(ca, tmp_path / 'etc-docker' / tls_server.address)
    assert tls.cert_dirs(tls_server.address, ConnectionOptions()) == [str(tmp_path / 'etc-docker' / tls_server.address)]
    assert list_tags(tls_server.address)[1]['tags'] == ['1']


def test_tls_verify_false_skips_verification_but_keeps_https(tls_server: Server) -> None:
    base_url, dummy = list_tags(tls_server.address, tls_verify=False)
    assert base_url.scheme == 'https'


def test_client_certificate_from_cert_dir(ca: t.Any, tmp_path: t.Any) -> None:
    server = Server(server_context(ca, require_client_cert=True))
    try:
        certs = tmp_path / 'certs'
        write_ca(ca, certs)
        with pytest.raises(TLSError):  # the server wants a client certificate
            list_tags(server.address, cert_dir=str(certs))
        client_cert = ca.issue_cert('client@example.test')
        client_cert.cert_chain_pems[0].write_to_path(str(certs / 'client.cert'))
        client_cert.private_key_pem.write_to_path(str(certs / 'client.key'))
        assert list_tags(server.address, cert_dir=str(certs))[1]['tags'] == ['1']
    finally:
        server.close()


def test_token_server_gets_the_same_tls_settings(ca: t.Any, tmp_path: t.Any) -> None:
    """CVE-2019-10214: the token is fetched with verification, and only the registry's CAs are added."""
    other_ca = trustme.CA()
    token_server = Server(server_context(other_ca), answer=lambda handler: (200, {}, b'{"token": "t"}'))

    def challenge(handler: _Handler) -> tuple[int, dict[str, str], bytes]:
        if handler.headers.get('Authorization') == 'Bearer t':
            return _default_answer(handler)
        return 401, {'WWW-Authenticate': 'Bearer realm="https://%s/token",service="s"' % token_server.address}, b''

    registry = Server(server_context(ca), answer=challenge)
    try:
        write_ca(ca, tmp_path / 'certs')
        with pytest.raises(TLSError, match='^TLS certificate verification failed for %s: ' % token_server.address):
            list_tags(registry.address, cert_dir=str(tmp_path / 'certs'))
        assert not token_server.seen
        write_ca(other_ca, tmp_path / 'certs', 'token-ca.crt')
        assert list_tags(registry.address, cert_dir=str(tmp_path / 'certs'))[1]['tags'] == ['1']
        assert token_server.seen[0][0].startswith('/token?service=s&scope=repository%3Aapp%3Apull')
    finally:
        registry.close()
        token_server.close()


# -- plain HTTP ------------------------------------------------------------------------------------


def test_plain_http_registry_needs_tls_verify_false() -> None:
    server = Server()
    try:
        with pytest.raises(TLSError, match='does the registry speak plain HTTP'):
            list_tags(server.address)
        assert server.seen == []  # no request ever went out in clear text
        base_url, body = list_tags(server.address, tls_verify=False)
        assert base_url.scheme == 'http' and body['tags'] == ['1']
    finally:
        server.close()


# -- directory contents ----------------------------------------------------------------------------


@pytest.mark.parametrize('files, message', [
    (['client.cert'], 'client certificate .*client.cert has no key client.key'),
    (['client.key'], 'client key .*client.key has no certificate client.cert'),
])
def test_unpaired_client_files(tmp_path: t.Any, files: list[str], message: str) -> None:
    for name in files:
        (tmp_path / name).write_text('x')
    with pytest.raises(ConfigError, match=message):
        tls.ssl_context('registry.test', ConnectionOptions(cert_dir=str(tmp_path)))


def test_bad_ca_file(tmp_path: t.Any) -> None:
    (tmp_path / 'ca.crt').write_text('not a certificate')
    with pytest.raises(ConfigError, match='cannot load CA certificate .*ca.crt'):
        tls.ssl_context('registry.test', ConnectionOptions(cert_dir=str(tmp_path)))
    # Without verification the CAs are not needed, so they are not read.
    tls.ssl_context('registry.test', ConnectionOptions(cert_dir=str(tmp_path), tls_verify=False))


def test_missing_cert_dir(tmp_path: t.Any) -> None:
    with pytest.raises(ConfigError, match='is not a directory'):
        tls.ssl_context('registry.test', ConnectionOptions(cert_dir=str(tmp_path / 'nope')))


def test_context_settings(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, 'SYSTEM_CERT_ROOTS', ())
    monkeypatch.setenv('HOME', str(tmp_path))
    strict = tls.ssl_context('registry.test', ConnectionOptions())
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    assert strict.minimum_version == ssl.TLSVersion.TLSv1_2
    paths = ssl.get_default_verify_paths()
    if paths.cafile and paths.capath and tls.bundle_in_directory(paths.cafile, paths.capath):
        assert strict.cert_store_stats()['x509_ca'] == 0  # the system CAs are looked up in the hashed directory
    else:
        assert strict.cert_store_stats()['x509_ca'] > 0
    loose = tls.ssl_context('registry.test', ConnectionOptions(tls_verify=False))
    assert loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname


def test_user_certs_d_comes_first(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setattr(tls, 'SYSTEM_CERT_ROOTS', (str(tmp_path / 'etc'),))
    user = tmp_path / '.config' / 'containers' / 'certs.d' / 'reg.test:5000'
    system = tmp_path / 'etc' / 'reg.test:5000'
    os.makedirs(str(user))
    os.makedirs(str(system))
    assert tls.cert_dirs('reg.test:5000', ConnectionOptions()) == [str(user), str(system)]
    assert tls.cert_dirs('other.test', ConnectionOptions()) == []
    assert tls.cert_dirs('../etc', ConnectionOptions()) == []


# -- system trust: the hashed directory alone where it holds the whole bundle ------------------------

def subject_hash(ca: t.Any, tmp_path: t.Any) -> str:
    """OpenSSL's subject hash of ``ca``'s certificate (the ``openssl`` command; skipped without it)."""
    if shutil.which('openssl') is None:
        pytest.skip('the openssl command is needed to name a hashed CA directory')
    pem = tmp_path / ('hash-%d.pem' % id(ca))
    ca.cert_pem.write_to_path(str(pem))
    return subprocess.run(['openssl', 'x509', '-hash', '-noout', '-in', str(pem)], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(name='system_trust')
def system_trust_fixture(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> t.Any:
    """A private "system" bundle and hashed directory (SSL_CERT_FILE, SSL_CERT_DIR), no certs.d, no cached context."""
    monkeypatch.setattr(tls, 'SYSTEM_CERT_ROOTS', ())
    monkeypatch.setattr(tls, '_CONTEXTS', {})
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    bundle = tmp_path / 'bundle.pem'
    directory = tmp_path / 'certs'
    directory.mkdir()
    bundle.write_bytes(b'')
    monkeypatch.setenv('SSL_CERT_FILE', str(bundle))
    monkeypatch.setenv('SSL_CERT_DIR', str(directory))
    return bundle, directory


def hash_link(ca: t.Any, directory: t.Any, tmp_path: t.Any, index: int = 0) -> None:
    ca.cert_pem.write_to_path(str(directory / ('%s.%d' % (subject_hash(ca, tmp_path), index))))


def test_system_trust_from_the_hashed_directory_alone(tls_server: Server, ca: t.Any, system_trust: t.Any, tmp_path: t.Any) -> None:
    bundle, directory = system_trust
    other = trustme.CA()
    bundle.write_bytes(ca.cert_pem.bytes() + b'# a comment between certificates\n' + other.cert_pem.bytes())
    hash_link(ca, directory, tmp_path)
    hash_link(other, directory, tmp_path)
    assert tls.bundle_in_directory(str(bundle), str(directory))
    context = tls.ssl_context(tls_server.address, ConnectionOptions())
    assert context.cert_store_stats()['x509_ca'] == 0  # nothing parsed up front
    assert list_tags(tls_server.address)[1]['tags'] == ['1']  # the CA found in the directory at the handshake


def test_system_trust_loads_the_bundle_when_it_holds_more(tls_server: Server, ca: t.Any, system_trust: t.Any, tmp_path: t.Any) -> None:
    bundle, directory = system_trust
    other = trustme.CA()
    bundle.write_bytes(other.cert_pem.bytes() + ca.cert_pem.bytes())  # ca: in the bundle only (appended by hand)
    hash_link(other, directory, tmp_path)
    assert not tls.bundle_in_directory(str(bundle), str(directory))
    context = tls.ssl_context(tls_server.address, ConnectionOptions())
    assert context.cert_store_stats()['x509_ca'] == 2
    assert list_tags(tls_server.address)[1]['tags'] == ['1']


def test_system_trust_of_another_ca_refuses_the_server(tls_server: Server, system_trust: t.Any, tmp_path: t.Any) -> None:
    bundle, directory = system_trust
    other = trustme.CA()
    bundle.write_bytes(other.cert_pem.bytes())
    hash_link(other, directory, tmp_path)
    assert tls.bundle_in_directory(str(bundle), str(directory))
    with pytest.raises(TLSError, match='^TLS certificate verification failed for %s: ' % tls_server.address):
        list_tags(tls_server.address)


def test_bundle_in_directory_follows_openssl_lookup(ca: t.Any, system_trust: t.Any, tmp_path: t.Any) -> None:
    bundle, directory = system_trust
    bundle.write_bytes(ca.cert_pem.bytes())
    name = subject_hash(ca, tmp_path)
    ca.cert_pem.write_to_path(str(directory / (name + '.1')))
    assert not tls.bundle_in_directory(str(bundle), str(directory))  # OpenSSL stops at the missing .0
    (directory / (name + '.0')).symlink_to(directory / 'gone.pem')
    assert not tls.bundle_in_directory(str(bundle), str(directory))  # ... or at a dangling .0
    (directory / (name + '.0')).unlink()
    ca.cert_pem.write_to_path(str(directory / (name + '.0')))
    assert tls.bundle_in_directory(str(bundle), str(directory))
    ca.cert_pem.write_to_path(str(directory / 'by-name.pem'))
    (directory / (name + '.0')).unlink()
    (directory / (name + '.1')).unlink()
    assert not tls.bundle_in_directory(str(bundle), str(directory))  # not under a hashed name


@pytest.mark.parametrize('bundle_text', [
    b'',  # no certificate: the caller falls back as before (certifi)
    b'-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n',
    b'-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n',
    b'-----BEGIN CERTIFICATE-----\nAAAA\n',  # unterminated
])
def test_bundle_in_directory_refuses_what_it_cannot_compare(ca: t.Any, system_trust: t.Any, tmp_path: t.Any, bundle_text: bytes) -> None:
    bundle, directory = system_trust
    hash_link(ca, directory, tmp_path)
    bundle.write_bytes(ca.cert_pem.bytes() + bundle_text if bundle_text else b'')
    assert not tls.bundle_in_directory(str(bundle), str(directory))
    assert not tls.bundle_in_directory(str(tmp_path / 'missing.pem'), str(directory))
    assert not tls.bundle_in_directory(str(bundle), str(tmp_path / 'missing'))


def test_pem_text_compares_whitespace_free(ca: t.Any) -> None:
    pem = ca.cert_pem.bytes()
    rewrapped = pem.replace(b'\n', b'\r\n')
    assert tls._pem_certificates(pem) == tls._pem_certificates(rewrapped) != set()
    assert len(tls._pem_certificates(pem + trustme.CA().cert_pem.bytes()) or ()) == 2
