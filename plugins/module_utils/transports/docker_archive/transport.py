# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``docker-archive:`` transport: a ``docker save`` tar file (containers/image ``docker/archive``).

Syntax, as containers/image reads it:

    docker-archive:PATH           the only image of the archive (as a destination: untagged)
    docker-archive:PATH:REF       the image tagged REF, a docker reference normalised as the docker
                                  CLI does (``busybox`` -> ``docker.io/library/busybox:latest``)
    docker-archive:PATH:@N        the N-th image of manifest.json, counting from 0 (sources only)

The details are split at the first colon, so PATH cannot contain one. REF must not carry a
digest: an archive names images by tag only. PATH is made absolute when parsed.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    ConnectionOptions,
    ImageReference,
    ImageTransport,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.destination import DockerArchiveDestination
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.source import DockerArchiveSource


class DockerArchiveTransport(ImageTransport):
    """The ``docker-archive`` transport."""

    name = 'docker-archive'

    def parse_reference(self, details: str) -> 'DockerArchiveReference':
        """Parse ``PATH``, ``PATH:REF`` or ``PATH:@N``; InvalidReferenceError names the bad part."""
        if not isinstance(details, str):
            raise InvalidReferenceError('invalid docker-archive reference %r: not a string' % (details,))
        if not details:
            raise InvalidReferenceError('invalid docker-archive reference "": expected PATH, PATH:REF or PATH:@N')
        path, sep, rest = details.partition(':')
        if not sep:
            return DockerArchiveReference(path)
        text = clip(details)
        if not path:
            raise InvalidReferenceError('invalid docker-archive reference "%s": the archive path is empty' % text)
        if rest.startswith('@'):
            number = rest[1:]
            if not (number.isascii() and number.isdigit()):
                raise InvalidReferenceError('invalid docker-archive reference "%s": invalid source index "%s" '
                                            '(expected @ and a non-negative number, as in @0)' % (text, clip(rest)))
            return DockerArchiveReference(path, source_index=int(number))
        try:
            ref = parse_normalized_named(rest)
        except InvalidReferenceError as exc:
            raise type(exc)('invalid docker-archive reference "%s": %s' % (text, exc.message)) from None
        return DockerArchiveReference(path, ref=ref)


class DockerArchiveReference(ImageReference):
    """A docker archive path with an optional tag or source index; immutable.

    ``path`` is absolute; ``ref`` is a tagged docker reference (``:latest`` added to a bare name)
    or None; ``source_index`` a position in manifest.json or None. At most one of them is set.
    """

    __slots__ = ('path', 'ref', 'source_index')

    transport: ImageTransport
    path: str
    ref: DockerReference | None
    source_index: int | None

    def __init__(self, path: str, ref: DockerReference | None = None, source_index: int | None = None) -> None:
        text = clip(describe(path, ref, source_index))
        if not isinstance(path, str) or not path:
            raise InvalidReferenceError('invalid docker-archive reference "%s": the archive path is empty' % text)
        if ':' in path:
            raise InvalidReferenceError('invalid docker-archive reference "%s": the archive path "%s" contains a colon' % (text, clip(path)))
        if '\x00' in path:
            raise InvalidReferenceError('invalid docker-archive reference "%s": the archive path contains a NUL character' % text)
        if ref is not None and source_index is not None:
            raise InvalidReferenceError('invalid docker-archive reference "%s": give a reference or a source index, not both' % text)
        if ref is not None:
            if not isinstance(ref, DockerReference):
                raise InvalidReferenceError('invalid docker-archive reference "%s": expected a docker reference' % text)
            if ref.digest is not None:
                raise InvalidReferenceError('invalid docker-archive reference "%s": a docker archive names images by tag, '
                                            'not by digest' % text)
            ref = ref.with_default_tag()
        if source_index is not None and (not isinstance(source_index, int) or isinstance(source_index, bool) or source_index < 0):
            raise InvalidReferenceError('invalid docker-archive reference "%s": the source index must be a non-negative number' % text)
        object.__setattr__(self, 'path', os.path.abspath(path))
        object.__setattr__(self, 'ref', ref)
        object.__setattr__(self, 'source_index', source_index)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('DockerArchiveReference is immutable')

    def string_within_transport(self) -> str:
        """``PATH``, ``PATH:REF`` (REF in full, ``docker.io/library/busybox:latest``) or ``PATH:@N``."""
        return describe(self.path, self.ref, self.source_index)

    def docker_reference(self) -> DockerReference | None:
        """The tag this reference names, if any."""
        return self.ref

    def new_source(self, options: ConnectionOptions | None = None) -> DockerArchiveSource:
        """Open the archive for reading (options are not used by a local archive)."""
        # Imported here: parsing a name of this transport must not load (and compile, in every AnsiballZ run) its reader and writer.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.source import (  # pylint: disable=import-outside-toplevel
            DockerArchiveSource,
        )

        return DockerArchiveSource(self)

    def new_destination(self, options: ConnectionOptions | None = None,
                        additional_tags: t.Sequence[DockerReference] = ()) -> DockerArchiveDestination:
        """Open the archive path for writing, with ``additional_tags`` besides the reference's own."""
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.destination import (  # pylint: disable=import-outside-toplevel
            DockerArchiveDestination,
        )

        return DockerArchiveDestination(self, additional_tags=additional_tags)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DockerArchiveReference):
            return NotImplemented
        return (self.path, self.ref, self.source_index) == (other.path, other.ref, other.source_index)

    def __hash__(self) -> int:
        return hash(('docker-archive', self.path, str(self.ref) if self.ref else None, self.source_index))

    def __repr__(self) -> str:
        return 'DockerArchiveReference(%r)' % self.string_within_transport()


TRANSPORT = DockerArchiveTransport()
DockerArchiveReference.transport = TRANSPORT


def describe(path: t.Any, ref: t.Any, source_index: t.Any) -> str:
    """The details string of a reference (also for messages about invalid ones)."""
    text = str(path) if path is not None else ''
    if ref is not None:
        return '%s:%s' % (text, ref)
    if source_index is not None:
        return '%s:@%s' % (text, source_index)
    return text


def clip(value: str, limit: int = 200) -> str:
    """Shorten ``value`` and escape control characters, so a message stays one readable line."""
    value = value if value.isprintable() else value.encode('unicode_escape').decode('ascii')
    return value if len(value) <= limit else value[:limit] + '...'
