# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Content digests, validated before they reach a URL or a path, and verified while streaming."""

from __future__ import annotations

import hashlib
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidDigestError,
)

# Only algorithms with a fixed hex length are accepted, so that a digest can never smuggle path
# separators or URL syntax into a blob path (CVE-2024-3727).
_HEX_LENGTH = {'sha256': 64, 'sha384': 96, 'sha512': 128}
# \Z, not $: '$' also matches before a trailing newline, which would let 'sha256:<hex>\n' through.
_DIGEST_RE = re.compile(r'^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)\Z')

CHUNK_SIZE = 1024 * 1024


class Digest:
    """An ``algorithm:hex`` digest whose syntax and length have been checked."""

    __slots__ = ('algorithm', 'hex')

    algorithm: str
    hex: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidDigestError('invalid digest %r: not a string' % (value,))
        match = _DIGEST_RE.match(value)
        if not match:
            raise InvalidDigestError('invalid digest %r: expected algorithm:hex' % _clip(value))
        algorithm, hexpart = match.group(1), match.group(2)
        if algorithm not in _HEX_LENGTH:
            raise InvalidDigestError('invalid digest %r: unsupported algorithm %r' % (_clip(value), algorithm))
        if len(hexpart) != _HEX_LENGTH[algorithm] or not re.match(r'^[a-f0-9]+$', hexpart):
            raise InvalidDigestError('invalid digest %r: %s needs %d lowercase hex characters'
                                     % (_clip(value), algorithm, _HEX_LENGTH[algorithm]))
        object.__setattr__(self, 'algorithm', algorithm)
        object.__setattr__(self, 'hex', hexpart)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('Digest is immutable')

    @classmethod
    def from_bytes(cls, data: bytes, algorithm: str = 'sha256') -> 'Digest':
        """Digest of ``data``."""
        return cls('%s:%s' % (algorithm, hashlib.new(algorithm, data).hexdigest()))

    @classmethod
    def parse(cls, value: 'str | Digest') -> 'Digest':
        """Return ``value`` as a Digest, validating strings."""
        return value if isinstance(value, Digest) else cls(value)

    @classmethod
    def is_valid(cls, value: str) -> bool:
        try:
            cls(value)
        except InvalidDigestError:
            return False
        return True

    def hasher(self) -> 't.Any':
        """A fresh hashlib object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def verify_bytes(self, data: bytes, what: str = 'content') -> None:
        """Raise DigestMismatchError unless ``data`` hashes to this digest."""
        actual = hashlib.new(self.algorithm, data).hexdigest()
        if actual != self.hex:
            raise DigestMismatchError('%s digest mismatch: expected %s, got %s:%s' % (what, self, self.algorithm, actual))

    def __str__(self) -> str:
        return '%s:%s' % (self.algorithm, self.hex)

    def __repr__(self) -> str:
        return 'Digest(%r)' % str(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Digest):
            return self.algorithm == other.algorithm and self.hex == other.hex
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))


def _clip(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + '...'


def verified_stream(chunks: t.Iterable[bytes], expected: Digest, size: int | None = None,
                    what: str = 'blob') -> t.Iterator[bytes]:
    """Yield ``chunks`` unchanged while checking them against ``expected`` and ``size``.

    Size is checked on every chunk, so an oversized or endless stream stops as soon as it exceeds
    what was promised. The last chunk is held back until the digest has been compared: a consumer
    (an upload, a file write) never receives the final bytes of bad content, so a registry or a
    layout cannot commit it.
    """
    hasher = expected.hasher()
    seen = 0
    pending = b''
    for chunk in chunks:
        if not chunk:
            continue
        seen += len(chunk)
        if size is not None and size >= 0 and seen > size:
            raise DigestMismatchError('%s %s is larger than its declared size %d' % (what, expected, size))
        hasher.update(chunk)
        if pending:
            yield pending
        pending = chunk
    if size is not None and size >= 0 and seen != size:
        raise DigestMismatchError('%s %s is %d bytes, declared size is %d' % (what, expected, seen, size))
    actual = hasher.hexdigest()
    if actual != expected.hex:
        raise DigestMismatchError('%s digest mismatch: expected %s, got %s:%s' % (what, expected, expected.algorithm, actual))
    if pending:
        yield pending


def read_bounded(chunks: t.Iterable[bytes], limit: int, what: str) -> bytes:
    """Join ``chunks`` into bytes, failing once more than ``limit`` bytes arrive."""
    from ansible_collections.ocikit.images.plugins.module_utils.errors import ManifestTooLargeError

    parts = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ManifestTooLargeError('%s exceeds the %d byte limit' % (what, limit))
        parts.append(chunk)
    return b''.join(parts)
