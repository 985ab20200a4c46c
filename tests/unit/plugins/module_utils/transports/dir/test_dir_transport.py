# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``dir:`` references and the transport's registration."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, UnknownTransportError
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirReference, DirTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name, transport_names

DIGEST = 'sha256:' + 'a' * 64

# details, path (relative ones resolve against the test's cwd)
VALID = [
    ('/srv/image', '/srv/image'),
    ('/srv/image/', '/srv/image'),
    ('/srv/../srv/image', '/srv/image'),
    # The whole details string is the path: colons and "@" are part of it, not a tag or digest.
    ('/srv/image:latest', '/srv/image:latest'),
    ('/srv/image@' + DIGEST, '/srv/image@' + DIGEST),
    ('/srv/a b/c', '/srv/a b/c'),
    ('relative/dir', 'relative/dir'),
    ('.', '.'),
    ('/', '/'),
]

INVALID = [
    ('', 'the directory path is empty'),
    ('/srv/ima\x00ge', 'NUL'),
]


@pytest.fixture(name='transport')
def transport_fixture() -> DirTransport:
    return DirTransport()


@pytest.mark.parametrize('details, path', VALID)
def test_parse_valid(transport: DirTransport, tmp_path, monkeypatch, details, path) -> None:
    monkeypatch.chdir(tmp_path)
    ref = transport.parse_reference(details)
    assert isinstance(ref, DirReference)
    assert ref.path == os.path.abspath(path)
    assert os.path.isabs(ref.path)
    assert ref.string_within_transport() == ref.path
    assert str(ref) == 'dir:' + ref.path
    assert ref.docker_reference() is None
    # Round trip from another directory: the path is absolute, so it still means the same.
    monkeypatch.chdir('/')
    again = transport.parse_reference(ref.string_within_transport())
    assert again == ref
    assert hash(again) == hash(ref)


@pytest.mark.parametrize('details, fragment', INVALID)
def test_parse_invalid(transport: DirTransport, details, fragment) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        transport.parse_reference(details)
    assert fragment in str(info.value)
    assert 'invalid dir reference' in str(info.value)
    assert '\x00' not in str(info.value)


def test_parse_rejects_non_strings(transport: DirTransport) -> None:
    with pytest.raises(InvalidReferenceError, match='not a string'):
        transport.parse_reference(None)  # type: ignore[arg-type]


def test_reference_is_immutable_and_compares_by_path() -> None:
    ref = DirReference('/srv/image')
    with pytest.raises(AttributeError):
        ref.path = '/other'  # type: ignore[misc]
    assert ref == DirReference('/srv/image/')
    assert ref != DirReference('/srv/other')
    assert len({ref, DirReference('/srv/image')}) == 1
    assert repr(ref) == "DirReference('/srv/image')"
    assert ref.transport.name == 'dir'


def test_registered_by_name() -> None:
    assert 'dir' in transport_names()
    ref = parse_image_name('dir:/srv/image:with:colons')
    assert isinstance(ref, DirReference)
    assert ref.path == '/srv/image:with:colons'
    with pytest.raises(InvalidReferenceError, match='the directory path is empty'):
        parse_image_name('dir:')
    # "dir" is no longer a planned transport: it is listed among the supported ones.
    with pytest.raises(UnknownTransportError, match=r'unknown transport "nope" \(supported: (.*, )?dir, docker'):
        parse_image_name('nope:/tmp/x')
