# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for reference.py; many vectors come from distribution/reference's reference_test.go and normalize_test.go."""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidDigestError,
    InvalidReferenceError,
)
from ansible_collections.ocikit.images.plugins.module_utils.reference import (
    NAME_TOTAL_LENGTH_MAX,
    DockerReference,
    parse_named,
    parse_normalized_named,
    validate_domain,
    validate_repository_path,
    validate_tag,
)

F64 = 'f' * 64
SHA256 = 'sha256:' + F64
SHA512 = 'sha512:' + 'f' * 128
REDIS = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c'
BUSYBOX = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa'
SERIAL = 'sha256:1234567890098765432112345667890098765432112345667890098765432112'
HEX_ID = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a'

# input, canonical string, domain, path, tag, digest, familiar string
VALID = [
    # Docker Hub normalisation
    ('busybox', 'docker.io/library/busybox', 'docker.io', 'library/busybox', None, None, 'busybox'),
    ('busybox:latest', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox', 'latest', None, 'busybox:latest'),
    ('library/busybox', 'docker.io/library/busybox', 'docker.io', 'library/busybox', None, None, 'busybox'),
    ('docker.io/busybox', 'docker.io/library/busybox', 'docker.io', 'library/busybox', None, None, 'busybox'),
    ('docker.io/library/busybox', 'docker.io/library/busybox', 'docker.io', 'library/busybox', None, None, 'busybox'),
    ('index.docker.io/busybox', 'docker.io/library/busybox', 'docker.io', 'library/busybox', None, None, 'busybox'),
    ('index.docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36', 'docker.io', 'library/busybox', '1.36', None, 'busybox:1.36'),
    ('user/img', 'docker.io/user/img', 'docker.io', 'user/img', None, None, 'user/img'),
    ('user/img:v1', 'docker.io/user/img:v1', 'docker.io', 'user/img', 'v1', None, 'user/img:v1'),
    ('index.docker.io/user/img', 'docker.io/user/img', 'docker.io', 'user/img', None, None, 'user/img'),
    ('docker.io/library/foo/bar', 'docker.io/library/foo/bar', 'docker.io', 'library/foo/bar', None, None, 'library/foo/bar'),
    ('store/foo/bar', 'docker.io/store/foo/bar', 'docker.io', 'store/foo/bar', None, None, 'store/foo/bar'),
    ('other/library', 'docker.io/other/library', 'docker.io', 'other/library', None, None, 'other/library'),
    ('redis@' + REDIS, 'docker.io/library/redis@' + REDIS, 'docker.io', 'library/redis', None, REDIS, 'redis@' + REDIS),
    ('dmcgowan/myapp@' + REDIS, 'docker.io/dmcgowan/myapp@' + REDIS, 'docker.io', 'dmcgowan/myapp', None, REDIS, 'dmcgowan/myapp@' + REDIS),
    ('busybox:latest@' + BUSYBOX, 'docker.io/library/busybox:latest@' + BUSYBOX, 'docker.io', 'library/busybox', 'latest', BUSYBOX,
     'busybox:latest@' + BUSYBOX),
    # A 63-character hex string is a name, only 64 is an image ID; with a domain it is a name too.
    (HEX_ID[:63], 'docker.io/library/' + HEX_ID[:63], 'docker.io', 'library/' + HEX_ID[:63], None, None, HEX_ID[:63]),
    ('docker.io/' + HEX_ID, 'docker.io/library/' + HEX_ID, 'docker.io', 'library/' + HEX_ID, None, None, HEX_ID),
    ('dbcc1', 'docker.io/library/dbcc1', 'docker.io', 'library/dbcc1', None, None, 'dbcc1'),
    # A single component is never a domain, even if it looks like one.
    ('test_com', 'docker.io/library/test_com', 'docker.io', 'library/test_com', None, None, 'test_com'),
    ('test.com:tag', 'docker.io/library/test.com:tag', 'docker.io', 'library/test.com', 'tag', None, 'test.com:tag'),
    ('test.com:5000', 'docker.io/library/test.com:5000', 'docker.io', 'library/test.com', '5000', None, 'test.com:5000'),
    ('localhost', 'docker.io/library/localhost', 'docker.io', 'library/localhost', None, None, 'localhost'),
    ('localhost:5000', 'docker.io/library/localhost:5000', 'docker.io', 'library/localhost', '5000', None, 'localhost:5000'),
    ('192.168.1.1', 'docker.io/library/192.168.1.1', 'docker.io', 'library/192.168.1.1', None, None, '192.168.1.1'),
    ('192.168.1.1:5000', 'docker.io/library/192.168.1.1:5000', 'docker.io', 'library/192.168.1.1', '5000', None, '192.168.1.1:5000'),
    ('foo_bar.com:8080', 'docker.io/library/foo_bar.com:8080', 'docker.io', 'library/foo_bar.com', '8080', None, 'foo_bar.com:8080'),
    ('test_com/foo', 'docker.io/test_com/foo', 'docker.io', 'test_com/foo', None, None, 'test_com/foo'),
    ('foo/foo_bar.com:8080', 'docker.io/foo/foo_bar.com:8080', 'docker.io', 'foo/foo_bar.com', '8080', None, 'foo/foo_bar.com:8080'),
    ('lowercase:Uppercase', 'docker.io/library/lowercase:Uppercase', 'docker.io', 'library/lowercase', 'Uppercase', None, 'lowercase:Uppercase'),
    # Path component separators
    ('docker-rules/docker', 'docker.io/docker-rules/docker', 'docker.io', 'docker-rules/docker', None, None, 'docker-rules/docker'),
    ('docker---rules/docker', 'docker.io/docker---rules/docker', 'docker.io', 'docker---rules/docker', None, None, 'docker---rules/docker'),
    ('dock__er/docker', 'docker.io/dock__er/docker', 'docker.io', 'dock__er/docker', None, None, 'dock__er/docker'),
    ('d/docker', 'docker.io/d/docker', 'docker.io', 'd/docker', None, None, 'd/docker'),
    ('jess/t', 'docker.io/jess/t', 'docker.io', 'jess/t', None, None, 'jess/t'),
    ('ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'docker.io', 'library/ubuntu-12.04-base', None, None, 'ubuntu-12.04-base'),
    ('x/a.b_c-d__e', 'docker.io/x/a.b_c-d__e', 'docker.io', 'x/a.b_c-d__e', None, None, 'x/a.b_c-d__e'),
    # Domains: dot, colon, localhost, uppercase
    ('localhost/foo', 'localhost/foo', 'localhost', 'foo', None, None, 'localhost/foo'),
    ('localhost:5000/foo/bar:tag', 'localhost:5000/foo/bar:tag', 'localhost:5000', 'foo/bar', 'tag', None, 'localhost:5000/foo/bar:tag'),
    ('quay.io/podman/stable', 'quay.io/podman/stable', 'quay.io', 'podman/stable', None, None, 'quay.io/podman/stable'),
    ('test.com/repo:tag', 'test.com/repo:tag', 'test.com', 'repo', 'tag', None, 'test.com/repo:tag'),
    ('test:5000/repo', 'test:5000/repo', 'test:5000', 'repo', None, None, 'test:5000/repo'),
    ('test:5000/repo:tag', 'test:5000/repo:tag', 'test:5000', 'repo', 'tag', None, 'test:5000/repo:tag'),
    ('test:5000/repo@' + SHA256, 'test:5000/repo@' + SHA256, 'test:5000', 'repo', None, SHA256, 'test:5000/repo@' + SHA256),
    ('test:5000/repo:tag@' + SHA256, 'test:5000/repo:tag@' + SHA256, 'test:5000', 'repo', 'tag', SHA256, 'test:5000/repo:tag@' + SHA256),
    ('test.com:8080/foo', 'test.com:8080/foo', 'test.com:8080', 'foo', None, None, 'test.com:8080/foo'),
    ('test-com:8080/foo', 'test-com:8080/foo', 'test-com:8080', 'foo', None, None, 'test-com:8080/foo'),
    ('sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com', 'bar/baz/quux', None, None,
     'sub-dom1.foo.com/bar/baz/quux'),
    ('sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux',
     'some-long-tag', None, 'sub-dom1.foo.com/bar/baz/quux:some-long-tag'),
    ('b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io',
     'test.example.com/my-app', 'test.example.com', None, 'b.gcr.io/test.example.com/my-app:test.example.com'),
    ('xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com', None,
     'xn--n3h.com/myimage:xn--n3h.com'),
    ('xn--7o8h.com/myimage:xn--7o8h.com@' + SHA512, 'xn--7o8h.com/myimage:xn--7o8h.com@' + SHA512, 'xn--7o8h.com', 'myimage',
     'xn--7o8h.com', SHA512, 'xn--7o8h.com/myimage:xn--7o8h.com@' + SHA512),
    ('xn--n3h.com:18080/foo', 'xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo', None, None, 'xn--n3h.com:18080/foo'),
    ('192.168.1.1/repo', '192.168.1.1/repo', '192.168.1.1', 'repo', None, None, '192.168.1.1/repo'),
    ('192.168.1.1:5000/repo', '192.168.1.1:5000/repo', '192.168.1.1:5000', 'repo', None, None, '192.168.1.1:5000/repo'),
    ('192.168.1.1:5000/repo:5050', '192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050', None, '192.168.1.1:5000/repo:5050'),
    ('127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000', 'private/moonbase', None, None,
     '127.0.0.1:8000/private/moonbase'),
    ('example.com/privatebase', 'example.com/privatebase', 'example.com', 'privatebase', None, None, 'example.com/privatebase'),
    ('Foo/bar', 'Foo/bar', 'Foo', 'bar', None, None, 'Foo/bar'),
    ('FOO/bar', 'FOO/bar', 'FOO', 'bar', None, None, 'FOO/bar'),
    ('Docker/docker', 'Docker/docker', 'Docker', 'docker', None, None, 'Docker/docker'),
    ('EXAMPLE.com/x', 'EXAMPLE.com/x', 'EXAMPLE.com', 'x', None, None, 'EXAMPLE.com/x'),
    # IPv6 in brackets
    ('[2001:db8::1]/repo', '[2001:db8::1]/repo', '[2001:db8::1]', 'repo', None, None, '[2001:db8::1]/repo'),
    ('[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]', 'repo', 'tag', None,
     '[2001:db8:1:2:3:4:5:6]/repo:tag'),
    ('[2001:db8::1]:5000/repo', '[2001:db8::1]:5000/repo', '[2001:db8::1]:5000', 'repo', None, None, '[2001:db8::1]:5000/repo'),
    ('[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000', 'repo', 'tag', None, '[2001:db8::1]:5000/repo:tag'),
    ('[2001:db8::1]:5000/repo@' + SHA256, '[2001:db8::1]:5000/repo@' + SHA256, '[2001:db8::1]:5000', 'repo', None, SHA256,
     '[2001:db8::1]:5000/repo@' + SHA256),
    ('[2001:db8::1]:5000/repo:tag@' + SHA256, '[2001:db8::1]:5000/repo:tag@' + SHA256, '[2001:db8::1]:5000', 'repo', 'tag', SHA256,
     '[2001:db8::1]:5000/repo:tag@' + SHA256),
    ('[2001:db8::]:5000/repo', '[2001:db8::]:5000/repo', '[2001:db8::]:5000', 'repo', None, None, '[2001:db8::]:5000/repo'),
    ('[::1]:5000/repo', '[::1]:5000/repo', '[::1]:5000', 'repo', None, None, '[::1]:5000/repo'),
    ('[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000', 'library/debian',
     None, None, '[fc00:1:2:3:4:5:6:7]:5000/library/debian'),
    # Tags
    ('example.com:8000/named:tagged', 'example.com:8000/named:tagged', 'example.com:8000', 'named', 'tagged', None,
     'example.com:8000/named:tagged'),
    ('other.com/named@' + SERIAL, 'other.com/named@' + SERIAL, 'other.com', 'named', None, SERIAL, 'other.com/named@' + SERIAL),
    ('x:_', 'docker.io/library/x:_', 'docker.io', 'library/x', '_', None, 'x:_'),
    ('x:' + 'a' * 128, 'docker.io/library/x:' + 'a' * 128, 'docker.io', 'library/x', 'a' * 128, None, 'x:' + 'a' * 128),
    ('x:A_b.c-D', 'docker.io/library/x:A_b.c-D', 'docker.io', 'library/x', 'A_b.c-D', None, 'x:A_b.c-D'),
    ('x:' + 'sha256', 'docker.io/library/x:sha256', 'docker.io', 'library/x', 'sha256', None, 'x:sha256'),
    # Longest names: "domain/path" of exactly 255 characters
    ('e.io/' + 'a' * 250 + ':tag', 'e.io/' + 'a' * 250 + ':tag', 'e.io', 'a' * 250, 'tag', None, 'e.io/' + 'a' * 250 + ':tag'),
    ('a/' * 122 + 'a', 'docker.io/' + 'a/' * 122 + 'a', 'docker.io', 'a/' * 122 + 'a', None, None, 'a/' * 122 + 'a'),
]


@pytest.mark.parametrize('value, canonical, domain, path, tag, digest, familiar', VALID)
def test_parse_normalized_named_valid(value, canonical, domain, path, tag, digest, familiar):
    ref = parse_normalized_named(value)
    assert str(ref) == canonical
    assert ref.domain == domain
    assert ref.path == path
    assert ref.repository == path
    assert ref.name == '%s/%s' % (domain, path)
    assert ref.tag == tag
    if digest is None:
        assert ref.digest is None
    else:
        assert isinstance(ref.digest, Digest)
        assert str(ref.digest) == digest
    assert ref.familiar_string() == familiar
    assert ref.is_name_only() == (tag is None and digest is None)


@pytest.mark.parametrize('value, canonical, domain, path, tag, digest, familiar', VALID)
def test_round_trips(value, canonical, domain, path, tag, digest, familiar):
    ref = parse_normalized_named(value)
    assert parse_named(canonical) == ref
    assert parse_normalized_named(canonical) == ref
    if familiar != HEX_ID:  # the familiar form of docker.io/library/<image ID> reads as an image ID
        assert parse_normalized_named(familiar) == ref
    assert DockerReference(domain, path, tag, digest) == ref


# input, substring of the message: digests that Digest rejects (raised as InvalidDigestError)
INVALID_DIGEST = [
    ('busybox@sha256:abc', 'invalid reference "busybox@sha256:abc": invalid digest \'sha256:abc\': sha256 needs 64 lowercase hex characters'),
    ('repo@sha256:ffffffffffffffffffffffffffffffffff', 'sha256 needs 64 lowercase hex characters'),
    ('validname@invaliddigest:' + F64, "unsupported algorithm 'invaliddigest'"),
    ('busybox@md5:' + 'f' * 32, "unsupported algorithm 'md5'"),
    ('busybox@sha256:' + 'F' * 64, 'sha256 needs 64 lowercase hex characters'),
    ('busybox@' + F64, 'expected algorithm:hex'),
    ('busybox@' + SHA256 + '@' + SHA256, 'invalid digest'),
    ('busybox@' + SHA256 + ':tag', 'invalid digest'),
]

# input, substring of the message
INVALID = INVALID_DIGEST + [
    ('', 'invalid reference "": the reference is empty'),
    (' busybox', 'invalid reference " busybox": leading or trailing whitespace'),
    ('busybox ', 'invalid reference "busybox ": leading or trailing whitespace'),
    ('busybox\n', 'invalid reference "busybox\\n": leading or trailing whitespace'),
    ('\tbusybox', 'leading or trailing whitespace'),
    ('busy box', 'invalid reference "busy box": invalid path component "busy box": invalid character " "'),
    ('a\nb', 'invalid character "\\n"'),
    ('Foo/Bar', 'invalid reference "Foo/Bar": repository name must be lowercase'),
    ('Uppercase:tag', 'invalid reference "Uppercase:tag": repository name must be lowercase'),
    ('docker/Docker', 'invalid reference "docker/Docker": repository name must be lowercase'),
    ('docker.io/docker/Docker', 'repository name must be lowercase'),
    ('test:5000/Uppercase/lowercase:tag', 'repository name must be lowercase'),
    ('quay.io/Podman/stable', 'repository name must be lowercase'),
    ('FOO_BAR/x', 'invalid reference "FOO_BAR/x": repository name must be lowercase'),
    ('a:b:c', 'invalid reference "a:b:c": invalid tag "b:c": invalid character ":"'),
    ('busybox:', 'invalid reference "busybox:": empty tag after ":"'),
    ('busybox:-x', 'invalid reference "busybox:-x": invalid tag "-x": a tag must start with a letter, a digit or "_"'),
    ('busybox:.x', 'invalid tag ".x": a tag must start with a letter'),
    ('busybox:t/a', 'invalid reference "busybox:t/a": invalid domain "busybox:t": the port "t" is not a number'),
    ('busybox:' + 'a' * 129, 'a tag may be at most 128 characters long, this one has 129'),
    ('busybox:t\u00e9', 'invalid tag "t\u00e9": invalid character "\u00e9"'),
    ('busybox:t\u0663', 'invalid character "\u0663"'),
    ('busybox@', 'invalid reference "busybox@": empty digest after "@"'),
    ('busybox:tag@', 'empty digest after "@"'),
    (':justtag', 'invalid reference ":justtag": missing repository name before ":"'),
    ('@' + SHA256, 'missing repository name before "@"'),
    (':', 'missing repository name before ":"'),
    ('@', 'missing repository name before "@"'),
    (HEX_ID, 'invalid reference "%s": a 64-character hexadecimal string is an image ID, not a repository name' % HEX_ID),
    (F64, 'is an image ID'),
    ('https://github.com/docker/docker', 'invalid reference "https://github.com/docker/docker": a reference has no URL scheme, remove "https://"'),
    ('docker://busybox', 'remove "docker://"'),
    ('-docker', 'invalid reference "-docker": invalid path component "-docker": it must start and end with a lowercase letter or a digit'),
    ('-docker/docker', 'invalid path component "-docker"'),
    ('docker-/docker', 'invalid path component "docker-"'),
    ('-docker-/docker', 'invalid path component "-docker-"'),
    ('-docker.io/docker/docker', 'invalid domain "-docker.io": invalid host name component "-docker"'),
    ('docker///docker', 'invalid reference "docker///docker": empty path component'),
    ('docker.io/docker///docker', 'empty path component'),
    ('docker/', 'empty path component'),
    ('/docker', 'empty path component'),
    ('docker.io/', 'invalid reference "docker.io/": missing repository path after the registry "docker.io"'),
    ('quay.io/', 'missing repository path after the registry "quay.io"'),
    ('____/____', 'invalid path component "____": it must start and end with a lowercase letter or a digit'),
    ('_docker/_docker', 'invalid path component "_docker"'),
    ('dock..er/docker', 'invalid domain "dock..er": empty host name component'),
    ('x/dock..er', 'invalid path component "dock..er": invalid separator ".."'),
    ('x/dock_.er', 'invalid separator "_."'),
    ('x/dock-.er', 'invalid separator "-."'),
    ('x/dock___er', 'invalid separator "___"'),
    ('x/dock._er', 'invalid separator "._"'),
    ('aa/asdf$$^/aa', 'invalid path component "asdf$$^": invalid character "$"'),
    ('x/Dock$er', 'invalid path component "Dock$er": invalid character "$"'),
    ('x/caf\u00e9', 'invalid character "\u00e9"'),
    ('x/\u212a', 'invalid path component "\u212a": invalid character "\u212a"'),
    ('\u212a/x', 'invalid domain "\u212a": invalid host name component "\u212a"'),
    ('Foo$/x', 'invalid reference "Foo$/x": invalid domain "Foo$"'),
    ('[2001:db8::1]', 'invalid reference "[2001:db8::1]": missing repository path after the registry "[2001:db8::1]"'),
    ('[2001:db8::1]:5000', 'missing repository path after the registry "[2001:db8::1]:5000"'),
    ('[2001:db8::1]:tag', 'missing repository path after the registry "[2001:db8::1]:tag"'),
    ('[fc00::1]', 'missing repository path'),
    ('[fe80::1%eth0]:5000/repo', 'invalid domain "[fe80::1%eth0]:5000": an IPv6 address must be in brackets'),
    ('[fe80::1%@invalidzone]:5000/repo', 'invalid reference "[fe80::1%@invalidzone]:5000/repo": "@" may only introduce the digest at the end, '
     'but "invalidzone]:5000/repo" follows it'),
    ('user@host/x', '"@" may only introduce the digest at the end'),
    ('[2001:db8:3:4::192.0.2.33]:5000/debian', 'invalid domain "[2001:db8:3:4::192.0.2.33]:5000"'),
    ('[::1/repo', 'invalid domain "[::1"'),
    ('[]:5000/repo', 'invalid domain "[]:5000"'),
    ('[::1]x/repo', 'invalid domain "[::1]x": invalid port "x" after "[::1]"'),
    ('[::1]:/repo', 'invalid domain "[::1]:": empty port after ":"'),
    ('[::1]:50a/repo', 'invalid port ":50a"'),
    ('fc00::1:5000/debian', 'invalid domain "fc00::1:5000": more than one ":"'),
    ('localhost:/x', 'invalid domain "localhost:": empty port after ":"'),
    ('localhost:http/x', 'invalid domain "localhost:http": the port "http" is not a number'),
    ('example.com:-1/x', 'the port "-1" is not a number'),
    ('foo./bar', 'invalid domain "foo.": empty host name component'),
    ('.foo/bar', 'invalid domain ".foo": empty host name component'),
    ('a.b_c/foo', 'invalid domain "a.b_c": invalid host name component "b_c"'),
    ('ex-.com/foo', 'invalid host name component "ex-"'),
    ('ex\u00e4mple.com/foo', 'invalid host name component "ex\u00e4mple"'),
    ('a/' * 128 + 'a:tag', 'is 267 characters long, the limit is 255'),
    # Valid for distribution's un-normalised Parse; "docker.io/" pushes it over the limit here, as in skopeo.
    ('a/' * 127 + 'a:tag-puts-this-over-max', 'repository name "docker.io/a/a/'),
    ('a/' * 127 + 'a:tag-puts-this-over-max', 'is 265 characters long, the limit is 255'),
    ('a/' * 123 + 'a', 'is 257 characters long, the limit is 255'),
    ('e.io/' + 'a' * 251, 'is 256 characters long, the limit is 255'),
    ('this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255'
     '_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255'
     '/docker', 'the limit is 255'),
]


@pytest.mark.parametrize('value, message', INVALID)
def test_parse_normalized_named_invalid(value, message):
    with pytest.raises(InvalidReferenceError) as exc_info:
        parse_normalized_named(value)
    assert message in str(exc_info.value)
    assert str(exc_info.value).startswith('invalid reference ')


@pytest.mark.parametrize('value, message', INVALID_DIGEST)
def test_bad_digest_is_an_invalid_digest_error(value, message):
    with pytest.raises(InvalidDigestError) as exc_info:
        parse_normalized_named(value)
    assert message in str(exc_info.value)
    assert str(exc_info.value).startswith('invalid reference "')


# From distribution's normalize_test.go TestValidateReferenceName and TestValidateRemoteName.
@pytest.mark.parametrize('value', [
    'docker/docker', 'library/debian', 'debian', 'docker.io/docker/docker', 'docker.io/library/debian', 'docker.io/debian',
    'index.docker.io/docker/docker', 'index.docker.io/library/debian', 'index.docker.io/debian', '127.0.0.1:5000/docker/docker',
    '127.0.0.1:5000/library/debian', '127.0.0.1:5000/debian', '192.168.0.1', '192.168.0.1:80', '192.168.0.1:8/debian',
    '192.168.0.2:25000/debian', 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', '[fc00::1]:5000/docker',
    '[fc00::1]:5000/docker/docker', '[fc00:1:2:3:4:5:6:7]:5000/library/debian', 'docker.io/' + HEX_ID, 'Docker/docker', 'DOCKER/docker',
    'docker-rules/docker', 'docker---rules/docker', 'doc/docker', 'd/docker', 'jess/t', 'dock__er/docker',
])
def test_distribution_valid_names(value):
    assert isinstance(parse_normalized_named(value), DockerReference)


@pytest.mark.parametrize('value', [
    'https://github.com/docker/docker', 'docker/Docker', '-docker', '-docker/docker', '-docker.io/docker/docker', 'docker///docker',
    'docker.io/docker/Docker', 'docker.io/docker///docker', '[fc00::1]', '[fc00::1]:5000', 'fc00::1:5000/debian',
    '[fe80::1%eth0]:5000/debian', '[2001:db8:3:4::192.0.2.33]:5000/debian', HEX_ID, 'docker-/docker', '-docker-/docker', '____/____',
    '_docker/_docker', 'dock..er/docker', 'dock_.er/docker', 'dock-.er/docker', 'docker/', '-foo',
])
def test_distribution_invalid_names(value):
    with pytest.raises(InvalidReferenceError):
        parse_normalized_named(value)


# From normalize_test.go TestParseRepositoryInfo: remote name, familiar name, full name, ambiguous name, domain.
REPOSITORY_INFO = [
    ('fooo/bar', 'fooo/bar', 'docker.io/fooo/bar', 'index.docker.io/fooo/bar', 'docker.io'),
    ('library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'library/ubuntu', 'docker.io'),
    ('nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', None, 'docker.io'),
    ('other/library', 'other/library', 'docker.io/other/library', None, 'docker.io'),
    ('private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', None, '127.0.0.1:8000'),
    ('privatebase', '127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase', None, '127.0.0.1:8000'),
    ('private/moonbase', 'example.com/private/moonbase', 'example.com/private/moonbase', None, 'example.com'),
    ('privatebase', 'example.com/privatebase', 'example.com/privatebase', None, 'example.com'),
    ('private/moonbase', 'example.com:8000/private/moonbase', 'example.com:8000/private/moonbase', None, 'example.com:8000'),
    ('privatebasee', 'example.com:8000/privatebasee', 'example.com:8000/privatebasee', None, 'example.com:8000'),
    ('library/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'index.docker.io/library/ubuntu-12.04-base',
     'docker.io'),
    ('library/foo', 'foo', 'docker.io/library/foo', 'docker.io/foo', 'docker.io'),
    ('library/foo/bar', 'library/foo/bar', 'docker.io/library/foo/bar', None, 'docker.io'),
    ('store/foo/bar', 'store/foo/bar', 'docker.io/store/foo/bar', None, 'docker.io'),
    ('bar', 'Foo/bar', 'Foo/bar', None, 'Foo'),
    ('bar', 'FOO/bar', 'FOO/bar', None, 'FOO'),
]


@pytest.mark.parametrize('value, remote, familiar, full, domain', [
    (value, remote, familiar, full, domain)
    for remote, familiar, full, ambiguous, domain in REPOSITORY_INFO
    for value in (familiar, full, ambiguous) if value is not None
])
def test_repository_info(value, remote, familiar, full, domain):
    ref = parse_normalized_named(value)
    assert ref.familiar_name == familiar
    assert ref.familiar_string() == familiar
    assert str(ref) == full
    assert ref.domain == domain
    assert ref.path == remote


@pytest.mark.parametrize('value, message', [
    ('busybox', 'invalid reference "busybox": not canonical, the canonical form is "docker.io/library/busybox"'),
    ('busybox:latest', 'the canonical form is "docker.io/library/busybox:latest"'),
    ('library/busybox', 'the canonical form is "docker.io/library/busybox"'),
    ('docker.io/busybox', 'the canonical form is "docker.io/library/busybox"'),
    ('index.docker.io/library/busybox', 'the canonical form is "docker.io/library/busybox"'),
    ('user/img@' + SHA256, 'the canonical form is "docker.io/user/img@%s"' % SHA256),
    ('test_com', 'not canonical'),
    ('Foo/Bar', 'repository name must be lowercase'),
    ('', 'the reference is empty'),
    ('quay.io/x@sha256:abc', 'invalid digest'),
])
def test_parse_named_rejects(value, message):
    with pytest.raises(InvalidReferenceError) as exc_info:
        parse_named(value)
    assert message in str(exc_info.value)


@pytest.mark.parametrize('value', [
    'docker.io/library/busybox', 'docker.io/library/busybox:latest', 'docker.io/user/img@' + SHA256, 'quay.io/a/b:c@' + SHA256,
    'localhost/x', 'localhost:5000/x/y', '[::1]:5000/repo:tag', 'Foo/bar', 'docker.io/library/foo/bar',
])
def test_parse_named_accepts_canonical(value):
    assert str(parse_named(value)) == value


@pytest.mark.parametrize('tag', ['latest', 'v1.2.3', '_', 'A', '0', 'a' * 128, 'UPPER_lower-1.0', '1.36.1-musl', 'sha256-' + F64 + '.sig'])
def test_validate_tag_valid(tag):
    assert validate_tag(tag) == tag


@pytest.mark.parametrize('tag, message', [
    ('', 'invalid tag "": a tag must not be empty'),
    ('-x', 'invalid tag "-x": a tag must start with a letter, a digit or "_"'),
    ('.x', 'invalid tag ".x": a tag must start with a letter, a digit or "_"'),
    ('a:b', 'invalid tag "a:b": invalid character ":"'),
    ('a/b', 'invalid character "/"'),
    ('a@b', 'invalid character "@"'),
    ('a b', 'invalid character " "'),
    ('a\n', 'invalid tag "a\\n": invalid character "\\n"'),
    ('t\u00e9', 'invalid character "\u00e9"'),
    ('a' * 129, 'a tag may be at most 128 characters long, this one has 129'),
    (None, 'invalid tag None: not a string'),
    (5, 'invalid tag 5: not a string'),
])
def test_validate_tag_invalid(tag, message):
    with pytest.raises(InvalidReferenceError) as exc_info:
        validate_tag(tag)
    assert message in str(exc_info.value)


@pytest.mark.parametrize('path', ['library/busybox', 'a', 'a/b/c/d', 'a.b', 'a_b', 'a__b', 'a---b', '0', 'x' * 255])
def test_validate_repository_path_valid(path):
    assert validate_repository_path(path) == path


@pytest.mark.parametrize('path, message', [
    ('', 'invalid repository path "": the repository path is empty'),
    ('Library/busybox', 'invalid repository path "Library/busybox": repository name must be lowercase'),
    ('a//b', 'empty path component'),
    ('/a', 'empty path component'),
    ('a/', 'empty path component'),
    ('a/-b', 'invalid path component "-b"'),
    ('a/b.', 'invalid path component "b."'),
    ('a..b', 'invalid separator ".."'),
    ('a___b', 'invalid separator "___"'),
    ('a:b', 'invalid path component "a:b": invalid character ":"'),
    ('x' * 256, 'it is 256 characters long, the limit is 255'),
    (None, 'invalid repository path None: not a string'),
])
def test_validate_repository_path_invalid(path, message):
    with pytest.raises(InvalidReferenceError) as exc_info:
        validate_repository_path(path)
    assert message in str(exc_info.value)


@pytest.mark.parametrize('domain', ['docker.io', 'localhost', 'localhost:5000', 'a', 'A-b.C', '127.0.0.1:80', '[::1]', '[::1]:5000',
                                    '[2001:DB8::1]', 'xn--n3h.com:18080'])
def test_validate_domain_valid(domain):
    assert validate_domain(domain) == domain


@pytest.mark.parametrize('domain, message', [
    ('', 'invalid domain "": it is empty'),
    ('a_b', 'invalid host name component "a_b"'),
    ('a..b', 'empty host name component'),
    ('-a', 'invalid host name component "-a"'),
    ('a:', 'empty port after ":"'),
    ('a:b', 'the port "b" is not a number'),
    ('a:1:2', 'more than one ":"'),
    ('[::1', 'an IPv6 address must be in brackets'),
    ('[::g]', 'an IPv6 address must be in brackets'),
    ('[::1]5000', 'invalid port "5000" after "[::1]"'),
    ('a/b', 'invalid host name component "a/b"'),
    (None, 'invalid domain None: not a string'),
])
def test_validate_domain_invalid(domain, message):
    with pytest.raises(InvalidReferenceError) as exc_info:
        validate_domain(domain)
    assert message in str(exc_info.value)


@pytest.mark.parametrize('value', [None, 1, b'busybox', ['busybox']])
def test_non_string_input(value):
    with pytest.raises(InvalidReferenceError, match='not a string'):
        parse_normalized_named(value)


# Tag and digest manipulation, after TestWithTag / TestWithDigest.
@pytest.mark.parametrize('value, tag, expected', [
    ('test.com/foo', 'tag', 'test.com/foo:tag'),
    ('foo', 'tag2', 'docker.io/library/foo:tag2'),
    ('test.com:8000/foo', 'tag4', 'test.com:8000/foo:tag4'),
    ('test.com:8000/foo', 'TAG5', 'test.com:8000/foo:TAG5'),
    ('test.com:8000/foo:old', 'new', 'test.com:8000/foo:new'),
    ('test.com:8000/foo@' + SHA256, 'TAG5', 'test.com:8000/foo:TAG5@' + SHA256),
    ('test.com:8000/foo:old@' + SHA256, 'new', 'test.com:8000/foo:new@' + SHA256),
])
def test_with_tag(value, tag, expected):
    assert str(parse_normalized_named(value).with_tag(tag)) == expected


@pytest.mark.parametrize('value, digest, expected', [
    ('test.com/foo', SHA256, 'test.com/foo@' + SHA256),
    ('foo', REDIS, 'docker.io/library/foo@' + REDIS),
    ('test.com:8000/foo', Digest(SHA512), 'test.com:8000/foo@' + SHA512),
    ('test.com:8000/foo:TAG5', SHA256, 'test.com:8000/foo:TAG5@' + SHA256),
    ('test.com:8000/foo@' + REDIS, SHA256, 'test.com:8000/foo@' + SHA256),
])
def test_with_digest(value, digest, expected):
    ref = parse_normalized_named(value).with_digest(digest)
    assert str(ref) == expected
    assert isinstance(ref.digest, Digest)


def test_with_tag_rejects_bad_tag():
    ref = parse_normalized_named('busybox')
    with pytest.raises(InvalidReferenceError, match='invalid tag "-foo"'):
        ref.with_tag('-foo')


def test_with_digest_rejects_bad_digest():
    ref = parse_normalized_named('busybox')
    with pytest.raises(InvalidDigestError, match=r'^invalid reference "docker.io/library/busybox": invalid digest \'foo\''):
        ref.with_digest('foo')


@pytest.mark.parametrize('value, expected', [
    ('busybox', 'docker.io/library/busybox:latest'),
    ('busybox:1', 'docker.io/library/busybox:1'),
    ('busybox@' + SHA256, 'docker.io/library/busybox@' + SHA256),
    ('busybox:1@' + SHA256, 'docker.io/library/busybox:1@' + SHA256),
    ('quay.io/a/b', 'quay.io/a/b:latest'),
])
def test_with_default_tag(value, expected):
    assert str(parse_normalized_named(value).with_default_tag()) == expected


@pytest.mark.parametrize('value, expected', [
    ('busybox', 'docker.io/library/busybox'),
    ('busybox:1', 'docker.io/library/busybox'),
    ('quay.io/a/b:1@' + SHA256, 'quay.io/a/b'),
    ('[::1]:5000/x@' + SHA256, '[::1]:5000/x'),
])
def test_without_tag_or_digest(value, expected):
    ref = parse_normalized_named(value).without_tag_or_digest()
    assert str(ref) == expected
    assert ref.is_name_only()
    assert ref.tag is None and ref.digest is None


def test_reference_is_frozen_and_hashable():
    ref = parse_normalized_named('busybox:1@' + SHA256)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = 'x'  # type: ignore[misc]
    assert {ref, parse_normalized_named('docker.io/library/busybox:1@' + SHA256)} == {ref}
    assert ref != parse_normalized_named('busybox:1')
    assert ref.with_tag('1') == ref


def test_direct_construction_coerces_digest_string():
    ref = DockerReference('quay.io', 'a/b', digest=SHA256)  # type: ignore[arg-type]
    assert isinstance(ref.digest, Digest)
    assert str(ref) == 'quay.io/a/b@' + SHA256


@pytest.mark.parametrize('kwargs, message', [
    ({'domain': 'quay.io', 'path': 'A/b'}, 'invalid reference "quay.io/A/b": repository name must be lowercase'),
    ({'domain': 'quay.io', 'path': ''}, 'the repository path is empty'),
    ({'domain': '', 'path': 'a'}, 'invalid domain "": it is empty'),
    ({'domain': 'bad_host', 'path': 'a'}, 'invalid domain "bad_host"'),
    ({'domain': 'quay.io', 'path': 'a', 'tag': ''}, 'invalid tag "": a tag must not be empty'),
    ({'domain': 'quay.io', 'path': 'a', 'tag': 'a:b'}, 'invalid tag "a:b"'),
    ({'domain': 'quay.io', 'path': 'a', 'tag': 1}, 'invalid tag 1: not a string'),
    ({'domain': 'quay.io', 'path': 'a', 'digest': 'sha256:x'}, 'invalid reference "quay.io/a": invalid digest'),
    ({'domain': 'quay.io', 'path': 'a' * 248}, 'the limit is 255'),
    ({'domain': None, 'path': 'a'}, 'domain and path must be strings'),
])
def test_direct_construction_validates(kwargs, message):
    with pytest.raises(InvalidReferenceError) as exc_info:
        DockerReference(**kwargs)
    assert message in str(exc_info.value)


def test_name_length_limit_is_exact():
    domain = 'e.io'
    ok = parse_normalized_named('%s/%s' % (domain, 'a' * (NAME_TOTAL_LENGTH_MAX - len(domain) - 1)))
    assert len(ok.name) == NAME_TOTAL_LENGTH_MAX
    with pytest.raises(InvalidReferenceError, match='is 256 characters long, the limit is 255'):
        parse_normalized_named('%s/%s' % (domain, 'a' * (NAME_TOTAL_LENGTH_MAX - len(domain))))


def test_long_input_is_clipped_in_messages():
    with pytest.raises(InvalidReferenceError) as exc_info:
        parse_normalized_named('x/' + 'A' * 1000)
    assert len(str(exc_info.value)) < 300
    assert '..."' in str(exc_info.value)
