# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image from an OCI archive (containers/image's ``oci/archive/oci_src.go``), in place."""

from __future__ import annotations

import contextlib
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import MAX_MANIFEST_SIZE
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.archive import OCIArchive
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import ref_names

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveReference


class OCIArchiveSource(ImageSource):
    """An image in an OCI archive, opened for reading.

    Opening indexes the archive and reads index.json (ImageNotFoundError when the file is missing,
    LayoutError when it is not a safe, well-formed OCI archive); nothing is extracted. The entry
    the reference names is resolved once, on the first ``get_manifest()``. Blobs are streamed
    from their offsets in the archive; the caller verifies them.
    """

    reference: 'OCIArchiveReference'

    def __init__(self, reference: 'OCIArchiveReference') -> None:
        self.reference = reference
        self.archive = OCIArchive(reference.path)
        self._descriptor: Descriptor | None = None

    def descriptor(self) -> Descriptor:
        """The index.json entry this reference names (resolved once)."""
        if self._descriptor is None:
            self._descriptor = self.archive.select(self.reference.image_ref)
        return self._descriptor

    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """The named manifest (checked against its index.json entry), or the child ``instance_digest``.

        As for an OCI layout, a child's media type is None: only its parent index knows it.
        """
        if instance_digest is not None:
            return self.archive.read_blob(instance_digest, MAX_MANIFEST_SIZE, 'manifest'), None
        desc = self.descriptor()
        raw = self.archive.read_blob(desc.digest, MAX_MANIFEST_SIZE, 'manifest', size=desc.size)
        return raw, desc.media_type or None

    @contextlib.contextmanager
    def get_blob(self, info: BlobInfo) -> t.Iterator[tuple[t.Iterator[bytes], int]]:
        """Stream a blob from the archive; BlobNotFoundError when the archive lacks it."""
        member = self.archive.blob_member(info.digest)
        yield self.archive.tar.iter_member(member), member.size

    def get_signatures(self, instance_digest: Digest | None = None) -> list[bytes]:
        """The signatures the archive holds for the named manifest (or the child ``instance_digest``), oldest first."""
        digest = instance_digest if instance_digest is not None else self.descriptor().digest
        return self.archive.read_signatures(digest)

    def list_tags(self) -> list[str]:
        """The ref names of index.json, in index order."""
        return ref_names(self.archive.index)

    def close(self) -> None:
        """Close the archive."""
        self.archive.close()

    def __enter__(self) -> 'OCIArchiveSource':
        return self
