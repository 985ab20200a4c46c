# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``oci-archive:`` transport: an OCI image layout in a tar file (containers/image ``oci/archive``).

Syntax, as containers/image reads it:

    oci-archive:PATH          the only image of the archive (as a destination: an unnamed entry)
    oci-archive:PATH:REF      the entry whose ``org.opencontainers.image.ref.name`` is REF

The details are split at the first colon, so PATH cannot contain one and REF may
(``oci-archive:/srv/img.tar:docker.io/library/busybox:1.36``). PATH is made absolute against the
current directory when parsed. REF follows the ref.name grammar of the OCI image spec.

A source reads the archive in place (see ``tar_safety``); a destination builds the layout beside
PATH and replaces the whole archive on commit, as skopeo does (other images in it are dropped).
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    ConnectionOptions,
    ImageReference,
    ImageTransport,
)

# The ref.name grammar of the OCI image spec (annotations.md), as containers/image enforces it.
REF_COMPONENT = r'[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*'
REF_NAME_RE = re.compile(r'%s(?:/%s)*' % (REF_COMPONENT, REF_COMPONENT))

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.destination import OCIArchiveDestination
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.source import OCIArchiveSource


class OCIArchiveTransport(ImageTransport):
    """The ``oci-archive`` transport."""

    name = 'oci-archive'

    def parse_reference(self, details: str) -> 'OCIArchiveReference':
        """Parse ``PATH`` or ``PATH:REF``; InvalidReferenceError names the bad part."""
        if not isinstance(details, str):
            raise InvalidReferenceError('invalid oci-archive reference %r: not a string' % (details,))
        path, dummy, image_ref = details.partition(':')
        return OCIArchiveReference(path, image_ref=image_ref or None)


class OCIArchiveReference(ImageReference):
    """An OCI archive path with an optional ref name; immutable.

    ``path`` is absolute; ``image_ref`` is the ref.name to read or write (None: the archive's only
    image, or an unnamed entry when writing).
    """

    __slots__ = ('path', 'image_ref')

    transport: ImageTransport
    path: str
    image_ref: str | None

    def __init__(self, path: str, image_ref: str | None = None) -> None:
        text = clip('%s:%s' % (path, image_ref) if image_ref else str(path))
        if not isinstance(path, str) or not path:
            raise InvalidReferenceError('invalid oci-archive reference "%s": the archive path is empty' % text)
        if ':' in path:
            raise InvalidReferenceError('invalid oci-archive reference "%s": the archive path "%s" contains a colon' % (text, clip(path)))
        if '\x00' in path:
            raise InvalidReferenceError('invalid oci-archive reference "%s": the archive path contains a NUL character' % text)
        if image_ref is not None and not (isinstance(image_ref, str) and REF_NAME_RE.fullmatch(image_ref)):
            raise InvalidReferenceError('invalid oci-archive reference "%s": "%s" is not a valid image ref name (letters and digits, '
                                        'separated by one of - . _ : @ + -- and /)' % (text, clip(str(image_ref))))
        object.__setattr__(self, 'path', os.path.abspath(path))
        object.__setattr__(self, 'image_ref', image_ref)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('OCIArchiveReference is immutable')

    def string_within_transport(self) -> str:
        """``PATH`` or ``PATH:REF``, with PATH absolute."""
        return '%s:%s' % (self.path, self.image_ref) if self.image_ref else self.path

    def new_source(self, options: ConnectionOptions | None = None) -> OCIArchiveSource:
        """Open the archive for reading (options are not used by a local archive)."""
        # Imported here: parsing a name of this transport must not load (and compile, in every AnsiballZ run) its reader and writer.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.source import (  # pylint: disable=import-outside-toplevel
            OCIArchiveSource,
        )

        return OCIArchiveSource(self)

    def new_destination(self, options: ConnectionOptions | None = None) -> OCIArchiveDestination:
        """Open the archive path for writing; nothing is written before the first blob."""
        from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.destination import (  # pylint: disable=import-outside-toplevel
            OCIArchiveDestination,
        )

        return OCIArchiveDestination(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OCIArchiveReference):
            return NotImplemented
        return (self.path, self.image_ref) == (other.path, other.image_ref)

    def __hash__(self) -> int:
        return hash(('oci-archive', self.path, self.image_ref))

    def __repr__(self) -> str:
        return 'OCIArchiveReference(%r)' % self.string_within_transport()


TRANSPORT = OCIArchiveTransport()
OCIArchiveReference.transport = TRANSPORT


def clip(value: str, limit: int = 200) -> str:
    """Shorten ``value`` and escape control characters, so a message stays one readable line."""
    value = value if value.isprintable() else value.encode('unicode_escape').decode('ascii')
    return value if len(value) <= limit else value[:limit] + '...'
