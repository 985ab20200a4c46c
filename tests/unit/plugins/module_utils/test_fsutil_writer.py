# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fsutil.open_writer: blob bytes reach the kernel in writes of at most WRITE_PIECE bytes, all of them, in order."""

from __future__ import annotations

import hashlib
import io
import os
import types
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils import fsutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import WRITE_PIECE, PiecewiseWriter, create_temp_file, open_writer
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import Layout


class RecordingRaw(io.RawIOBase):
    """A raw stream that keeps what it was given and the size of every write."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.sizes: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, b: t.Any) -> int:
        view = memoryview(b)
        self.sizes.append(view.nbytes)
        self.data += view.cast('B') if view.format != 'B' else view
        return view.nbytes


@pytest.mark.parametrize('make', [bytes, bytearray, memoryview, lambda data: memoryview(data).cast('I')],
                         ids=['bytes', 'bytearray', 'memoryview', 'memoryview-of-ints'])
def test_large_writes_are_cut_into_pieces(make: t.Callable[[bytes], t.Any]) -> None:
    data = os.urandom(3 * 1024 * 1024 + 4 * 7)  # a multiple of 4, so that the 'I' cast works
    raw = RecordingRaw()
    writer = PiecewiseWriter(raw)
    assert writer.write(make(data)) == len(data)
    writer.flush()
    assert bytes(raw.data) == data
    assert max(raw.sizes) <= WRITE_PIECE
    assert len(raw.sizes) == -(-len(data) // WRITE_PIECE)


def test_small_writes_are_still_buffered() -> None:
    raw = RecordingRaw()
    writer = PiecewiseWriter(raw)
    for number in range(1000):
        writer.write(b'%04d' % number)
    writer.write(b'x' * WRITE_PIECE)  # exactly one piece: passed on whole
    writer.flush()
    assert bytes(raw.data) == b''.join(b'%04d' % number for number in range(1000)) + b'x' * WRITE_PIECE
    assert len(raw.sizes) < 10


def test_open_writer_takes_a_descriptor_or_a_new_path(tmp_path: t.Any) -> None:
    path = str(tmp_path / 'blob')
    with open_writer(path, 'xb') as handle:
        assert isinstance(handle, PiecewiseWriter)
        handle.write(b'a' * (WRITE_PIECE * 2 + 1))
    assert os.path.getsize(path) == WRITE_PIECE * 2 + 1
    with pytest.raises(FileExistsError):
        open_writer(path, 'xb')
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    with open_writer(fd) as handle:
        handle.write(b'b')
    with open(path, 'rb') as check:
        assert check.read() == b'b'
    with pytest.raises(OSError):
        os.fstat(fd)  # the writer owned the descriptor and closed it


def test_layout_blobs_are_written_in_pieces(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real writer of an OCI layout, given one 3 MiB chunk (as a registry body or a file read hands it over)."""
    sizes: list[int] = []

    class RecordingFileIO(io.FileIO):
        def write(self, b: t.Any) -> int:
            sizes.append(memoryview(b).nbytes)
            return super().write(b)

    monkeypatch.setattr(fsutil, 'io', types.SimpleNamespace(FileIO=RecordingFileIO))
    data = os.urandom(3 * 1024 * 1024)
    digest = Digest('sha256:' + hashlib.sha256(data).hexdigest())
    layout = Layout(str(tmp_path / 'layout'))
    os.makedirs(layout.path)
    assert layout.write_blob([data], digest, len(data)) == len(data)
    with open(layout.blob_path(digest), 'rb') as handle:
        assert handle.read() == data
    assert sizes and max(sizes) <= WRITE_PIECE and sum(sizes) == len(data)


def test_temp_files_are_piecewise_writers(tmp_path: t.Any) -> None:
    path, handle = create_temp_file(str(tmp_path), 'x-')
    with handle:
        assert isinstance(handle, PiecewiseWriter)
    assert os.path.exists(path)
