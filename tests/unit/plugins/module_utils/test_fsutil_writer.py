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


# -- writeback: a durable file is sent on to disk as it grows ------------------------------------------

def record_writeback(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    calls: list[tuple[int, int, int]] = []
    monkeypatch.setattr(fsutil, 'start_writeback', lambda fd, offset, length: calls.append((fd, offset, length)))
    return calls


def test_a_durable_writer_starts_writeback_every_step(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_writeback(monkeypatch)
    monkeypatch.setattr(fsutil, 'WRITEBACK_STEP', 1024 * 1024)
    data = os.urandom(5 * 1024 * 1024 + 1000)
    with open_writer(str(tmp_path / 'durable'), 'xb', writeback=True) as handle:
        for start in range(0, len(data), 300 * 1024):  # chunks that do not line up with the step
            handle.write(data[start:start + 300 * 1024])
        fd = handle.fileno()
    assert (tmp_path / 'durable').read_bytes() == data
    assert calls and all(call[0] == fd for call in calls)
    ranges = [(offset, length) for dummy, offset, length in calls]
    assert ranges[0][0] == 0 and all(length >= 1024 * 1024 for dummy, length in ranges)
    assert all(a[0] + a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # contiguous, each range once
    assert len(data) - (ranges[-1][0] + ranges[-1][1]) < 1024 * 1024  # the rest is the final fsync's


def test_spools_and_temp_files(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_writeback(monkeypatch)
    monkeypatch.setattr(fsutil, 'WRITEBACK_STEP', 64 * 1024)
    with open_writer(str(tmp_path / 'spool'), 'xb') as spool:  # read back and removed: never sent on to disk
        spool.write(os.urandom(512 * 1024))
    assert calls == []
    path, handle = create_temp_file(str(tmp_path), 'x-')  # every caller fsyncs and renames it
    with handle:
        for dummy in range(8):
            handle.write(os.urandom(64 * 1024))
    assert [call[1:] for call in calls] == [(number * 64 * 1024, 64 * 1024) for number in range(8)] and os.path.getsize(path) == 512 * 1024


def test_start_writeback_is_the_kernel_call_on_linux(tmp_path: t.Any) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    fsutil.start_writeback(null, 0, 1)  # resolved once; errors (ESPIPE, EINVAL) ignored
    os.close(null)
    function = fsutil._SYNC_FILE_RANGE[0]
    if not os.uname().sysname == 'Linux':
        assert function is None
        return
    assert function is not None
    path = tmp_path / 'file'
    path.write_bytes(os.urandom(1024 * 1024))
    fd = os.open(str(path), os.O_RDWR)
    try:
        assert function(fd, 0, 1024 * 1024, 2) == 0  # SYNC_FILE_RANGE_WRITE on a regular file succeeds
        read_fd, write_fd = os.pipe()
        assert function(read_fd, 0, 10, 2) == -1  # a pipe: ESPIPE, and start_writeback ignores it
        fsutil.start_writeback(read_fd, 0, 10)
        os.close(read_fd)
        os.close(write_fd)
    finally:
        os.close(fd)
