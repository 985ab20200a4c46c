# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``docker://`` transport: images in a registry that speaks the distribution API v2.

Parsing needs no third-party library; opening a source or destination needs httpx.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    ConnectionOptions,
    ImageReference,
    ImageTransport,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination import DockerImageDestination
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import DockerImageSource


class DockerTransport(ImageTransport):
    """``docker://[registry/]name[:tag][@digest]``."""

    name = 'docker'

    def parse_reference(self, details: str) -> 'DockerImageReference':
        """Parse ``//name[:tag][@digest]``; a name without tag or digest gets ``:latest``."""
        if not isinstance(details, str) or not details.startswith('//'):
            raise InvalidReferenceError('docker: image reference "%s" does not start with "//"' % (details,))
        return DockerImageReference(parse_normalized_named(details[2:]).with_default_tag())


class DockerImageReference(ImageReference):
    """An image in a registry, named by a normalised docker reference (immutable)."""

    transport = DockerTransport()
    _ref: DockerReference

    def __init__(self, ref: DockerReference) -> None:
        if not isinstance(ref, DockerReference):
            raise InvalidReferenceError('docker: expected a docker reference, got %r' % (ref,))
        if ref.is_name_only():
            # ParseReference adds :latest; a name alone never reaches a registry.
            ref = ref.with_default_tag()
        object.__setattr__(self, '_ref', ref)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('DockerImageReference is immutable')

    @property
    def ref(self) -> DockerReference:
        """The docker reference (domain, repository, tag and/or digest)."""
        return self._ref

    def string_within_transport(self) -> str:
        """``//`` and the familiar form (``//busybox:latest``), which parses back to this reference."""
        return '//' + self._ref.familiar_string()

    def docker_reference(self) -> DockerReference:
        """The reference with its tag and/or digest."""
        return self._ref

    def _shared_client(self, options: ConnectionOptions, client: 'RegistryClient | None') -> 'RegistryClient | None':
        if client is None and options.clients is not None:
            return options.clients.get(self._ref.domain, options)
        return client

    def new_source(self, options: ConnectionOptions, client: 'RegistryClient | None' = None) -> DockerImageSource:
        """Open the image for reading.

        ``client`` shares an existing RegistryClient; without it, the one of ``options.clients`` (a
        transports.docker.pool.ClientPool) when set. A shared client is not closed by the source.
        """
        # Imported here: parsing a name of this transport must not load (and compile, in every AnsiballZ run) its reader and writer.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import DockerImageSource  # pylint: disable=import-outside-toplevel

        return DockerImageSource(self, options, client=self._shared_client(options, client))

    def new_destination(self, options: ConnectionOptions, client: 'RegistryClient | None' = None) -> DockerImageDestination:
        """Open the image for writing; ``client`` as for :meth:`new_source` (a shared one is not closed by the destination)."""
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination import (  # pylint: disable=import-outside-toplevel
            DockerImageDestination,
        )

        return DockerImageDestination(self, options, client=self._shared_client(options, client))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DockerImageReference):
            return NotImplemented
        return self._ref == other._ref

    def __hash__(self) -> int:
        return hash(('docker', str(self._ref)))

    def __repr__(self) -> str:
        return 'DockerImageReference(%r)' % str(self._ref)
