# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image into a containers/storage store through Podman's libpod API.

As the docker-daemon destination does (and with its code): blobs are staged in ``TMPDIR``, and commit()
streams the docker archive of the image (``RepoTags``: the fully qualified ``domain/path:tag``) into
``POST /libpod/images/load``, which loads it whole or not at all; then the name must point at the config
digest just sent. Nothing is sent before commit().

Idempotence, as for the daemon, by image ID: when the name already holds the image ID (config digest)
the copy would write, nothing is exported or sent and the copy is unchanged, check mode included.
containers/image can store signatures with an image in containers/storage, but the load API takes none:
a copy of a signed image fails before anything is sent unless ``remove_signatures``.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.client import LibpodClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.source import ContainersStorageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.destination import DockerDaemonDestination

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import ContainersStorageReference


class ContainersStorageDestination(DockerDaemonDestination):
    """A ``NAME:TAG`` in the Podman service's store, opened for writing one image. Opening sends nothing."""

    reference: 'ContainersStorageReference'  # type: ignore[assignment]

    def new_client(self) -> LibpodClient:
        """A client of the service named by the options, held to the reference's store."""
        return LibpodClient(self.options.daemon_host, self.options, self.reference.store)

    def current_image(self) -> ContainersStorageSource:
        """The image the name holds now, opened as a source with a client of its own."""
        return ContainersStorageSource(self.reference, self.options, client=self.new_client())
