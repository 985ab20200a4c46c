# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tar_writer.TarStream: the archive a docker-daemon destination sends is the one the docker-archive destination writes."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import AtomicTarWriter, TarStream


def _entries(writer: t.Any, tmp_path: t.Any) -> None:
    big = tmp_path / 'big.bin'
    big.write_bytes(bytes(range(256)) * 4099)  # not a multiple of 512: padding
    writer.add_directory('dir')
    writer.add_file('layer.tar', str(big), 0o444)
    writer.add_bytes('small.json', b'{"a":1}', 0o444)
    writer.add_symlink('id/layer.tar', '../layer.tar')
    writer.add_bytes('x' * 150 + '/long-name', b'pax header for a long name')
    writer.add_bytes('empty', b'')


def test_stream_is_byte_identical_to_the_file(tmp_path: t.Any) -> None:
    target = tmp_path / 'out.tar'
    with AtomicTarWriter(str(target), 'test archive') as writer:
        _entries(writer, tmp_path)
        writer.commit()
    stream = TarStream('test archive', chunk_size=1000)
    _entries(stream, tmp_path)
    chunks = list(stream.chunks())
    assert b''.join(chunks) == target.read_bytes()
    # Streamed in bounded chunks, never the whole file at once.
    assert max(len(chunk) for chunk in chunks) <= 10240


def test_a_file_that_shrinks_fails_the_stream(tmp_path: t.Any) -> None:
    path = tmp_path / 'blob'
    path.write_bytes(b'a' * 2000)
    stream = TarStream('the archive sent to docker-daemon:x:1')
    stream.add_file('blob.tar', str(path))
    path.write_bytes(b'a' * 100)
    with pytest.raises(LayoutError) as info:
        b''.join(stream.chunks())
    assert info.value.message == ('cannot send blob.tar in the archive sent to docker-daemon:x:1: %s shrank to 100 bytes while it was sent '
                                  '(2000 expected)' % path)


def test_a_missing_file_is_named(tmp_path: t.Any) -> None:
    stream = TarStream('the archive')
    with pytest.raises(LayoutError, match='^cannot read %s for the archive: No such file or directory$' % (tmp_path / 'nope')):
        stream.add_file('x', str(tmp_path / 'nope'))
