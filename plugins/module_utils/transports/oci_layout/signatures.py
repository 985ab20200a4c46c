# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signatures of the images in an OCI layout: ocikit's own convention.

containers/image stores no signatures in ``oci:`` or ``oci-archive:`` (skopeo refuses to copy a
signed image there without ``--remove-signatures``). Air-gap bundles need them to travel, so this
collection keeps them beside the layout's own files::

    <layout>/.ocikit/signatures/<algorithm>=<hex>/signature-<N>

- The directory is named after the digest of the manifest a name in index.json points at (for an
  index: the index's digest), with containers/image's lookaside spelling (``sha256=<hex>``; the
  lookaside prefixes a repository path, which a layout does not need). Two names on one digest share
  its signatures, as two tags of a repository share the lookaside's.
- ``signature-1``, ``signature-2``... are read until the first gap (at most 128, each at most 4 MiB,
  as containers/image's lookaside reader), and hold the signature blobs as given: a simple-signing
  signature is the raw OpenPGP message, a sigstore one ``\\x00sigstore-json\\n{...}`` (containers/image's
  ``signature.Blob``, what ``dir:`` stores in its ``signature-N`` files).
- Other tools never see them. index.json gains no entry, nothing is added under ``blobs/`` (``umoci
  gc`` aborts on a name there that is not a digest), and skopeo and umoci ignore top-level entries
  they do not know, as they ignore the layout's lock file.
- Every change is made under the layout's index lock (``Layout.lock``), by the writer at its commit
  and by ``image_delete``'s collection. A set of signatures is written into a temporary directory
  and renamed into place, so a reader sees the old set or the new one (or, for the instant between
  moving the old set aside and renaming the new one in, none), never a partial set.
- Signatures are written before index.json names their image: until then they belong to a digest
  no name selects, so no reader can take them for another image's. A run killed in between leaves
  signatures for a digest the index does not name; the next commit or delete in the layout removes
  every signature directory whose digest index.json no longer reaches (:func:`manifest_digests`).
- Reads are bounded and refuse what is not a plain directory or regular file: symbolic links, FIFOs,
  devices, oversized files are reported as LayoutError, naming the path, without blocking or following.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import LayoutError, OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    fsync_dir,
    hold_dir,
    read_document,
    release_temp_dir,
    sweep_stale_temps,
    unlink_quietly,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX, Layout, digest_of

#: The layout's directory of ocikit's own files, and the signatures in it (archive member names use '/').
METADATA_DIR = '.ocikit'
SIGNATURES_DIR = METADATA_DIR + '/signatures'
#: As containers/image's lookaside reader: at most 128 signatures of at most 4 MiB each.
MAX_SIGNATURES = 128
MAX_SIGNATURE_SIZE = 4 * 1024 * 1024


def directory_name(digest: Digest) -> str:
    """``<algorithm>=<hex>``, the lookaside spelling of a manifest digest."""
    return '%s=%s' % (digest.algorithm, digest.hex)


def parse_directory_name(name: str) -> Digest | None:
    """The digest a signature directory name stands for, or None when the name is not one."""
    algorithm, sep, hex_part = name.partition('=')
    candidate = '%s:%s' % (algorithm, hex_part)
    return Digest(candidate) if sep and Digest.is_valid(candidate) else None


def member_name(digest: Digest, number: int) -> str:
    """The relative path (archive member name) of signature ``number`` (from 1) of ``digest``."""
    return '%s/%s/signature-%d' % (SIGNATURES_DIR, directory_name(digest), number)


class LayoutSignatures:
    """The signatures stored in the layout directory ``layout_path`` (absolute)."""

    def __init__(self, layout_path: str) -> None:
        self.layout_path = layout_path
        self.metadata_path = os.path.join(layout_path, METADATA_DIR)
        self.base_path = os.path.join(layout_path, *SIGNATURES_DIR.split('/'))

    def path_of(self, digest: Digest) -> str:
        """``<layout>/.ocikit/signatures/<algorithm>=<hex>``."""
        return os.path.join(self.base_path, directory_name(digest))

    # -- reading -------------------------------------------------------------------------------

    def read(self, digest: Digest) -> list[bytes]:
        """The signatures of ``digest``, ``signature-1`` first, until the first gap; [] when it has none."""
        directory = self.path_of(digest)
        for path in (self.metadata_path, self.base_path, directory):
            if not _is_directory(path):
                return []
        signatures: list[bytes] = []
        for number in range(1, MAX_SIGNATURES + 2):
            path = os.path.join(directory, 'signature-%d' % number)
            what = 'signature %s' % path
            try:
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    # A link could show another image's signature, or a file outside the layout: refused, not followed.
                    raise LayoutError('%s is a symbolic link; signatures in an OCI layout are regular files' % what)
            except FileNotFoundError:
                return signatures
            except OSError as exc:
                raise LayoutError('%s cannot be read: %s' % (what, exc.strerror or exc)) from None
            if number > MAX_SIGNATURES:
                raise LayoutError('%s holds more than %d signatures' % (directory, MAX_SIGNATURES))
            try:
                signatures.append(read_document(path, MAX_SIGNATURE_SIZE, LayoutError, what, within=directory))
            except FileNotFoundError:
                return signatures
        return signatures  # pragma: no cover - the loop returns or raises

    def digests(self) -> list[Digest]:
        """The digests that have a signature directory (any entry named like one), sorted."""
        if not (_is_directory(self.metadata_path) and _is_directory(self.base_path)):
            return []
        try:
            names = os.listdir(self.base_path)
        except OSError as exc:
            raise LayoutError('cannot list %s: %s' % (self.base_path, exc.strerror or exc)) from None
        found = [parse_directory_name(name) for name in names]
        return sorted((digest for digest in found if digest is not None), key=str)

    # -- writing (under the layout lock) -------------------------------------------------------

    def replace(self, digest: Digest, signatures: t.Sequence[bytes]) -> None:
        """Make ``signatures`` the signatures of ``digest``; an empty list removes them. Call under ``Layout.lock``."""
        if not signatures:
            if _is_directory(self.metadata_path) and _is_directory(self.base_path):
                self._discard(self.path_of(digest))
            return
        if len(signatures) > MAX_SIGNATURES:
            raise LayoutError('cannot store %d signatures of %s in OCI layout %s: at most %d are read back'
                              % (len(signatures), digest, self.layout_path, MAX_SIGNATURES))
        for path in (self.metadata_path, self.base_path):
            _make_directory(path)
        self.sweep_temps()
        target = self.path_of(digest)
        _is_directory(target)  # refuses a link or a file in its place before anything is written
        staging, staging_fd = self._make_staging()
        try:
            for number, data in enumerate(signatures, start=1):
                _write_new_file(os.path.join(staging, 'signature-%d' % number), bytes(data))
            fsync_dir(staging)
            aside = self._move_aside(target)
            try:
                os.rename(staging, target)
            except OSError as exc:
                if aside is not None:
                    os.rename(aside, target)  # the old set goes back: a failed write changes nothing
                raise LayoutError('cannot store the signatures of %s in %s: %s' % (digest, target, exc.strerror or exc)) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            release_temp_dir(staging_fd)
        fsync_dir(self.base_path)
        if aside is not None:
            _remove_tree(aside)

    def collect(self, keep: t.Collection[str]) -> list[Digest]:
        """Remove the signatures of every digest not in ``keep`` (digest strings); return those digests. Call under ``Layout.lock``."""
        removed = []
        for digest in self.digests():
            if str(digest) not in keep:
                self._discard(self.path_of(digest))
                removed.append(digest)
        if removed:
            fsync_dir(self.base_path)
        return removed

    def sweep_temps(self) -> list[str]:
        """Delete the temporary directories killed runs left among the signatures (see ``fsutil.sweep_stale_temps``)."""
        if not (_is_directory(self.metadata_path) and _is_directory(self.base_path)):
            return []
        return sweep_stale_temps(self.base_path, lambda name: name.startswith(TEMP_PREFIX))

    def _make_staging(self) -> tuple[str, int | None]:
        """A new temporary directory among the signatures, held under a shared flock (``fsutil.hold_dir``) while it is filled.

        Made with ``mkdir(0o755)``, not ``mkdtemp`` (0700): renamed into place, it keeps the
        permissions any new directory of the layout gets (0755 less the umask).
        """
        for dummy in range(100):
            path = os.path.join(self.base_path, '%s%s' % (TEMP_PREFIX, secrets.token_hex(8)))
            try:
                os.mkdir(path, 0o755)
            except FileExistsError:
                continue
            except OSError as exc:
                raise LayoutError('cannot create a temporary directory in %s: %s' % (self.base_path, exc.strerror or exc)) from None
            return path, hold_dir(path)
        raise LayoutError('cannot create a temporary directory in %s: too many name collisions' % self.base_path)

    def _move_aside(self, path: str) -> str | None:
        """Rename ``path`` (a signature directory, or whatever stands in its place) to a temporary name; None when absent."""
        aside = os.path.join(self.base_path, '%s%s' % (TEMP_PREFIX, secrets.token_hex(8)))
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LayoutError('cannot replace %s: %s' % (path, exc.strerror or exc)) from None
        return aside

    def _discard(self, path: str) -> None:
        """Remove a signature directory: renamed aside first, so that a kill never leaves part of a set under its name."""
        aside = self._move_aside(path)
        if aside is not None:
            fsync_dir(self.base_path)
            _remove_tree(aside)


def manifest_digests(layout: Layout, entries: t.Iterable[t.Mapping[str, t.Any]]) -> set[str] | None:
    """Every manifest digest the index.json ``entries`` reach: their own, and the children of indexes, recursively.

    Only manifests have signatures, and only an index names other manifests, so only indexes are
    read (an entry without a media type is read to learn it). None when one of them cannot be read:
    the caller then removes no signature.
    """
    found: set[str] = set()
    stack: list[tuple[str, t.Any]] = [(str(digest_of(entry)), entry.get('mediaType')) for entry in entries if digest_of(entry)]
    while stack:
        value, media_type = stack.pop()
        if value in found:
            continue
        found.add(value)
        if media_type not in mt.INDEX_TYPES and media_type not in ('', None):
            continue
        if not Digest.is_valid(value):
            return None
        try:
            raw = layout.read_blob(Digest(value), mt.MAX_MANIFEST_SIZE, 'manifest')
            data = jsonutil.loads(raw, 'manifest %s' % value, LayoutError)
        except OcikitError:
            return None
        if not isinstance(data, dict) or (media_type in ('', None) and data.get('mediaType') not in mt.INDEX_TYPES
                                          and not isinstance(data.get('manifests'), list)):
            continue
        children = data.get('manifests')
        if not isinstance(children, list):
            return None
        for child in children:
            if not (isinstance(child, dict) and isinstance(child.get('digest'), str)):
                return None
            stack.append((child['digest'], child.get('mediaType')))
    return found


def collect_orphans(layout: Layout, index: t.Mapping[str, t.Any]) -> list[Digest]:
    """Remove the signatures of digests ``index`` (index.json as written) no longer reaches. Call under ``Layout.lock``.

    Nothing is removed when what the index reaches cannot be read. Cheap when nothing is stored:
    manifests are read only when some signature directory's digest is not a top-level entry.
    """
    signatures = LayoutSignatures(layout.path)
    stored = signatures.digests()
    if not stored:
        return []
    top = {str(digest_of(entry)) for entry in index['manifests']}
    if all(str(digest) in top for digest in stored):
        return []
    keep = manifest_digests(layout, index['manifests'])
    return [] if keep is None else signatures.collect(keep)


# -- file helpers ----------------------------------------------------------------------------------

def _is_directory(path: str) -> bool:
    """True for a real directory, False when absent; LayoutError for a symbolic link or anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise LayoutError('cannot read %s: %s' % (path, exc.strerror or exc)) from None
    if stat.S_ISDIR(mode):
        return True
    if stat.S_ISLNK(mode):
        raise LayoutError('signature directory %s is a symbolic link; refusing to follow it' % path)
    raise LayoutError('signature directory %s is not a directory' % path)


def _make_directory(path: str) -> None:
    if _is_directory(path):
        return
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        _is_directory(path)  # created meanwhile (not by a writer of ours: they hold the lock); it must be a directory
        return
    except OSError as exc:
        raise LayoutError('cannot create directory %s: %s' % (path, exc.strerror or exc)) from None
    fsync_dir(os.path.dirname(path))


def _write_new_file(path: str, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags, 0o644)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        unlink_quietly(path)
        raise LayoutError('cannot write %s: %s' % (path, exc.strerror or exc)) from None


def _remove_tree(path: str) -> None:
    """Delete a directory moved aside (a symbolic link or file in its place is unlinked, never followed)."""
    if os.path.islink(path) or not os.path.isdir(path):
        unlink_quietly(path)
    else:
        shutil.rmtree(path, ignore_errors=True)
