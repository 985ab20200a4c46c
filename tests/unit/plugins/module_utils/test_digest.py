# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for digest.py: validation of digest strings, streaming verification, bounded reads."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, read_bounded, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidDigestError,
    InvalidReferenceError,
    ManifestTooLargeError,
)

HEX64 = 'a' * 64
CONTENT = b'hello, registry'
CONTENT_DIGEST = Digest('sha256:' + hashlib.sha256(CONTENT).hexdigest())


@pytest.mark.parametrize('value, algorithm, hexpart', [
    ('sha256:' + HEX64, 'sha256', HEX64),
    ('sha256:' + '0123456789abcdef' * 4, 'sha256', '0123456789abcdef' * 4),
    ('sha384:' + 'b' * 96, 'sha384', 'b' * 96),
    ('sha512:' + 'c' * 128, 'sha512', 'c' * 128),
])
def test_valid_digests(value, algorithm, hexpart):
    digest = Digest(value)
    assert (digest.algorithm, digest.hex) == (algorithm, hexpart)
    assert str(digest) == value
    assert repr(digest) == 'Digest(%r)' % value
    assert Digest.is_valid(value)


@pytest.mark.parametrize('value, message', [
    ('', "invalid digest '': expected algorithm:hex"),
    (HEX64, "invalid digest '%s': expected algorithm:hex" % HEX64),
    ('sha256', "invalid digest 'sha256': expected algorithm:hex"),
    ('sha256:', "invalid digest 'sha256:': expected algorithm:hex"),
    (':' + HEX64, "expected algorithm:hex"),
    ('md5:' + 'a' * 32, "invalid digest 'md5:%s': unsupported algorithm 'md5'" % ('a' * 32)),
    ('sha1:' + 'a' * 40, "unsupported algorithm 'sha1'"),
    ('SHA256:' + HEX64, 'expected algorithm:hex'),
    ('sha256:' + 'a' * 63, 'sha256 needs 64 lowercase hex characters'),
    ('sha256:' + 'a' * 65, 'sha256 needs 64 lowercase hex characters'),
    ('sha512:' + HEX64, 'sha512 needs 128 lowercase hex characters'),
    ('sha384:' + HEX64, 'sha384 needs 96 lowercase hex characters'),
    ('sha256:' + 'A' * 64, 'sha256 needs 64 lowercase hex characters'),
    ('sha256:' + 'a' * 63 + 'G', 'sha256 needs 64 lowercase hex characters'),
    ('sha256:' + 'a' * 63 + '=', 'sha256 needs 64 lowercase hex characters'),
    # Path traversal and URL syntax must never survive validation (CVE-2024-3727).
    ('sha256:../../x', 'expected algorithm:hex'),
    ('sha256:../../../../etc/passwd', 'expected algorithm:hex'),
    ('sha256:' + 'a' * 60 + '/../', 'expected algorithm:hex'),
    ('../sha256:' + HEX64, 'expected algorithm:hex'),
    ('sha256:' + HEX64 + '?x=1', 'expected algorithm:hex'),
    ('sha256:' + HEX64 + '#frag', 'expected algorithm:hex'),
    ('sha256:' + HEX64 + ' ', 'expected algorithm:hex'),
    (' sha256:' + HEX64, 'expected algorithm:hex'),
    ('sha256:' + HEX64 + '\n', 'expected algorithm:hex'),
    ('sha256:' + HEX64 + '\x00', 'expected algorithm:hex'),
    ('sha256::' + HEX64, 'expected algorithm:hex'),
])
def test_invalid_digests(value, message):
    with pytest.raises(InvalidDigestError) as excinfo:
        Digest(value)
    assert message in str(excinfo.value)
    assert not Digest.is_valid(value)


@pytest.mark.parametrize('value', [None, 42, b'sha256:' + HEX64.encode(), ['sha256:' + HEX64], 1.5])
def test_non_strings_rejected(value):
    with pytest.raises(InvalidDigestError) as excinfo:
        Digest(value)
    assert str(excinfo.value) == 'invalid digest %r: not a string' % (value,)
    assert not Digest.is_valid(value)


def test_invalid_digest_is_an_invalid_reference():
    # Modules report a bad digest in an option like any other malformed reference.
    with pytest.raises(InvalidReferenceError):
        Digest('sha256:nope')


def test_long_invalid_values_are_clipped_in_messages():
    value = 'x' * 500
    with pytest.raises(InvalidDigestError) as excinfo:
        Digest(value)
    assert "'%s...'" % ('x' * 80) in str(excinfo.value)
    assert 'x' * 81 not in str(excinfo.value)


def test_digest_is_immutable_and_hashable():
    digest = Digest('sha256:' + HEX64)
    with pytest.raises(AttributeError):
        digest.hex = 'b' * 64
    assert digest.hex == HEX64
    assert digest == Digest('sha256:' + HEX64)
    assert digest == 'sha256:' + HEX64
    assert digest != 'sha256:' + 'b' * 64
    assert digest != Digest('sha256:' + 'b' * 64)
    assert len({digest, Digest('sha256:' + HEX64)}) == 1


def test_from_bytes_and_parse():
    digest = Digest.from_bytes(CONTENT)
    assert digest == CONTENT_DIGEST
    assert Digest.from_bytes(CONTENT, 'sha512') == 'sha512:' + hashlib.sha512(CONTENT).hexdigest()
    assert Digest.parse(digest) is digest
    assert Digest.parse(str(digest)) == digest
    with pytest.raises(InvalidDigestError):
        Digest.parse('sha256:../../x')


def test_verify_bytes():
    CONTENT_DIGEST.verify_bytes(CONTENT)
    with pytest.raises(DigestMismatchError) as excinfo:
        CONTENT_DIGEST.verify_bytes(CONTENT + b'!', 'config')
    assert str(excinfo.value) == 'config digest mismatch: expected %s, got %s' % (CONTENT_DIGEST, Digest.from_bytes(CONTENT + b'!'))


def _chunks(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize('chunk_size', [1, 2, 5, len(CONTENT) - 1, len(CONTENT), 1000])
@pytest.mark.parametrize('declared', [None, -1, len(CONTENT)])
def test_verified_stream_passes_good_content_unchanged(chunk_size, declared):
    chunks = _chunks(CONTENT, chunk_size)
    assert list(verified_stream(iter(chunks), CONTENT_DIGEST, declared)) == chunks


def test_verified_stream_skips_empty_chunks_and_empty_content():
    assert list(verified_stream([b'', CONTENT, b''], CONTENT_DIGEST, len(CONTENT))) == [CONTENT]
    empty = Digest.from_bytes(b'')
    assert not list(verified_stream([], empty, 0))
    assert not list(verified_stream([b''], empty, None))


def _consume(stream):
    """Collect what a consumer receives before the stream fails; return (received, error)."""
    received = []
    with pytest.raises(DigestMismatchError) as excinfo:
        for chunk in stream:
            received.append(chunk)
    return received, str(excinfo.value)


def test_verified_stream_wrong_digest_holds_back_last_chunk():
    bad = [b'aaaa', b'bbbb', b'cccc']
    received, message = _consume(verified_stream(iter(bad), CONTENT_DIGEST, 12, 'layer'))
    # Everything but the final chunk may have been passed on; the final one never is, so a
    # consumer cannot complete (commit) bad content.
    assert received == [b'aaaa', b'bbbb']
    assert message == 'layer digest mismatch: expected %s, got %s' % (CONTENT_DIGEST, Digest.from_bytes(b''.join(bad)))


def test_verified_stream_single_bad_chunk_yields_nothing():
    received, message = _consume(verified_stream([b'evil'], CONTENT_DIGEST))
    assert not received
    assert 'blob digest mismatch' in message


def test_verified_stream_too_many_bytes_raises_before_yielding_them():
    pulled = []

    def source():
        for chunk in (b'hello', b', regi', b'stry', b'EXTRA', b'never'):
            pulled.append(chunk)
            yield chunk

    received, message = _consume(verified_stream(source(), CONTENT_DIGEST, len(CONTENT)))
    assert message == 'blob %s is larger than its declared size %d' % (CONTENT_DIGEST, len(CONTENT))
    # The oversized chunk is never passed on, and nothing after it is even read.
    assert b''.join(received) == b'hello, regi'
    assert b'EXTRA' not in received
    assert pulled == [b'hello', b', regi', b'stry', b'EXTRA']


def test_verified_stream_endless_source_stops():
    def endless():
        while True:
            yield b'x' * 1024

    received, message = _consume(verified_stream(endless(), CONTENT_DIGEST, 4096))
    assert 'larger than its declared size 4096' in message
    assert sum(len(c) for c in received) <= 4096


def test_verified_stream_too_few_bytes():
    received, message = _consume(verified_stream(_chunks(CONTENT, 4), CONTENT_DIGEST, len(CONTENT) + 1, 'config'))
    assert message == 'config %s is %d bytes, declared size is %d' % (CONTENT_DIGEST, len(CONTENT), len(CONTENT) + 1)
    assert b''.join(received) != CONTENT
    assert received == _chunks(CONTENT, 4)[:-1]


def test_verified_stream_right_size_wrong_content():
    bad = b'X' + CONTENT[1:]
    received, message = _consume(verified_stream(_chunks(bad, 3), CONTENT_DIGEST, len(CONTENT)))
    assert 'digest mismatch' in message
    assert b''.join(received) == bad[:len(bad) - len(_chunks(bad, 3)[-1])]


@pytest.mark.parametrize('chunks, limit, expected', [
    ([], 0, b''),
    ([b'abc'], 3, b'abc'),
    ([b'a', b'b', b'c'], 3, b'abc'),
    ([b'ab', b'', b'cd'], 10, b'abcd'),
])
def test_read_bounded_within_limit(chunks, limit, expected):
    assert read_bounded(iter(chunks), limit, 'thing') == expected


@pytest.mark.parametrize('chunks, limit', [
    ([b'abcd'], 3),
    ([b'a', b'b', b'c', b'd'], 3),
    ([b'x'], 0),
])
def test_read_bounded_over_limit(chunks, limit):
    with pytest.raises(ManifestTooLargeError) as excinfo:
        read_bounded(iter(chunks), limit, 'image config')
    assert str(excinfo.value) == 'image config exceeds the %d byte limit' % limit


def test_read_bounded_stops_reading_at_limit():
    pulled = []

    def source():
        for chunk in (b'aa', b'bb', b'cc', b'dd'):
            pulled.append(chunk)
            yield chunk

    with pytest.raises(ManifestTooLargeError):
        read_bounded(source(), 5, 'manifest')
    assert pulled == [b'aa', b'bb', b'cc']
