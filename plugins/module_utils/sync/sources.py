# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The bundles a sync reads many images from, each opened (or read) once: OCI archives and OCI layouts.

A sync of N images of one bundle would otherwise open it N times: an archive indexed (and, if
compressed, decompressed) per image (containers/image even extracts it each time), a layout's
index.json read and parsed per image, each a list of N entries. :class:`SourceBundles` opens each
bundle once, for the spec's listing of its names (spec.parse_layout_source's ``read_index``) and for
every copy (:meth:`SourceBundles.reference`), so the names the sync selected and the images it
copies come from one reading:

- An ``oci-archive`` is opened once and read positionally by every copy, concurrently; the open
  file keeps the archive that was read even if another one is renamed over it meanwhile.
- An ``oci`` layout's index.json is read once (:class:`...oci_layout.layout.IndexSnapshot`); every
  image is resolved against that snapshot. A layout written during the sync is detected at the end
  (:meth:`SourceBundles.changed_layouts`, one ``stat`` per layout) and reported by the engine, which
  then does not prune from names that may be out of date.

References keep their transport, name and policy scope (they are the transports' own reference
classes); only the opening of their source is shared.
"""

from __future__ import annotations

import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.archive import OCIArchive
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.source import OCIArchiveSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveReference
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import IndexSnapshot, Layout
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.source import OCILayoutSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCIReference


class _SharedArchiveSource(OCIArchiveSource):
    """An image of an archive the sync opened once: reads through the shared reader, and leaves it open when closed."""

    # The parent's __init__ would open and index the archive again, which is what sharing avoids.
    def __init__(self, reference: '_SharedArchiveReference') -> None:  # pylint: disable=super-init-not-called
        self.reference = reference
        self.archive = reference.archive
        self._descriptor = None

    def close(self) -> None:
        """Nothing: the sync closes the archive after its last image."""


class _SharedArchiveReference(OCIArchiveReference):
    """An ``oci-archive:`` source reference whose source reads an archive the sync opened once (same name, same policy scope)."""

    __slots__ = ('archive',)

    def __init__(self, path: str, image_ref: str | None, archive: OCIArchive) -> None:
        super().__init__(path, image_ref)
        object.__setattr__(self, 'archive', archive)

    def new_source(self, options: ConnectionOptions | None = None) -> OCIArchiveSource:
        return _SharedArchiveSource(self)


class _SnapshotLayoutReference(OCIReference):
    """An ``oci:`` source reference whose source resolves its name in the sync's snapshot of index.json (same name, same policy scope)."""

    __slots__ = ('snapshot',)

    def __init__(self, path: str, image_ref: str | None, snapshot: IndexSnapshot) -> None:
        super().__init__(path, image_ref)
        object.__setattr__(self, 'snapshot', snapshot)

    def new_source(self, options: ConnectionOptions | None = None) -> OCILayoutSource:
        return OCILayoutSource(self, options.shared_blob_dir if options is not None else None, snapshot=self.snapshot)


class SourceBundles:
    """Source references for a sync's images; the images of one OCI archive or layout share one opening of it (module docstring).

    Thread-safe: the images copied at once share the bundles. Close it (or use it as a context
    manager) after the sync.
    """

    def __init__(self) -> None:
        self._archives: dict[str, OCIArchive] = {}
        self._layouts: dict[str, IndexSnapshot] = {}
        self._lock = threading.Lock()

    def archive(self, path: str) -> OCIArchive:
        """The archive at ``path`` (absolute), opened on first use; it stays open until :meth:`close`."""
        with self._lock:
            archive = self._archives.get(path)
            if archive is None:
                archive = self._archives[path] = OCIArchive(path)
            return archive

    def layout(self, path: str) -> IndexSnapshot:
        """The snapshot of the layout at ``path`` (absolute), its index.json read on first use."""
        with self._lock:
            snapshot = self._layouts.get(path)
            if snapshot is None:
                layout = Layout(path)
                layout.check_readable()
                snapshot = self._layouts[path] = IndexSnapshot(layout)
            return snapshot

    def index(self, path: str, src_type: str) -> dict[str, t.Any]:
        """index.json of the bundle at ``path``: an ``oci-archive`` file or an ``oci`` layout directory (spec's ``read_index``)."""
        return self.archive(path).index if src_type == 'oci-archive' else self.layout(path).index

    def reference(self, name: str) -> t.Any:
        """The reference ``name`` parses to, sharing the bundle for an ``oci-archive:`` or named ``oci:`` one."""
        ref = parse_image_name(name)
        if isinstance(ref, OCIArchiveReference):
            return _SharedArchiveReference(ref.path, ref.image_ref, self.archive(ref.path))
        if isinstance(ref, OCIReference) and ref.digest is None:
            return _SnapshotLayoutReference(ref.path, ref.image_ref, self.layout(ref.path))
        return ref

    def changed_layouts(self) -> list[str]:
        """The layouts written since their snapshot was taken (their images were copied as the snapshot named them), sorted."""
        with self._lock:
            snapshots = list(self._layouts.items())
        return sorted(path for path, snapshot in snapshots if snapshot.changed())

    def close(self) -> None:
        """Close every archive opened, forget every snapshot."""
        with self._lock:
            archives, self._archives, self._layouts = list(self._archives.values()), {}, {}
        for archive in archives:
            archive.close()

    def __enter__(self) -> 'SourceBundles':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()
