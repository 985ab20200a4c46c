# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image from a docker archive (containers/image's ``docker/internal/tarfile/src.go``), in place."""

from __future__ import annotations

import contextlib
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import BlobNotFoundError, ImageNotFoundError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.archive import WHAT, ArchiveImage, DockerArchive

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveReference


class DockerArchiveSource(ImageSource):
    """One image of a docker archive, opened for reading.

    Opening indexes the archive and reads manifest.json; the image is chosen (by tag, by ``@N``,
    or as the only one) and its manifest synthesized once, on first use (see ``archive.py`` for
    exactly how). Blobs are streamed from their offsets in the archive; the caller verifies them.
    """

    reference: 'DockerArchiveReference'

    def __init__(self, reference: 'DockerArchiveReference') -> None:
        self.reference = reference
        #: What messages call the archive.
        self.where = '%s %s' % (WHAT, reference.path)
        self.archive = DockerArchive(reference.path)
        self._image: ArchiveImage | None = None
        self._lock = threading.Lock()

    def image(self) -> ArchiveImage:
        """The chosen image (resolved once)."""
        with self._lock:
            if self._image is None:
                position = self.archive.choose(self.reference.ref, self.reference.source_index)
                self._image = self.archive.image(position)
            return self._image

    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """The synthesized Docker schema2 manifest; an archive holds no manifest lists."""
        image = self.image()
        if instance_digest is not None and instance_digest != image.digest:
            raise ImageNotFoundError('manifest %s is not in %s: a docker archive holds no manifest lists'
                                     % (instance_digest, self.where))
        return image.manifest, mt.DOCKER_V2S2

    @contextlib.contextmanager
    def get_blob(self, info: BlobInfo) -> t.Iterator[tuple[t.Iterator[bytes], int]]:
        """The config, or a layer file streamed from the archive; BlobNotFoundError for anything else."""
        image = self.image()
        if info.digest == image.config_digest:
            yield iter([image.config]), len(image.config)
            return
        member = image.layers.get(info.digest)
        if member is None:
            raise BlobNotFoundError('blob %s is not part of the image in %s' % (info.digest, self.where))
        yield self.archive.tar.iter_member(member), member.size

    def close(self) -> None:
        """Close the archive."""
        self.archive.close()

    def __enter__(self) -> 'DockerArchiveSource':
        return self
