# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One typed error tree for the whole engine.

Errors are raised where they arise, typed by cause, and turned into a module failure once, in
``module.py``. Every message is a complete sentence fragment that names the thing at fault; the
modules prefix it with the image it concerns.

    OcikitError
    ├── InvalidInputError            bad user input (options, references, transports)
    │   ├── InvalidReferenceError    malformed docker reference, tag, digest or transport details
    │   ├── UnknownTransportError    "foo:bar" where foo is not a transport
    │   └── SharedDigestError        a delete that would take other tags with it (without force)
    ├── DigestError
    │   ├── InvalidDigestError       a digest string that is not algorithm:hex
    │   └── DigestMismatchError      content whose digest or size differs from what was promised
    ├── ManifestError                a manifest or config that cannot be used
    │   ├── ManifestTooLargeError    a document over its size bound
    │   ├── UnsupportedMediaTypeError
    │   └── NoMatchingPlatformError  an index without the requested platform
    ├── ImageNotFoundError           manifest, tag or repository absent (local or remote)
    ├── BlobNotFoundError            a blob absent where the manifest says it is
    ├── LayoutError                  an OCI layout / local store that is malformed or locked
    ├── ConfigError                  auth files, certs directories and similar local configuration
    │   └── PolicyError              containers-policy.json or registries.d is malformed or unusable
    ├── SignatureError               a signature is malformed, invalid, or does not match the image
    ├── PolicyRejectedError          the trust policy rejects the image (names the scope and requirement)
    ├── ConnectionFailedError        network level: DNS, refused, reset, timeouts  (transient)
    │   └── TLSError                 certificate verification and handshake failures (final)
    └── RegistryError                an HTTP error answered by a registry or token server
        ├── AuthenticationError      401 / UNAUTHORIZED: credentials missing or wrong
        │   ├── TokenExpiredError    a cached token refused mid-upload (transient: the blob starts again)
        │   └── TokenRefusedError    a token fresh from the token server refused: the credentials were accepted
        ├── AccessDeniedError        403 / DENIED
        ├── TooManyRequestsError     429 / TOOMANYREQUESTS               (transient)
        ├── ServerError              5xx                                 (transient for 502-504)
        └── UnsupportedOperationError 405 / UNSUPPORTED (e.g. deletes disabled)

``transient`` tells retry loops and sync reports whether trying again may help.

Messages are one line and carry no secret: :func:`quote` embeds an untrusted value (a reference,
a path, a tag) with its control characters escaped visibly and URL userinfo redacted, and
:func:`describe` and :func:`redact` apply the same escaping and redaction to whole messages, as a
safety net for text that came from elsewhere (a registry's error body, an exception's ``str()``).
"""

from __future__ import annotations

import base64
import re
import typing as t


class OcikitError(Exception):
    """Base of every error the engine raises on purpose."""

    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInputError(OcikitError):
    """Input supplied by the user is malformed."""


class InvalidReferenceError(InvalidInputError):
    """A reference, tag, digest or transport detail cannot be parsed."""


class UnknownTransportError(InvalidInputError):
    """The transport prefix names no known transport."""


class SharedDigestError(InvalidInputError):
    """Deleting would remove tags other than the one named, and ``force`` is not set."""


class DigestError(OcikitError):
    """Base of digest problems."""


class InvalidDigestError(DigestError, InvalidReferenceError):
    """A digest string is not ``algorithm:hex`` of a supported algorithm."""


class DigestMismatchError(DigestError):
    """Content does not match the digest or size it was promised to have."""


class ManifestError(OcikitError):
    """A manifest, index or config cannot be parsed or used."""


class ManifestTooLargeError(ManifestError):
    """A document exceeds its size bound."""


class UnsupportedMediaTypeError(ManifestError):
    """A media type this engine does not handle (or a Content-Type that disagrees)."""


class NoMatchingPlatformError(ManifestError):
    """An index or manifest list holds no image for the requested platform."""


class ImageNotFoundError(OcikitError):
    """The image (tag, digest or repository) does not exist."""


class BlobNotFoundError(OcikitError):
    """A blob referenced by a manifest does not exist where it should."""


class LayoutError(OcikitError):
    """A local image store is malformed, unreadable or cannot be written."""


class ConfigError(OcikitError):
    """Local configuration (auth files, certificate directories) is unusable."""


class PolicyError(ConfigError):
    """containers-policy.json or registries.d is malformed or unusable."""


class SignatureError(OcikitError):
    """A signature is malformed, invalid, or does not match the image (verification failed)."""


class PolicyRejectedError(OcikitError):
    """The trust policy rejects the image (names the scope and requirement)."""


class ConnectionFailedError(OcikitError):
    """The network failed: DNS, refused or reset connections, timeouts."""

    transient = True


class TLSError(ConnectionFailedError):
    """TLS verification or handshake failed; retrying will not help."""

    transient = False


class RegistryError(OcikitError):
    """An HTTP error answered by a registry or its token server.

    ``status`` is the HTTP status, ``code`` the first registry error code (``MANIFEST_UNKNOWN``,
    ``DENIED``, ...) when the body had one.
    """

    def __init__(self, message: str, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class AuthenticationError(RegistryError):
    """Credentials are missing or were refused (401, UNAUTHORIZED)."""


class TokenExpiredError(AuthenticationError):
    """A token that worked was refused while a streamed upload was sent (expired or revoked).

    The token is already dropped; the upload cannot be replayed by the client, so the caller
    starts the blob again from its source, with a new token.
    """

    transient = True


class TokenRefusedError(AuthenticationError):
    """The registry refused (401) a token its token server had just issued for the request: final.

    The token server accepted the credentials (or the anonymous request), so they are not what is
    wrong: the token does not grant the access (``insufficient_scope``: no permission, or no such
    repository), or the registry does not trust it (revoked, or the registry and the token server
    disagree on the signing key). ``insufficient_scope`` tells which the registry said.
    """

    def __init__(self, message: str, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None, insufficient_scope: bool = False) -> None:
        super().__init__(message, status=status, code=code, retry_after=retry_after)
        self.insufficient_scope = insufficient_scope


class AccessDeniedError(RegistryError):
    """The registry refused the operation for these credentials (403, DENIED)."""


class TooManyRequestsError(RegistryError):
    """Rate limited (429, TOOMANYREQUESTS)."""

    transient = True


class ServerError(RegistryError):
    """The registry failed (5xx). 502, 503 and 504 are worth a retry."""

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.status in (502, 503, 504)


class UnsupportedOperationError(RegistryError):
    """The registry does not support the operation (405, UNSUPPORTED)."""


# -- one-line, secret-free messages ----------------------------------------------------------

# The mask Ansible itself puts in place of no_log values.
REDACTED = '********'

#: Secrets shorter than this are not replaced: replacing 'a' everywhere protects nothing.
MIN_SECRET = 3

#: How much of one untrusted value a message quotes; the rest is replaced by "...".
QUOTE_LIMIT = 200

# Characters that break a line or drive a terminal: C0 controls, DEL, C1 controls (NEL, CSI),
# and the Unicode line and paragraph separators. ESC is among the C0 controls, so ANSI
# sequences lose their teeth: "\x1b[31m" is shown, not interpreted.
_CONTROL_RE = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]')
_NAMED_ESCAPES = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}

# What follows the "@" of a userinfo: a registry host as the docker reference grammar has it (a name, or an IPv6
# literal in brackets, and a port), not a digest ("busybox:1@sha256:..."), not an image ID ("name:tag@" and 64 hex
# digits, containers-storage's form), and not the rest of a containers-storage store ("[vfs@relative]name": a "]"
# without its "[" is no host). Shared with module.secrets_of, which finds the passwords these patterns redact.
USERINFO_HOST = (r'(?!(?:sha\d+|blake\d*|md5)(?:[+._-][a-z0-9]+)*:)(?![0-9a-f]{64}(?![A-Za-z0-9.:-]))'
                 r'(?:\[[0-9A-Za-z:.%]*\]|[A-Za-z0-9.-]+)(?::[0-9]*)?')
# "scheme://user:password@host": the userinfo runs to the last "@" before the path.
_URL_USERINFO_RE = re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://)([^\s/"\'@]*(?:@[^\s/"\'@]*)*)@(?=[^\s/"\'@]+)')
# "user:password@host[/repo]", a docker reference or registry with userinfo where no scheme says so.
# It starts a word, and the "@" is followed by a host (then "/" or the end of the value), but not by
# a digest: "busybox:1@sha256:..." is left alone. A password starting with "/" is taken for a path.
_BARE_USERINFO_RE = re.compile(r'(?:^|(?<=[\s"\'(=,]))([^\s/"\'@:\[\]]+):(?!/)([^\s"\']+)@(?=' + USERINFO_HOST + r'(?:/|$|[\s"\']))')
# Credentials a registry may echo: an Authorization header value, a Basic or Bearer credential,
# a JWT, a token field of a JSON answer.
_AUTHORIZATION_RE = re.compile(r'(?i)(\b(?:proxy-)?authorization["\']?\s*[:=]\s*[\["\']*\s*)(?:(?:basic|bearer|digest)\s+)?[^\s"\',;}\]]+')
# Base64 or a JWT has a digit, "+", "/", "=" or "."; a word ("Basic authentication") has none.
_SCHEME_CREDENTIAL_RE = re.compile(r'\b(Basic|Bearer|basic|bearer|BASIC|BEARER)(\s+)(?=[A-Za-z_~-]*[0-9+/=.])[A-Za-z0-9+/._~-]{12,}=*')
_JWT_RE = re.compile(r'\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*')
_SECRET_FIELDS = r'(?:access_token|refresh_token|identitytoken|identity_token|registrytoken|registry_token|token|password|secret)'
# A JSON field ("token": "...") or a query/form parameter (token=...), not the word "token" in a sentence.
_TOKEN_FIELD_RE = re.compile(r'(?i)((?:["\']' + _SECRET_FIELDS + r'["\']\s*:\s*["\']?)|(?:\b' + _SECRET_FIELDS + r'=["\']?))(?!\*\*\*)[^\s"\',;}&]+')

#: Base64 fragments shorter than this are not redacted: they would match ordinary text.
MIN_BASE64_FRAGMENT = 6


def escape_controls(text: str) -> str:
    """``text`` with every control character escaped visibly (``\\n``, ``\\x1b``, ``\\u2028``), so it stays one line."""
    def escape(match: t.Match[str]) -> str:
        char = match.group(0)
        if char in _NAMED_ESCAPES:
            return _NAMED_ESCAPES[char]
        code = ord(char)
        return '\\x%02x' % code if code <= 0xff else '\\u%04x' % code
    return _CONTROL_RE.sub(escape, text)


def redact_userinfo(text: str) -> str:
    """Replace the password of every ``scheme://user:password@host`` and ``user:password@host/...`` in ``text``.

    The user name is kept (it tells which account was used, as Go's ``url.Redacted`` does); a
    userinfo without a colon is a token in the user part and is replaced whole.
    """
    def url(match: t.Match[str]) -> str:
        user, colon, dummy = match.group(2).partition(':')
        return '%s%s@' % (match.group(1), (user + ':' + REDACTED) if colon else REDACTED)

    text = _URL_USERINFO_RE.sub(url, text)
    return _BARE_USERINFO_RE.sub(lambda m: '%s:%s@' % (m.group(1), REDACTED), text)


def quote(value: t.Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` double-quoted for a message: control characters escaped, URL userinfo redacted, clipped.

    Use it for every untrusted value a message embeds (references, paths, tags, registry names),
    so that a newline or an ANSI escape in user input cannot forge lines in a job log.
    """
    text = value if isinstance(value, str) else repr(value)
    text = redact_userinfo(text)
    if len(text) > limit:
        text = text[:limit] + '...'
    return '"%s"' % escape_controls(text.replace('\\', '\\\\').replace('"', '\\"'))


def base64_forms(secret: str, min_length: int = MIN_BASE64_FRAGMENT) -> list[str]:
    """The base64 text that ``secret`` produces wherever it sits inside base64-encoded data.

    Encoding ``secret`` after 0, 1 and 2 bytes of prefix covers the three alignments it can have
    inside a longer string (``user:password`` in a Basic header, a token in a JSON document); of
    each encoding only the characters that depend on ``secret`` alone are kept. Plain and URL-safe
    alphabets; fragments shorter than ``min_length`` are left out (they would match ordinary text).
    """
    data = secret.encode('utf-8')
    forms = set()
    for prefix in range(3):
        encoded = base64.b64encode(b'\0' * prefix + data).decode('ascii')
        # Characters 0-1 (prefix 1) or 0-2 (prefix 2) mix prefix bits; only whole 3-byte groups end cleanly.
        start = (0, 2, 3)[prefix]
        end = 4 * ((prefix + len(data)) // 3)
        fragment = encoded[start:end]
        if len(fragment) >= min_length:
            forms.add(fragment)
            forms.add(fragment.replace('+', '-').replace('/', '_'))
    whole = base64.b64encode(data).decode('ascii')
    if len(whole) >= min_length:
        forms.add(whole)
    return sorted(forms, key=lambda f: (-len(f), f))


# Secrets this process has put on the wire (passwords in Basic headers, tokens from token servers):
# a registry may echo one bare, where no pattern can tell it from text, so redact() knows them.
_REMEMBERED: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Make :func:`redact` remove ``value`` (and its base64 forms) from every message of this process."""
    if isinstance(value, str) and len(value) >= MIN_SECRET:
        _REMEMBERED.add(value)


def redact(text: str, secrets: t.Iterable[str] = ()) -> str:
    """``text`` without credentials: URL userinfo, Authorization values, Basic/Bearer credentials,
    JWTs and token fields, and each of ``secrets`` and of the remembered secrets (:func:`remember_secret`)
    in plain, escaped and base64 forms (:func:`base64_forms`).

    It is the safety net under every message; it does not replace writing messages that carry no secret.
    """
    # Patterns first: a known secret replaced inside a Basic credential would hide the rest of it from them.
    text = redact_userinfo(text)
    text = _AUTHORIZATION_RE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SCHEME_CREDENTIAL_RE.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _JWT_RE.sub(REDACTED, text)
    text = _TOKEN_FIELD_RE.sub(lambda m: m.group(1) + REDACTED, text)
    known = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET} | _REMEMBERED
    for secret in sorted(known, key=len, reverse=True):
        for form in (secret, escape_controls(secret), quote(secret)[1:-1]) + tuple(base64_forms(secret)):
            text = text.replace(form, REDACTED)
    return text


def one_line_message(text: str, secrets: t.Iterable[str] = ()) -> str:
    """``text`` as a message: whitespace runs (newlines included) collapsed, controls escaped, credentials redacted."""
    return escape_controls(redact(' '.join(str(text).split()), secrets))


def describe(exc: BaseException, secrets: t.Iterable[str] = ()) -> str:
    """Return a one-line description of any exception, for messages, without credentials.

    Engine errors carry their own message; anything else is named by its type so that an
    unexpected failure is still one readable line. Whitespace runs become one space; any other
    control character (ESC of an ANSI sequence, NUL, DEL, C1) is escaped visibly; userinfo,
    Authorization values, tokens and ``secrets`` are redacted (:func:`redact`).
    """
    if isinstance(exc, OcikitError):
        text = exc.message
    else:
        text = '%s: %s' % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    return one_line_message(text, secrets)


ErrorType = t.Type[OcikitError]
