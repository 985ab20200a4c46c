# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``oci-archive:`` references."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name, transport_names
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.destination import OCIArchiveDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import (
    OCIArchiveReference,
    OCIArchiveTransport,
)

# details, path (relative ones resolve against the test's cwd), image_ref, string_within_transport
VALID = [
    ('/srv/img.tar', '/srv/img.tar', None, '/srv/img.tar'),
    ('/srv/img.tar:', '/srv/img.tar', None, '/srv/img.tar'),
    ('/srv/img.tar:latest', '/srv/img.tar', 'latest', '/srv/img.tar:latest'),
    ('/srv/img.tar:v1.2.3-rc_1+build', '/srv/img.tar', 'v1.2.3-rc_1+build', '/srv/img.tar:v1.2.3-rc_1+build'),
    # Split at the first colon: REF may hold colons and slashes.
    ('/srv/img.tar:docker.io/library/busybox:1.36', '/srv/img.tar', 'docker.io/library/busybox:1.36',
     '/srv/img.tar:docker.io/library/busybox:1.36'),
    ('/srv/a@b/img.tar:t', '/srv/a@b/img.tar', 't', '/srv/a@b/img.tar:t'),
    ('relative/img.tar:t', 'relative/img.tar', 't', '{cwd}/relative/img.tar:t'),
    ('img.tar', 'img.tar', None, '{cwd}/img.tar'),
    ('/srv/../srv/img.tar:x', '/srv/img.tar', 'x', '/srv/img.tar:x'),
]

# details, fragments the message must contain
INVALID = [
    ('', ['invalid oci-archive reference ""', 'archive path is empty']),
    (':tag', ['":tag"', 'archive path is empty']),
    ('/srv/img.tar:bad tag', ['"bad tag" is not a valid image ref name']),
    ('/srv/img.tar:-leading', ['"-leading" is not a valid image ref name']),
    ('/srv/img.tar:a//b', ['"a//b" is not a valid image ref name']),
    ('/srv/img.tar:/abs', ['"/abs" is not a valid image ref name']),
    ('/srv/img.tar:tag\n', ['"tag\\n" is not a valid image ref name']),
    ('/srv/im\x00g.tar', ['NUL']),
]


@pytest.mark.parametrize('details, path, image_ref, within', VALID)
def test_parse_valid(tmp_path, monkeypatch, details, path, image_ref, within) -> None:
    monkeypatch.chdir(tmp_path)
    ref = OCIArchiveTransport().parse_reference(details)
    assert isinstance(ref, OCIArchiveReference)
    assert ref.path == os.path.abspath(path)
    assert ref.image_ref == image_ref
    expected = within.format(cwd=os.getcwd())
    assert ref.string_within_transport() == expected
    assert str(ref) == 'oci-archive:' + expected
    assert ref.docker_reference() is None
    # The string form parses back to an equal reference.
    assert OCIArchiveTransport().parse_reference(ref.string_within_transport()) == ref
    assert parse_image_name(str(ref)) == ref


@pytest.mark.parametrize('details, fragments', INVALID)
def test_parse_invalid(details, fragments) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        OCIArchiveTransport().parse_reference(details)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_direct_construction_checks() -> None:
    with pytest.raises(InvalidReferenceError, match='contains a colon'):
        OCIArchiveReference('/a:b')
    with pytest.raises(InvalidReferenceError, match='not a string'):
        OCIArchiveTransport().parse_reference(None)  # type: ignore[arg-type]


def test_reference_is_immutable_and_hashable() -> None:
    ref = OCIArchiveTransport().parse_reference('/srv/img.tar:t')
    with pytest.raises(AttributeError):
        ref.path = '/elsewhere'  # type: ignore[misc]
    assert len({ref, OCIArchiveTransport().parse_reference('/srv/img.tar:t'), OCIArchiveTransport().parse_reference('/srv/img.tar')}) == 2
    assert ref != object()
    assert repr(ref) == "OCIArchiveReference('/srv/img.tar:t')"


def test_registered_by_name(tmp_path) -> None:
    assert 'oci-archive' in transport_names()
    ref = parse_image_name('oci-archive:%s:v1' % (tmp_path / 'img.tar'))
    assert isinstance(ref, OCIArchiveReference)
    assert ref.image_ref == 'v1'
    with ref.new_destination() as dest:
        assert isinstance(dest, OCIArchiveDestination)
    # Opening a destination wrote nothing.
    assert not os.listdir(tmp_path)
