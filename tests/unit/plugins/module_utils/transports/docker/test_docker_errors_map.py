# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry answers and network failures mapped to the error tree."""

from __future__ import annotations

import email.utils
import json
import ssl

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AccessDeniedError,
    AuthenticationError,
    BlobNotFoundError,
    ConnectionFailedError,
    ImageNotFoundError,
    RegistryError,
    ServerError,
    TLSError,
    TooManyRequestsError,
    UnsupportedMediaTypeError,
    UnsupportedOperationError,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.errors_map import (
    error_from_response,
    parse_error_body,
    parse_retry_after,
    transport_error,
)

httpx = pytest.importorskip('httpx')


def body(*errors: tuple[str, str]) -> bytes:
    return json.dumps({'errors': [{'code': code, 'message': message} for code, message in errors]}).encode()


MAPPING = [
    # (status, body, not_found, expected type, expected message)
    (401, body(('UNAUTHORIZED', 'authentication required')), None, AuthenticationError,
     'reading x: UNAUTHORIZED: authentication required (HTTP 401 Unauthorized)'),
    (403, body(('DENIED', 'requested access to the resource is denied')), None, AccessDeniedError,
     'reading x: DENIED: requested access to the resource is denied (HTTP 403 Forbidden)'),
    (403, b'', None, AccessDeniedError, 'reading x: HTTP 403 Forbidden'),
    (404, body(('MANIFEST_UNKNOWN', 'manifest unknown')), None, ImageNotFoundError,
     'reading x: MANIFEST_UNKNOWN: manifest unknown (HTTP 404 Not Found)'),
    (404, body(('NAME_UNKNOWN', 'repository name not known to registry')), BlobNotFoundError, ImageNotFoundError,
     'reading x: NAME_UNKNOWN: repository name not known to registry (HTTP 404 Not Found)'),
    (404, body(('BLOB_UNKNOWN', 'blob unknown to registry')), None, BlobNotFoundError,
     'reading x: BLOB_UNKNOWN: blob unknown to registry (HTTP 404 Not Found)'),
    (400, body(('MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry')), None, BlobNotFoundError,
     'reading x: MANIFEST_BLOB_UNKNOWN: blob unknown to registry (HTTP 400 Bad Request)'),
    (404, b'', ImageNotFoundError, ImageNotFoundError, 'reading x: HTTP 404 Not Found'),
    (404, b'', BlobNotFoundError, BlobNotFoundError, 'reading x: HTTP 404 Not Found'),
    (404, b'', None, RegistryError, 'reading x: HTTP 404 Not Found'),
    (429, body(('TOOMANYREQUESTS', 'You have reached your pull rate limit.')), None, TooManyRequestsError,
     'reading x: TOOMANYREQUESTS: You have reached your pull rate limit. (HTTP 429 Too Many Requests)'),
    (429, b'slow down', None, TooManyRequestsError, 'reading x: HTTP 429 Too Many Requests'),
    (500, b'<html>oops</html>', None, ServerError, 'reading x: HTTP 500 Internal Server Error'),
    (503, body(('UNAVAILABLE', 'service unavailable')), None, ServerError,
     'reading x: UNAVAILABLE: service unavailable (HTTP 503 Service Unavailable)'),
    (405, body(('UNSUPPORTED', 'The operation is unsupported.')), None, UnsupportedOperationError,
     'reading x: UNSUPPORTED: The operation is unsupported. (HTTP 405 Method Not Allowed)'),
    (405, b'', None, UnsupportedOperationError, 'reading x: HTTP 405 Method Not Allowed'),
    (415, b'', None, UnsupportedMediaTypeError, 'reading x: HTTP 415 Unsupported Media Type'),
    (400, body(('MANIFEST_INVALID', 'manifest invalid')), None, RegistryError,
     'reading x: MANIFEST_INVALID: manifest invalid (HTTP 400 Bad Request)'),
    # The first known code decides; several errors are all named; newlines do not survive.
    (400, body(('SIZE_INVALID', 'bad\nsize'), ('DENIED', 'no')), None, AccessDeniedError,
     'reading x: SIZE_INVALID: bad size; DENIED: no (HTTP 400 Bad Request)'),
    # Lowercase codes (some registries) are accepted.
    (401, body(('unauthorized', 'who are you')), None, AuthenticationError, 'reading x: UNAUTHORIZED: who are you (HTTP 401 Unauthorized)'),
    (418, b'{"errors": "nope"}', None, RegistryError, "reading x: HTTP 418 I'm a teapot"),
]


@pytest.mark.parametrize('status, raw, not_found, error_type, message', MAPPING)
def test_error_from_response(status: int, raw: bytes, not_found: type | None, error_type: type, message: str) -> None:
    reason = httpx.codes.get_reason_phrase(status)
    error = error_from_response(status, reason, raw, 'reading x', not_found=not_found)
    assert type(error) is error_type  # pylint: disable=unidiomatic-typecheck
    assert error.message == message


def test_registry_error_attributes() -> None:
    error = error_from_response(429, 'Too Many Requests', body(('TOOMANYREQUESTS', 'slow')), 'x', retry_after='7')
    assert isinstance(error, TooManyRequestsError)
    assert (error.status, error.code, error.retry_after, error.transient) == (429, 'TOOMANYREQUESTS', 7.0, True)
    assert error_from_response(503, '', b'', 'x').transient is True
    assert error_from_response(500, '', b'', 'x').transient is False


def test_hint_and_long_messages_are_clipped() -> None:
    error = error_from_response(401, 'Unauthorized', body(('UNAUTHORIZED', 'x' * 5000)), 'w', hint='no credentials were found for r')
    assert error.message.endswith('...; no credentials were found for r')
    assert len(error.message) < 600


@pytest.mark.parametrize('raw', [b'', b'null', b'{"errors": [1, {"code": 2}]}', b'\xff\xfe'])
def test_parse_error_body_tolerates_junk(raw: bytes) -> None:
    assert parse_error_body(raw) in ([], [('', '', '')])


@pytest.mark.parametrize('value, expected', [
    ('5', 5.0), (' 0 ', 0.0), ('-3', None), ('soon', None), ('', None), (None, None), ('1.5', None), ('\u00b2', None),
    ('\u0663', None), ('Fri, 01 Jan 99999 00:00:00 GMT', None),
    (email.utils.formatdate(1000 + 30, usegmt=True), 30.0),
    (email.utils.formatdate(1000 - 30, usegmt=True), None),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=1000.0) == expected


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:  # pylint: disable=broad-exception-caught
        return exc


def test_transport_error_certificate() -> None:
    cause = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate')
    cause.verify_message = 'self-signed certificate'
    error = transport_error(_chained(httpx.ConnectError('[SSL: CERTIFICATE_VERIFY_FAILED] ...'), cause), '127.0.0.1:5000')
    assert isinstance(error, TLSError) and not error.transient
    assert error.message == ('TLS certificate verification failed for 127.0.0.1:5000: self-signed certificate '
                             '(set tls_verify: false or give cert_dir)')


def test_transport_error_wrong_version() -> None:
    cause = ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number')
    cause.reason = 'WRONG_VERSION_NUMBER'
    error = transport_error(_chained(httpx.ConnectError('x'), cause), 'reg:80')
    assert isinstance(error, TLSError)
    assert error.message.startswith('TLS handshake with reg:80 failed: WRONG_VERSION_NUMBER (does the registry speak plain HTTP?')


@pytest.mark.parametrize('exc, message', [
    (httpx.ConnectError('[Errno 111] Connection refused'), 'cannot connect to h:1: [Errno 111] Connection refused'),
    (httpx.ConnectTimeout('timed out'), 'timed out connecting to h:1 after 5 s'),
    (httpx.ReadTimeout('timed out'), 'timed out waiting for data from h:1 after 5 s'),
    (httpx.RemoteProtocolError('peer closed connection\nwithout sending complete message body'),
     'connection to h:1 failed: peer closed connection without sending complete message body'),
])
def test_transport_error_network(exc: BaseException, message: str) -> None:
    error = transport_error(exc, 'h:1', 5.0)
    assert type(error) is ConnectionFailedError  # pylint: disable=unidiomatic-typecheck
    assert error.transient
    assert error.message == message


def test_tls_connection_closed_early_is_a_connection_failure_that_may_pass() -> None:
    import ssl

    import httpx

    from ansible_collections.ocikit.images.plugins.module_utils.errors import TLSError
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.errors_map import transport_error

    outer = httpx.ReadError('EOF occurred in violation of protocol')
    outer.__cause__ = ssl.SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:2427)')
    error = transport_error(outer, 'registry.test:5000')
    assert not isinstance(error, TLSError)
    assert error.transient
    assert error.message.startswith('TLS connection to registry.test:5000 was closed early')
