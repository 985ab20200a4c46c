# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading tar archives that come from outside (``oci-archive:``, ``docker-archive:``) safely.

An archive is hostile input. :class:`SafeTarReader` never extracts it: it indexes the headers once
and reads members by offset (``os.pread``) from the one open file, so nothing is ever written to
disk by a name the archive chose. Indexing refuses the whole archive, naming it and the entry, when
an entry:

- has an absolute name, or a ``..`` component anywhere (even ``a/../b``, which would stay inside:
  no writer we know produces one, and refusing is simpler to reason about than resolving);
- is a character or block device, a FIFO, a sparse file, or of a type tar readers disagree on;
- appears twice (after ``./`` and ``//`` are normalised away), since which copy a reader takes
  differs between tools: the copy we verify must be the copy others load;
- claims more bytes than the file holds (a truncated archive), or a non-file entry claims data
  (a classic way to hide a header from one parser and show it to another);
- is followed by bytes that are neither a header nor the end-of-archive marker.

Links are where archives and policies differ, so the caller chooses:

- ``allow_links=False`` (OCI archives): every symbolic or hard link is refused. An OCI layout is
  content-addressed regular files; skopeo, umoci and buildah never put a link in one.
- ``allow_links=True`` (docker archives): a link is accepted only as an alias inside the archive.
  containers/image writes ``<id>/layer.tar -> ../<hex>.tar`` symlinks and ``docker save`` links a
  layer shared by two images, so refusing links would refuse archives skopeo itself writes. Each
  link target is resolved lexically against the archive's own names, never against a filesystem;
  one that is absolute, climbs above the archive root, dangles, or names a directory or another
  link is refused while indexing. A link therefore can never reach a file outside the archive.

Compressed archives (``docker save | gzip``, also bzip2, xz and, with the ``zstandard`` package,
zstd) are decompressed once, as a stream, into an unnamed temporary file (``TMPDIR``), which is
then indexed like a plain archive and disappears when the reader closes. An archive that is not a
regular file (a pipe) is copied the same way. Reading from a plain archive touches no other file.
A compressed archive may expand to MAX_EXPANSION times its compressed size (beyond the first
EXPANSION_ALLOWANCE bytes): image archives compress a few times at most, while a compression bomb
(zeros, a thousandfold and more) would otherwise fill the temporary directory; it is refused as
soon as it passes the bound.
"""

from __future__ import annotations

import bz2
import contextlib
import dataclasses
import gzip
import lzma
import os
import stat
import tarfile
import tempfile
import threading
import typing as t
import zlib

from ansible_collections.ocikit.images.plugins.module_utils.digest import CHUNK_SIZE
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ImageNotFoundError,
    LayoutError,
    ManifestTooLargeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import WRITE_PIECE

#: Entries an archive may hold; an image archive has a few per blob, so this only stops abuse.
MAX_MEMBERS = 100000
#: The largest single read while indexing: PAX and GNU long-name headers are read whole, so a
#: header claiming gigabytes must not be. Go's archive/tar has the same 1 MiB bound.
MAX_HEADER_READ = 1024 * 1024
#: How many times its compressed size a compressed archive may expand to. Layers are compressed
#: already, so real archives expand little; zeros in gzip expand ~1000 times, in zstd far more.
MAX_EXPANSION = 100
#: Decompressed bytes always allowed, whatever the ratio (a small archive of sparse files).
EXPANSION_ALLOWANCE = 64 * 1024 * 1024

BLOCK_SIZE = tarfile.BLOCKSIZE

# Magic numbers of the stream compressions containers/image's AutoDecompress detects.
COMPRESSION_MAGIC = (
    ('gzip', b'\x1f\x8b'),
    ('bzip2', b'BZh'),
    ('xz', b'\xfd7zXZ\x00'),
    ('zstd', b'\x28\xb5\x2f\xfd'),
)
MAGIC_LENGTH = 6

_KIND_NAMES = {
    tarfile.CHRTYPE: 'a character device',
    tarfile.BLKTYPE: 'a block device',
    tarfile.FIFOTYPE: 'a FIFO',
    tarfile.GNUTYPE_SPARSE: 'a sparse file',
}


def detect_compression(head: bytes) -> str | None:
    """The compression whose magic number ``head`` starts with (``gzip``, ...), or None."""
    for name, magic in COMPRESSION_MAGIC:
        if head.startswith(magic):
            return name
    return None


@dataclasses.dataclass(frozen=True)
class ArchiveMember:
    """One indexed entry: a normalised name, what it is, and where its data lies.

    ``kind`` is ``file``, ``directory``, ``symlink`` or ``hardlink``. For links, ``target`` is the
    normalised archive name the link resolves to (always a ``file`` entry of the same archive).
    """

    name: str
    kind: str
    offset: int = 0
    size: int = 0
    target: str | None = None


def normalize_member_name(name: str) -> str | None:
    """The archive-relative form of ``name`` (``./a//b/`` -> ``a/b``; ``.`` -> ``''``), or None when unsafe.

    Unsafe means absolute, empty, holding a NUL, or holding a ``..`` component.
    """
    if not name or '\x00' in name or name.startswith('/'):
        return None
    parts = name.split('/')
    if '..' in parts:
        return None
    return '/'.join(part for part in parts if part not in ('', '.'))


def quote(value: str, limit: int = 200) -> str:
    """``value`` in double quotes for a message, control characters escaped, clipped."""
    text = value if value.isprintable() else value.encode('unicode_escape').decode('ascii')
    if len(text) > limit:
        text = text[:limit] + '...'
    return '"%s"' % text


class SafeTarReader:
    """A tar archive opened for reading by offset; see the module docstring for what it refuses.

    ``what`` names the kind of archive in messages (``OCI archive``). The reader is safe to use
    from several threads: reads are positional and never move a shared file offset.
    """

    def __init__(self, path: str, what: str = 'archive', allow_links: bool = False, max_members: int = MAX_MEMBERS) -> None:
        self.path = path
        self.what = what
        self.allow_links = allow_links
        self.max_members = max_members
        #: The compression the archive file had (``gzip``, ...), None when it was a plain tar.
        self.compression: str | None = None
        self.members: dict[str, ArchiveMember] = {}
        self._lock = threading.Lock()
        self._handle: t.BinaryIO | None = None
        self._size = 0
        handle = self._open()
        try:
            self._handle = self._plain_tar(handle)
        finally:
            if self._handle is not handle:
                handle.close()
        try:
            self._size = os.fstat(self._handle.fileno()).st_size
            self._index()
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> t.BinaryIO:
        try:
            return open(self.path, 'rb')  # pylint: disable=consider-using-with  # kept open until close()
        except FileNotFoundError:
            raise ImageNotFoundError('%s %s does not exist' % (self.what, self.path)) from None
        except IsADirectoryError:
            raise LayoutError('%s %s is a directory, not a tar archive' % (self.what, self.path)) from None
        except OSError as exc:
            raise LayoutError('cannot open %s %s: %s' % (self.what, self.path, exc.strerror or exc)) from None

    def _plain_tar(self, handle: t.BinaryIO) -> t.BinaryIO:
        """A seekable handle on the uncompressed tar: ``handle`` itself, or a temporary copy."""
        with self._read_errors():
            regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
            head = handle.read(MAGIC_LENGTH)
            if regular:
                handle.seek(0)
        self.compression = detect_compression(head)
        if regular and self.compression is None:
            return handle
        return self._spool(handle, head if not regular else b'')

    def _spool(self, handle: t.BinaryIO, head: bytes) -> t.BinaryIO:
        """Copy (and decompress) the archive into an unnamed temporary file, as a stream."""
        counted = _PrefixedReader(head, handle)
        source: t.Any = counted
        # What a decompressor raises on bad input; zstandard has its own exception type.
        failures: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)
        if self.compression == 'gzip':
            source = gzip.GzipFile(fileobj=source, mode='rb')
        elif self.compression == 'bzip2':
            source = bz2.BZ2File(source, mode='rb')
        elif self.compression == 'xz':
            source = lzma.LZMAFile(source, mode='rb')
        elif self.compression == 'zstd':
            try:
                import zstandard  # pylint: disable=import-outside-toplevel
            except ImportError:
                raise LayoutError('%s %s is zstd-compressed; reading it needs the Python package zstandard '
                                  '(or decompress it first with zstd -d)' % (self.what, self.path)) from None
            source = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
            failures += (zstandard.ZstdError,)
        try:
            spool = tempfile.TemporaryFile()  # pylint: disable=consider-using-with  # owned by the reader
        except OSError as exc:
            raise LayoutError('cannot create a temporary file to read %s %s: %s' % (self.what, self.path, exc.strerror or exc)) from None
        written = 0
        try:
            while True:
                try:
                    # WRITE_PIECE, not CHUNK_SIZE: each block is one write to the spool (see fsutil.WRITE_PIECE).
                    block = source.read(WRITE_PIECE)
                except failures as exc:
                    action = 'decompress (%s)' % self.compression if self.compression else 'read'
                    raise LayoutError('cannot %s %s %s: %s' % (action, self.what, self.path, _describe_read_error(exc))) from None
                if not block:
                    break
                written += len(block)
                if self.compression and written > EXPANSION_ALLOWANCE and written > MAX_EXPANSION * counted.consumed:
                    # A genuine archive this compressible (huge zero-filled files) can still be read
                    # once decompressed by hand: plain archives are read in place, without this bound.
                    raise LayoutError('refusing %s %s: it expands more than %d times its %s-compressed size (a decompression bomb?); '
                                      'if it is genuine, decompress it first and use the plain archive'
                                      % (self.what, self.path, MAX_EXPANSION, self.compression))
                try:
                    spool.write(block)
                except OSError as exc:
                    raise LayoutError('cannot write a temporary copy of %s %s: %s' % (self.what, self.path, exc.strerror or exc)) from None
            spool.flush()
        except BaseException:
            spool.close()
            raise
        return t.cast(t.BinaryIO, spool)

    # -- indexing ------------------------------------------------------------------------------

    def _index(self) -> None:
        if self._handle is None:  # pragma: no cover - _index runs right after the archive is opened
            raise LayoutError('internal error: %s is not open' % self.path)
        self._handle.seek(0)
        last = None
        try:
            with tarfile.open(fileobj=t.cast(t.IO[bytes], _HeaderReader(self, self._handle)), mode='r:') as archive:
                for count, info in enumerate(archive, 1):
                    if count > self.max_members:
                        raise LayoutError('refusing %s %s: it has more than %d entries' % (self.what, self.path, self.max_members))
                    member = self._check(info)
                    last = info.name
                    if member is not None:
                        self.members[member.name] = member
                end = archive.offset
        except (tarfile.TarError, ValueError, EOFError) as exc:
            # tarfile reports some malformed headers (a bad PAX sparse map) as ValueError.
            if last is None:
                raise LayoutError('%s %s is not a tar archive: %s' % (self.what, self.path, exc)) from None
            raise LayoutError('%s %s is truncated or corrupt after entry %s: %s' % (self.what, self.path, quote(last), exc)) from None
        except OSError as exc:
            raise LayoutError('cannot read %s %s: %s' % (self.what, self.path, exc.strerror or exc)) from None
        self._check_end(end, last)
        self._resolve_links()

    def _refuse(self, name: str, problem: str) -> LayoutError:
        return LayoutError('refusing %s %s: entry %s %s' % (self.what, self.path, quote(name), problem))

    def _check(self, info: tarfile.TarInfo) -> ArchiveMember | None:
        """Validate one header; return its member (None for the archive root ``./``)."""
        raw = info.name
        if raw.startswith('/'):
            raise self._refuse(raw, 'has an absolute path')
        name = normalize_member_name(raw)
        if name is None:
            if '..' in raw.split('/'):
                raise self._refuse(raw, 'has a ".." path component')
            raise self._refuse(raw, 'has an empty or invalid name')
        if info.type in _KIND_NAMES or info.issparse():
            raise self._refuse(raw, 'is %s; image archives hold only regular files and directories'
                               % _KIND_NAMES.get(info.type, 'a sparse file'))
        if info.isreg():
            kind = 'file'
        elif info.isdir():
            kind = 'directory'
        elif info.issym():
            kind = 'symlink'
        elif info.islnk():
            kind = 'hardlink'
        else:
            raise self._refuse(raw, 'has the unsupported entry type %r' % info.type.decode('ascii', 'replace'))
        if kind != 'file' and info.size:
            raise self._refuse(raw, 'is a %s but declares %d bytes of data' % (kind, info.size))
        if not name:
            if kind != 'directory':
                raise self._refuse(raw, 'names the archive root but is not a directory')
            return None
        if name in self.members:
            raise self._refuse(raw, 'appears more than once (as %s)' % quote(name))
        if kind == 'file':
            end = info.offset_data + info.size
            if end > self._size:
                raise LayoutError('%s %s is truncated: entry %s declares %d bytes, but the file ends %d bytes into it'
                                  % (self.what, self.path, quote(raw), info.size, max(0, self._size - info.offset_data)))
            return ArchiveMember(name=name, kind=kind, offset=info.offset_data, size=info.size)
        if kind == 'directory':
            return ArchiveMember(name=name, kind=kind)
        return ArchiveMember(name=name, kind=kind, target=self._link_target(raw, name, kind, info.linkname))

    def _link_target(self, raw: str, name: str, kind: str, linkname: str) -> str:
        """The normalised archive name a link points at; refuse links leaving the archive."""
        description = 'a symbolic link to %s' % quote(linkname) if kind == 'symlink' else 'a hard link to %s' % quote(linkname)
        if not self.allow_links:
            raise self._refuse(raw, 'is %s; %ss hold only regular files and directories' % (description, self.what))
        if not linkname or '\x00' in linkname:
            raise self._refuse(raw, 'is a link without a target')
        if linkname.startswith('/'):
            raise self._refuse(raw, 'is %s, which is absolute and leads outside the archive' % description)
        # A symlink is relative to its own directory; a hard link names an archive entry.
        base = name.split('/')[:-1] if kind == 'symlink' else []
        resolved = list(base)
        for part in linkname.split('/'):
            if part in ('', '.'):
                continue
            if part == '..':
                if not resolved:
                    raise self._refuse(raw, 'is %s, which leads outside the archive' % description)
                resolved.pop()
                continue
            resolved.append(part)
        if not resolved:
            raise self._refuse(raw, 'is %s, which names the archive root' % description)
        return '/'.join(resolved)

    def _check_end(self, end: int, last: str | None) -> None:
        """Only an end-of-archive marker (or nothing, as Go's reader accepts) may follow the last entry."""
        if end >= self._size:
            return
        block = self._pread(end, min(BLOCK_SIZE, self._size - end))
        if len(block) < BLOCK_SIZE or block.strip(b'\x00'):
            after = 'after entry %s' % quote(last) if last is not None else 'at its start'
            raise LayoutError('%s %s is truncated or corrupt: unreadable data at offset %d %s' % (self.what, self.path, end, after))

    def _resolve_links(self) -> None:
        for member in list(self.members.values()):
            if member.target is None:
                continue
            target = self.members.get(member.target)
            if target is None:
                raise self._refuse(member.name, 'is a link to %s, which is not in the archive' % quote(member.target))
            if target.kind != 'file':
                raise self._refuse(member.name, 'is a link to %s, which is a %s, not a regular file' % (quote(member.target), target.kind))

    # -- reading -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Normalised names of every entry, in archive order."""
        return list(self.members)

    def find(self, name: str) -> ArchiveMember | None:
        """The regular file entry ``name`` means (following one link), or None when there is none.

        ``name`` is normalised as entry names are; an unsafe name finds nothing.
        """
        normalized = normalize_member_name(name)
        if not normalized:
            return None
        member = self.members.get(normalized)
        if member is not None and member.target is not None:
            member = self.members[member.target]
        if member is None or member.kind != 'file':
            return None
        return member

    def read_head(self, member: ArchiveMember, length: int = MAGIC_LENGTH) -> bytes:
        """The first ``length`` bytes of a member (fewer if it is shorter)."""
        return self._pread(member.offset, min(length, member.size), member.name)

    def read_member(self, member: ArchiveMember, limit: int, what: str) -> bytes:
        """A small member read whole; ManifestTooLargeError when it exceeds ``limit``."""
        if member.size > limit:
            where = '%s in %s %s' % (member.name, self.what, self.path)
            # "index.json in OCI archive X", not "index.json (index.json in OCI archive X)".
            label = where if what == member.name else '%s (%s)' % (what, where)
            raise ManifestTooLargeError('%s is %d bytes, over the %d byte limit' % (label, member.size, limit))
        return self._pread(member.offset, member.size, member.name)

    def iter_member(self, member: ArchiveMember, chunk_size: int = CHUNK_SIZE) -> t.Iterator[bytes]:
        """The member's data in chunks; memory stays flat whatever its size."""
        position, end = member.offset, member.offset + member.size
        while position < end:
            block = self._pread(position, min(chunk_size, end - position), member.name)
            position += len(block)
            yield block

    def _pread(self, offset: int, length: int, name: str | None = None) -> bytes:
        handle = self._handle
        try:
            fd = handle.fileno() if handle is not None else -1
        except ValueError:  # closed by another thread meanwhile
            fd = -1
        if fd < 0:
            raise LayoutError('%s %s is already closed' % (self.what, self.path))
        parts = []
        remaining = length
        with self._read_errors():
            while remaining > 0:
                block = os.pread(fd, remaining, offset + length - remaining)
                if not block:
                    entry = ' (entry %s)' % quote(name) if name is not None else ''
                    raise LayoutError('%s %s ended early at offset %d%s: it changed or was truncated while being read'
                                      % (self.what, self.path, offset + length - remaining, entry))
                parts.append(block)
                remaining -= len(block)
        return b''.join(parts)

    @contextlib.contextmanager
    def _read_errors(self) -> t.Iterator[None]:
        """Turn an OSError while reading into a LayoutError naming the archive."""
        try:
            yield
        except OSError as exc:
            raise LayoutError('cannot read %s %s: %s' % (self.what, self.path, exc.strerror or exc)) from None

    def close(self) -> None:
        """Close the archive (a temporary decompressed copy disappears with it)."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def __enter__(self) -> 'SafeTarReader':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()


class _HeaderReader:
    """The file as tarfile sees it while indexing: reads larger than MAX_HEADER_READ are refused."""

    def __init__(self, reader: SafeTarReader, handle: t.BinaryIO) -> None:
        self.reader = reader
        self.handle = handle

    def read(self, size: int = -1) -> bytes:
        """Read ``size`` bytes; tarfile asks only for headers here, never for member data."""
        if size is None or size < 0 or size > MAX_HEADER_READ:
            raise LayoutError('refusing %s %s: an extended tar header at offset %d claims %s bytes (the limit is %d)'
                              % (self.reader.what, self.reader.path, self.handle.tell(), size if size and size >= 0 else 'all remaining',
                                 MAX_HEADER_READ))
        return self.handle.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the position, as the file does."""
        return self.handle.seek(offset, whence)

    def tell(self) -> int:
        """The position in the file."""
        return self.handle.tell()


class _PrefixedReader:
    """A file-like ``read()`` that returns ``head`` (already read from ``handle``) and then the rest."""

    def __init__(self, head: bytes, handle: t.BinaryIO) -> None:
        self.head = head
        self.handle = handle
        #: Bytes handed out so far: the compressed size a decompressor has consumed (and buffered).
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when ``size`` is negative)."""
        if self.head:
            if size is None or size < 0:
                data, self.head = self.head + self.handle.read(), b''
            else:
                data, self.head = self.head[:size], self.head[size:]
        else:
            data = self.handle.read(size)
        self.consumed += len(data)
        return data

    def readable(self) -> bool:
        """Always True: this is a reader."""
        return True


def _describe_read_error(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return 'the compressed data is truncated'
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
