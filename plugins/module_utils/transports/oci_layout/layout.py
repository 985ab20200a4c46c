# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The files of an OCI image layout: ``oci-layout``, ``index.json`` and ``blobs/<alg>/<hex>``.

Everything that touches the layout's files goes through :class:`Layout`, so that the rules live in
one place:

- Reads are bounded: ``index.json`` and ``oci-layout`` at 4 MiB, manifests by their caller.
- Every write is atomic: a temporary file in the layout directory, fsync, rename, fsync of the
  directory. A reader (skopeo, umoci, another run of this code) sees the old file or the new one,
  never a torn one.
- Temporary files live in the layout's top directory, never under ``blobs/``: ``umoci gc`` treats
  every entry of ``blobs/sha256`` as a blob and aborts on a name that is not a digest, so a
  temporary file there (in flight, or left by a crash) would break it. Top-level entries it does
  not know are ignored by umoci and skopeo alike. containers/image makes the same choice.
- ``index.json`` is read-modified-written only under an exclusive ``flock`` on
  ``<layout>/.index.json.lock``. The lock cannot be ``index.json`` itself, because the atomic
  rename replaces that inode and a second writer would lock the new file while the first still
  holds the old one. The lock file sits inside the layout, rather than beside it, because the
  layout directory is the one place we know we may write, it moves and is deleted with the
  layout, and it cannot collide with the lock of another layout. It is hidden, empty, never
  deleted (deleting a lock file reopens the race it prevents) and ignored by skopeo and umoci
  (checked with ``umoci gc``/``umoci stat`` and ``skopeo inspect``). The lock is advisory:
  readers never take it, and need not, since every file they read is replaced atomically. The
  lock file is opened without following symlinks (``fsutil.exclusive_lock``).
- Blob garbage collection (``image_delete``) and blob reuse by a writer are made safe together
  with *pins*. A writer (``OCILayoutDestination``) hard-links every blob it writes or decides to
  reuse into its own pin directory (``.ocikit-tmp-<random>/`` in the top directory) before it
  relies on it; a written blob is pinned while it still has its temporary name, so there is no
  moment when it exists only under its digest name. Garbage collection runs under the index
  lock and may unlink a pinned blob's name in ``blobs/`` (it cannot see in-flight writers), but
  the pin keeps the content alive. At commit, under the same lock, the writer checks every blob
  of the new image and links a vanished one back from its pin before index.json names the image;
  once the entry is in index.json, later collections see the blob as reachable. A blob that could
  not be pinned (a filesystem without hard links, a shared blob directory on another filesystem)
  is only checked, and a vanished one fails the commit with nothing written to index.json. Blobs
  in a shared blob directory are never collected, so there only the check applies. Nobody waits
  on anybody: a delete never blocks on a long copy, and a copy never fails because of a delete.
- A killed run leaves temporary files and pin directories behind. Each is held under a shared
  ``flock`` while its writer lives, so the first write to a layout sweeps those that are older
  than ``fsutil.STALE_AFTER`` and locked by nobody (``fsutil.sweep_stale_temps``).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    create_temp_file,
    exclusive_lock,
    fsync_dir,
    open_regular,
    read_document,
    sweep_stale_temps,
    unlink_quietly,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import CHUNK_SIZE, Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor

OCI_LAYOUT_FILE = 'oci-layout'
INDEX_FILE = 'index.json'
BLOBS_DIR = 'blobs'
LOCK_FILE = '.index.json.lock'
IMAGE_LAYOUT_VERSION = '1.0.0'
REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'
MAX_INDEX_SIZE = 4 * 1024 * 1024

#: Prefix of our temporary files, so that leftovers are recognisable as ours.
TEMP_PREFIX = '.ocikit-tmp-'

#: Media types a name in index.json may point at for us to read it.
READABLE_MANIFEST_TYPES = mt.SINGLE_IMAGE_TYPES + mt.INDEX_TYPES

_EMPTY_INDEX: dict[str, t.Any] = {'schemaVersion': 2, 'manifests': []}


class TempFiles:
    """A thread-safe record of the temporary files a writer has open, to remove them on close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[str] = set()

    def add(self, path: str) -> None:
        """Remember ``path``."""
        with self._lock:
            self._paths.add(path)

    def discard(self, path: str) -> None:
        """Forget ``path`` (it was renamed into place or removed)."""
        with self._lock:
            self._paths.discard(path)

    def remove_all(self) -> None:
        """Delete every remembered file that still exists."""
        with self._lock:
            paths, self._paths = self._paths, set()
        for path in paths:
            unlink_quietly(path)


class Layout:
    """One OCI image layout directory. ``path`` must be absolute."""

    def __init__(self, path: str, shared_blob_dir: str | None = None) -> None:
        self.path = path
        self.index_path = os.path.join(path, INDEX_FILE)
        self.layout_file_path = os.path.join(path, OCI_LAYOUT_FILE)
        # A shared blob directory holds ALGORITHM/HEX for several layouts, as containers/image's SharedBlobDirPath.
        self.blobs_path = os.path.abspath(shared_blob_dir) if shared_blob_dir else os.path.join(path, BLOBS_DIR)
        self.lock_path = os.path.join(path, LOCK_FILE)

    # -- paths ---------------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> str:
        """``<layout>/blobs/<algorithm>/<hex>``; safe because Digest validated both parts."""
        return os.path.join(self.blobs_path, digest.algorithm, digest.hex)

    # -- reading -------------------------------------------------------------------------------

    def check_readable(self) -> None:
        """Fail unless the directory exists and looks like a layout (index.json is present)."""
        if not os.path.exists(self.path):
            raise ImageNotFoundError('OCI layout %s does not exist' % self.path)
        if not os.path.isdir(self.path):
            raise LayoutError('OCI layout %s is not a directory' % self.path)
        if not os.path.exists(self.index_path):
            # Only absence is judged here; a FIFO or device in its place is refused by name when read.
            raise LayoutError('%s is not an OCI layout: %s is missing' % (self.path, INDEX_FILE))
        if os.path.exists(self.layout_file_path):
            self.read_layout_version()

    def read_layout_version(self) -> str:
        """Return ``imageLayoutVersion`` from ``oci-layout``; only 1.x is understood."""
        data = _load_json(self.layout_file_path, MAX_INDEX_SIZE)
        version = data.get('imageLayoutVersion') if isinstance(data, dict) else None
        if not isinstance(version, str):
            raise LayoutError('%s: imageLayoutVersion is missing or not a string' % self.layout_file_path)
        if version.split('.', 1)[0] != '1':
            raise LayoutError('%s: unsupported imageLayoutVersion %r (this version reads 1.x)' % (self.layout_file_path, version))
        return version

    def read_index(self) -> dict[str, t.Any]:
        """Return index.json as a dict whose ``manifests`` is a list of objects.

        Entries are kept as the raw objects they are, so that a rewrite preserves fields this code
        does not know; :func:`find_descriptor` validates the entry it selects.
        """
        try:
            data = _load_json(self.index_path, MAX_INDEX_SIZE)
        except FileNotFoundError:
            raise LayoutError('%s is not an OCI layout: %s is missing' % (self.path, INDEX_FILE)) from None
        if not isinstance(data, dict):
            raise LayoutError('%s is not a JSON object' % self.index_path)
        if data.get('schemaVersion') != 2:
            raise LayoutError('%s has schemaVersion %r, expected 2' % (self.index_path, data.get('schemaVersion')))
        manifests = data.get('manifests')
        if manifests is None:
            # Go's encoding/json writes an empty slice as null; treat it as empty, as Go readers do.
            manifests = data['manifests'] = []
        if not isinstance(manifests, list) or not all(isinstance(entry, dict) for entry in manifests):
            raise LayoutError('%s: manifests must be a list of objects' % self.index_path)
        return data

    def open_blob(self, digest: Digest) -> t.BinaryIO:
        """Open a blob for reading; BlobNotFoundError when it is absent."""
        path = self.blob_path(digest)
        try:
            # A FIFO or device under blobs/ is refused at once rather than blocking or never ending.
            return open_regular(path, LayoutError, 'blob path %s' % path, within=self.path)
        except FileNotFoundError:
            raise BlobNotFoundError('blob %s not found in OCI layout %s' % (digest, self.path)) from None

    def read_blob(self, digest: Digest, limit: int, what: str, size: int = -1) -> bytes:
        """Read a small blob whole (a manifest), bounded by ``limit`` and verified."""
        if size > limit:
            raise ManifestTooLargeError('%s %s is %d bytes, over the %d byte limit' % (what, digest, size, limit))
        with self.open_blob(digest) as handle:
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            raise ManifestTooLargeError('%s %s exceeds the %d byte limit' % (what, digest, limit))
        if size >= 0 and len(raw) != size:
            raise DigestMismatchError('%s %s is %d bytes in OCI layout %s, its descriptor says %d'
                                      % (what, digest, len(raw), self.path, size))
        digest.verify_bytes(raw, '%s in OCI layout %s' % (what, self.path))
        return raw

    def blob_size(self, digest: Digest) -> int | None:
        """Size of the stored blob, or None when it is absent (or not a regular file)."""
        try:
            info = os.stat(self.blob_path(digest))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    # -- writing -------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Refuse, without writing anything, a path that cannot become or be this layout.

        A missing path is fine (it will be created on the first write). An existing file, or a
        directory that has entries but no ``oci-layout``, is refused, so that a typo in a path
        never turns an unrelated directory into a layout.
        """
        if not os.path.lexists(self.path):
            return
        if not os.path.isdir(self.path):
            raise LayoutError('cannot create OCI layout %s: it exists and is not a directory' % self.path)
        try:
            entries = set(os.listdir(self.path))
        except OSError as exc:
            raise LayoutError('cannot read OCI layout %s: %s' % (self.path, exc.strerror or exc)) from None
        if OCI_LAYOUT_FILE not in entries:
            foreign = sorted(name for name in entries - {BLOBS_DIR, LOCK_FILE} if not name.startswith(TEMP_PREFIX))
            if foreign:
                raise LayoutError('refusing to write to %s: it is not empty and not an OCI layout (no %s; it holds %s)'
                                  % (self.path, OCI_LAYOUT_FILE, ', '.join(foreign[:5]) + (', ...' if len(foreign) > 5 else '')))
        else:
            # An existing layout must be one we can update, or we would fail half-way through.
            self.read_layout_version()
            if INDEX_FILE in entries:
                self.read_index()

    def initialize(self) -> None:
        """Create the layout (directory, ``blobs/``, ``oci-layout``, empty index) where missing.

        A directory that has entries but no ``oci-layout`` is refused, so that a typo in a path
        never turns an unrelated directory into a layout. A directory holding only ``blobs/`` is
        accepted: it is what an interrupted skopeo copy leaves behind.
        """
        self.check_writable()
        try:
            os.makedirs(self.path, exist_ok=True)
        except FileExistsError:
            raise LayoutError('cannot create OCI layout %s: it exists and is not a directory' % self.path) from None
        except OSError as exc:
            raise LayoutError('cannot create OCI layout %s: %s' % (self.path, exc.strerror or exc)) from None
        self.check_writable()
        with self.lock():
            self.sweep_temps()
            _makedir(self.blobs_path)
            if os.path.exists(self.layout_file_path):
                self.read_layout_version()
            else:
                atomic_write(self.layout_file_path, _dump_json({'imageLayoutVersion': IMAGE_LAYOUT_VERSION}))
            if os.path.exists(self.index_path):
                self.read_index()
            else:
                atomic_write(self.index_path, _dump_json(_EMPTY_INDEX))

    def sweep_temps(self) -> list[str]:
        """Delete temporary files and pin directories that killed runs left (see the module docstring); return their paths.

        Temporary files live in the top directory, and in ``blobs/<algorithm>/`` only when that is
        on another filesystem (see :meth:`_create_temp`); both places are swept.
        """
        removed = sweep_stale_temps(self.path, _is_temp_name)
        try:
            top_device = os.stat(self.path).st_dev
            algorithms = os.listdir(self.blobs_path)
        except OSError:
            return removed
        for name in sorted(algorithms):
            directory = os.path.join(self.blobs_path, name)
            try:
                if os.stat(directory).st_dev == top_device:
                    continue
            except OSError:
                continue
            removed.extend(sweep_stale_temps(directory, _is_temp_name))
        return removed

    def pin_blob(self, digest: Digest, pin_dir: str) -> bool | None:
        """Hard-link the stored blob into ``pin_dir`` so a concurrent garbage collection cannot destroy it.

        True when pinned (or already pinned), False when the blob is absent, None when it exists
        but cannot be linked (the caller then relies on the check at commit).
        """
        try:
            os.link(self.blob_path(digest), pin_path(pin_dir, digest))
        except FileExistsError:
            return True
        except (FileNotFoundError, NotADirectoryError):
            return False if self.blob_size(digest) is None else None
        except OSError:
            return None
        return True

    def restore_blob(self, digest: Digest, pin_dir: str) -> bool:
        """Link a pinned blob back under its digest name (a collection removed it); False when that fails. Call under :meth:`lock`."""
        target = self.blob_path(digest)
        _makedir(os.path.dirname(target))
        try:
            os.link(pin_path(pin_dir, digest), target)
        except FileExistsError:
            return True
        except OSError:
            return False
        fsync_dir(os.path.dirname(target))
        return True

    def write_index(self, index: dict[str, t.Any]) -> None:
        """Replace index.json atomically. Call it under :meth:`lock`."""
        atomic_write(self.index_path, _dump_json(index))

    def lock(self, timeout: float = 120.0) -> t.ContextManager[None]:
        """Hold the exclusive lock that guards read-modify-write of index.json."""
        return exclusive_lock(self.lock_path, 0o644, timeout, LayoutError,
                              'OCI layout %s is locked by another writer (waited %.0f s for %s)' % (self.path, timeout, self.lock_path))

    def write_blob(self, chunks: t.Iterable[bytes], digest: Digest, size: int = -1, what: str = 'blob',
                   temp_files: TempFiles | None = None, pin_dir: str | None = None) -> int:
        """Store a blob atomically, verifying it against ``digest`` and ``size``; return its size.

        The bytes go to a temporary file while they are hashed; the file is renamed to its
        content address only once the digest matched, so a reader never sees a partial or wrong
        blob under a digest name. On any failure the temporary file is removed. With ``pin_dir``
        the file is pinned there before it gets its name (see the module docstring).
        """
        target = self.blob_path(digest)
        target_dir = os.path.dirname(target)
        _makedir(target_dir)
        temp_path, handle = self._create_temp(target_dir)
        if temp_files is not None:
            temp_files.add(temp_path)
        written = 0
        try:
            with handle:
                # Only the writes are guarded: an OSError raised by ``chunks`` (the source) is the
                # source's failure and passes through as it is.
                for chunk in verified_stream(chunks, digest, size, what):
                    with _os_errors('cannot write %s %s to OCI layout %s' % (what, digest, self.path)):
                        handle.write(chunk)
                    written += len(chunk)
                with _os_errors('cannot write %s %s to OCI layout %s' % (what, digest, self.path)):
                    handle.flush()
                    os.fsync(handle.fileno())
            _pin_temp(temp_path, pin_dir, digest)
            with _os_errors('cannot store %s %s in OCI layout %s' % (what, digest, self.path)):
                os.rename(temp_path, target)
        except BaseException:
            unlink_quietly(temp_path)
            raise
        finally:
            if temp_files is not None:
                temp_files.discard(temp_path)
        fsync_dir(target_dir)
        return written

    def write_blob_unknown(self, chunks: t.Iterable[bytes], what: str = 'blob', temp_files: TempFiles | None = None,
                           pin_dir: str | None = None) -> tuple[Digest, int]:
        """Store a blob whose digest is computed while it is written; return (digest, size).

        Same safety as write_blob: a temporary file, hashed, fsynced, pinned, renamed to its content address.
        """
        import hashlib

        _makedir(self.blobs_path)
        temp_path, handle = self._create_temp(self.blobs_path)
        if temp_files is not None:
            temp_files.add(temp_path)
        hasher = hashlib.sha256()
        written = 0
        try:
            with handle:
                for chunk in chunks:
                    with _os_errors('cannot write %s to OCI layout %s' % (what, self.path)):
                        handle.write(chunk)
                    hasher.update(chunk)
                    written += len(chunk)
                with _os_errors('cannot write %s to OCI layout %s' % (what, self.path)):
                    handle.flush()
                    os.fsync(handle.fileno())
            digest = Digest('sha256:' + hasher.hexdigest())
            target = self.blob_path(digest)
            _makedir(os.path.dirname(target))
            _pin_temp(temp_path, pin_dir, digest)
            with _os_errors('cannot store %s %s in OCI layout %s' % (what, digest, self.path)):
                os.rename(temp_path, target)
        except BaseException:
            unlink_quietly(temp_path)
            raise
        finally:
            if temp_files is not None:
                temp_files.discard(temp_path)
        fsync_dir(os.path.dirname(target))
        return digest, written

    def remove_blob(self, digest: Digest) -> int:
        """Delete a blob file; return the bytes it held (0 when it was already gone).

        The caller decides that nothing references it any more (under :meth:`lock`). The
        directory is not fsynced here: a caller removing many blobs does that once.
        """
        path = self.blob_path(digest)
        try:
            size = os.lstat(path).st_size
            os.unlink(path)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise LayoutError('cannot delete blob %s from OCI layout %s: %s' % (digest, self.path, exc.strerror or exc)) from None
        return size

    def _create_temp(self, target_dir: str) -> tuple[str, t.BinaryIO]:
        """A new temporary file in the top directory, or in ``target_dir`` if that is another filesystem."""
        temp_dir = self.path
        try:
            if os.stat(self.path).st_dev != os.stat(target_dir).st_dev:
                # blobs/ is a mount point or a symlink elsewhere; rename cannot cross filesystems.
                temp_dir = target_dir
        except OSError:
            pass
        return create_temp_file(temp_dir, TEMP_PREFIX)


class IndexSnapshot:
    """index.json of one layout, read once for many readers, and whether the layout was written since.

    containers/image reads index.json again for every image it opens from a layout; a sync of N
    images of one layout would so read and parse it N times, each time a list of N entries. A
    snapshot is read once, and every image is resolved against the same names: a consistent view
    of the layout as it was, whatever a writer does meanwhile (blobs are content-addressed, so what
    the snapshot names is still right, or gone: BlobNotFoundError). Writers replace index.json
    whole (a new file renamed over it: :func:`atomic_write`, skopeo and umoci alike), so the
    file's identity (device, inode, size, modification time) tells whether the layout was written
    since the snapshot was taken (:meth:`changed`, one ``stat``).
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        for dummy in range(3):
            before = _file_identity(layout.index_path)
            index = layout.read_index()
            if _file_identity(layout.index_path) == before:
                break
        else:
            raise LayoutError('%s keeps changing while it is read (another writer is at work)' % layout.index_path)
        self.index = index
        self._identity = before

    def changed(self) -> bool:
        """True when index.json is no longer the file the snapshot read (replaced, rewritten or removed)."""
        return _file_identity(self.layout.index_path) != self._identity


def _file_identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


# -- index lookups ---------------------------------------------------------------------------------

def ref_name_of(entry: t.Mapping[str, t.Any]) -> str | None:
    """The ``org.opencontainers.image.ref.name`` of a raw index entry, if it has one."""
    annotations = entry.get('annotations')
    if isinstance(annotations, dict):
        name = annotations.get(REF_NAME_ANNOTATION)
        if isinstance(name, str) and name:
            return name
    return None


def digest_of(entry: t.Mapping[str, t.Any]) -> str | None:
    """The digest string of a raw index entry, if it has one."""
    value = entry.get('digest')
    return value if isinstance(value, str) else None


def ref_names(index: t.Mapping[str, t.Any]) -> list[str]:
    """The names in an index, in index order, each once."""
    names: list[str] = []
    for entry in index['manifests']:
        name = ref_name_of(entry)
        if name is not None and name not in names:
            names.append(name)
    return names


def find_descriptor(index: t.Mapping[str, t.Any], where: str, ref_name: str | None = None,
                    digest: Digest | None = None) -> Descriptor:
    """Select the descriptor a reference means, as containers/image does.

    - ``ref_name``: the entry carrying that name. Entries of media types that cannot be read are
      passed over (and named in the error when nothing else matches). Several entries with the
      same name and different digests make the name ambiguous: that is an error rather than a
      silent pick of the first, since this code never writes such an index.
    - ``digest``: the (first) entry with that digest.
    - neither: the only entry; an index with several asks the user to choose.

    ``where`` names the layout in messages.
    """
    entries: list[t.Mapping[str, t.Any]] = index['manifests']
    if digest is not None:
        for position, entry in enumerate(entries):
            if digest_of(entry) == str(digest):
                return _descriptor(entry, position, where)
        raise ImageNotFoundError('manifest %s is not listed in index.json of OCI layout %s' % (digest, where))
    if ref_name is None:
        if len(entries) == 1:
            return _descriptor(entries[0], 0, where)
        if not entries:
            raise ImageNotFoundError('OCI layout %s holds no image' % where)
        names = ref_names(index)
        raise InvalidReferenceError('OCI layout %s holds %d images; choose one with oci:%s:NAME%s'
                                    % (where, len(entries), where, _names_hint(names)))
    matches = [(position, entry) for position, entry in enumerate(entries) if ref_name_of(entry) == ref_name]
    if not matches:
        raise ImageNotFoundError('no image named "%s" in OCI layout %s%s' % (ref_name, where, _names_hint(ref_names(index))))
    readable = [(position, entry) for position, entry in matches if entry.get('mediaType') in READABLE_MANIFEST_TYPES + ('', None)]
    if not readable:
        types = sorted({str(entry.get('mediaType')) for dummy, entry in matches})
        raise UnsupportedMediaTypeError('"%s" in OCI layout %s names only unsupported manifest media types: %s'
                                        % (ref_name, where, ', '.join(types)))
    digests = sorted({str(digest_of(entry)) for dummy, entry in readable})
    if len(digests) > 1:
        raise LayoutError('"%s" is ambiguous in OCI layout %s: %d entries of index.json carry it (%s)'
                          % (ref_name, where, len(readable), ', '.join(digests)))
    position, entry = readable[0]
    return _descriptor(entry, position, where)


def _descriptor(entry: t.Mapping[str, t.Any], position: int, where: str) -> Descriptor:
    try:
        return Descriptor.from_json(dict(entry), 'descriptor manifests[%d] in index.json of OCI layout %s' % (position, where))
    except InvalidReferenceError as exc:  # an invalid digest string
        raise LayoutError('descriptor manifests[%d] in index.json of OCI layout %s: %s' % (position, where, exc.message)) from None
    except ManifestError as exc:
        raise LayoutError(exc.message) from None


def _names_hint(names: list[str]) -> str:
    if not names:
        return ''
    shown = ', '.join(names[:10]) + (', ...' if len(names) > 10 else '')
    return ' (names in index.json: %s)' % shown


# -- file helpers ----------------------------------------------------------------------------------

def _is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def pin_path(pin_dir: str, digest: Digest) -> str:
    """Where ``digest`` is pinned in ``pin_dir`` (one flat directory)."""
    return os.path.join(pin_dir, '%s-%s' % (digest.algorithm, digest.hex))


def _pin_temp(temp_path: str, pin_dir: str | None, digest: Digest) -> None:
    """Pin a finished temporary blob file under its digest (best effort: the commit checks anyway)."""
    if pin_dir is None:
        return
    try:
        os.link(temp_path, pin_path(pin_dir, digest))
    except OSError:
        pass


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file in the same directory, fsync, rename, fsync.

    The new file keeps the permission bits of the file it replaces (umoci writes index.json as
    0600, skopeo as 0644; either owner's choice is respected); a new file gets 0644 less umask.
    """
    directory = os.path.dirname(path)
    try:
        mode: int | None = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    temp_path, handle = create_temp_file(directory, TEMP_PREFIX)
    try:
        with handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temp_path, path)
    except OSError as exc:
        unlink_quietly(temp_path)
        raise LayoutError('cannot write %s: %s' % (path, exc.strerror or exc)) from None
    except BaseException:
        unlink_quietly(temp_path)
        raise
    fsync_dir(directory)


def _load_json(path: str, limit: int) -> t.Any:
    """Parse a small JSON file (a regular one), reading at most ``limit`` bytes. FileNotFoundError passes through."""
    return jsonutil.loads(read_document(path, limit, LayoutError, path), path, LayoutError)


def _dump_json(data: t.Any) -> bytes:
    # Compact, key order as given, no trailing newline: the shape skopeo writes.
    return json.dumps(data, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def _makedir(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise LayoutError('cannot create directory %s: %s' % (path, exc.strerror or exc)) from None


@contextlib.contextmanager
def _os_errors(message: str) -> t.Iterator[None]:
    """Turn an OSError (disk full, permissions) into a LayoutError that says what failed."""
    try:
        yield
    except OSError as exc:
        raise LayoutError('%s: %s' % (message, exc.strerror or exc)) from None


def chunked(handle: t.BinaryIO, chunk_size: int = CHUNK_SIZE) -> t.Iterator[bytes]:
    """Yield a file's content in chunks, so memory stays flat whatever its size."""
    while True:
        block = handle.read(chunk_size)
        if not block:
            return
        yield block
