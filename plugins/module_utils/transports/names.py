# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``transport:details`` image names, parsed into references of the transport they name."""

from __future__ import annotations

import re

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, UnknownTransportError, quote
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ImageReference, ImageTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import ContainersStorageTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.transport import DockerDaemonTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport

# Imported statically (not by importlib) so that Ansible's module packer sees every transport.
_TRANSPORTS: dict[str, ImageTransport] = {
    t.name: t for t in (ContainersStorageTransport(), DirTransport(), DockerTransport(), DockerArchiveTransport(), DockerDaemonTransport(),
                        OCIArchiveTransport(), OCILayoutTransport())
}

# "//[user[:password]]@host/...": userinfo before the registry of a docker reference.
_USERINFO_RE = re.compile(r'//[^/@]*@[^/]*/')


def transport_names() -> list[str]:
    """Names of the transports this version supports."""
    return sorted(_TRANSPORTS)


def parse_image_name(value: str) -> ImageReference:
    """Parse ``transport:details`` (``docker://busybox``, ``oci:/srv/layout:tag``)."""
    # Values are quoted (errors.quote): a newline or an ANSI escape in the option is shown, not obeyed.
    if not isinstance(value, str) or not value.strip():
        raise InvalidReferenceError('invalid image name %s: it is empty' % quote(value))
    name, sep, details = value.partition(':')
    if not sep:
        raise InvalidReferenceError('invalid image name %s: expected transport:details, e.g. %s' % (quote(value), quote('docker://' + value)))
    transport = _TRANSPORTS.get(name)
    if transport is None:
        raise UnknownTransportError('invalid image name %s: unknown transport %s (supported: %s)'
                                    % (quote(value), quote(name), ', '.join(transport_names())))
    if name == 'docker' and _USERINFO_RE.match(details):
        # skopeo has --creds for this; a password in the image name would end up in logs and process lists.
        raise InvalidReferenceError('invalid image name %s: credentials cannot be part of the reference ("user:password@" before the registry); '
                                    'use the username and password options or an auth file' % quote(value))
    return transport.parse_reference(details)


def has_transport(value: str) -> bool:
    """True when ``value`` starts with a transport this version knows (``docker://``, ``oci:``, ...), False for a bare reference.

    For the plugins that take either (lookup image_digest, filter parse_reference): ``nginx:1.25`` and
    ``localhost:5000/app`` are bare docker references; ``docker`` counts only followed by ``//``
    (``docker:5000/app`` is a registry named docker). A registry whose host is a transport's name and
    that has a port (``dir:5000/app``) must be written ``docker://dir:5000/app``.
    """
    name, sep, details = value.partition(':')
    if not sep or name not in _TRANSPORTS:
        return False
    return name != 'docker' or details.startswith('//')
