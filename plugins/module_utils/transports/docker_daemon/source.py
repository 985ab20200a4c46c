# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image from a Docker daemon (containers/image's ``docker/daemon/daemon_src.go``).

The daemon is asked for the image's record (``GET /images/{name}/json``: its ``Id`` is the config
digest), then for the image by that ID (``GET /images/get?names=sha256:ID``), a ``docker save``
tar. Exporting by ID pins the image: a name moved meanwhile cannot swap it, and the config read
from the export must hash to that ID.

A ``docker save`` stream cannot be read as it arrives: its ``manifest.json`` comes after the
layers, and ``<id>/layer.tar`` entries may be symlinks to files earlier in the stream. As
containers/image does, the stream is spooled to a temporary file (in ``TMPDIR``) and then read by
the docker-archive reader (``docker_archive/archive.py``, with its tar safety rules), which
synthesizes the schema2 manifest exactly as for a ``docker-archive:`` file. The spool is bounded
(:func:`spool_limit`) and removed when the source closes (what a killed run left in ``TMPDIR`` is swept by the
next one, as fsutil.sweep_stale_temps does for every temporary file of this collection).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ImageNotFoundError,
    InvalidDigestError,
    LayoutError,
    ManifestError,
    ServerError,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import create_temp_dir, open_writer, release_temp_dir, sweep_stale_temps
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.archive import ArchiveImage, DockerArchive
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.source import DockerArchiveSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.client import EngineClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.transport import DockerDaemonReference

#: The largest export spooled when the daemon does not say how big the image is.
MAX_EXPORT_SIZE = 64 * 1024 * 1024 * 1024
#: Room for tar headers and the legacy per-layer files beside the image's own bytes.
EXPORT_ALLOWANCE = 256 * 1024 * 1024


def spool_limit(record: t.Mapping[str, t.Any]) -> int:
    """How many bytes an export of the image ``record`` (``GET /images/{name}/json``) may take: twice its ``Size`` and some room.

    The daemon's ``Size`` is the image's uncompressed size, which the export is close to; a stream
    far beyond it is a daemon gone wrong and must not fill the temporary directory.
    """
    size = record.get('Size')
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        return min(2 * size + EXPORT_ALLOWANCE, MAX_EXPORT_SIZE)
    return MAX_EXPORT_SIZE


def image_id_of(record: t.Mapping[str, t.Any], where: str) -> Digest:
    """The ``Id`` of an image record, a sha256 digest (the config's)."""
    value = record.get('Id')
    try:
        return Digest(value if isinstance(value, str) else '')
    except InvalidDigestError:
        raise ServerError('%s: the daemon gave the image ID %r, not a sha256:... digest' % (where, str(value)[:100])) from None


def spool(chunks: t.Iterable[bytes], path: str, limit: int, where: str) -> int:
    """Write ``chunks`` to the new file ``path``, failing (LayoutError) once more than ``limit`` bytes arrive; the size written."""
    written = 0
    try:
        with open_writer(path, 'xb') as handle:
            for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise LayoutError('refusing the export of %s: the daemon sent more than %d bytes' % (where, limit))
                handle.write(chunk)
    except OSError as exc:
        raise LayoutError('cannot spool the export of %s to %s: %s' % (where, path, exc.strerror or exc)) from None
    return written


#: Synthesized manifests by (daemon, image ID), so that a destination's idempotence check and the copy's look at what the
#: name holds export the image once per run, not once per look. An image ID pins the config, and the config's diff_ids the
#: uncompressed layers the daemon exports, so the manifest cannot change under the same ID.
_MANIFESTS: dict[tuple[str, Digest], bytes] = {}
_MANIFESTS_LOCK = threading.Lock()
MAX_CACHED_MANIFESTS = 64


class DockerDaemonSource(DockerArchiveSource):
    """An image of a Docker daemon, exported on first need and read as a docker archive (see the module docstring).

    Opening asks the daemon for the image's record only; the export happens when a blob is read,
    or the manifest is asked for and not known from an earlier export of the same image ID.
    """

    reference: 'DockerDaemonReference'  # type: ignore[assignment]

    def __init__(self, reference: 'DockerDaemonReference', options: ConnectionOptions,
                 client: EngineClient | None = None) -> None:  # pylint: disable=super-init-not-called
        # Not DockerArchiveSource.__init__: the archive is a spool of the daemon's export, not a file named by the reference.
        self.reference = reference
        self.where = str(reference)
        self._image: ArchiveImage | None = None
        self._lock = threading.Lock()
        self._directory: str | None = None
        self._directory_fd: int | None = None
        self.archive: DockerArchive | None = None  # type: ignore[assignment]
        self.client = client or EngineClient(options.daemon_host, options)
        try:
            record = self.client.image_inspect(reference.api_name())
            if record is None:
                raise ImageNotFoundError('%s: the %s at %s has no such image' % (self.where, self.client.daemon_name, self.client.host))
            #: The daemon's record of the image (GET /images/{name}/json).
            self.record = record
            #: The image ID (config digest) the daemon gave for the name; the export must have that config.
            self.image_id = image_id_of(record, self.where)
        except BaseException:
            self.close()
            raise

    def _exported(self) -> DockerArchive:
        """The export, spooled and indexed on first use (call with the lock held)."""
        if self.archive is None:
            parent = tempfile.gettempdir()
            # What a killed run left here goes first; a live run holds its directory (fsutil.sweep_stale_temps).
            sweep_stale_temps(parent, lambda name: name.startswith(TEMP_PREFIX))
            self._directory, self._directory_fd = create_temp_dir(parent, TEMP_PREFIX, 'directory for the export of %s' % self.where)
            path = os.path.join(self._directory, 'image.tar')
            with self.client.export(str(self.image_id)) as chunks:
                spool(chunks, path, spool_limit(self.record), self.where)
            self.archive = DockerArchive(path)
        return self.archive

    def image(self) -> ArchiveImage:
        """The exported image (its only one), checked to be the image ID the daemon gave."""
        with self._lock:
            if self._image is None:
                archive = self._exported()
                image = archive.image(archive.choose())
                if image.config_digest != self.image_id:
                    raise ManifestError('%s: the daemon exported the image %s, not %s' % (self.where, image.config_digest, self.image_id))
                self._image = image
                with _MANIFESTS_LOCK:
                    if len(_MANIFESTS) >= MAX_CACHED_MANIFESTS:
                        _MANIFESTS.clear()
                    _MANIFESTS[(str(self.client.host), self.image_id)] = image.manifest
            return self._image

    def manifest_digest(self) -> Digest:
        """Digest of the manifest :meth:`get_manifest` gives (exports the image unless it is known already)."""
        return Digest.from_bytes(self.get_manifest()[0])

    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """The synthesized Docker schema2 manifest (as for a docker archive); a daemon holds no manifest lists."""
        with _MANIFESTS_LOCK:
            known = _MANIFESTS.get((str(self.client.host), self.image_id))
        if known is not None and (instance_digest is None or instance_digest == Digest.from_bytes(known)):
            return known, mt.DOCKER_V2S2
        return super().get_manifest(instance_digest)

    def close(self) -> None:
        """Close and remove the spooled export, and the connection."""
        if self.archive is not None:
            self.archive.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        release_temp_dir(self._directory_fd)
        self._directory_fd = None
        self.client.close()
