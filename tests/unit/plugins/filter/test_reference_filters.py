# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters parse_reference and normalize_reference: skopeo's normalisation, transports, and one-line errors for hostile input."""

from __future__ import annotations

import typing as t

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ocikit.images.plugins.filter.reference import FilterModule, normalize_reference, parse_reference

DIGEST = 'sha256:' + 'a' * 64
NONE = dict.fromkeys(('registry', 'domain', 'repository', 'name', 'familiar_name', 'tag', 'digest', 'familiar', 'normalized'))


@pytest.mark.parametrize('value, normalized, familiar', [
    ('nginx', 'docker.io/library/nginx:latest', 'nginx:latest'),
    ('nginx:1.25', 'docker.io/library/nginx:1.25', 'nginx:1.25'),
    ('library/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'),
    ('docker.io/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'),
    ('index.docker.io/user/app:1', 'docker.io/user/app:1', 'user/app:1'),
    ('user/app', 'docker.io/user/app:latest', 'user/app:latest'),
    ('localhost/app', 'localhost/app:latest', 'localhost/app:latest'),
    ('localhost:5000/team/app:1.4', 'localhost:5000/team/app:1.4', 'localhost:5000/team/app:1.4'),
    ('Registry/app', 'Registry/app:latest', 'Registry/app:latest'),
    ('[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app:latest'),
    ('quay.io/x/y@' + DIGEST, 'quay.io/x/y@' + DIGEST, 'quay.io/x/y@' + DIGEST),
    ('quay.io/x/y:1@' + DIGEST, 'quay.io/x/y:1@' + DIGEST, 'quay.io/x/y:1@' + DIGEST),
])
def test_normalisation_is_skopeo_s(value: str, normalized: str, familiar: str) -> None:
    parsed = parse_reference(value)
    assert parsed['normalized'] == normalized == normalize_reference(value)
    assert parsed['familiar'] == familiar
    assert parsed['transport'] is None and parsed['image'] == 'docker://' + normalized


def test_every_part_of_a_full_reference() -> None:
    assert parse_reference('registry.example.com:5000/team/app:1.4@' + DIGEST) == {
        'transport': None, 'registry': 'registry.example.com:5000', 'domain': 'registry.example.com:5000', 'repository': 'team/app',
        'name': 'registry.example.com:5000/team/app', 'familiar_name': 'registry.example.com:5000/team/app', 'tag': '1.4', 'digest': DIGEST,
        'normalized': 'registry.example.com:5000/team/app:1.4@' + DIGEST, 'familiar': 'registry.example.com:5000/team/app:1.4@' + DIGEST,
        'image': 'docker://registry.example.com:5000/team/app:1.4@' + DIGEST}


def test_a_short_name_keeps_its_missing_tag_with_or_without_docker_transport() -> None:
    bare, prefixed = parse_reference('busybox'), parse_reference('docker://busybox')
    assert (bare['tag'], prefixed['tag']) == (None, None)
    assert prefixed == dict(bare, transport='docker')
    assert normalize_reference('docker://busybox') == 'docker://docker.io/library/busybox:latest'


def test_transports_are_parsed_as_the_modules_parse_them(tmp_path) -> None:
    layout = parse_reference('oci:%s:app:1.0' % tmp_path)
    assert layout == dict(NONE, transport='oci', image='oci:%s:app:1.0' % tmp_path)
    archive = parse_reference('docker-archive:%s/a.tar:team/app:2' % tmp_path)
    assert (archive['transport'], archive['normalized'], archive['repository']) == ('docker-archive', 'docker.io/team/app:2', 'team/app')
    assert normalize_reference('dir:%s' % tmp_path) == 'dir:%s' % tmp_path
    # "docker" is a transport only with "//": otherwise a registry host of that name.
    assert parse_reference('docker:5000/app')['registry'] == 'docker:5000'


@pytest.mark.parametrize('value, message', [
    ('', 'parse_reference: invalid reference "": the reference is empty'),
    ('Nginx', 'parse_reference: invalid reference "Nginx": repository name must be lowercase'),
    ('nginx:', 'parse_reference: invalid reference "nginx:": empty tag after ":"'),
    ('nginx:-x', 'parse_reference: invalid reference "nginx:-x": invalid tag "-x": a tag must start with a letter, a digit or "_"'),
    ('x@sha256:abc', 'parse_reference: invalid reference "x@sha256:abc": invalid digest'),
    (' nginx', 'parse_reference: invalid reference " nginx": leading or trailing whitespace'),
    ('a' * 64, 'a 64-character hexadecimal string is an image ID, not a repository name'),
    ('https://registry/app', 'a reference has no URL scheme, remove "https://"'),
    ('nope://x', 'a reference has no URL scheme'),
    ('a//b', 'empty path component'),
    ('\x1b[31mred', r'invalid path component "\x1b[31mred": invalid character "\x1b"'),
    ('app\nname', r'"app\nname"'),
    ('app:' + 't' * 129, 'a tag may be at most 128 characters long, this one has 129'),
    ('x/' * 200 + 'y', 'characters long, the limit is 255'),
    ('bob:hunter2@registry.test/app', 'parse_reference: invalid reference "bob:********@registry.test/app"'),
    ('docker://bob:hunter2@registry.test/app', 'credentials cannot be part of the reference'),
    ('docker:/x', 'invalid domain "docker:": empty port after ":"'),
    ('oci:', 'oci'),
])
def test_bad_input_is_one_line_naming_the_problem(value: str, message: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        parse_reference(value)
    text = str(caught.value)
    assert message in text, text
    assert '\n' not in text and '\x1b' not in text and 'hunter2' not in text
    assert len(text) < 700
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize('value, kind', [(None, 'null'), (42, 'a number'), (['nginx'], 'a list'), ({'a': 1}, 'a mapping'), (True, 'a boolean')])
def test_non_strings_are_refused_by_kind(value: t.Any, kind: str) -> None:
    with pytest.raises(AnsibleFilterError, match='^normalize_reference: expected an image reference string, got %s$' % kind):
        normalize_reference(value)


def test_the_filters_are_registered_under_their_names() -> None:
    assert FilterModule().filters() == {'parse_reference': parse_reference, 'normalize_reference': normalize_reference}
