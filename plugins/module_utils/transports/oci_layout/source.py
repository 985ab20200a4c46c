# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image from an OCI layout (containers/image's ``oci/layout/oci_src.go``)."""

from __future__ import annotations

import contextlib
import os
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import MAX_MANIFEST_SIZE
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import (
    IndexSnapshot,
    Layout,
    chunked,
    find_descriptor,
    ref_names,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.signatures import LayoutSignatures

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCIReference


class OCILayoutSource(ImageSource):
    """An image in an OCI layout, opened for reading.

    The layout must exist (ImageNotFoundError otherwise) and have an index.json (LayoutError). The
    entry the reference names is looked up once, on the first ``get_manifest()``, and kept: every
    later call reads the same manifest even if another writer moves the name meanwhile.

    ``snapshot``: index.json as read once for many images of the layout (an image_sync of a layout,
    see :class:`IndexSnapshot`); the name is then looked up there instead of in a fresh read, and
    the layout is not checked again (the snapshot's reading checked it).
    """

    reference: 'OCIReference'

    def __init__(self, reference: 'OCIReference', shared_blob_dir: str | None = None, snapshot: IndexSnapshot | None = None) -> None:
        self.reference = reference
        self.layout = Layout(reference.path, shared_blob_dir)
        if snapshot is None:
            self.layout.check_readable()
        self._snapshot = snapshot
        self._descriptor: Descriptor | None = None

    def _index(self) -> dict[str, t.Any]:
        return self._snapshot.index if self._snapshot is not None else self.layout.read_index()

    def descriptor(self) -> Descriptor:
        """The index.json entry this reference names (resolved once)."""
        if self._descriptor is None:
            ref = self.reference
            self._descriptor = find_descriptor(self._index(), ref.path, ref_name=ref.image_ref, digest=ref.digest)
        return self._descriptor

    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """The named manifest (checked against its index.json entry), or the child ``instance_digest``.

        The media type is the one the index.json entry gives; for a child it is None, because
        only the parent index knows it (the parser reads the manifest's own ``mediaType``).
        """
        if instance_digest is not None:
            raw = self.layout.read_blob(instance_digest, MAX_MANIFEST_SIZE, 'manifest')
            return raw, None
        desc = self.descriptor()
        raw = self.layout.read_blob(desc.digest, MAX_MANIFEST_SIZE, 'manifest', size=desc.size)
        return raw, desc.media_type or None

    @contextlib.contextmanager
    def get_blob(self, info: BlobInfo) -> t.Iterator[tuple[t.Iterator[bytes], int]]:
        """Stream a blob from its file; BlobNotFoundError when it is absent.

        The bytes are not verified here: the caller streams them through ``verified_stream``.
        """
        with self.layout.open_blob(info.digest) as handle:
            yield chunked(handle), os.fstat(handle.fileno()).st_size

    def get_signatures(self, instance_digest: Digest | None = None) -> list[bytes]:
        """The signatures stored for the named manifest (or the child ``instance_digest``), oldest first (see the signatures module)."""
        digest = instance_digest if instance_digest is not None else self.descriptor().digest
        return LayoutSignatures(self.layout.path).read(digest)

    def list_tags(self) -> list[str]:
        """The ref names of index.json, in index order."""
        return ref_names(self._index())
