# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``docker-daemon:`` references, by containers/image's rules (docker/daemon/daemon_transport.go and its tests)."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, UnknownTransportError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.transport import DockerDaemonReference, DockerDaemonTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name, transport_names

HEX = '0123456789abcdef' * 4
ID = 'sha256:' + HEX

# details, string_within_transport, docker reference (None for an image ID)
VALID = [
    ('busybox:latest', 'docker.io/library/busybox:latest', 'docker.io/library/busybox:latest'),
    ('busybox:notlatest', 'docker.io/library/busybox:notlatest', 'docker.io/library/busybox:notlatest'),
    ('user/app:1', 'docker.io/user/app:1', 'docker.io/user/app:1'),
    ('docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'docker.io/library/busybox:1'),
    ('index.docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'docker.io/library/busybox:1'),
    ('example.com/ns/app:v1', 'example.com/ns/app:v1', 'example.com/ns/app:v1'),
    ('localhost:5000/app:1', 'localhost:5000/app:1', 'localhost:5000/app:1'),
    ('busybox@' + ID, 'docker.io/library/busybox@' + ID, 'docker.io/library/busybox@' + ID),
    (ID, ID, None),
    # "sha256" as a path component other than the familiar repository name is an ordinary name.
    ('example.com/sha256:1', 'example.com/sha256:1', 'example.com/sha256:1'),
]

# details, the message's distinctive part
INVALID = [
    ('', 'expected NAME:TAG, NAME@DIGEST or sha256:ID'),
    ('busybox', 'it has neither a tag nor a digest (write "busybox:latest")'),
    ('example.com/app', 'it has neither a tag nor a digest'),
    ('busybox:1@' + ID, 'a tag and a digest at once are not supported'),
    ('sha512:' + 'a' * 128, 'only sha256 image IDs are accepted'),
    ('sha384:' + 'a' * 96, 'only sha256 image IDs are accepted'),
    # A shortened ID would be read by the daemon as a prefix: refused, as containers/image refuses it.
    ('sha256:0123', 'the repository name sha256 is reserved for image IDs'),
    ('sha256:' + 'A' * 64, 'the repository name sha256 is reserved for image IDs'),
    # A bare 64-hex string is an ID without its algorithm.
    (HEX, 'a 64-character hexadecimal string is an image ID'),
    ('UPPERCASE:1', 'invalid docker-daemon reference "UPPERCASE:1"'),
    ('busybox:bad tag', 'invalid docker-daemon reference "busybox:bad tag"'),
]


@pytest.mark.parametrize('details, within, docker', VALID)
def test_valid_references(details: str, within: str, docker: str | None) -> None:
    ref = DockerDaemonTransport().parse_reference(details)
    assert ref.string_within_transport() == within
    assert str(ref.docker_reference()) == str(docker) if docker else ref.docker_reference() is None
    assert (str(ref.image_id) == ID) == (docker is None)
    assert str(ref) == 'docker-daemon:' + within
    # The string within the transport parses back to the same reference.
    assert DockerDaemonTransport().parse_reference(within) == ref
    assert hash(DockerDaemonTransport().parse_reference(within)) == hash(ref)


@pytest.mark.parametrize('details, problem', INVALID)
def test_invalid_references(details: str, problem: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        DockerDaemonTransport().parse_reference(details)
    assert problem in info.value.message
    assert '\n' not in info.value.message


def test_reference_is_immutable_and_exactly_one_of_name_and_id() -> None:
    ref = DockerDaemonTransport().parse_reference('busybox:1')
    with pytest.raises(AttributeError):
        ref.ref = None  # type: ignore[misc]
    with pytest.raises(InvalidReferenceError, match='give a name or an image ID, not neither'):
        DockerDaemonReference()
    with pytest.raises(InvalidReferenceError, match='not both'):
        DockerDaemonReference(ref=ref.ref, image_id=DockerDaemonTransport().parse_reference(ID).image_id)


def test_registered_by_name() -> None:
    assert 'docker-daemon' in transport_names()
    ref = parse_image_name('docker-daemon:busybox:1')
    assert isinstance(ref, DockerDaemonReference)
    assert str(ref) == 'docker-daemon:docker.io/library/busybox:1'
    with pytest.raises(UnknownTransportError, match='unknown transport "sif"'):
        parse_image_name('sif:busybox')


@pytest.mark.parametrize('details', ['busybox@' + ID, ID])
def test_a_destination_must_be_name_and_tag(details: str) -> None:
    ref = DockerDaemonTransport().parse_reference(details)
    with pytest.raises(InvalidReferenceError) as info:
        ref.new_destination(ConnectionOptions(daemon_host='unix:///nonexistent/docker.sock'))
    assert info.value.message == 'invalid destination docker-daemon:%s: a docker-daemon destination must be NAME:TAG' % ref.string_within_transport()
