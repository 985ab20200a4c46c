# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lookaside signature storage: locations, file:// round trips, HTTP reads (MockTransport), refusals."""

from __future__ import annotations

import os

import httpx
import pytest

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase, load_registries_d
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AccessDeniedError,
    ConnectionFailedError,
    InvalidDigestError,
    LayoutError,
    PolicyError,
    ServerError,
    SignatureError,
)
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature import lookaside
from ansible_collections.ocikit.images.plugins.module_utils.signature.lookaside import (
    delete_signatures,
    read_signatures,
    signature_file,
    signature_url,
    sigstore_attachment_tag,
    write_signatures,
)

HEX = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
DIGEST = 'sha256:' + HEX
MAPPED = 'sha256=' + HEX
REF = parse_normalized_named('example.com/ns1/ns2/repo:v1')


def base(url: str) -> LookasideBase:
    return LookasideBase(url, 'lookaside of docker scope "example.com" in "/etc/containers/registries.d/a.yaml"')


def file_base(tmp_path) -> LookasideBase:
    return base('file://' + str(tmp_path / 'sigstore'))


# -- locations ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('url, number, expected', [  # containers/image TestLookasideStorageURL (its base already held the repo path)
    ('file:///tmp', 1, 'file:///tmp/ns1/ns2/repo@' + MAPPED + '/signature-1'),
    ('file:///tmp', 2, 'file:///tmp/ns1/ns2/repo@' + MAPPED + '/signature-2'),
    ('https://localhost:5555/root', 1, 'https://localhost:5555/root/ns1/ns2/repo@' + MAPPED + '/signature-1'),
    ('https://localhost:5555/root', 2, 'https://localhost:5555/root/ns1/ns2/repo@' + MAPPED + '/signature-2'),
    ('http://localhost:5555/root', 1, 'http://localhost:5555/root/ns1/ns2/repo@' + MAPPED + '/signature-1'),
    # Go appends "/" + path to the base path as it is: a trailing "/" gives "//", and a query stays.
    ('https://lookaside.centos.org/', 1, 'https://lookaside.centos.org//ns1/ns2/repo@' + MAPPED + '/signature-1'),
    ('https://s.example/a?x=1', 3, 'https://s.example/a/ns1/ns2/repo@' + MAPPED + '/signature-3?x=1'),
    ('https://s.example', 1, 'https://s.example/ns1/ns2/repo@' + MAPPED + '/signature-1'),
])
def test_signature_url(url, number, expected):
    assert signature_url(base(url), REF, DIGEST, number) == expected


def test_location_omits_the_registry_host_and_expands_docker_hub_names():
    assert signature_url(base('file:///s'), parse_normalized_named('busybox:latest'), Digest(DIGEST), 1) == \
        'file:///s/library/busybox@' + MAPPED + '/signature-1'
    assert signature_url(base('file:///s'), parse_normalized_named('localhost:5000/a/b@' + DIGEST), DIGEST, 7) == \
        'file:///s/a/b@' + MAPPED + '/signature-7'
    assert signature_file(base('file:///s%20t'), REF, DIGEST, 1) == '/s t/ns1/ns2/repo@' + MAPPED + '/signature-1'


def test_unconfigured_repositories_use_the_builtin_default(tmp_path, monkeypatch):  # containers/image TestSignatureStorageBaseURL
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('_CONTAINERS_ROOTLESS_UID', raising=False)
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    config = load_registries_d(str(tmp_path / 'empty'))
    reference = parse_normalized_named('this/is/not/in/the:configuration')
    store = config.lookaside_base(reference)
    assert signature_url(store, reference, DIGEST, 1) == \
        'file://%s/.local/share/containers/sigstore/this/is/not/in/the@%s/signature-1' % (tmp_path, MAPPED)
    write_signatures(store, reference, DIGEST, [b'sig'])
    assert (tmp_path / '.local/share/containers/sigstore/this/is/not/in' / ('the@' + MAPPED) / 'signature-1').read_bytes() == b'sig'


def test_an_invalid_digest_cannot_become_a_path():  # containers/image: "sha256:../hello" is refused
    with pytest.raises(InvalidDigestError):
        signature_url(base('file:///tmp'), REF, 'sha256:../hello', 1)


@pytest.mark.parametrize('digest, tag', [
    (DIGEST, 'sha256-' + HEX + '.sig'),
    (Digest('sha512:' + 'ab' * 64), 'sha512-' + 'ab' * 64 + '.sig'),
])
def test_sigstore_attachment_tag(digest, tag):
    assert sigstore_attachment_tag(digest) == tag


# -- file:// ----------------------------------------------------------------------------------------

def listing(directory):
    return sorted(os.listdir(directory))


def test_file_round_trip_overwrite_shrink_and_delete(tmp_path):
    store = file_base(tmp_path)
    directory = str(tmp_path / 'sigstore' / 'ns1' / 'ns2' / ('repo@' + MAPPED))
    assert read_signatures(store, REF, DIGEST) == []
    write_signatures(store, REF, DIGEST, [b'\xa3first', b'second', b'third'])
    assert listing(directory) == ['signature-1', 'signature-2', 'signature-3']
    assert read_signatures(store, REF, DIGEST) == [b'\xa3first', b'second', b'third']
    # Fewer signatures: the extra files go, so readers do not see the old third one.
    write_signatures(store, REF, DIGEST, [b'only'])
    assert listing(directory) == ['signature-1']
    assert read_signatures(store, REF, DIGEST) == [b'only']
    # Another digest of the same repository is untouched by all of this.
    other = 'sha256:' + 'f' * 64
    write_signatures(store, REF, other, [b'other'])
    assert delete_signatures(store, REF, DIGEST) == 1
    assert read_signatures(store, REF, DIGEST) == [] and listing(directory) == []
    assert read_signatures(store, REF, other) == [b'other']
    assert delete_signatures(store, REF, 'sha256:' + 'e' * 64) == 0   # never written: nothing to delete


def test_write_stops_deleting_at_the_first_gap(tmp_path):
    store = file_base(tmp_path)
    write_signatures(store, REF, DIGEST, [b'1', b'2', b'3'])
    directory = os.path.dirname(signature_file(store, REF, DIGEST, 1))
    os.rename(os.path.join(directory, 'signature-3'), os.path.join(directory, 'signature-5'))
    write_signatures(store, REF, DIGEST, [b'new'])
    # As containers/image: signature-2 goes, signature-3 is missing, so signature-5 (unreachable to readers) stays.
    assert listing(directory) == ['signature-1', 'signature-5']
    assert read_signatures(store, REF, DIGEST) == [b'new']


def test_write_leaves_no_temporary_file_and_files_are_world_readable(tmp_path):
    old = os.umask(0o022)
    try:
        store = file_base(tmp_path)
        write_signatures(store, REF, DIGEST, [b'a', b'b'])
    finally:
        os.umask(old)
    path = signature_file(store, REF, DIGEST, 1)
    assert listing(os.path.dirname(path)) == ['signature-1', 'signature-2']
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o755


def test_write_sweeps_what_a_killed_writer_left(tmp_path):
    store = file_base(tmp_path)
    write_signatures(store, REF, DIGEST, [b'a'])
    directory = os.path.dirname(signature_file(store, REF, DIGEST, 1))
    stale = os.path.join(directory, lookaside.TEMP_PREFIX + 'deadbeef')
    fresh = os.path.join(directory, lookaside.TEMP_PREFIX + 'cafe')
    for path in (stale, fresh):
        with open(path, 'wb') as handle:
            handle.write(b'half')
    os.utime(stale, (1, 1))
    write_signatures(store, REF, DIGEST, [b'b'])
    # The old one goes; a recent one may belong to a live writer (it would hold its flock) and stays.
    assert listing(directory) == [os.path.basename(fresh), 'signature-1']


def test_a_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    store = file_base(tmp_path)
    write_signatures(store, REF, DIGEST, [b'old'])

    def refuse(src, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'replace', refuse)
    with pytest.raises(LayoutError) as caught:
        write_signatures(store, REF, DIGEST, [b'new'])
    path = signature_file(store, REF, DIGEST, 1)
    assert caught.value.message == 'cannot write the signature "%s": No space left on device' % path
    assert listing(os.path.dirname(path)) == ['signature-1']
    monkeypatch.undo()
    assert read_signatures(store, REF, DIGEST) == [b'old']


def test_file_read_bounds_and_refusals(tmp_path, monkeypatch):
    store = file_base(tmp_path)
    write_signatures(store, REF, DIGEST, [b'x' * 10])
    monkeypatch.setattr(lookaside, 'MAX_SIGNATURE_SIZE', 9)
    path = signature_file(store, REF, DIGEST, 1)
    with pytest.raises(SignatureError) as caught:
        read_signatures(store, REF, DIGEST)
    assert caught.value.message == 'signature file "%s" exceeds the 9 byte limit' % path
    monkeypatch.undo()
    os.unlink(path)
    os.mkfifo(path)
    with pytest.raises(LayoutError) as caught:
        read_signatures(store, REF, DIGEST)
    assert caught.value.message == 'signature file "%s" is not a regular file (a FIFO)' % path


def test_file_read_cap(tmp_path, monkeypatch):
    store = file_base(tmp_path)
    monkeypatch.setattr(lookaside, 'MAX_SIGNATURES', 4)
    write_signatures(store, REF, DIGEST, [b'1', b'2', b'3'])
    assert len(read_signatures(store, REF, DIGEST)) == 3
    directory = os.path.dirname(signature_file(store, REF, DIGEST, 1))
    with open(os.path.join(directory, 'signature-4'), 'wb') as handle:
        handle.write(b'4')
    with pytest.raises(SignatureError) as caught:
        read_signatures(store, REF, DIGEST)
    assert caught.value.message == ('the lookaside "%s" provided 4 signatures for example.com/ns1/ns2/repo@%s without an end; '
                                    'assuming a broken server or store' % (store.url, DIGEST))


def test_too_many_signatures_to_write(tmp_path):
    with pytest.raises(SignatureError) as caught:
        write_signatures(file_base(tmp_path), REF, DIGEST, [b's'] * 128)
    assert caught.value.message == '128 signatures for one image are more than a lookaside can hold (at most 127)'
    assert not (tmp_path / 'sigstore').exists()


def test_a_file_where_the_directory_should_be(tmp_path):
    store = file_base(tmp_path)
    (tmp_path / 'sigstore').write_bytes(b'')
    with pytest.raises(LayoutError, match=r'^cannot create the lookaside directory ".*/sigstore/ns1/ns2/repo@sha256=[0-9a-f]{64}": '):
        write_signatures(store, REF, DIGEST, [b'a'])
    assert delete_signatures(store, REF, DIGEST) == 0
    # Not "no signatures": as in containers/image, only ENOENT ends the list.
    with pytest.raises(LayoutError, match=r'^signature file ".*/signature-1" cannot be read: Not a directory$'):
        read_signatures(store, REF, DIGEST)


@pytest.mark.parametrize('action', ['write', 'delete'])
@pytest.mark.parametrize('scheme', ['http', 'https'])
def test_http_lookaside_cannot_be_written_or_deleted(action, scheme):
    store = base(scheme + '://user:hunter22@sigs.example.com/root')
    with pytest.raises(PolicyError) as caught:
        if action == 'write':
            write_signatures(store, REF, DIGEST, [b'a'])
        else:
            delete_signatures(store, REF, DIGEST)
    assert caught.value.message == (
        '%s signatures directly in the %s lookaside "%s://user:********@sigs.example.com/root" '
        '(lookaside of docker scope "example.com" in "/etc/containers/registries.d/a.yaml") is not supported; '
        'configure a lookaside-staging (a file:// directory that is published to that server) in registries.d'
        % ('writing' if action == 'write' else 'deleting', scheme, scheme))


def test_unsupported_scheme_is_refused_everywhere():
    store = base('ftp://x/y')
    for call in (lambda: read_signatures(store, REF, DIGEST), lambda: write_signatures(store, REF, DIGEST, []),
                 lambda: delete_signatures(store, REF, DIGEST)):
        with pytest.raises(PolicyError, match=r'^the lookaside "ftp://x/y" \(lookaside of docker scope .*\) has the unsupported scheme "ftp"; '):
            call()


# -- http(s):// -------------------------------------------------------------------------------------

class Server:
    """A MockTransport handler serving ``signatures`` (index 0 = signature-1) under one prefix, recording requests."""

    def __init__(self, signatures, prefix='/root/ns1/ns2/repo@' + MAPPED + '/signature-', headers=None, status=None, endless=False):
        self.signatures = signatures
        self.prefix = prefix
        self.headers = headers or {}
        self.status = status
        self.endless = endless
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        if self.status is not None:
            return httpx.Response(self.status, content=b'{"errors":[{"code":"DENIED","message":"no"}]}' if self.status == 403 else b'down')
        path = request.url.path
        if not path.startswith(self.prefix):
            return httpx.Response(404)
        number = int(path[len(self.prefix):])
        if self.endless:
            return httpx.Response(200, content=b'sig', headers=self.headers)
        if number > len(self.signatures):
            return httpx.Response(404, content=b'<html>not found</html>', headers={'content-type': 'text/html'})
        return httpx.Response(200, content=self.signatures[number - 1], headers=self.headers)


def client_for(server):
    return httpx.Client(transport=httpx.MockTransport(server))


HTTP_BASE = base('https://sigs.example.com/root')


def test_http_read_until_404():
    server = Server([b'\xa3one', b'\xa3two'])
    warnings = []
    assert read_signatures(HTTP_BASE, REF, DIGEST, client_for(server), warnings.append) == [b'\xa3one', b'\xa3two']
    assert [str(r.url) for r in server.requests] == [
        'https://sigs.example.com/root/ns1/ns2/repo@%s/signature-%d' % (MAPPED, n) for n in (1, 2, 3)]
    assert all('authorization' not in r.headers for r in server.requests)
    assert warnings == []


def test_http_read_no_signatures():
    assert read_signatures(HTTP_BASE, REF, DIGEST, client_for(Server([]))) == []


def test_http_read_follows_redirects():
    def handler(request):
        if request.url.host == 'sigs.example.com':
            return httpx.Response(302, headers={'location': 'https://cdn.example.net' + request.url.path})
        if request.url.path.endswith('/signature-1'):
            return httpx.Response(200, content=b'moved')
        return httpx.Response(404)
    assert read_signatures(HTTP_BASE, REF, DIGEST, httpx.Client(transport=httpx.MockTransport(handler))) == [b'moved']


def test_http_read_cap():
    server = Server([], endless=True)
    with pytest.raises(SignatureError) as caught:
        read_signatures(HTTP_BASE, REF, DIGEST, client_for(server))
    assert caught.value.message == ('the lookaside "https://sigs.example.com/root" provided 128 signatures for '
                                    'example.com/ns1/ns2/repo@%s without an end; assuming a broken server or store' % DIGEST)
    assert len(server.requests) == 128


def test_http_read_size_bound_by_content_length_and_by_stream(monkeypatch):
    monkeypatch.setattr(lookaside, 'MAX_SIGNATURE_SIZE', 8)
    url = 'https://sigs.example.com/root/ns1/ns2/repo@%s/signature-1' % MAPPED
    with pytest.raises(SignatureError) as caught:
        read_signatures(HTTP_BASE, REF, DIGEST, client_for(Server([b'123456789'])))
    assert caught.value.message == 'signature "%s" is 9 bytes, more than the 8 byte limit' % url

    def chunked(request):  # no Content-Length: the bound holds while streaming
        return httpx.Response(200, content=iter([b'12345', b'6789']))
    with pytest.raises(SignatureError) as caught:
        read_signatures(HTTP_BASE, REF, DIGEST, httpx.Client(transport=httpx.MockTransport(chunked)))
    assert caught.value.message == 'signature "%s" exceeds the 8 byte limit' % url
    assert read_signatures(HTTP_BASE, REF, DIGEST, client_for(Server([b'12345678']))) == [b'12345678']


def test_http_text_html_only_warns():
    server = Server([b'<html>login</html>'], headers={'content-type': 'text/html; charset=utf-8'})
    warnings = []
    assert read_signatures(HTTP_BASE, REF, DIGEST, client_for(server), warnings.append) == [b'<html>login</html>']
    assert warnings == ['signature "https://sigs.example.com/root/ns1/ns2/repo@%s/signature-1" has Content-Type '
                        '"text/html; charset=utf-8", unexpected for a signature' % MAPPED]
    assert read_signatures(HTTP_BASE, REF, DIGEST, client_for(server)) == [b'<html>login</html>']  # no warn callback: fine


@pytest.mark.parametrize('status, error_type, cause', [
    (500, ServerError, '500'),
    (403, AccessDeniedError, 'DENIED'),
])
def test_http_errors_are_typed(status, error_type, cause):
    with pytest.raises(error_type) as caught:
        read_signatures(HTTP_BASE, REF, DIGEST, client_for(Server([], status=status)))
    assert caught.value.message.startswith('reading signature "https://sigs.example.com/root/ns1/ns2/repo@%s/signature-1": ' % MAPPED)
    assert cause in caught.value.message
    assert caught.value.status == status


def test_http_connection_failure():
    def refuse(request):
        raise httpx.ConnectError('[Errno 111] Connection refused', request=request)
    with pytest.raises(ConnectionFailedError) as caught:
        read_signatures(base('http://user:pw@127.0.0.1:9/x'), REF, DIGEST, httpx.Client(transport=httpx.MockTransport(refuse)))
    assert caught.value.message == 'cannot connect to 127.0.0.1:9: [Errno 111] Connection refused'


def test_http_read_needs_a_client():
    with pytest.raises(PolicyError) as caught:
        read_signatures(HTTP_BASE, REF, DIGEST)
    assert caught.value.message == ('the lookaside "https://sigs.example.com/root" (lookaside of docker scope "example.com" '
                                    'in "/etc/containers/registries.d/a.yaml") needs an HTTP client (httpx) to be read')


def test_signatures_written_to_a_staging_directory_are_what_an_http_server_of_it_serves(tmp_path):
    """The staging layout and the read URL agree: a server publishing the staging directory serves what was written."""
    staging = file_base(tmp_path)
    write_signatures(staging, REF, DIGEST, [b'\xa3s1', b'\xa3s2'])
    root = staging.path

    def publish(request):
        path = os.path.join(root, request.url.path[len('/root/'):])
        if not os.path.isfile(path):
            return httpx.Response(404)
        with open(path, 'rb') as handle:
            return httpx.Response(200, content=handle.read())
    assert read_signatures(HTTP_BASE, REF, DIGEST, httpx.Client(transport=httpx.MockTransport(publish))) == [b'\xa3s1', b'\xa3s2']
