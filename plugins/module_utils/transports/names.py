# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``transport:details`` image names, parsed into references of the transport they name."""

from __future__ import annotations

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, UnknownTransportError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ImageReference, ImageTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport

# Imported statically (not by importlib) so that Ansible's module packer sees every transport.
_TRANSPORTS: dict[str, ImageTransport] = {
    t.name: t for t in (DirTransport(), DockerTransport(), DockerArchiveTransport(), OCIArchiveTransport(), OCILayoutTransport())
}

# Transports skopeo knows that later versions of this collection will add; named so that the user
# learns it is a known transport, not a typo.
_PLANNED = ('containers-storage', 'docker-daemon')


def transport_names() -> list[str]:
    """Names of the transports this version supports."""
    return sorted(_TRANSPORTS)


def parse_image_name(value: str) -> ImageReference:
    """Parse ``transport:details`` (``docker://busybox``, ``oci:/srv/layout:tag``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidReferenceError('invalid image name %r: it is empty' % (value,))
    name, sep, details = value.partition(':')
    if not sep:
        raise InvalidReferenceError('invalid image name "%s": expected transport:details, e.g. docker://%s' % (value, value))
    transport = _TRANSPORTS.get(name)
    if transport is None:
        if name in _PLANNED:
            raise UnknownTransportError('invalid image name "%s": transport "%s" is not supported yet (supported: %s)'
                                        % (value, name, ', '.join(transport_names())))
        raise UnknownTransportError('invalid image name "%s": unknown transport "%s" (supported: %s)'
                                    % (value, name, ', '.join(transport_names())))
    return transport.parse_reference(details)
