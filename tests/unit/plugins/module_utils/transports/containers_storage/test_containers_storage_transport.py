# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``containers-storage:`` references, by containers/image's rules (storage/storage_transport.go ParseReference)."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import (
    ContainersStorageReference,
    ContainersStorageTransport,
    StoreSpec,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name, transport_names

HEX = '0123456789abcdef' * 4
DIGEST = 'sha256:' + 'ab' * 32

# details, string_within_transport, docker reference (None for an image ID), store
VALID = [
    # Short names are qualified with docker.io/library/ and tagged latest (ParseNormalizedNamed, TagNameOnly).
    ('busybox', 'docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', None),
    ('busybox:1', 'docker.io/library/busybox:1', 'docker.io/library/busybox:1', None),
    ('user/app', 'docker.io/user/app:latest', 'docker.io/user/app:latest', None),
    ('localhost/app:1', 'localhost/app:1', 'localhost/app:1', None),
    ('example.com:5000/ns/app:v1', 'example.com:5000/ns/app:v1', 'example.com:5000/ns/app:v1', None),
    ('busybox@' + DIGEST, 'docker.io/library/busybox@' + DIGEST, 'docker.io/library/busybox@' + DIGEST, None),
    ('@' + HEX, '@' + HEX, None, None),
    # A bare 64-hex string is an ID: it cannot be a repository name.
    (HEX, '@' + HEX, None, None),
    # A short hex string is a name, as for containers/image when no image has such an ID prefix.
    ('abc123', 'docker.io/library/abc123:latest', 'docker.io/library/abc123:latest', None),
    ('[/var/lib/containers/storage]busybox', '[/var/lib/containers/storage]docker.io/library/busybox:latest',
     'docker.io/library/busybox:latest', StoreSpec('', '/var/lib/containers/storage')),
    ('[vfs@/srv/store]busybox:1', '[vfs@/srv/store]docker.io/library/busybox:1', 'docker.io/library/busybox:1', StoreSpec('vfs', '/srv/store')),
    ('[overlay@/srv/store+/run/store]@' + HEX, '[overlay@/srv/store+/run/store]@' + HEX, None, StoreSpec('overlay', '/srv/store', '/run/store')),
    ('[overlay@/srv/store+/run/store:overlay.mountopt=nodev,overlay.size=1G]app:2',
     '[overlay@/srv/store+/run/store:overlay.mountopt=nodev,overlay.size=1G]docker.io/library/app:2', 'docker.io/library/app:2',
     StoreSpec('overlay', '/srv/store', '/run/store', ('overlay.mountopt=nodev', 'overlay.size=1G'))),
    # Only a run root: containers/image allows an empty graph root after the driver is cut off.
    ('[+/run/store]app:2', '[+/run/store]docker.io/library/app:2', 'docker.io/library/app:2', StoreSpec('', '', '/run/store')),
]

# details, the message's distinctive part
INVALID = [
    ('', 'no image is named (expected NAME[:TAG], NAME@DIGEST or @IMAGE_ID, optionally after [DRIVER@ROOT+RUNROOT])'),
    ('[vfs@/srv/store]', 'no image is named'),
    ('[]busybox', 'the store "[]" is empty'),
    ('[vfs@/srv/store busybox', 'the store specifier has no closing "]"'),
    ('[@/srv/store]busybox', 'the store "[@/srv/store]" needs a driver before "@" and a graph root after it'),
    ('[vfs@]busybox', 'the store "[vfs@]" needs a driver before "@" and a graph root after it'),
    ('[vfs@relative/root]busybox', 'the store\'s graph root "relative/root" is not an absolute path'),
    ('[vfs@/root+run]busybox', 'the store\'s run root "run" is not an absolute path'),
    ('[/a][/b]busybox', 'a second store specifier'),
    ('busybox@', 'nothing follows "@"'),
    ('@abc123', '"abc123" is neither an image ID (all 64 hex digits) nor a digest'),
    ('busybox@' + HEX, 'a name and an image ID at once are not supported (write "@%s" or the name alone)' % HEX),
    ('busybox:1@' + DIGEST, 'a tag and a digest at once are not supported'),
    ('UPPERCASE:1', 'invalid containers-storage reference "UPPERCASE:1"'),
    ('busybox:bad tag', 'invalid containers-storage reference "busybox:bad tag"'),
]


@pytest.mark.parametrize('details, within, docker, store', VALID)
def test_valid_references(details: str, within: str, docker: str | None, store: StoreSpec | None) -> None:
    ref = ContainersStorageTransport().parse_reference(details)
    assert ref.string_within_transport() == within
    assert (str(ref.docker_reference()) if ref.docker_reference() else None) == docker
    assert (ref.image_id is not None) == (docker is None)
    assert ref.store == store
    assert str(ref) == 'containers-storage:' + within
    # The string within the transport parses back to the same reference.
    assert ContainersStorageTransport().parse_reference(within) == ref
    assert hash(ContainersStorageTransport().parse_reference(within)) == hash(ref)


@pytest.mark.parametrize('details, problem', INVALID)
def test_invalid_references(details: str, problem: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        ContainersStorageTransport().parse_reference(details)
    assert info.value.message.startswith('invalid containers-storage reference ')
    assert problem in info.value.message


def test_api_names() -> None:
    transport = ContainersStorageTransport()
    assert transport.parse_reference('[vfs@/s]busybox').api_name() == 'docker.io/library/busybox:latest'
    assert transport.parse_reference('@' + HEX).api_name() == HEX


def test_registered_by_name() -> None:
    assert 'containers-storage' in transport_names()
    ref = parse_image_name('containers-storage:busybox')
    assert isinstance(ref, ContainersStorageReference)
    assert str(ref) == 'containers-storage:docker.io/library/busybox:latest'


def test_destination_needs_a_name() -> None:
    ref = ContainersStorageTransport().parse_reference('@' + HEX)
    with pytest.raises(InvalidReferenceError) as info:
        ref.new_destination()
    assert info.value.message == 'invalid destination containers-storage:@%s: a containers-storage destination must be NAME:TAG' % HEX


def test_references_are_immutable() -> None:
    ref = ContainersStorageTransport().parse_reference('busybox')
    with pytest.raises(AttributeError):
        ref.store = None  # type: ignore[misc]
