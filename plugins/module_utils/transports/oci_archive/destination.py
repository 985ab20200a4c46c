# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to an OCI archive (containers/image's ``oci/archive/oci_dest.go``).

The image is written into a fresh OCI layout in a temporary directory beside PATH, by the OCI
layout destination itself (atomic, verified blobs; the same index.json entry). ``commit()`` tars
that layout into a temporary file beside PATH and renames it over PATH: readers see the old
archive or the new one, and a failure anywhere leaves the old archive byte-identical. ``close()``
removes the temporary directory.

As with skopeo, the new archive *replaces* PATH: it holds this one image, and any other image the
old archive held is gone. Unlike skopeo, which extracts to ``/var/tmp`` and then truncates PATH
and writes it in place, the staging directory and the temporary archive live next to PATH, so the
rename is atomic and a crash never leaves a half-written archive under PATH's name. What a killed
run leaves beside PATH (``.ocikit-tmp-*``) is swept by the next write there once it is stale and no
live process holds it (``fsutil.sweep_stale_temps``).

Signatures are stored as in an OCI layout (ocikit's convention, ``oci_layout/signatures.py``): the
staging layout writes them at its commit, and the archive carries its ``.ocikit/signatures/``
files after the layout's own entries. skopeo extracts the whole archive and ignores them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import hold_dir, release_temp_dir, sweep_stale_temps
from ansible_collections.ocikit.images.plugins.module_utils.errors import LayoutError, OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.archive import WHAT, OCIArchive
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.destination import OCILayoutDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import (
    BLOBS_DIR,
    INDEX_FILE,
    OCI_LAYOUT_FILE,
    TEMP_PREFIX,
    ref_name_of,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.signatures import (
    METADATA_DIR,
    SIGNATURES_DIR,
    LayoutSignatures,
    directory_name,
    member_name,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCIReference
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import AtomicTarWriter, check_archive_path

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveReference


class OCIArchiveDestination(ImageDestination):
    """An OCI archive path opened for writing one image under the reference's name.

    Opening only checks the path (its directory must exist; PATH, if present, must be a regular
    file; a symlink is followed to the file it names). Nothing is written before the first blob
    or manifest, so planning and check mode leave no trace.
    """

    # An OCI layout holds OCI manifests and indexes only (skopeo converts Docker ones).
    supported_manifest_types: tuple[str, ...] = (mt.OCI_MANIFEST, mt.OCI_INDEX)
    # As containers/image: registries and OCI layouts get compressed layers, docker-archive uncompressed ones.
    desired_layer_compression = 'compress'
    supports_index = True
    # ocikit's convention, not containers/image's (which stores none in an archive).
    supports_signatures = True

    reference: 'OCIArchiveReference'

    def __init__(self, reference: 'OCIArchiveReference') -> None:
        self.reference = reference
        #: The file commit() replaces (PATH with symlinks resolved).
        self.target = check_archive_path(reference.path, WHAT)
        self._staging: str | None = None
        #: Holds the staging directory under a shared flock while it exists (see fsutil.sweep_stale_temps).
        self._staging_fd: int | None = None
        self._layout: OCILayoutDestination | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._manifest_written = False

    def staging_layout(self) -> OCILayoutDestination:
        """The OCI layout destination in the temporary directory, created on first use."""
        with self._lock:
            if self._closed:
                raise LayoutError('cannot write to %s: the destination is closed' % self.reference)
            if self._layout is None:
                parent = os.path.dirname(self.target)
                # Leftovers of killed runs beside PATH (staging directories, temporary archives) go first.
                sweep_stale_temps(parent, lambda name: name.startswith(TEMP_PREFIX))
                try:
                    self._staging = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent)
                except OSError as exc:
                    raise LayoutError('cannot create a temporary directory beside %s %s: %s'
                                      % (WHAT, self.target, exc.strerror or exc)) from None
                self._staging_fd = hold_dir(self._staging)
                self._layout = OCILayoutDestination(OCIReference(self._staging, image_ref=self.reference.image_ref))
            return self._layout

    def get_manifest_digest(self) -> Digest | None:
        """Digest of the image the archive holds now, when a commit would write the same archive.

        That is the case only when the archive's index.json has exactly one entry and it carries
        this reference's name (no name, for ``oci-archive:PATH``): since commit() replaces the
        whole archive, an archive that also holds other images, or holds this one under another
        name, would change even for the same image. Reading writes nothing (a compressed archive
        is decompressed into an unnamed temporary file that vanishes on close). None when the
        archive is missing or unreadable: commit() will replace it.
        """
        try:
            with OCIArchive(self.target) as archive:
                entries = archive.index['manifests']
                if len(entries) != 1 or ref_name_of(entries[0]) != self.reference.image_ref:
                    return None
                return archive.select(self.reference.image_ref).digest
        except OcikitError:
            return None

    def get_signatures(self) -> list[bytes]:
        """The signatures the archive holds for its image, when get_manifest_digest() says a commit would keep it; else []."""
        if self.get_manifest_digest() is None:
            return []
        with OCIArchive(self.target) as archive:
            return archive.read_signatures(archive.select(self.reference.image_ref).digest)

    def put_signatures(self, signatures: t.Sequence[bytes]) -> None:
        """Store ``signatures`` with the image in the new archive ([] or no call: the new archive holds none)."""
        self.staging_layout().put_signatures(signatures)

    def has_blob(self, info: BlobInfo) -> bool:
        """True when this destination already wrote the blob; the old archive does not count (it is replaced)."""
        with self._lock:
            layout = self._layout
        return layout is not None and layout.has_blob(info)

    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Store a verified blob in the staging layout; safe to call from several threads."""
        return self.staging_layout().put_blob(chunks, info)

    def put_blob_unknown(self, chunks: t.Iterable[bytes], media_type: str | None = None) -> BlobInfo:
        """Stream a blob of unknown digest into the staging layout."""
        return self.staging_layout().put_blob_unknown(chunks, media_type)

    def put_manifest(self, raw: bytes, media_type: str, instance_digest: Digest | None = None) -> None:
        """Store a manifest in the staging layout (checked as the OCI layout destination checks it)."""
        self.staging_layout().put_manifest(raw, media_type, instance_digest)
        if instance_digest is None:
            self._manifest_written = True

    def commit(self) -> None:
        """Name the image in the staging layout, then tar the layout and rename it over PATH."""
        with self._lock:
            layout, staging = self._layout, self._staging
        if layout is None or staging is None or not self._manifest_written:
            raise LayoutError('nothing to commit to %s: no manifest was written' % self.reference)
        layout.commit()
        with AtomicTarWriter(self.target, WHAT) as writer:
            write_layout(writer, staging)
            writer.commit()

    def close(self) -> None:
        """Remove the staging directory; PATH is untouched unless commit() ran."""
        with self._lock:
            self._closed = True
            layout, staging, staging_fd = self._layout, self._staging, self._staging_fd
            self._layout = self._staging = self._staging_fd = None
        if layout is not None:
            layout.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        release_temp_dir(staging_fd)


def write_layout(writer: AtomicTarWriter, layout_path: str) -> None:
    """Add an OCI layout directory to ``writer`` as containers/image tars one.

    Entries come in lexical order (``blobs/``, ``blobs/<alg>/``, the blobs, ``index.json``,
    ``oci-layout``), as skopeo's directory walk gives them. Only the layout's own files are taken:
    blob files whose names are valid digests, index.json and oci-layout. The layout's lock file
    and temporary files stay out. Signatures (ocikit's convention) follow, under ``.ocikit/``:
    only ``signature-N`` files of directories named after a digest.
    """
    blobs_path = os.path.join(layout_path, BLOBS_DIR)
    writer.add_directory(BLOBS_DIR)
    for algorithm in sorted(os.listdir(blobs_path)):
        algorithm_path = os.path.join(blobs_path, algorithm)
        if not os.path.isdir(algorithm_path):
            continue
        names = sorted(name for name in os.listdir(algorithm_path)
                       if Digest.is_valid('%s:%s' % (algorithm, name)) and os.path.isfile(os.path.join(algorithm_path, name)))
        writer.add_directory('%s/%s' % (BLOBS_DIR, algorithm))
        for name in names:
            writer.add_file('%s/%s/%s' % (BLOBS_DIR, algorithm, name), os.path.join(algorithm_path, name))
    writer.add_file(INDEX_FILE, os.path.join(layout_path, INDEX_FILE))
    writer.add_file(OCI_LAYOUT_FILE, os.path.join(layout_path, OCI_LAYOUT_FILE))
    _write_signatures(writer, layout_path)


def _write_signatures(writer: AtomicTarWriter, layout_path: str) -> None:
    """Add the staging layout's signature files (written by this run: plain directories and files)."""
    signatures = LayoutSignatures(layout_path)
    digests = signatures.digests()
    if not digests:
        return
    writer.add_directory(METADATA_DIR)
    writer.add_directory(SIGNATURES_DIR)
    for digest in digests:
        writer.add_directory('%s/%s' % (SIGNATURES_DIR, directory_name(digest)))
        for number, dummy in enumerate(signatures.read(digest), start=1):
            writer.add_file(member_name(digest, number), os.path.join(signatures.path_of(digest), 'signature-%d' % number))
