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
    ├── ConnectionFailedError        network level: DNS, refused, reset, timeouts  (transient)
    │   └── TLSError                 certificate verification and handshake failures (final)
    └── RegistryError                an HTTP error answered by a registry or token server
        ├── AuthenticationError      401 / UNAUTHORIZED: credentials missing or wrong
        │   └── TokenExpiredError    a cached token refused mid-upload (transient: the blob starts again)
        ├── AccessDeniedError        403 / DENIED
        ├── TooManyRequestsError     429 / TOOMANYREQUESTS               (transient)
        ├── ServerError              5xx                                 (transient for 502-504)
        └── UnsupportedOperationError 405 / UNSUPPORTED (e.g. deletes disabled)

``transient`` tells retry loops and sync reports whether trying again may help.
"""

from __future__ import annotations

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


def describe(exc: BaseException) -> str:
    """Return a one-line description of any exception, for messages.

    Engine errors carry their own message; anything else is named by its type so that an
    unexpected failure is still one readable line.
    """
    if isinstance(exc, OcikitError):
        text = exc.message
    else:
        text = '%s: %s' % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    return ' '.join(text.split())


ErrorType = t.Type[OcikitError]
