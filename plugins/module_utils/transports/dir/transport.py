# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``dir:`` transport: one image stored as plain files in a directory, as skopeo writes it.

Syntax, as containers/image's ``directory`` transport reads it:

    dir:PATH            the image stored in directory PATH

The whole details string is the path: it may contain colons and ``@`` (there is no tag or
digest part). It is made absolute against the current directory when parsed, so that the
reference means the same directory wherever it is used later. The files are described in
:mod:`.source`; how a destination replaces an image is described in :mod:`.destination`.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    ConnectionOptions,
    ImageDestination,
    ImageReference,
    ImageSource,
    ImageTransport,
)


class DirTransport(ImageTransport):
    """The ``dir`` transport."""

    name = 'dir'

    def parse_reference(self, details: str) -> 'DirReference':
        """Parse ``PATH``; InvalidReferenceError when it is empty or not a usable path."""
        if not isinstance(details, str):
            raise InvalidReferenceError('invalid dir reference %r: not a string' % (details,))
        return DirReference(details)


class DirReference(ImageReference):
    """A directory holding one image; immutable. ``path`` is absolute."""

    __slots__ = ('path',)

    transport: ImageTransport
    path: str

    def __init__(self, path: str) -> None:
        if not isinstance(path, str) or not path:
            raise InvalidReferenceError('invalid dir reference "%s": the directory path is empty' % _clip(str(path or '')))
        if '\x00' in path:
            raise InvalidReferenceError('invalid dir reference "%s": the directory path contains a NUL character' % _clip(path))
        object.__setattr__(self, 'path', os.path.abspath(path))

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('DirReference is immutable')

    def string_within_transport(self) -> str:
        """The absolute ``PATH``."""
        return self.path

    def new_source(self, options: ConnectionOptions | None = None) -> ImageSource:
        """Open the directory for reading (options are not used by a local directory)."""
        # Imported here: parsing a name of this transport must not load (and compile, in every AnsiballZ run) its reader and writer.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.source import DirSource  # pylint: disable=import-outside-toplevel

        return DirSource(self)

    def new_destination(self, options: ConnectionOptions | None = None) -> ImageDestination:
        """Open the directory for writing; a path that is not empty and not a dir image is refused."""
        from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.destination import DirDestination  # pylint: disable=import-outside-toplevel

        return DirDestination(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DirReference):
            return NotImplemented
        return self.path == other.path

    def __hash__(self) -> int:
        return hash(('dir', self.path))

    def __repr__(self) -> str:
        return 'DirReference(%r)' % self.path


TRANSPORT = DirTransport()
DirReference.transport = TRANSPORT


def _clip(value: str, limit: int = 200) -> str:
    """Shorten ``value`` and escape control characters, so a message stays one readable line."""
    value = value if value.isprintable() else value.encode('unicode_escape').decode('ascii')
    return value if len(value) <= limit else value[:limit] + '...'
