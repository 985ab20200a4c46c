# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to a Docker daemon (containers/image's ``docker/daemon/daemon_dest.go``).

What is sent is the docker archive the ``docker-archive:`` destination writes (same entries, same
order, same bytes: ``StagedArchiveDestination.write_entries``), tagged with the reference's fully
qualified ``domain/path:tag`` (as containers/image writes RepoTags; a short name would load as
``localhost/NAME`` in Podman). It is streamed as the body of ``POST /images/load?quiet=1``
(``Content-Type: application/x-tar``) by ``tar_writer.TarStream``, never built in memory.

Blobs are staged, verified, in a temporary directory (``TMPDIR``) as they arrive, possibly in
parallel; containers/image instead writes them into the request as they come, which needs them in
order. commit() sends the archive; the daemon loads an archive as a whole or not at all, so a
failed or interrupted copy leaves the name on its previous image. A failure is read both from
Docker's JSON message stream (``errorDetail``) and from Podman's HTTP 500 ``{cause, message}``.
After the load the name must resolve to the config digest just sent, or the copy fails.

Idempotence is by image ID (``by_image_id``): the name is up to date when the daemon's record of it
(``GET /images/{name}/json``) has the ID (config digest) the copy would write; nothing is exported or
sent (copy/plan.py, the ``image_id`` rule). Only a schema1 source, whose config is made from its
layers, is compared through the manifest an export of the name's image synthesizes
(:meth:`DockerDaemonDestination.get_manifest_digest`).
Signatures cannot be stored (``supports_signatures`` is false, as containers/image): a copy of a
signed image fails unless ``remove_signatures``.
"""

from __future__ import annotations

import tempfile
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, LayoutError, ServerError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.blobcache import blob_locations
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.destination import StagedArchiveDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.client import EngineClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.source import DockerDaemonSource, image_id_of
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import TarStream

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.transport import DockerDaemonReference


class DockerDaemonDestination(StagedArchiveDestination):
    """A ``NAME:TAG`` in a Docker daemon, opened for writing one image. Opening sends nothing."""

    reference: 'DockerDaemonReference'
    by_image_id = True

    def __init__(self, reference: 'DockerDaemonReference', options: ConnectionOptions, client: EngineClient | None = None) -> None:
        ref = reference.ref
        if ref is None or ref.tag is None or ref.digest is not None:
            raise InvalidReferenceError('invalid destination %s: a %s destination must be NAME:TAG' % (reference, reference.transport.name))
        super().__init__(reference, [ref], str(reference))
        self.options = options
        self.client = client or self.new_client()

    def new_client(self) -> EngineClient:
        """A client of the daemon named by the options."""
        return EngineClient(self.options.daemon_host, self.options)

    def current_image(self) -> DockerDaemonSource:
        """The image the name holds now, opened as a source with a client of its own (ImageNotFoundError when there is none)."""
        return DockerDaemonSource(self.reference, self.options, client=self.new_client())

    def staging_parent(self) -> str:
        """TMPDIR: the daemon's store is not a directory of ours."""
        return tempfile.gettempdir()

    def get_image_id(self) -> Digest | None:
        """The ID (config digest) of the image the name holds now, from the daemon's record of it; None when it holds none."""
        record = self.client.image_inspect(self.reference.api_name())
        return image_id_of(record, self.where) if record is not None else None

    def loaded_manifest_digest(self, image_id: Digest) -> Digest | None:
        """The manifest digest of the archive an earlier copy loaded here as ``image_id`` (the blob-info cache), or None."""
        locations = blob_locations(self.options.blob_info_cache)
        known = locations.loaded_image(str(self.client.host), str(image_id)) if locations is not None else None
        return Digest(known) if known and Digest.is_valid(known) else None

    def get_manifest_digest(self) -> Digest | None:
        """Digest of the manifest a ``docker-daemon:`` source synthesizes for the image the name holds; None when it holds none.

        The daemon knows images by ID (the config digest) and keeps their layers uncompressed; what
        it holds is compared with what the copy would write through the manifest an export of it
        synthesizes (as for a docker archive). The image is exported (read, never written) once
        per run for this, and only when the name exists.
        """
        if self.client.image_inspect(self.reference.api_name()) is None:
            return None
        with self.current_image() as current:
            return current.manifest_digest()

    def commit(self) -> None:
        """Send the archive to ``POST /images/load``; then the name must point at the config just sent."""
        stream = TarStream('the archive sent to %s' % self.where)
        self.write_entries(stream)
        manifest = self._pending
        if manifest is None:  # pragma: no cover - write_entries refuses it first
            raise LayoutError('nothing to commit to %s: no manifest was written' % self.reference)
        self.client.load(stream.chunks(), str(self.reference))
        record = self.client.image_inspect(self.reference.api_name())
        loaded = image_id_of(record, self.where) if record is not None else None
        if loaded != manifest.config.digest:
            raise ServerError('%s: the %s reported the image loaded, but the name points at %s, not %s'
                              % (self.where, self.client.daemon_name, loaded or 'no image', manifest.config.digest))
        locations = blob_locations(self.options.blob_info_cache)
        if locations is not None:
            locations.record_image(str(self.client.host), str(loaded), str(manifest.digest))

    def close(self) -> None:
        """Remove the staging directory and close the connection; the daemon is untouched unless commit() ran."""
        super().close()
        self.client.close()
