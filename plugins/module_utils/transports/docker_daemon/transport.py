# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``docker-daemon:`` transport: images in a Docker Engine (or Podman's Docker-compatible service).

Syntax, as containers/image's ``docker/daemon/daemon_transport.go`` parses it:

    docker-daemon:NAME:TAG        a tagged name, normalised as the docker CLI does
                                  (``busybox:1`` -> ``docker.io/library/busybox:1``)
    docker-daemon:NAME@DIGEST     a digested name (sources only: the daemon tags what it loads)
    docker-daemon:sha256:ID       an image ID (the config's sha256, 64 hex digits; sources only)

Like containers/image, and stricter than the docker CLI: a name without tag or digest is refused
(the daemon would read it as every tag of the repository), as is a name with both, an ID in
another algorithm than sha256, a bare 64-hex ID, and the repository name ``sha256``
(``sha256:abc`` is a shortened ID, which would be ambiguous). An image ID is not a digest
reference: it names the config, not a manifest.

The daemon is reached at ``ConnectionOptions.daemon_host`` (``unix:///var/run/docker.sock`` by
default; see client.py). The transport has no policy scopes (only ``""`` applies), as in
containers/image.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidDigestError, InvalidReferenceError, quote
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions, ImageReference, ImageTransport

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.destination import DockerDaemonDestination
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.source import DockerDaemonSource

NAME = 'docker-daemon'


class DockerDaemonTransport(ImageTransport):
    """The ``docker-daemon`` transport."""

    name = NAME

    def parse_reference(self, details: str) -> 'DockerDaemonReference':
        """Parse ``NAME:TAG``, ``NAME@DIGEST`` or ``sha256:ID``; InvalidReferenceError names the bad part."""
        if not isinstance(details, str):
            raise InvalidReferenceError('invalid docker-daemon reference %r: not a string' % (details,))
        if not details:
            raise InvalidReferenceError('invalid docker-daemon reference "": expected NAME:TAG, NAME@DIGEST or sha256:ID')
        if Digest.is_valid(details):
            digest = Digest(details)
            if digest.algorithm != 'sha256':
                raise InvalidReferenceError('invalid docker-daemon reference %s: only sha256 image IDs are accepted' % quote(details))
            return DockerDaemonReference(image_id=digest)
        try:
            ref = parse_normalized_named(details)
        except InvalidReferenceError as exc:
            raise InvalidReferenceError('invalid docker-daemon reference %s: %s' % (quote(details), exc.message)) from None
        if ref.familiar_name == 'sha256':
            # "sha256:" followed by anything but 64 hex digits parses as repository "sha256" with a tag.
            raise InvalidReferenceError('invalid docker-daemon reference %s: the repository name sha256 is reserved for image IDs '
                                        '(sha256: and all 64 hex digits)' % quote(details))
        return DockerDaemonReference(ref=ref)


class DockerDaemonReference(ImageReference):
    """An image of a Docker daemon: a tagged or digested name (``ref``), or an image ID (``image_id``); immutable."""

    __slots__ = ('ref', 'image_id')

    transport: ImageTransport
    ref: DockerReference | None
    image_id: Digest | None

    def __init__(self, ref: DockerReference | None = None, image_id: Digest | None = None) -> None:
        if (ref is None) == (image_id is None):
            raise InvalidReferenceError('invalid docker-daemon reference: give a name or an image ID, not %s'
                                        % ('both' if ref is not None else 'neither'))
        if ref is not None:
            if not isinstance(ref, DockerReference):
                raise InvalidReferenceError('invalid docker-daemon reference %r: expected a docker reference' % (ref,))
            if ref.is_name_only():
                raise InvalidReferenceError('invalid docker-daemon reference %s: it has neither a tag nor a digest (write %s)'
                                            % (quote(ref.familiar_string()), quote(ref.familiar_string() + ':latest')))
            if ref.tag is not None and ref.digest is not None:
                raise InvalidReferenceError('invalid docker-daemon reference %s: a tag and a digest at once are not supported'
                                            % quote(ref.familiar_string()))
        if image_id is not None:
            try:
                image_id = Digest.parse(image_id)
            except InvalidDigestError as exc:
                raise InvalidReferenceError('invalid docker-daemon image ID: %s' % exc.message) from None
            if image_id.algorithm != 'sha256':
                raise InvalidReferenceError('invalid docker-daemon reference %s: only sha256 image IDs are accepted' % quote(str(image_id)))
        object.__setattr__(self, 'ref', ref)
        object.__setattr__(self, 'image_id', image_id)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('DockerDaemonReference is immutable')

    def string_within_transport(self) -> str:
        """``sha256:ID`` or the fully qualified name (``docker.io/library/busybox:1``), which parses back to this reference."""
        return str(self.image_id) if self.image_id is not None else str(self.ref)

    def docker_reference(self) -> DockerReference | None:
        """The name, when the reference has one (an image ID has none)."""
        return self.ref

    def api_name(self) -> str:
        """How the Engine API's ``/images/{name}`` paths name the image: ``sha256:ID`` or ``domain/path:tag`` / ``@digest``."""
        return self.string_within_transport()

    def new_source(self, options: ConnectionOptions | None = None) -> DockerDaemonSource:
        """Open the image for reading (asks the daemon for its record; the export comes when it is read)."""
        # Imported here: parsing a name of this transport must not load (and compile, in every AnsiballZ run) its client, reader
        # and writer, nor httpx.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.source import (  # pylint: disable=import-outside-toplevel
            DockerDaemonSource,
        )

        return DockerDaemonSource(self, options or ConnectionOptions())

    def new_destination(self, options: ConnectionOptions | None = None) -> DockerDaemonDestination:
        """Open the name for writing (a ``NAME:TAG``)."""
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.destination import (  # pylint: disable=import-outside-toplevel
            DockerDaemonDestination,
        )

        return DockerDaemonDestination(self, options or ConnectionOptions())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DockerDaemonReference):
            return NotImplemented
        return (self.ref, self.image_id) == (other.ref, other.image_id)

    def __hash__(self) -> int:
        return hash((NAME, self.string_within_transport()))

    def __repr__(self) -> str:
        return 'DockerDaemonReference(%r)' % self.string_within_transport()


TRANSPORT = DockerDaemonTransport()
DockerDaemonReference.transport = TRANSPORT
