# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to a ``dir:`` directory (containers/image's ``directory/directory_dest.go``).

containers/image empties an existing dir image when the destination opens and then writes the
new files in place, so a failed copy leaves a broken directory. Here the new image is built in a
sibling work directory, ``.<name>.ocikit-tmp-<random>`` next to PATH, and swapped in whole by
``commit()``:

- Opening writes nothing, and neither does ``get_manifest_digest()`` (check mode relies on it).
  A PATH that exists and is neither an empty directory nor a dir image (a ``version`` file of the
  1.x format) is refused with LayoutError, as containers/image refuses it, before any write.
- The work directory is created by the first write. Blobs are written to a temporary file in it
  while they are hashed (``verified_stream``), fsynced and renamed to their digest name.
- A blob the old image at PATH already has is reused when ``has_blob``/``put_blob`` asks for it,
  but only a regular file (never a symlink, which could pull a file from anywhere into the new
  image), and only once its content is verified against its digest: it is hard-linked into the
  work directory and the link is hashed (a corrupt or truncated blob of the right size is
  dropped and transferred again), or copied and verified where a hard link is refused.
  containers/image empties the directory instead; verifying keeps the reuse and its safety.
- ``commit()`` swaps the work directory and PATH in one ``renameat2(RENAME_EXCHANGE)`` where Linux
  offers it, else renames the old image away and the new one in (the old one is restored if the
  second rename fails), then deletes the old image. Readers see the old image or the new one,
  never a mix. A symlinked PATH stays a symlink: its target directory is the one replaced.
- ``close()`` without ``commit()`` deletes the work directory; PATH is untouched.

Signatures (``signature-<n>``, ``<hex>.signature-<n>``) are stored as given: ``put_signatures``
writes the top manifest's as ``signature-1``... with the image at commit, ``get_signatures`` reads
the current ones; their content is not checked here (that is the trust code's business). Without
``put_signatures`` the old image's are not lost silently: those that still apply (the new image has
the same top manifest, or the same child manifest) are carried into the new image; the others,
which sign a manifest the new image no longer has, are left behind with the old image and listed in
``dropped_signatures`` for the caller to report. Other files of the old image are not carried.

Layer compression is not this destination's business: the copy engine decides whether to
compress or decompress (skopeo's ``--dest-compress``/``--dest-decompress``) and puts the result.

Two writers committing to the same PATH at once do not corrupt it: the last swap wins whole.
Work directories left by a killed run are recognisable by their name (``.<name>.ocikit-tmp-*``).
A live writer holds its work directory under a shared flock, so the next write to PATH deletes
those that are stale and held by nobody (``fsutil.sweep_stale_temps``), and old images a killed
swap left aside (``.<name>.ocikit-old-*``) once PATH holds an image again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    create_temp_file,
    fsync_dir,
    hold_dir,
    release_temp_dir,
    sweep_stale_temps,
    unlink_quietly,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    LayoutError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import manifest_digest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.source import (
    MANIFEST_FILE,
    VERSION_FILE,
    VERSION_TEXT,
    blob_path,
    file_chunks,
    manifest_path,
    MAX_SIGNATURE_SIZE,
    parse_signature_name,
    read_signatures,
    signature_path,
    read_small_file,
    read_version,
    signature_names,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirReference

#: Infix of the work directory beside PATH: ``.<name>.ocikit-tmp-<random>``.
WORK_INFIX = '.ocikit-tmp-'
#: Infix of the old image while it is moved away (only when an atomic exchange is not available).
OLD_INFIX = '.ocikit-old-'
#: Prefix of temporary files inside the work directory.
PART_PREFIX = '.ocikit-part-'
#: Signatures are small; a bigger file is not copied whole into memory.

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class DirDestination(ImageDestination):
    """A ``dir:`` directory opened for writing one image (see the module docstring)."""

    # A directory stores manifests as bytes, whatever their type (containers/image lists none,
    # which means "anything"); the copy never has to convert for it.
    supported_manifest_types: tuple[str, ...] = (
        mt.OCI_MANIFEST, mt.DOCKER_V2S2, mt.OCI_INDEX, mt.DOCKER_LIST, mt.DOCKER_V2S1_SIGNED, mt.DOCKER_V2S1,
    )
    supports_index = True

    reference: 'DirReference'

    def __init__(self, reference: 'DirReference') -> None:
        self.reference = reference
        # The directory a symlink points at is the one replaced, so the link keeps working.
        self.target = os.path.realpath(reference.path)
        self.parent, self.name = os.path.split(self.target)
        #: Signature files of the old image that did not apply to the new one (set by commit()).
        self.dropped_signatures: list[str] = []
        #: Signatures given with put_signatures (None: none given, old ones that still apply are carried over).
        self._signatures: list[bytes] | None = None
        self._lock = threading.Lock()
        self._work: str | None = None
        #: Holds the work directory under a shared flock while this destination uses it.
        self._work_fd: int | None = None
        self._manifest_digest: Digest | None = None
        self._committed = False
        self._closed = False
        if not self.name:
            raise LayoutError('cannot write a dir image to %s: the image directory is replaced as a whole, '
                              'so it cannot be the root directory' % self.target)
        self._old_image = self._check_target()

    # -- what PATH holds now -------------------------------------------------------------------

    def _check_target(self) -> bool:
        """True when PATH holds a dir image, False when it is missing or empty; LayoutError otherwise."""
        if not os.path.lexists(self.target):
            return False
        if not os.path.isdir(self.target):
            raise LayoutError('cannot write dir image %s: it exists and is not a directory' % self.target)
        if os.path.ismount(self.target):
            raise LayoutError('cannot write dir image %s: it is a mount point, and a dir image is replaced as a whole '
                              'by renaming it; write to a directory inside it' % self.target)
        try:
            entries = sorted(os.listdir(self.target))
        except OSError as exc:
            raise LayoutError('cannot read directory %s: %s' % (self.target, exc.strerror or exc)) from None
        if not entries:
            return False
        if VERSION_FILE not in entries:
            shown = ', '.join(entries[:5]) + (', ...' if len(entries) > 5 else '')
            raise LayoutError('refusing to write to %s: it is not empty and not a dir image (no %s file; it holds %s)'
                              % (self.target, VERSION_FILE, shown))
        read_version(self.target)
        return True

    def get_manifest_digest(self) -> Digest | None:
        """Digest of PATH's ``manifest.json``; None when there is none (or it cannot be read).

        The digest is containers/image's (``manifest_digest``): that of the bytes, except for a
        signed schema1 manifest, whose digest is that of its payload without the signatures. That
        is what skopeo reports and what the copy plans, so a signed schema1 image already in place
        is recognised instead of being rewritten (and re-signed) on every run.
        Reads only: no file or directory is created.
        """
        try:
            raw = read_small_file(manifest_path(self.target), mt.MAX_MANIFEST_SIZE, 'manifest')
            return manifest_digest(raw)
        except (OSError, LayoutError, ManifestError):
            # Whatever PATH holds now, commit() will replace it.
            return None

    # -- blobs ---------------------------------------------------------------------------------

    def has_blob(self, info: BlobInfo) -> bool:
        """True when the new image has the blob, or it was reused from the old image at PATH.

        Reusing a blob links it into the work directory (creating that directory if needed);
        PATH itself is never written before commit(). Safe to call from several threads at once.
        """
        work = self._work
        if work is not None and _size_matches(_regular_size(blob_path(work, info.digest)), info.size):
            return True
        if not self._old_image:
            return False
        old = blob_path(self.target, info.digest)
        if not _size_matches(_regular_size(old, follow=False), info.size):
            return False
        return self._reuse(old, info)

    def _reuse(self, old: str, info: BlobInfo) -> bool:
        """Hard-link (or copy) ``old`` into the work directory, verified against its digest; False when it cannot be used."""
        work = self._workdir()
        new = blob_path(work, info.digest)
        try:
            # link() does not follow a symlink: at worst the link is one, and is refused below.
            os.link(old, new)
        except FileExistsError:
            # Another thread put the same blob meanwhile (verified by whoever put it).
            return True
        except OSError:
            pass  # protected_hardlinks, a link-count limit, another filesystem: copy instead.
        else:
            if _verified_file(new, info):
                return True
            unlink_quietly(new)
            return False
        try:
            fd = os.open(old, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
            with os.fdopen(fd, 'rb') as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    return False
                _write_file(new, file_chunks(handle), info.digest, info.size, 'blob', work)
        except (DigestMismatchError, OSError):
            # The old copy is damaged, unreadable or not a regular file: the caller transfers the blob again.
            return False
        return True

    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Store a blob, verified against ``info`` before it gets its name; skip it if present.

        Safe to call from several threads at once.
        """
        work = self._workdir()
        if self.has_blob(info):
            size = _regular_size(blob_path(work, info.digest))
            return BlobInfo(info.digest, size if size is not None else info.size, info.media_type)
        size = _write_file(blob_path(work, info.digest), chunks, info.digest, info.size, 'blob', work)
        return BlobInfo(info.digest, size, info.media_type)

    # -- manifests and commit ------------------------------------------------------------------

    def put_manifest(self, raw: bytes, media_type: str, instance_digest: Digest | None = None) -> None:
        """Store ``manifest.json``, or ``<hex>.manifest.json`` for a child of an index.

        The bytes are checked to parse as ``media_type`` (schema1 only as JSON of schemaVersion 1)
        and, for a child, to hash to ``instance_digest``.
        """
        if media_type not in self.supported_manifest_types:
            raise UnsupportedMediaTypeError('dir image %s cannot store manifests of type %s (supported: %s)'
                                            % (self.target, media_type, ', '.join(self.supported_manifest_types)))
        what = 'manifest %s' % instance_digest if instance_digest is not None else 'manifest'
        if media_type in mt.SCHEMA1_TYPES:
            _check_schema1(raw, instance_digest, what)
        else:
            parse_manifest(raw, media_type, expected_digest=instance_digest, what=what)
        digest = instance_digest if instance_digest is not None else Digest.from_bytes(raw)
        work = self._workdir()
        _write_file(manifest_path(work, instance_digest), [raw], digest, len(raw), what, work)
        if instance_digest is None:
            # The digest get_manifest_digest() will report (a signed schema1 manifest's is its payload's).
            self._manifest_digest = _digest_or_bytes(raw)

    supports_signatures = True

    def get_signatures(self) -> list[bytes]:
        """The signatures of the image at PATH now."""
        if not os.path.isdir(self.target):
            return []
        return read_signatures(self.target)

    def put_signatures(self, signatures: t.Sequence[bytes]) -> None:
        """Write ``signatures`` as signature-1... with the image at commit, replacing the old image's."""
        self._signatures = [bytes(s) for s in signatures]

    def commit(self) -> None:
        """Replace PATH with the new image in one swap (see the module docstring).

        PATH is checked again first: if something that is not a dir image appeared there since
        the destination opened, it is refused and left alone.
        """
        with self._lock:
            if self._committed or self._closed:
                raise LayoutError('dir image %s: this destination was already %s' % (self.target, 'committed' if self._committed else 'closed'))
            work = self._work
            if work is None or self._manifest_digest is None:
                raise LayoutError('nothing to commit to %s: no manifest was written' % self.reference)
            old_image = self._check_target()
            if self._signatures is not None:
                for number, data in enumerate(self._signatures, start=1):
                    path = signature_path(work, number)
                    _write_file(path, [data], Digest.from_bytes(data), len(data), 'signature', work)
            self.dropped_signatures = self._carry_signatures(work) if old_image else []
            fsync_dir(work)
            self._swap(work)
            self._work = None
            self._committed = True
            release_temp_dir(self._work_fd)
            self._work_fd = None
        fsync_dir(self.parent)

    def close(self) -> None:
        """Delete the work directory unless commit() moved it into place; PATH is untouched."""
        with self._lock:
            self._closed = True
            work, self._work = self._work, None
            work_fd, self._work_fd = self._work_fd, None
        if work is not None:
            _remove_tree(work)
        release_temp_dir(work_fd)

    # -- internals -----------------------------------------------------------------------------

    def _workdir(self) -> str:
        """The work directory, created (with its ``version`` file) on the first call."""
        with self._lock:
            if self._committed or self._closed:
                raise LayoutError('dir image %s: this destination was already %s' % (self.target, 'committed' if self._committed else 'closed'))
            if self._work is None:
                self._work = self._make_workdir()
            return self._work

    def _make_workdir(self) -> str:
        try:
            os.makedirs(self.parent, exist_ok=True)
        except OSError as exc:
            raise LayoutError('cannot create directory %s: %s' % (self.parent, exc.strerror or exc)) from None
        self.sweep_leftovers()
        path = _new_sibling(self.parent, self.name, WORK_INFIX)
        self._work_fd = hold_dir(path)
        try:
            # The new image keeps the permissions of the one it replaces.
            os.chmod(path, stat.S_IMODE(os.stat(self.target).st_mode))
        except FileNotFoundError:
            pass
        except OSError as exc:
            _remove_tree(path)
            raise LayoutError('cannot prepare %s: %s' % (path, exc.strerror or exc)) from None
        try:
            data = VERSION_TEXT.encode('ascii')
            _write_file(os.path.join(path, VERSION_FILE), [data], Digest.from_bytes(data), len(data), 'version file', path)
        except BaseException:
            _remove_tree(path)
            raise
        return path

    def sweep_leftovers(self) -> list[str]:
        """Delete what killed runs left beside PATH; return the paths.

        Work directories go once stale and held by nobody. An old image moved aside by a swap that
        was killed half-way goes only when PATH holds an image again (until then it is the only
        copy of the previous image).
        """
        work_prefix = '.%s%s' % (self.name, WORK_INFIX)
        old_prefix = '.%s%s' % (self.name, OLD_INFIX)
        removed = sweep_stale_temps(self.parent, lambda name: name.startswith(work_prefix) and len(name) == len(work_prefix) + 8)
        if os.path.isfile(os.path.join(self.target, VERSION_FILE)):
            removed.extend(sweep_stale_temps(self.parent, lambda name: name.startswith(old_prefix) and len(name) == len(old_prefix) + 8))
        return removed

    def _carry_signatures(self, work: str) -> list[str]:
        """Link the old image's signatures that still apply into ``work``; return the names of the others."""
        old_top = self.get_manifest_digest()
        dropped: list[str] = []
        for name in signature_names(self.target):
            parsed = parse_signature_name(name)
            child_hex = parsed[0] if parsed else None
            if child_hex is None:
                # Signatures given explicitly replace the old ones.
                applies = self._signatures is None and old_top is not None and old_top == self._manifest_digest
            else:
                applies = os.path.isfile(os.path.join(work, '%s.%s' % (child_hex, MANIFEST_FILE)))
            if not (applies and _link_or_copy(os.path.join(self.target, name), os.path.join(work, name), work)):
                dropped.append(name)
        return dropped

    def _swap(self, work: str) -> None:
        """Put ``work`` at PATH; the previous content of PATH (if any) is deleted afterwards."""
        if not os.path.lexists(self.target):
            try:
                os.rename(work, self.target)
            except OSError as exc:
                raise LayoutError('cannot move the new image into place at %s: %s' % (self.target, exc.strerror or exc)) from None
            return
        if exchange_paths(work, self.target):
            # ``work`` now holds the old image.
            _remove_tree(work)
            return
        old = _new_sibling_name(self.parent, self.name, OLD_INFIX)
        try:
            os.rename(self.target, old)
        except OSError as exc:
            raise LayoutError('cannot move the old image at %s aside: %s' % (self.target, exc.strerror or exc)) from None
        try:
            os.rename(work, self.target)
        except OSError as exc:
            try:
                os.rename(old, self.target)
            except OSError:
                raise LayoutError('cannot move the new image into place at %s: %s; the previous image is at %s'
                                  % (self.target, exc.strerror or exc, old)) from None
            raise LayoutError('cannot move the new image into place at %s: %s' % (self.target, exc.strerror or exc)) from None
        _remove_tree(old)


def exchange_paths(first: str, second: str) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2`` with RENAME_EXCHANGE).

    False when the system, the C library or the filesystem cannot; the caller then falls back to
    two renames.
    """
    if not sys.platform.startswith('linux'):
        return False
    try:
        import ctypes  # pylint: disable=import-outside-toplevel  # only this fast path needs it

        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (ImportError, OSError, AttributeError):
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0


def _check_schema1(raw: bytes, instance_digest: Digest | None, what: str) -> None:
    """Schema1 cannot be parsed by this version; store it if it is at least a schemaVersion 1 JSON object."""
    if len(raw) > mt.MAX_MANIFEST_SIZE:
        raise ManifestTooLargeError('%s is %d bytes, over the %d byte limit' % (what, len(raw), mt.MAX_MANIFEST_SIZE))
    if instance_digest is not None:
        instance_digest.verify_bytes(raw, what)
    data = jsonutil.loads(raw, what, ManifestError)
    if not isinstance(data, dict) or data.get('schemaVersion') != 1:
        raise ManifestError('%s is typed as Docker schema1 but is not a schemaVersion 1 object' % what)


def _digest_or_bytes(raw: bytes) -> Digest:
    """``manifest_digest(raw)``, or the digest of the bytes for a schema1 manifest whose signatures cannot be parsed."""
    try:
        return manifest_digest(raw)
    except ManifestError:
        return Digest.from_bytes(raw)


def _size_matches(size: int | None, expected: int) -> bool:
    return size is not None and (expected < 0 or size == expected)


def _regular_size(path: str, follow: bool = True) -> int | None:
    """Size of a regular file, or None when there is none at ``path`` (without ``follow``, a symlink is none either)."""
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _verified_file(path: str, info: BlobInfo) -> bool:
    """Whether ``path`` is a regular file (not followed) whose content matches ``info``'s digest and size."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    except OSError:
        return False
    try:
        with os.fdopen(fd, 'rb') as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return False
            for dummy in verified_stream(file_chunks(handle), info.digest, info.size, 'blob'):
                pass
    except (DigestMismatchError, OSError):
        return False
    return True


def _write_file(target: str, chunks: t.Iterable[bytes], digest: Digest, size: int, what: str, directory: str) -> int:
    """Write ``target`` atomically from ``chunks``, verified against ``digest`` and ``size``; return its size.

    The bytes go to a temporary file in ``directory``; it is fsynced and renamed only once the
    digest matched, and removed on any failure. OS errors of the writes become LayoutError; an
    OSError raised by ``chunks`` (the source's failure) passes through as it is.
    """
    temp_path, handle = create_temp_file(directory, PART_PREFIX)
    written = 0
    message = 'cannot write %s %s to %s' % (what, digest, directory)
    try:
        with handle:
            for chunk in verified_stream(chunks, digest, size, what):
                with _os_errors(message):
                    handle.write(chunk)
                written += len(chunk)
            with _os_errors(message):
                handle.flush()
                os.fsync(handle.fileno())
        with _os_errors(message):
            os.rename(temp_path, target)
    except BaseException:
        unlink_quietly(temp_path)
        raise
    return written


def _link_or_copy(source: str, target: str, directory: str) -> bool:
    """Hard-link ``source`` to ``target``, or copy it; False when neither works."""
    try:
        os.link(source, target)
        return True
    except OSError:
        pass
    try:
        data = read_small_file(source, MAX_SIGNATURE_SIZE, 'signature')
        _write_file(target, [data], Digest.from_bytes(data), len(data), 'signature', directory)
    except (OSError, LayoutError, ManifestTooLargeError):
        return False
    return True


def _new_sibling_name(parent: str, name: str, infix: str) -> str:
    """A name beside PATH that does not exist yet: ``.<name><infix><random>``."""
    for dummy in range(100):
        path = os.path.join(parent, '.%s%s%s' % (name, infix, secrets.token_hex(4)))
        if not os.path.lexists(path):
            return path
    raise LayoutError('cannot find a free name beside %s' % os.path.join(parent, name))


def _new_sibling(parent: str, name: str, infix: str) -> str:
    """Create a new directory beside PATH (mode 0755 less the umask, as containers/image creates PATH)."""
    for dummy in range(100):
        path = os.path.join(parent, '.%s%s%s' % (name, infix, secrets.token_hex(4)))
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            continue
        except OSError as exc:
            raise LayoutError('cannot create a work directory beside %s: %s' % (os.path.join(parent, name), exc.strerror or exc)) from None
        return path
    raise LayoutError('cannot create a work directory beside %s: too many name collisions' % os.path.join(parent, name))


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _os_errors(message: str) -> t.Iterator[None]:
    """Turn an OSError (disk full, permissions) into a LayoutError that says what failed."""
    try:
        yield
    except OSError as exc:
        raise LayoutError('%s: %s' % (message, exc.strerror or exc)) from None
