# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image archive atomically: a temporary file next to its path, fsync, rename.

A reader of the path (skopeo, ``docker load``, another run) sees the previous archive or the new
one, never a torn one, and a failure at any point leaves the previous archive byte-identical. The
temporary file carries the same recognisable prefix as the OCI layout's, so leftovers of a crash
are easy to spot and remove.

Entries are deterministic (uid/gid 0, no user names, mtime 0), so the same image written twice
gives the same bytes. PAX format is used because it has no limit on name length or file size;
Python writes plain ustar headers whenever they suffice, which every tar reader understands.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.fsutil import create_temp_file, fsync_dir
from ansible_collections.ocikit.images.plugins.module_utils.errors import LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX


def entry_info(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = '') -> tarfile.TarInfo:
    """A deterministic header (uid/gid 0, no user names, mtime 0) for one entry."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    return info


class AtomicTarWriter:
    """A tar archive built in a temporary file and renamed over ``path`` by :meth:`commit`.

    ``what`` names the kind of archive in messages. Use it as a context manager: leaving the block
    without ``commit()`` (an exception) removes the temporary file and leaves ``path`` alone. A new
    archive gets mode 0644 less the umask; one that replaces a file keeps that file's mode.
    """

    def __init__(self, path: str, what: str = 'archive') -> None:
        self.path = path
        self.what = what
        self.directory = os.path.dirname(path)
        try:
            mode: int | None = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = None
        self._mode = mode
        self.temp_path, self._handle = create_temp_file(self.directory, TEMP_PREFIX, what)
        self._tar: tarfile.TarFile | None = None
        try:
            self._tar = tarfile.open(fileobj=self._handle, mode='w', format=tarfile.PAX_FORMAT)  # pylint: disable=consider-using-with
        except BaseException:
            self.abort()
            raise

    def _info(self, name: str, kind: bytes, mode: int, size: int = 0, linkname: str = '') -> tarfile.TarInfo:
        return entry_info(name, kind, mode, size, linkname)

    def _add(self, info: tarfile.TarInfo, data: t.BinaryIO | None = None) -> None:
        if self._tar is None:
            raise LayoutError('cannot add %s to %s %s: the writer is closed' % (info.name, self.what, self.path))
        with self._write_errors('cannot write %s to %s %s' % (info.name, self.what, self.path)):
            self._tar.addfile(info, data)

    def add_directory(self, name: str, mode: int = 0o755) -> None:
        """Add a directory entry."""
        self._add(self._info(name, tarfile.DIRTYPE, mode))

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """Add a small file from memory."""
        self._add(self._info(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))

    def add_file(self, name: str, source_path: str, mode: int = 0o644) -> int:
        """Add a file by copying ``source_path`` in chunks; return its size."""
        with self._write_errors('cannot read %s for %s %s' % (source_path, self.what, self.path)):
            handle = open(source_path, 'rb')  # pylint: disable=consider-using-with  # closed below
        with handle:
            size = os.fstat(handle.fileno()).st_size
            self._add(self._info(name, tarfile.REGTYPE, mode, size), handle)
        return size

    def add_symlink(self, name: str, target: str) -> None:
        """Add a symbolic link (mode 0, as Go's archive/tar writes them)."""
        self._add(self._info(name, tarfile.SYMTYPE, 0, linkname=target))

    def commit(self) -> None:
        """Finish the archive, make it durable and rename it over ``path``."""
        if self._tar is None:
            raise LayoutError('cannot commit %s %s: the writer is closed' % (self.what, self.path))
        try:
            with self._write_errors('cannot write %s %s' % (self.what, self.path)):
                self._tar.close()
                self._tar = None
                if self._mode is not None:
                    os.fchmod(self._handle.fileno(), self._mode)
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()
            with self._write_errors('cannot replace %s %s' % (self.what, self.path)):
                os.rename(self.temp_path, self.path)
        except BaseException:
            self.abort()
            raise
        fsync_dir(self.directory)

    def abort(self) -> None:
        """Drop the temporary file; ``path`` is untouched. Safe to call more than once."""
        self._tar = None
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp_path)

    @contextlib.contextmanager
    def _write_errors(self, message: str) -> t.Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise LayoutError('%s: %s' % (message, exc.strerror or exc)) from None

    def __enter__(self) -> 'AtomicTarWriter':
        return self

    def __exit__(self, exc_type: t.Any, *rest: t.Any) -> None:
        if exc_type is not None or self._tar is not None:
            self.abort()


def check_archive_path(path: str, what: str) -> str:
    """The file an archive destination will replace: ``path`` with symlinks resolved.

    Refuses, without writing anything, a path whose directory does not exist or that is a
    directory or another non-regular file (a FIFO or device cannot be replaced atomically).
    Symlinks are followed, as skopeo follows them, so a linked archive is updated where it lives.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise LayoutError('cannot write %s %s: directory %s does not exist' % (what, path, directory))
    if os.path.lexists(target):
        if os.path.isdir(target):
            raise LayoutError('cannot write %s %s: it is a directory' % (what, path))
        if not os.path.isfile(target):
            raise LayoutError('cannot write %s %s: it exists and is not a regular file' % (what, path))
    return target


class TarStream:
    """The same entries as :class:`AtomicTarWriter`, produced as a stream of bytes instead of a file.

    The ``add_*`` calls only record what to write (a file by its path, small files by value);
    :meth:`chunks` then yields the archive, reading each file in chunks as it goes, so an archive
    of any size is sent (e.g. as an HTTP request body) with memory bounded by one chunk. The bytes
    are those ``tarfile`` writes for the same entries in PAX format: headers, data padded to 512
    bytes, two zero blocks, the whole padded to a 10240-byte record.
    """

    def __init__(self, what: str = 'archive', chunk_size: int = 1024 * 1024) -> None:
        self.what = what
        self.chunk_size = chunk_size
        self._entries: list[tuple[tarfile.TarInfo, bytes | str | None]] = []

    def add_directory(self, name: str, mode: int = 0o755) -> None:
        """Record a directory entry."""
        self._entries.append((entry_info(name, tarfile.DIRTYPE, mode), None))

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """Record a small file held in memory."""
        self._entries.append((entry_info(name, tarfile.REGTYPE, mode, len(data)), data))

    def add_file(self, name: str, source_path: str, mode: int = 0o644) -> int:
        """Record a file to be read from ``source_path`` when streamed; return its size."""
        try:
            size = os.stat(source_path).st_size
        except OSError as exc:
            raise LayoutError('cannot read %s for %s: %s' % (source_path, self.what, exc.strerror or exc)) from None
        self._entries.append((entry_info(name, tarfile.REGTYPE, mode, size), source_path))
        return size

    def add_symlink(self, name: str, target: str) -> None:
        """Record a symbolic link (mode 0, as Go's archive/tar writes them)."""
        self._entries.append((entry_info(name, tarfile.SYMTYPE, 0, linkname=target), None))

    def chunks(self) -> t.Iterator[bytes]:
        """The archive's bytes; a file that changed size since it was recorded fails the stream (LayoutError)."""
        total = 0
        for info, data in self._entries:
            header = info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, 'surrogateescape')
            total += len(header)
            yield header
            if isinstance(data, bytes):
                yield data
            elif isinstance(data, str):
                yield from self._file_chunks(info, data)
            padding = -info.size % tarfile.BLOCKSIZE
            total += info.size + padding
            if padding:
                yield tarfile.NUL * padding
        end = 2 * tarfile.BLOCKSIZE
        end += -(total + end) % tarfile.RECORDSIZE
        yield tarfile.NUL * end

    def _file_chunks(self, info: tarfile.TarInfo, path: str) -> t.Iterator[bytes]:
        sent = 0
        try:
            with open(path, 'rb') as handle:
                while sent < info.size:
                    block = handle.read(min(self.chunk_size, info.size - sent))
                    if not block:
                        break
                    sent += len(block)
                    yield block
        except OSError as exc:
            raise LayoutError('cannot read %s for %s: %s' % (path, self.what, exc.strerror or exc)) from None
        if sent != info.size:
            # The header already promised info.size bytes: a short file would misalign every later entry.
            raise LayoutError('cannot send %s in %s: %s shrank to %d bytes while it was sent (%d expected)'
                              % (info.name, self.what, path, sent, info.size))
