# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image of a containers/storage store through Podman's libpod API.

As the docker-daemon source does (and with its code): the record (``GET /libpod/images/{name}/json``)
gives the image ID, the image is exported by that ID as a docker archive
(``GET /libpod/images/{id}/get?format=docker-archive``, see client.py for why that format), spooled to
``TMPDIR`` within a bound and read by the docker-archive reader, and its config must hash to the ID.

What differs from containers/image's storage source: that reads the layers from the store and gives the
manifest stored with the image (with the digests of the layers as they were pulled); an export through the
service gives the layers uncompressed, so the manifest is the one synthesized for a docker archive (Docker
schema2, uncompressed layers). The config, and so the image ID and the diff_ids, are the same. Stored
signatures are not read (the API does not export them).
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.client import LibpodClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.source import DockerDaemonSource

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import ContainersStorageReference


class ContainersStorageSource(DockerDaemonSource):
    """An image of the Podman service's store, exported on first need (see DockerDaemonSource)."""

    reference: 'ContainersStorageReference'  # type: ignore[assignment]

    def __init__(self, reference: 'ContainersStorageReference', options: ConnectionOptions, client: LibpodClient | None = None) -> None:
        super().__init__(reference, options, client=client or LibpodClient(options.daemon_host, options, reference.store))  # type: ignore[arg-type]

    def policy_reference(self) -> 'ContainersStorageReference':
        """This reference with the service's store filled in (driver and graph root), for the trust policy's scopes.

        containers/image scopes a containers-storage image by its store, ``[DRIVER@GRAPHROOT]NAME``: a
        reference without the bracket (or with a partial one) still names the service's store.
        """
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import (
            ContainersStorageReference, StoreSpec)

        driver, root, runroot = t.cast(LibpodClient, self.client).store_info()
        given = self.reference.store
        store = StoreSpec(driver, root, given.runroot if given is not None and given.runroot else runroot, given.options if given is not None else ())
        return ContainersStorageReference(self.reference.ref, self.reference.image_id, store)
