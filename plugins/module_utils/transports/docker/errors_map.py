# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place where registry answers and network failures become typed errors.

A registry error body is ``{"errors": [{"code": ..., "message": ..., "detail": ...}]}``. The first
code this module knows decides the error type; without one the HTTP status does. Messages are one
line, start with what was being done (``reading manifest 127.0.0.1:5000/app:1``) and end with the
cause. They are built only from the status, the error body and host names, never from request
headers or query strings, so credentials, tokens and pre-signed URLs cannot leak into them.
"""

from __future__ import annotations

import email.utils
import ssl
import time

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AccessDeniedError,
    AuthenticationError,
    BlobNotFoundError,
    ConnectionFailedError,
    ImageNotFoundError,
    OcikitError,
    RegistryError,
    ServerError,
    TLSError,
    TooManyRequestsError,
    UnsupportedMediaTypeError,
    UnsupportedOperationError,
    redact,
)

#: Registry error codes (distribution spec and docker extensions) that decide the error type.
CODE_TYPES: dict[str, type[OcikitError]] = {
    'UNAUTHORIZED': AuthenticationError,
    'DENIED': AccessDeniedError,
    'MANIFEST_UNKNOWN': ImageNotFoundError,
    'NAME_UNKNOWN': ImageNotFoundError,
    'BLOB_UNKNOWN': BlobNotFoundError,
    'MANIFEST_BLOB_UNKNOWN': BlobNotFoundError,
    'TOOMANYREQUESTS': TooManyRequestsError,
    'UNSUPPORTED': UnsupportedOperationError,
}

#: HTTP statuses that decide the error type when no known code does (404 is the caller's choice).
STATUS_TYPES: dict[int, type[OcikitError]] = {
    401: AuthenticationError,
    403: AccessDeniedError,
    405: UnsupportedOperationError,
    415: UnsupportedMediaTypeError,
    429: TooManyRequestsError,
}

#: How much of an error body is read; the rest is dropped.
MAX_ERROR_BODY = 1024 * 1024
_MAX_CAUSE = 400
_MAX_DETAIL = 120
_TIMEOUT_PHRASES = {
    'ConnectTimeout': 'connecting to %s',
    'ReadTimeout': 'waiting for data from %s',
    'WriteTimeout': 'sending data to %s',
    'PoolTimeout': 'waiting for a free connection to %s',
}


def one_line(text: str, limit: int = _MAX_CAUSE) -> str:
    """Collapse whitespace (newlines included) and clip ``text``."""
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + '...'


def parse_error_body(body: bytes) -> list[tuple[str, str, str]]:
    """The ``(code, message, detail)`` triples of a registry error body; empty when there are none.

    Anything that is not the documented shape yields nothing rather than failing: the HTTP status
    still gives a useful error.
    """
    try:
        data = jsonutil.loads(body, 'the error body', RegistryError)
    except RegistryError:
        return []
    errors = data.get('errors') if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    out = []
    for entry in errors:
        if not isinstance(entry, dict):
            continue
        code = entry.get('code')
        message = entry.get('message')
        detail = entry.get('detail')
        out.append((code.upper() if isinstance(code, str) else '',
                    message if isinstance(message, str) else '',
                    detail if isinstance(detail, str) else ''))
    return out


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        # str.isdigit() admits other scripts' digits ('\u00b2'), which float() refuses.
        return float(value) if value.isascii() else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return delta if delta > 0 else None


def _cause(status: int, reason: str, entries: list[tuple[str, str, str]]) -> str:
    http = 'HTTP %d%s' % (status, (' ' + reason) if reason else '')
    if not entries:
        return http
    parts = []
    for code, message, detail in entries[:3]:
        text = ': '.join(p for p in (code, message) if p) or 'error'
        if detail and len(detail) <= _MAX_DETAIL:
            text += ' (%s)' % detail
        parts.append(text)
    return '%s (%s)' % ('; '.join(parts), http)


def error_from_response(status: int, reason: str, body: bytes, what: str, *,
                        retry_after: str | None = None,
                        not_found: type[OcikitError] | None = None,
                        hint: str | None = None) -> OcikitError:
    """Build the typed error for a registry answer.

    ``what`` says what was being done and names the registry/repository; ``not_found`` is the
    type a plain 404 maps to (ImageNotFoundError for manifests and tags, BlobNotFoundError for
    blobs; RegistryError when None). ``hint`` is appended to the message (for example that no
    credentials were found).
    """
    entries = parse_error_body(body) if body else []
    codes = [code for code, dummy, dummy2 in entries if code]
    error_type: type[OcikitError] | None = next((CODE_TYPES[code] for code in codes if code in CODE_TYPES), None)
    if error_type is None:
        if status == 404:
            error_type = not_found or RegistryError
        elif status in STATUS_TYPES:
            error_type = STATUS_TYPES[status]
        elif status >= 500:
            error_type = ServerError
        else:
            error_type = RegistryError
    # A registry may echo the request (its Authorization header, a token): redacted before it becomes a message.
    message = '%s: %s' % (what, one_line(redact(_cause(status, reason, entries))))
    if hint:
        message += '; ' + hint
    if issubclass(error_type, RegistryError):
        return error_type(message, status=status, code=codes[0] if codes else None, retry_after=parse_retry_after(retry_after))
    return error_type(message)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    return None


def transport_error(exc: BaseException, host: str, timeout: float | None = None) -> OcikitError:
    """Map an httpx transport exception (or an OSError) raised talking to ``host`` (``host[:port]``).

    Network failures are ConnectionFailedError (most may pass). A redirect whose ``Location`` is
    not a usable URL is the registry's answer, not the network's: a final RegistryError, so that
    it is not retried as if the connection had failed.
    """
    ssl_error = _ssl_cause(exc)
    text = one_line(str(exc) or type(exc).__name__)
    if type(exc).__name__ == 'RemoteProtocolError' and 'location header' in text.lower():
        return RegistryError('%s answered a redirect that cannot be followed: %s' % (host, text))
    if isinstance(ssl_error, ssl.SSLCertVerificationError) or 'CERTIFICATE_VERIFY_FAILED' in text:
        reason = getattr(ssl_error, 'verify_message', None) or getattr(ssl_error, 'reason', None) or text
        return TLSError('TLS certificate verification failed for %s: %s (set tls_verify: false or give cert_dir)'
                        % (host, one_line(str(reason))))
    if ssl_error is not None:
        reason = one_line(str(getattr(ssl_error, 'reason', None) or text))
        if isinstance(ssl_error, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)) or 'EOF' in reason.upper():
            # The peer closed or reset the connection during TLS (a busy or restarting server):
            # a connection failure that may pass, not a verdict on its certificate.
            return ConnectionFailedError('TLS connection to %s was closed early: %s' % (host, reason))
        if 'WRONG_VERSION_NUMBER' in reason.upper() or 'RECORD LAYER' in reason.upper():
            # What a plain-HTTP server looks like to a TLS client.
            reason += ' (does the registry speak plain HTTP? then set tls_verify: false)'
        return TLSError('TLS handshake with %s failed: %s' % (host, reason))
    name = type(exc).__name__
    if name.endswith('Timeout'):
        limit = (' after %g s' % timeout) if timeout else ''
        return ConnectionFailedError('timed out %s%s' % (_TIMEOUT_PHRASES.get(name, 'talking to %s') % host, limit))
    if name == 'ConnectError':
        return ConnectionFailedError('cannot connect to %s: %s' % (host, text))
    return ConnectionFailedError('connection to %s failed: %s' % (host, text))
