# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bounded local reads (fsutil.read_document, open_regular) and the one JSON parser (jsonutil).

Every case that used to block runs under an alarm, so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, LayoutError, ManifestError, ManifestTooLargeError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import open_regular, read_document


class Hung(Exception):
    """Raised by the alarm: the call under test blocked."""


@contextlib.contextmanager
def deadline(seconds: float = 5.0) -> t.Iterator[None]:
    def expire(signum: int, frame: t.Any) -> None:
        raise Hung('blocked for %g seconds' % seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- read_document / open_regular -----------------------------------------------------------

def test_reads_a_regular_file_and_a_symlink_to_one(tmp_path: t.Any) -> None:
    target = tmp_path / 'auth.json'
    target.write_bytes(b'{"auths": {}}')
    (tmp_path / 'link.json').symlink_to(target)
    assert read_document(str(target), 100, ConfigError, 'auth file') == b'{"auths": {}}'
    assert read_document(str(tmp_path / 'link.json'), 100, ConfigError, 'auth file') == b'{"auths": {}}'


def test_exactly_the_limit_is_fine_one_more_is_not(tmp_path: t.Any) -> None:
    path = tmp_path / 'doc'
    path.write_bytes(b'x' * 10)
    assert read_document(str(path), 10, LayoutError, 'doc') == b'x' * 10
    with pytest.raises(LayoutError, match=r'^doc exceeds the 9 byte limit$'):
        read_document(str(path), 9, LayoutError, 'doc')
    with pytest.raises(ManifestTooLargeError, match=r'^doc exceeds the 9 byte limit$'):
        read_document(str(path), 9, LayoutError, 'doc', too_large=ManifestTooLargeError)


def test_missing_file_passes_through(tmp_path: t.Any) -> None:
    with pytest.raises(FileNotFoundError):
        read_document(str(tmp_path / 'absent'), 10, ConfigError, 'auth file')


def test_fifo_is_refused_without_blocking(tmp_path: t.Any) -> None:
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with deadline():
        with pytest.raises(ConfigError, match=r'^auth file x is not a regular file \(a FIFO\)$'):
            read_document(fifo, 10, ConfigError, 'auth file x')
        with pytest.raises(LayoutError, match=r'^blob path y is not a regular file \(a FIFO\)$'):
            open_regular(fifo, LayoutError, 'blob path y')


def test_symlink_to_a_fifo_is_refused(tmp_path: t.Any) -> None:
    os.mkfifo(str(tmp_path / 'fifo'))
    (tmp_path / 'link').symlink_to(tmp_path / 'fifo')
    with deadline():
        with pytest.raises(ConfigError, match=r'is not a regular file \(a FIFO\)'):
            read_document(str(tmp_path / 'link'), 10, ConfigError, 'auth file')


@pytest.mark.parametrize('path, kind', [('/dev/zero', 'a character device'), ('/dev/null', 'a character device'), ('/', 'a directory')])
def test_devices_and_directories_are_refused(path: str, kind: str) -> None:
    with deadline():
        with pytest.raises(ConfigError, match=r'^auth file %s is not a regular file \(%s\)$' % (path, kind)):
            read_document(path, 10, ConfigError, 'auth file %s' % path)


def test_socket_is_refused(tmp_path: t.Any) -> None:
    path = str(tmp_path / 'sock')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        with pytest.raises(LayoutError, match=r'^index x is not a regular file \(a socket\)$'):
            read_document(path, 10, LayoutError, 'index x')
    finally:
        server.close()


def test_large_sparse_file_costs_only_the_limit(tmp_path: t.Any) -> None:
    path = tmp_path / 'huge'
    with open(path, 'wb') as handle:
        handle.truncate(1 << 40)  # a terabyte of holes: reading it whole would never finish
    with deadline():
        with pytest.raises(ConfigError, match='exceeds the 1024 byte limit'):
            read_document(str(path), 1024, ConfigError, 'auth file')


def test_open_regular_streams_and_blocks_normally(tmp_path: t.Any) -> None:
    path = tmp_path / 'blob'
    path.write_bytes(b'abc' * 1000)
    with open_regular(str(path), LayoutError, 'blob') as handle:
        assert os.get_blocking(handle.fileno())
        assert handle.read() == b'abc' * 1000


# --- jsonutil ---------------------------------------------------------------------------------

def nested(depth: int, opener: str = '[', closer: str = ']') -> str:
    return opener * depth + closer * depth


def test_parses_plain_json() -> None:
    assert jsonutil.loads(b'{"a": [1, {"b": null}]}', 'doc') == {'a': [1, {'b': None}]}
    assert jsonutil.loads('[]', 'doc') == []


@pytest.mark.parametrize('depth', [64, 1])
def test_depth_up_to_the_bound_is_fine(depth: int) -> None:
    assert jsonutil.loads(nested(depth), 'doc') is not None
    assert jsonutil.loads('{"a":' * depth + '1' + '}' * depth, 'doc') is not None


@pytest.mark.parametrize('depth', [65, 1000, 100000, 1000000])
@pytest.mark.parametrize('error', [ManifestError, LayoutError, ConfigError])
def test_deeper_is_refused_with_the_sites_error(depth: int, error: type) -> None:
    for text in (nested(depth), '{"a":' * depth + '1' + '}' * depth, '[{"a":' * (depth // 2) + '1' + '}]' * (depth // 2 + 0)):
        if text.count('[') + text.count('{') <= 64:
            continue
        with pytest.raises(error, match=r'^doc x is nested deeper than 64 levels$'):
            jsonutil.loads(text.encode('utf-8'), 'doc x', error)


@pytest.mark.parametrize('raw, message', [
    (b'', r'^doc is not valid JSON: Expecting value at line 1 column 1$'),
    (b'{"a": 1,}', r'^doc is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 9$'),
    (b'\xff\xfe{}', r'^doc is not valid JSON: it is not UTF-8 text$'),
    ('{}'.encode('utf-16'), r'^doc is not valid JSON: it is not UTF-8 text$'),
    (b'\xef\xbb\xbf{}', r'^doc is not valid JSON: Unexpected UTF-8 BOM'),
    (b'[1' + b'0' * 5000 + b']', r'^doc is not valid JSON: Exceeds the limit'),
    (b'{"password": "hunter2" x}', r"^doc is not valid JSON: Expecting ',' delimiter at line 1 column 24$"),
])
def test_parse_failures_are_one_line_and_never_quote_the_text(raw: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message) as caught:
        jsonutil.loads(raw, 'doc')
    assert 'hunter2' not in str(caught.value) and '\n' not in str(caught.value)


def test_check_depth_is_iterative_and_ignores_tuples() -> None:
    value: t.Any = 1
    for dummy in range(200000):
        value = [value]
    with pytest.raises(ManifestError, match='nested deeper than 64 levels'):
        jsonutil.check_depth(value, 'doc')
    # gojson objects are lists of (key, value) pairs: the pair is not a level.
    go_object: t.Any = 1
    for dummy in range(32):
        go_object = [('k', [go_object])]
    jsonutil.check_depth(go_object, 'doc')
    with pytest.raises(ManifestError):
        jsonutil.check_depth([go_object], 'doc', limit=64)


def test_json_module_alone_would_recurse() -> None:
    # The reason for the helper: the standard parser gives up with RecursionError, not a message.
    with pytest.raises(RecursionError):
        json.loads(nested(1000000))


def test_within_confines_symlinks_to_the_store(tmp_path: t.Any) -> None:
    store = tmp_path / 'layout'
    (store / 'blobs').mkdir(parents=True)
    (store / 'blobs' / 'real').write_bytes(b'inside')
    (tmp_path / 'secret').write_bytes(b'outside')
    (store / 'blobs' / 'inside').symlink_to('real')
    (store / 'blobs' / 'escape').symlink_to('../../secret')
    (store / 'blobs' / 'absolute').symlink_to(tmp_path / 'secret')
    (tmp_path / 'alias').symlink_to('layout')  # the store itself reached through a link
    assert read_document(str(store / 'blobs' / 'inside'), 100, LayoutError, 'blob', within=str(store)) == b'inside'
    assert read_document(str(tmp_path / 'alias' / 'blobs' / 'inside'), 100, LayoutError, 'blob', within=str(tmp_path / 'alias')) == b'inside'
    for name in ('escape', 'absolute'):
        with pytest.raises(LayoutError, match=r'^blob x is a symbolic link that leads outside %s$' % store):
            open_regular(str(store / 'blobs' / name), LayoutError, 'blob x', within=str(store))
    # Without ``within`` (auth files, which users link), a link anywhere is followed.
    assert read_document(str(store / 'blobs' / 'escape'), 100, ConfigError, 'auth file') == b'outside'
