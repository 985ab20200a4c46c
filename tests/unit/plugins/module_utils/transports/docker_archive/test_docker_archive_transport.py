# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``docker-archive:`` references."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidDigestError, InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.destination import DockerArchiveDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import (
    DockerArchiveReference,
    DockerArchiveTransport,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name, transport_names

DIGEST = 'sha256:' + 'a' * 64

# details, path (relative ones resolve against the test's cwd), reference, source index, string_within_transport
VALID = [
    ('/srv/img.tar', '/srv/img.tar', None, None, '/srv/img.tar'),
    ('/srv/img.tar:busybox', '/srv/img.tar', 'docker.io/library/busybox:latest', None, '/srv/img.tar:docker.io/library/busybox:latest'),
    ('/srv/img.tar:busybox:1.36', '/srv/img.tar', 'docker.io/library/busybox:1.36', None, '/srv/img.tar:docker.io/library/busybox:1.36'),
    ('/srv/img.tar:foo:bar', '/srv/img.tar', 'docker.io/library/foo:bar', None, '/srv/img.tar:docker.io/library/foo:bar'),
    ('/srv/img.tar:user/app', '/srv/img.tar', 'docker.io/user/app:latest', None, '/srv/img.tar:docker.io/user/app:latest'),
    ('/srv/img.tar:index.docker.io/library/busybox:1', '/srv/img.tar', 'docker.io/library/busybox:1', None,
     '/srv/img.tar:docker.io/library/busybox:1'),
    ('/srv/img.tar:quay.io/x/y:v2', '/srv/img.tar', 'quay.io/x/y:v2', None, '/srv/img.tar:quay.io/x/y:v2'),
    ('/srv/img.tar:localhost:5000/app', '/srv/img.tar', 'localhost:5000/app:latest', None, '/srv/img.tar:localhost:5000/app:latest'),
    ('/srv/img.tar:@0', '/srv/img.tar', None, 0, '/srv/img.tar:@0'),
    ('/srv/img.tar:@12', '/srv/img.tar', None, 12, '/srv/img.tar:@12'),
    ('/srv/img.tar:@007', '/srv/img.tar', None, 7, '/srv/img.tar:@7'),
    ('img.tar:busybox', 'img.tar', 'docker.io/library/busybox:latest', None, '{cwd}/img.tar:docker.io/library/busybox:latest'),
]

# details, error type, fragments the message must contain
INVALID = [
    ('', InvalidReferenceError, ['invalid docker-archive reference ""', 'expected PATH, PATH:REF or PATH:@N']),
    (':busybox', InvalidReferenceError, ['":busybox"', 'archive path is empty']),
    ('/srv/img.tar:', InvalidReferenceError, ['invalid docker-archive reference "/srv/img.tar:"', 'the reference is empty']),
    ('/srv/img.tar:Busybox', InvalidReferenceError, ['repository name must be lowercase']),
    ('/srv/img.tar:busybox:bad tag', InvalidReferenceError, ['invalid tag "bad tag"']),
    ('/srv/img.tar:busybox@' + DIGEST, InvalidReferenceError, ['names images by tag, not by digest']),
    ('/srv/img.tar:busybox:1@' + DIGEST, InvalidReferenceError, ['names images by tag, not by digest']),
    ('/srv/img.tar:busybox@sha256:abc', InvalidDigestError, ['invalid docker-archive reference', 'sha256 needs 64']),
    ('/srv/img.tar:@', InvalidReferenceError, ['invalid source index "@"', 'non-negative number']),
    ('/srv/img.tar:@-1', InvalidReferenceError, ['invalid source index "@-1"']),
    ('/srv/img.tar:@+1', InvalidReferenceError, ['invalid source index "@+1"']),
    ('/srv/img.tar:@1x', InvalidReferenceError, ['invalid source index "@1x"']),
    ('/srv/img.tar:@\u0661', InvalidReferenceError, ['invalid source index']),
    ('/srv/im\x00g.tar', InvalidReferenceError, ['NUL']),
]


@pytest.mark.parametrize('details, path, ref, index, within', VALID)
def test_parse_valid(tmp_path, monkeypatch, details, path, ref, index, within) -> None:
    monkeypatch.chdir(tmp_path)
    parsed = DockerArchiveTransport().parse_reference(details)
    assert isinstance(parsed, DockerArchiveReference)
    assert parsed.path == os.path.abspath(path)
    assert str(parsed.ref) == str(ref) if ref else parsed.ref is None
    assert parsed.source_index == index
    expected = within.format(cwd=os.getcwd())
    assert parsed.string_within_transport() == expected
    assert str(parsed) == 'docker-archive:' + expected
    assert parsed.docker_reference() == parsed.ref
    assert DockerArchiveTransport().parse_reference(parsed.string_within_transport()) == parsed
    assert parse_image_name(str(parsed)) == parsed


@pytest.mark.parametrize('details, error, fragments', INVALID)
def test_parse_invalid(details, error, fragments) -> None:
    with pytest.raises(error) as info:
        DockerArchiveTransport().parse_reference(details)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_direct_construction_checks() -> None:
    busybox = parse_normalized_named('busybox')
    with pytest.raises(InvalidReferenceError, match='give a reference or a source index, not both'):
        DockerArchiveReference('/x.tar', ref=busybox, source_index=0)
    with pytest.raises(InvalidReferenceError, match='source index must be a non-negative number'):
        DockerArchiveReference('/x.tar', source_index=-1)
    with pytest.raises(InvalidReferenceError, match='contains a colon'):
        DockerArchiveReference('/a:b.tar')
    with pytest.raises(InvalidReferenceError, match='expected a docker reference'):
        DockerArchiveReference('/x.tar', ref='busybox')  # type: ignore[arg-type]
    with pytest.raises(InvalidReferenceError, match='not a string'):
        DockerArchiveTransport().parse_reference(None)  # type: ignore[arg-type]
    # A bare name gets :latest, as TagNameOnly does.
    assert str(DockerArchiveReference('/x.tar', ref=busybox).ref) == 'docker.io/library/busybox:latest'


def test_reference_is_immutable_and_hashable() -> None:
    ref = DockerArchiveTransport().parse_reference('/srv/img.tar:busybox')
    with pytest.raises(AttributeError):
        ref.path = '/elsewhere'  # type: ignore[misc]
    same = DockerArchiveTransport().parse_reference('/srv/img.tar:docker.io/library/busybox:latest')
    assert ref == same and hash(ref) == hash(same)
    assert len({ref, same, DockerArchiveTransport().parse_reference('/srv/img.tar:@0')}) == 2
    assert repr(ref) == "DockerArchiveReference('/srv/img.tar:docker.io/library/busybox:latest')"


def test_registered_by_name(tmp_path) -> None:
    assert 'docker-archive' in transport_names()
    ref = parse_image_name('docker-archive:%s:busybox' % (tmp_path / 'img.tar'))
    assert isinstance(ref, DockerArchiveReference)
    with ref.new_destination() as dest:
        assert isinstance(dest, DockerArchiveDestination)
        assert [str(tag) for tag in dest.repo_tags] == ['docker.io/library/busybox:latest']
    assert not os.listdir(tmp_path)


def test_source_index_cannot_be_a_destination(tmp_path) -> None:
    ref = DockerArchiveTransport().parse_reference('%s:@0' % (tmp_path / 'img.tar'))
    with pytest.raises(InvalidReferenceError, match='cannot write to docker-archive:.*:@0: a source index selects an image to read'):
        ref.new_destination()
