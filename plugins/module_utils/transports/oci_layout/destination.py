# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to an OCI layout (containers/image's ``oci/layout/oci_dest.go``).

Blobs and manifests are content-addressed files, written atomically as they come; they are
invisible to anyone reading by name until ``commit()`` adds the entry to index.json. That update
is a read-modify-write under the layout lock, so writers of different names to one layout never
lose each other's entries.
"""

from __future__ import annotations

import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
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
    Layout,
    TempFiles,
    digest_of,
    find_descriptor,
    ref_name_of,
)

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
        self.layout.check_writable()

    def _ensure_layout(self) -> None:
        """Create the layout on the first write (blobs may be written from several threads)."""
        with self._init_lock:
            if not self._initialized:
                self.layout.initialize()
                self._initialized = True

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

    def has_blob(self, info: BlobInfo) -> bool:
        """True when the blob file exists (with ``info.size`` bytes, when that is known)."""
        size = self.layout.blob_size(info.digest)
        return size is not None and (info.size < 0 or size == info.size)

    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Store a blob, verified against ``info`` before it gets its name; skip it if present.

        Safe to call from several threads at once.
        """
        present = self.layout.blob_size(info.digest)
        if present is not None and (info.size < 0 or present == info.size):
            return BlobInfo(info.digest, present, info.media_type)
        self._ensure_layout()
        size = self.layout.write_blob(chunks, info.digest, info.size, 'blob', self._temp_files)
        return BlobInfo(info.digest, size, info.media_type)

    def put_blob_unknown(self, chunks: t.Iterable[bytes], media_type: str | None = None) -> BlobInfo:
        """Store a blob hashed while it is written (a recompressed layer), streamed straight into the layout."""
        self._ensure_layout()
        digest, size = self.layout.write_blob_unknown(chunks, 'blob', self._temp_files)
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
        self._ensure_layout()
        if self.layout.blob_size(digest) != len(raw):
            self.layout.write_blob([raw], digest, len(raw), 'manifest', self._temp_files)
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
        """
        if self._pending is None:
            raise LayoutError('nothing to commit to %s: no manifest was written' % self.reference)
        new_entry = self._pending.to_json()
        self._ensure_layout()
        with self.layout.lock():
            index = self.layout.read_index()
            manifests = _place_entry(index['manifests'], new_entry, self.reference.image_ref)
            if manifests != index['manifests']:
                index['manifests'] = manifests
                self.layout.write_index(index)

    def close(self) -> None:
        """Remove temporary files still open; index.json is untouched unless commit() ran."""
        self._temp_files.remove_all()


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
