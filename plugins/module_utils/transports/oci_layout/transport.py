# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``oci:`` transport: an OCI image layout directory on the local filesystem.

Syntax, as containers/image's ``oci/layout`` reads it, plus a digest form:

    oci:PATH            the only image of the layout (as a destination: an unnamed entry)
    oci:PATH:REF        the entry whose ``org.opencontainers.image.ref.name`` is REF
    oci:PATH@DIGEST     the entry of index.json with that digest (read only)

The details are split at the first colon (containers/image's SplitPathAndImage), so PATH cannot
contain one and REF may (``oci:/srv/layout:docker.io/library/busybox:1.36`` names the ref
``docker.io/library/busybox:1.36``). The digest form applies only when the details end with
``@algorithm:hex`` and no colon comes before that ``@``.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidDigestError, InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    ConnectionOptions,
    ImageDestination,
    ImageReference,
    ImageSource,
    ImageTransport,
)

# The ref.name grammar of the OCI image spec (annotations.md), as containers/image enforces it.
_REF_COMPONENT = r'[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*'
_REF_NAME_RE = re.compile(r'%s(?:/%s)*' % (_REF_COMPONENT, _REF_COMPONENT))
# "@sha256:" and friends at the end of a path part: the user meant a digest reference.
_DIGEST_SUFFIX_RE = re.compile(r'@(sha256|sha384|sha512)$')


class OCILayoutTransport(ImageTransport):
    """The ``oci`` transport."""

    name = 'oci'

    def parse_reference(self, details: str) -> 'OCIReference':
        """Parse ``PATH``, ``PATH:REF`` or ``PATH@DIGEST``; InvalidReferenceError names the bad part."""
        if not isinstance(details, str):
            raise InvalidReferenceError('invalid oci reference %r: not a string' % (details,))
        at = details.rfind('@')
        if at >= 0 and ':' not in details[:at]:
            candidate = details[at + 1:]
            if Digest.is_valid(candidate):
                return OCIReference(details[:at], digest=Digest(candidate))
        path, sep, image_ref = details.partition(':')
        if sep and _DIGEST_SUFFIX_RE.search(path):
            # "oci:/p@sha256:bad": without this, "/p@sha256" would silently become the path.
            try:
                Digest(path[path.rfind('@') + 1:] + ':' + image_ref)
            except InvalidDigestError as exc:
                raise InvalidDigestError('invalid oci reference "%s": %s' % (_clip(details), exc.message)) from None
        return OCIReference(path, image_ref=image_ref or None)


class OCIReference(ImageReference):
    """An OCI layout path with an optional ref name or manifest digest; immutable.

    ``path`` is absolute (made so against the current directory when parsed), ``image_ref`` the
    ref.name to read or write (None for the layout's only image), ``digest`` an index.json entry
    selected by digest.
    """

    __slots__ = ('path', 'image_ref', 'digest')

    transport: ImageTransport
    path: str
    image_ref: str | None
    digest: Digest | None

    def __init__(self, path: str, image_ref: str | None = None, digest: Digest | None = None) -> None:
        text = _clip(_describe(path, image_ref, digest))
        if not isinstance(path, str) or not path:
            raise InvalidReferenceError('invalid oci reference "%s": the layout path is empty' % text)
        if ':' in path:
            raise InvalidReferenceError('invalid oci reference "%s": the layout path "%s" contains a colon' % (text, _clip(path)))
        if '\x00' in path:
            raise InvalidReferenceError('invalid oci reference "%s": the layout path contains a NUL character' % text)
        if image_ref is not None and digest is not None:
            raise InvalidReferenceError('invalid oci reference "%s": give a ref name or a digest, not both' % text)
        if image_ref is not None and not (isinstance(image_ref, str) and _REF_NAME_RE.fullmatch(image_ref)):
            raise InvalidReferenceError('invalid oci reference "%s": "%s" is not a valid image ref name (letters and digits, '
                                        'separated by one of - . _ : @ + -- and /)' % (text, _clip(str(image_ref))))
        if digest is not None and not isinstance(digest, Digest):
            raise InvalidReferenceError('invalid oci reference "%s": the digest must be a Digest' % text)
        object.__setattr__(self, 'path', os.path.abspath(path))
        object.__setattr__(self, 'image_ref', image_ref)
        object.__setattr__(self, 'digest', digest)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('OCIReference is immutable')

    def string_within_transport(self) -> str:
        """``PATH``, ``PATH:REF`` or ``PATH@DIGEST``, with PATH absolute."""
        return _describe(self.path, self.image_ref, self.digest)

    def new_source(self, options: ConnectionOptions | None = None) -> ImageSource:
        """Open the layout for reading (``options.shared_blob_dir`` moves its blobs elsewhere)."""
        # Imported here: parsing a name of this transport must not load (and compile, in every AnsiballZ run) its reader and writer.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.source import (  # pylint: disable=import-outside-toplevel
            OCILayoutSource,
        )

        return OCILayoutSource(self, options.shared_blob_dir if options is not None else None)

    def new_destination(self, options: ConnectionOptions | None = None) -> ImageDestination:
        """Open the layout for writing, creating it if needed; a digest reference is refused."""
        if self.digest is not None:
            raise InvalidReferenceError('cannot write to %s: a digest reference selects an existing manifest; '
                                        'name the destination oci:PATH:REF or oci:PATH' % self)
        from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.destination import (  # pylint: disable=import-outside-toplevel
            OCILayoutDestination,
        )

        return OCILayoutDestination(self, options.shared_blob_dir if options is not None else None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OCIReference):
            return NotImplemented
        return (self.path, self.image_ref, self.digest) == (other.path, other.image_ref, other.digest)

    def __hash__(self) -> int:
        return hash((self.path, self.image_ref, str(self.digest) if self.digest else None))

    def __repr__(self) -> str:
        return 'OCIReference(%r)' % self.string_within_transport()


TRANSPORT = OCILayoutTransport()
OCIReference.transport = TRANSPORT


def _describe(path: t.Any, image_ref: t.Any, digest: t.Any) -> str:
    text = str(path) if path is not None else ''
    if digest is not None:
        return '%s@%s' % (text, digest)
    if image_ref:
        return '%s:%s' % (text, image_ref)
    return text


def _clip(value: str, limit: int = 200) -> str:
    """Shorten ``value`` and escape control characters, so a message stays one readable line."""
    value = value if value.isprintable() else value.encode('unicode_escape').decode('ascii')
    return value if len(value) <= limit else value[:limit] + '...'
