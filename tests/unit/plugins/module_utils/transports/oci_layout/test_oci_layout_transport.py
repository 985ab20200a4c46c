# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``oci:`` references."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidDigestError, InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import (
    OCILayoutTransport,
    OCIReference,
)

HEX = 'a' * 64
DIGEST = 'sha256:' + HEX

# details, path (relative ones resolve against the test's cwd), image_ref, digest, string_within_transport
VALID = [
    ('/srv/layout', '/srv/layout', None, None, '/srv/layout'),
    ('/srv/layout/', '/srv/layout', None, None, '/srv/layout'),
    ('/srv/layout:', '/srv/layout', None, None, '/srv/layout'),
    ('/srv/layout:latest', '/srv/layout', 'latest', None, '/srv/layout:latest'),
    ('/srv/layout:v1.2.3-rc_1+build', '/srv/layout', 'v1.2.3-rc_1+build', None, '/srv/layout:v1.2.3-rc_1+build'),
    ('/srv/layout:a--b', '/srv/layout', 'a--b', None, '/srv/layout:a--b'),
    # Split at the first colon: REF may hold colons and slashes (a full docker reference).
    ('/srv/layout:docker.io/library/busybox:1.36', '/srv/layout', 'docker.io/library/busybox:1.36', None,
     '/srv/layout:docker.io/library/busybox:1.36'),
    ('/srv/layout:busybox@' + DIGEST, '/srv/layout', 'busybox@' + DIGEST, None, '/srv/layout:busybox@' + DIGEST),
    ('/srv/layout@' + DIGEST, '/srv/layout', None, DIGEST, '/srv/layout@' + DIGEST),
    ('/srv/user@host/layout:tag', '/srv/user@host/layout', 'tag', None, '/srv/user@host/layout:tag'),
    ('/srv/a@b/layout', '/srv/a@b/layout', None, None, '/srv/a@b/layout'),
    ('relative/dir:tag', 'relative/dir', 'tag', None, '{cwd}/relative/dir:tag'),
    ('.', '.', None, None, '{cwd}'),
    ('/srv/../srv/layout:x', '/srv/layout', 'x', None, '/srv/layout:x'),
    ('/srv/layout@sha512:' + 'b' * 128, '/srv/layout', None, 'sha512:' + 'b' * 128, '/srv/layout@sha512:' + 'b' * 128),
]

# details, error type, fragments the message must contain
INVALID = [
    ('', InvalidReferenceError, ['invalid oci reference ""', 'layout path is empty']),
    (':tag', InvalidReferenceError, ['":tag"', 'layout path is empty']),
    ('@' + DIGEST, InvalidReferenceError, ['layout path is empty']),
    ('/srv/layout:bad tag', InvalidReferenceError, ['"bad tag" is not a valid image ref name']),
    ('/srv/layout:-leading', InvalidReferenceError, ['"-leading" is not a valid image ref name']),
    ('/srv/layout:trailing.', InvalidReferenceError, ['"trailing." is not a valid image ref name']),
    ('/srv/layout:a---b', InvalidReferenceError, ['"a---b" is not a valid image ref name']),
    ('/srv/layout:a//b', InvalidReferenceError, ['"a//b" is not a valid image ref name']),
    ('/srv/layout:/abs', InvalidReferenceError, ['"/abs" is not a valid image ref name']),
    ('/srv/layout:tag\n', InvalidReferenceError, ['"tag\\n" is not a valid image ref name']),
    ('/srv/layout:caf\u00e9', InvalidReferenceError, ['is not a valid image ref name']),
    ('/srv/layout@sha256:abc', InvalidDigestError, ['invalid oci reference "/srv/layout@sha256:abc"', 'sha256 needs 64']),
    ('/srv/layout@sha256:' + 'A' * 64, InvalidDigestError, ['sha256 needs 64 lowercase hex']),
    ('/srv/la\x00yout', InvalidReferenceError, ['NUL']),
]


@pytest.fixture(name='transport')
def transport_fixture() -> OCILayoutTransport:
    return OCILayoutTransport()


@pytest.mark.parametrize('details, path, image_ref, digest, within', VALID)
def test_parse_valid(transport: OCILayoutTransport, tmp_path, monkeypatch, details, path, image_ref, digest, within) -> None:
    monkeypatch.chdir(tmp_path)
    ref = transport.parse_reference(details)
    assert isinstance(ref, OCIReference)
    assert ref.path == os.path.abspath(path)
    assert os.path.isabs(ref.path)
    assert ref.image_ref == image_ref
    assert ref.digest == (Digest(digest) if digest else None)
    assert ref.string_within_transport() == within.format(cwd=os.getcwd())
    assert str(ref) == 'oci:' + within.format(cwd=os.getcwd())
    assert ref.docker_reference() is None
    # Round trip, from another directory: the path is absolute, so it still means the same.
    monkeypatch.chdir('/')
    again = transport.parse_reference(ref.string_within_transport())
    assert again == ref
    assert hash(again) == hash(ref)


@pytest.mark.parametrize('details, error, fragments', INVALID)
def test_parse_invalid(transport: OCILayoutTransport, details, error, fragments) -> None:
    with pytest.raises(error) as info:
        transport.parse_reference(details)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert '\n' not in str(info.value)


def test_transport_name_and_reference_transport(transport: OCILayoutTransport) -> None:
    assert transport.name == 'oci'
    assert transport.parse_reference('/x').transport.name == 'oci'


def test_reference_is_immutable() -> None:
    ref = OCIReference('/srv/layout', image_ref='tag')
    with pytest.raises(AttributeError):
        ref.image_ref = 'other'  # type: ignore[misc]
    assert ref == OCIReference('/srv/layout', 'tag')
    assert ref != OCIReference('/srv/layout', 'other')
    assert ref != OCIReference('/srv/layout')
    assert len({ref, OCIReference('/srv/layout', 'tag')}) == 1


@pytest.mark.parametrize('kwargs, fragment', [
    ({'path': '/a:b'}, 'contains a colon'),
    ({'path': '/a', 'image_ref': 'x', 'digest': Digest(DIGEST)}, 'not both'),
    ({'path': '/a', 'image_ref': ''}, 'is not a valid image ref name'),
])
def test_constructor_validates(kwargs, fragment) -> None:
    with pytest.raises(InvalidReferenceError, match=fragment):
        OCIReference(**kwargs)


def test_digest_reference_cannot_be_a_destination(tmp_path) -> None:
    ref = OCILayoutTransport().parse_reference('%s@%s' % (tmp_path / 'layout', DIGEST))
    with pytest.raises(InvalidReferenceError, match='digest reference'):
        ref.new_destination()
    assert not (tmp_path / 'layout').exists()
