# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to an OCI layout (containers/image's ``oci/layout/oci_dest.go``).

Blobs and manifests are content-addressed files, written atomically as they come; they are
invisible to anyone reading by name until ``commit()`` adds the entry to index.json. That update
is a read-modify-write under the layout lock, so writers of different names to one layout never
lose each other's entries.

Every blob the image relies on, written or reused, is pinned (hard-linked into a private
directory) as soon as it is relied on, and checked (restored from its pin if a concurrent
``image_delete`` collected it) under the lock at commit: see the ``layout`` module docstring.

Unlike containers/image, the destination stores signatures, in ocikit's own convention (see the
``signatures`` module): ``put_signatures`` keeps them, and ``commit()`` writes them under the lock,
for the digest the name will point at, just before index.json names it.
"""

from __future__ import annotations

import os
import shutil
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import create_temp_dir, release_temp_dir
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor, parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import (
    REF_NAME_ANNOTATION,
    TEMP_PREFIX,
    Layout,
    TempFiles,
    digest_of,
    find_descriptor,
    ref_name_of,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.signatures import LayoutSignatures, collect_orphans

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCIReference


class OCILayoutDestination(ImageDestination):
    """An OCI layout opened for writing one image under the reference's name.

    Opening only checks the path (a non-empty directory that is not a layout is refused), so
    that planning and check mode write nothing; the first write creates the layout where needed
    (directory, ``blobs/``, ``oci-layout``, an empty index.json).
    """

    # As containers/image: an OCI layout holds OCI manifests and indexes only, so the copy
    # converts Docker schema2 manifests and lists (skopeo does the same).
    supported_manifest_types: tuple[str, ...] = (mt.OCI_MANIFEST, mt.OCI_INDEX)
    # As containers/image: registries and OCI layouts get compressed layers, docker-archive uncompressed ones.
    desired_layer_compression = 'compress'
    supports_index = True
    # ocikit's convention, not containers/image's (which stores none in a layout): see the signatures module.
    supports_signatures = True

    reference: 'OCIReference'

    def __init__(self, reference: 'OCIReference', shared_blob_dir: str | None = None) -> None:
        if reference.digest is not None:
            raise InvalidReferenceError('cannot write to %s: a digest reference cannot be a destination' % reference)
        self.reference = reference
        self.layout = Layout(reference.path, shared_blob_dir)
        self._temp_files = TempFiles()
        self._pending: Descriptor | None = None
        self._initialized = False
        self._init_lock = threading.Lock()
        #: Where this writer pins the blobs it relies on (None until the first one; see the layout module).
        self._pin_dir: str | None = None
        self._pin_fd: int | None = None
        #: Every blob the image relies on, and whether it is pinned.
        self._needed: dict[Digest, bool] = {}
        #: Signatures for the manifest commit() names (None: leave the ones stored for its digest as they are).
        self._signatures: list[bytes] | None = None
        self.layout.check_writable()

    def _ensure_layout(self) -> str | None:
        """Create the layout and this writer's pin directory on the first write (blobs may come from several threads).

        Returns the pin directory, None where pins cannot work (blobs on another filesystem).
        """
        with self._init_lock:
            if not self._initialized:
                self.layout.initialize()
                self._pin_dir, self._pin_fd = self._make_pin_dir()
                self._initialized = True
            return self._pin_dir

    def _make_pin_dir(self) -> tuple[str | None, int | None]:
        try:
            same_device = os.stat(self.layout.path).st_dev == os.stat(self.layout.blobs_path).st_dev
        except OSError:
            same_device = False
        if not same_device:
            # A hard link cannot cross filesystems (a shared blob directory elsewhere): the commit only checks.
            return None, None
        return create_temp_dir(self.layout.path, TEMP_PREFIX, 'pin directory')

    def _rely_on(self, digest: Digest, pinned: bool | None) -> None:
        with self._init_lock:
            self._needed[digest] = bool(pinned) or self._needed.get(digest, False)

    def _reuse(self, info: BlobInfo) -> int | None:
        """The size of a stored blob this image can reuse, pinned first; None when it must be written."""
        present = self.layout.blob_size(info.digest)
        if present is None or (info.size >= 0 and present != info.size):
            return None
        pin_dir = self._ensure_layout()
        pinned = self.layout.pin_blob(info.digest, pin_dir) if pin_dir is not None else None
        if pinned is False:
            return None  # collected meanwhile: write it again
        self._rely_on(info.digest, pinned)
        return present

    def get_manifest_digest(self) -> Digest | None:
        """Digest of the entry the name selects now; None when there is none (or it is ambiguous).

        Without a ref name: the layout's only entry, if it has exactly one.
        """
        try:
            index = self.layout.read_index()
            return find_descriptor(index, self.reference.path, ref_name=self.reference.image_ref).digest
        except (ImageNotFoundError, InvalidReferenceError, UnsupportedMediaTypeError, LayoutError):
            # Whatever holds the name now, commit() will replace it.
            return None

    def get_signatures(self) -> list[bytes]:
        """The signatures stored for the digest the name selects now; [] when it selects nothing or that digest has none."""
        digest = self.get_manifest_digest()
        return [] if digest is None else LayoutSignatures(self.layout.path).read(digest)

    def put_signatures(self, signatures: t.Sequence[bytes]) -> None:
        """Keep ``signatures`` (blobs as given, any format) for the manifest put last; commit() writes them, [] removes them."""
        if self._pending is None:
            raise LayoutError('cannot store signatures in %s before its manifest' % self.reference)
        self._signatures = [bytes(signature) for signature in signatures]

    def has_blob(self, info: BlobInfo) -> bool:
        """True when the blob file exists (with ``info.size`` bytes, when that is known); it is then pinned for this image."""
        return self._reuse(info) is not None

    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Store a blob, verified against ``info`` before it gets its name; skip (and pin) it if present.

        Safe to call from several threads at once.
        """
        present = self._reuse(info)
        if present is not None:
            return BlobInfo(info.digest, present, info.media_type)
        pin_dir = self._ensure_layout()
        size = self.layout.write_blob(chunks, info.digest, info.size, 'blob', self._temp_files, pin_dir)
        self._rely_on(info.digest, pin_dir is not None)
        return BlobInfo(info.digest, size, info.media_type)

    def put_blob_unknown(self, chunks: t.Iterable[bytes], media_type: str | None = None) -> BlobInfo:
        """Store a blob hashed while it is written (a recompressed layer), streamed straight into the layout."""
        pin_dir = self._ensure_layout()
        digest, size = self.layout.write_blob_unknown(chunks, 'blob', self._temp_files, pin_dir)
        self._rely_on(digest, pin_dir is not None)
        return BlobInfo(digest, size, media_type)

    def put_manifest(self, raw: bytes, media_type: str, instance_digest: Digest | None = None) -> None:
        """Store a manifest as a blob; without ``instance_digest`` it is the one commit() names.

        The bytes are checked to parse as ``media_type`` and, for a child, to hash to
        ``instance_digest``.
        """
        if media_type not in self.supported_manifest_types:
            raise UnsupportedMediaTypeError('OCI layout %s cannot store manifests of type %s (supported: %s)'
                                            % (self.layout.path, media_type, ', '.join(self.supported_manifest_types)))
        what = 'manifest %s' % instance_digest if instance_digest is not None else 'manifest'
        parse_manifest(raw, media_type, expected_digest=instance_digest, what=what)
        digest = instance_digest if instance_digest is not None else Digest.from_bytes(raw)
        pin_dir = self._ensure_layout()
        if self._reuse(BlobInfo(digest, len(raw))) is None:
            self.layout.write_blob([raw], digest, len(raw), 'manifest', self._temp_files, pin_dir)
            self._rely_on(digest, pin_dir is not None)
        if instance_digest is None:
            annotations = {REF_NAME_ANNOTATION: self.reference.image_ref} if self.reference.image_ref else None
            self._pending = Descriptor(media_type=media_type, digest=digest, size=len(raw), annotations=annotations)

    def commit(self) -> None:
        """Point the name at the last top-level manifest, in one atomic rewrite of index.json.

        Under the layout lock, index.json is read afresh (another writer may have changed it
        since this destination opened). The entry carrying the name is replaced in place, any
        further entries with the same name are dropped, and an unnamed entry with the same digest
        is taken over rather than duplicated (as skopeo does). Without a name the entry is
        appended unnamed unless an unnamed entry with that digest is already there. The file is
        not rewritten when nothing changes.

        Signatures given with put_signatures replace those of the new digest first (a digest no
        name selects yet, unless the image is already there); then the signatures of digests the
        new index.json no longer reaches (a replaced image, leftovers of a killed run) are removed.
        """
        if self._pending is None:
            raise LayoutError('nothing to commit to %s: no manifest was written' % self.reference)
        new_entry = self._pending.to_json()
        pin_dir = self._ensure_layout()
        with self.layout.lock():
            self._check_blobs(pin_dir)
            index = self.layout.read_index()
            manifests = _place_entry(index['manifests'], new_entry, self.reference.image_ref)
            if self._signatures is not None:
                LayoutSignatures(self.layout.path).replace(self._pending.digest, self._signatures)
            if manifests != index['manifests']:
                index['manifests'] = manifests
                self.layout.write_index(index)
            try:
                collect_orphans(self.layout, index)
            except LayoutError:
                # Housekeeping after the image is named must not fail the copy; the next commit or delete tries again.
                pass

    def _check_blobs(self, pin_dir: str | None) -> None:
        """Under the lock: every blob the image relies on is in place, restored from its pin if a collection took it.

        A blob that vanished and was not pinned fails the commit before index.json changes.
        """
        with self._init_lock:
            needed = sorted(self._needed.items(), key=lambda item: str(item[0]))
        missing = []
        for digest, pinned in needed:
            if self.layout.blob_size(digest) is not None:
                continue
            if not (pinned and pin_dir is not None and self.layout.restore_blob(digest, pin_dir)):
                missing.append(str(digest))
        if missing:
            raise LayoutError('cannot commit to %s: %d blob%s of the new image vanished from the layout before the commit '
                              '(removed by a concurrent image_delete?): %s; index.json is unchanged, run the copy again'
                              % (self.reference, len(missing), '' if len(missing) == 1 else 's', ', '.join(missing[:3])))

    def close(self) -> None:
        """Remove temporary files still open and the pin directory; index.json is untouched unless commit() ran."""
        self._temp_files.remove_all()
        with self._init_lock:
            pin_dir, pin_fd = self._pin_dir, self._pin_fd
            self._pin_dir = self._pin_fd = None
        if pin_dir is not None:
            shutil.rmtree(pin_dir, ignore_errors=True)
        release_temp_dir(pin_fd)


def _place_entry(manifests: list[dict[str, t.Any]], new_entry: dict[str, t.Any], name: str | None) -> list[dict[str, t.Any]]:
    """The index.json ``manifests`` list with ``new_entry`` in place (see OCILayoutDestination.commit)."""
    result: list[dict[str, t.Any]] = []
    placed = False
    for entry in manifests:
        if name is not None and ref_name_of(entry) == name:
            if not placed:
                result.append(new_entry)
                placed = True
            continue
        result.append(entry)
    if placed:
        return result
    for position, entry in enumerate(result):
        if ref_name_of(entry) is None and digest_of(entry) == new_entry['digest']:
            result[position] = new_entry
            return result
    result.append(new_entry)
    return result
