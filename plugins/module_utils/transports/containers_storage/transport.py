# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``containers-storage:`` transport: images in a containers/storage store, through Podman's API service.

Syntax, as containers/image's ``storage/storage_transport.go`` (``ParseReference`` and ``ParseStoreReference``)
parses it, so every reference skopeo accepts for a name or a full ID is accepted here:

    containers-storage:NAME[:TAG]               a name, normalised as reference.ParseNormalizedNamed does
                                                (``busybox`` -> ``docker.io/library/busybox:latest``: short names
                                                are qualified with docker.io/library/, and a name without tag or
                                                digest gets ``:latest``, as TagNameOnly does)
    containers-storage:NAME@DIGEST              a digested name (sources only)
    containers-storage:@ID  or  :ID             an image ID, all 64 hex digits of its config digest (sources only)
    containers-storage:[STORE]REFERENCE         any of the above in the store
                                                ``[DRIVER@GRAPHROOT+RUNROOT:OPTION,OPTION]``; every part but the
                                                graph root or driver is optional (``[/var/lib/containers/storage]``,
                                                ``[vfs@/srv/store]``, ``[overlay@/srv/store+/run/store]``)

The store specifier is split as containers/image splits it: the first ``@`` ends the driver, then the
first ``:`` starts the options, then the first ``+`` starts the run root; the paths must be absolute.

Differences, all refusals with a message: containers/image also takes a truncated image ID of an image
that is in the store (``@abc123`` or ``abc123``); it needs the store to tell, so here an ID is always all 64
hex digits (a short hex string without ``@`` is a name, as it is to containers/image when no image has such
an ID). A name with a tag and a digest, and a name with an image ID, are refused (containers/image keeps the
ID and uses the name only to label what it writes).

The store is reached through a Podman service's libpod API (client.py), never by writing its files
(containers/storage's locks and layer metadata are the service's to keep). A service has one store: a
bracketed store must be the service's, compared with ``GET /libpod/info`` (driver, graph root, run root)
before anything else is asked. Options in the bracket are not compared (the service's store has its own).
The transport has no policy scopes of its own here (only ``""`` applies).
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, quote
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions, ImageReference, ImageTransport

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.destination import ContainersStorageDestination
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.source import ContainersStorageSource

NAME = 'containers-storage'
_ID_RE = re.compile(r'[a-f0-9]{64}')
EXPECTED = 'expected NAME[:TAG], NAME@DIGEST or @IMAGE_ID, optionally after [DRIVER@ROOT+RUNROOT]'


def is_image_id(value: str) -> bool:
    """Whether ``value`` is a containers/storage image ID: all 64 lowercase hex digits (containers/image's validateImageID)."""
    return bool(_ID_RE.fullmatch(value))


@dataclasses.dataclass(frozen=True)
class StoreSpec:
    """A bracketed store: ``driver`` and ``runroot`` may be empty (not given), ``root`` too when a driver is given."""

    driver: str = ''
    root: str = ''
    runroot: str = ''
    options: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = (self.driver + '@' if self.driver else '') + self.root + ('+' + self.runroot if self.runroot else '')
        return '[%s%s]' % (text, ':' + ','.join(self.options) if self.options else '')


def parse_store_spec(spec: str, details: str) -> StoreSpec:
    """Parse what is between the brackets (``DRIVER@ROOT+RUNROOT:OPTIONS``); ``details`` is the whole reference, for messages."""
    def fail(problem: str) -> InvalidReferenceError:
        return InvalidReferenceError('invalid containers-storage reference %s: %s' % (quote(details), problem))

    driver, has_driver, rest = spec.partition('@')
    if not has_driver:
        driver, rest = '', spec
    elif not driver or not rest:
        raise fail('the store %s needs a driver before "@" and a graph root after it' % quote('[' + spec + ']'))
    if not rest:
        raise fail('the store "[]" is empty')
    rest, has_options, option_text = rest.partition(':')
    options = tuple(option_text.split(',')) if has_options else ()
    root, _plus, runroot = rest.partition('+')
    for label, path in (('graph root', root), ('run root', runroot)):
        if path and not posixpath.isabs(path):
            raise fail('the store\'s %s %s is not an absolute path' % (label, quote(path)))
    return StoreSpec(driver, root, runroot, options)


class ContainersStorageTransport(ImageTransport):
    """The ``containers-storage`` transport."""

    name = NAME

    def parse_reference(self, details: str) -> 'ContainersStorageReference':
        """Parse ``[STORE]NAME[:TAG]``, ``NAME@DIGEST`` or ``@ID`` (see the module docstring); InvalidReferenceError names the bad part."""
        if not isinstance(details, str):
            raise InvalidReferenceError('invalid containers-storage reference %r: not a string' % (details,))

        def fail(problem: str) -> InvalidReferenceError:
            return InvalidReferenceError('invalid containers-storage reference %s: %s' % (quote(details), problem))

        text = details
        store = None
        if text.startswith('['):
            close = text.find(']')
            if close < 1:
                raise fail('the store specifier has no closing "]"')
            store = parse_store_spec(text[1:close], details)
            text = text[close + 1:]
        if not text:
            raise fail('no image is named (%s)' % EXPECTED)
        if text.startswith('['):
            raise fail('a second store specifier')
        image_id = None
        name_part, has_at, tail = text.rpartition('@')
        if has_at and not Digest.is_valid(tail):
            if not tail:
                raise fail('nothing follows "@" (%s)' % EXPECTED)
            if not _ID_RE.fullmatch(tail):
                raise fail('%s is neither an image ID (all 64 hex digits) nor a digest' % quote(tail))
            if name_part:
                raise fail('a name and an image ID at once are not supported (write %s or the name alone)' % quote('@' + tail))
            image_id, text = tail, ''
        elif _ID_RE.fullmatch(text):
            image_id, text = text, ''
        if image_id is not None:
            return ContainersStorageReference(image_id=Digest('sha256:' + image_id), store=store)
        try:
            ref = parse_normalized_named(text)
        except InvalidReferenceError as exc:
            raise fail(exc.message) from None
        if ref.tag is not None and ref.digest is not None:
            raise fail('a tag and a digest at once are not supported')
        return ContainersStorageReference(ref=ref.with_default_tag(), store=store)


class ContainersStorageReference(ImageReference):
    """An image of a containers/storage store: a name (``ref``, tagged or digested) or an image ID, and the bracketed store if given."""

    __slots__ = ('ref', 'image_id', 'store')

    transport: ImageTransport
    ref: DockerReference | None
    image_id: Digest | None
    store: StoreSpec | None

    def __init__(self, ref: DockerReference | None = None, image_id: Digest | None = None, store: StoreSpec | None = None) -> None:
        if (ref is None) == (image_id is None):
            raise InvalidReferenceError('invalid containers-storage reference: give a name or an image ID, not %s'
                                        % ('both' if ref is not None else 'neither'))
        object.__setattr__(self, 'ref', ref)
        object.__setattr__(self, 'image_id', image_id)
        object.__setattr__(self, 'store', store)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('ContainersStorageReference is immutable')

    def string_within_transport(self) -> str:
        """``[STORE]`` (when given), then the fully qualified name or ``@ID``: parses back to this reference."""
        image = str(self.ref) if self.ref is not None else '@' + t.cast(Digest, self.image_id).hex
        return (str(self.store) if self.store is not None else '') + image

    def docker_reference(self) -> DockerReference | None:
        """The name, when the reference has one (an image ID has none)."""
        return self.ref

    def api_name(self) -> str:
        """How libpod's ``/libpod/images/{name}`` paths name the image: ``domain/path:tag`` / ``@digest``, or the ID's 64 hex digits."""
        return str(self.ref) if self.ref is not None else t.cast(Digest, self.image_id).hex

    def new_source(self, options: ConnectionOptions | None = None) -> ContainersStorageSource:
        """Open the image for reading (asks the service for its record; the export comes when it is read)."""
        # Imported here, as for docker-daemon: parsing a name must not load the client, reader and writer, nor httpx.
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.source import ContainersStorageSource

        return ContainersStorageSource(self, options or ConnectionOptions())

    def new_destination(self, options: ConnectionOptions | None = None) -> ContainersStorageDestination:
        """Open the name for writing (a ``NAME:TAG``)."""
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.destination import ContainersStorageDestination

        return ContainersStorageDestination(self, options or ConnectionOptions())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContainersStorageReference):
            return NotImplemented
        return (self.ref, self.image_id, self.store) == (other.ref, other.image_id, other.store)

    def __hash__(self) -> int:
        return hash((NAME, self.string_within_transport()))

    def __repr__(self) -> str:
        return 'ContainersStorageReference(%r)' % self.string_within_transport()


TRANSPORT = ContainersStorageTransport()
ContainersStorageReference.transport = TRANSPORT
