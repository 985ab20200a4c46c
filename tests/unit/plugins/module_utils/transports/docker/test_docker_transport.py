# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The docker transport's references."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference, DockerTransport

DIGEST = 'sha256:' + 'a' * 64


@pytest.mark.parametrize('details, canonical, within', [
    ('//busybox', 'docker.io/library/busybox:latest', '//busybox:latest'),
    ('//busybox:1.36', 'docker.io/library/busybox:1.36', '//busybox:1.36'),
    ('//user/app', 'docker.io/user/app:latest', '//user/app:latest'),
    ('//index.docker.io/library/busybox', 'docker.io/library/busybox:latest', '//busybox:latest'),
    ('//127.0.0.1:5000/app@' + DIGEST, '127.0.0.1:5000/app@' + DIGEST, '//127.0.0.1:5000/app@' + DIGEST),
    ('//quay.io/ns/app:v1@' + DIGEST, 'quay.io/ns/app:v1@' + DIGEST, '//quay.io/ns/app:v1@' + DIGEST),
    ('//localhost/app', 'localhost/app:latest', '//localhost/app:latest'),
])
def test_parse_reference(details: str, canonical: str, within: str) -> None:
    reference = DockerTransport().parse_reference(details)
    assert str(reference.docker_reference()) == canonical
    assert reference.string_within_transport() == within
    assert str(reference) == 'docker:' + within
    assert DockerTransport().parse_reference(reference.string_within_transport()) == reference


@pytest.mark.parametrize('details', ['busybox', '/busybox', 'docker.io/library/busybox', ''])
def test_details_must_start_with_two_slashes(details: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        DockerTransport().parse_reference(details)
    assert info.value.message == 'docker: image reference "%s" does not start with "//"' % details


@pytest.mark.parametrize('details', ['//', '//Busybox', '//busybox:', '//busybox@sha256:123', '//https://x/y'])
def test_invalid_references(details: str) -> None:
    with pytest.raises(InvalidReferenceError):
        DockerTransport().parse_reference(details)


def test_reference_is_immutable_and_hashable() -> None:
    reference = DockerTransport().parse_reference('//busybox')
    with pytest.raises(AttributeError):
        reference.ref = None  # type: ignore[misc]
    assert len({reference, DockerTransport().parse_reference('//docker.io/library/busybox:latest')}) == 1
    assert reference.transport.name == 'docker'


def test_name_only_reference_gets_latest() -> None:
    reference = DockerImageReference(parse_normalized_named('busybox'))
    assert reference.docker_reference().tag == 'latest'


def test_parsing_needs_no_network() -> None:
    """A reference is only parsed here; no client, no connection (httpx is needed only to open it)."""
    reference = DockerTransport().parse_reference('//registry.invalid/app')
    assert repr(reference) == "DockerImageReference('registry.invalid/app:latest')"
