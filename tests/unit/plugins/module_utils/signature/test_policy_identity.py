# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""signedIdentity matching: containers/image's policy_reference_match_test.go tables, ported.

The tables are containers/image's (signature/policy_reference_match_test.go, Apache-2.0), as data;
the helpers mirror its testImageAndSig (an image reference that does not parse is skipped, since
no image can have one) and testExactPRMAndSig (the fixed reference is not validated first).
"""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature.identity import (
    EXACT_REFERENCE,
    EXACT_REPOSITORY,
    MATCH_EXACT,
    MATCH_REPO_DIGEST_OR_EXACT,
    MATCH_REPOSITORY,
    REMAP_IDENTITY,
    SignedIdentity,
    prefix_problem,
    ref_matches_prefix,
    remap_reference_prefix,
)

FULL_RHEL = 'registry.access.redhat.com/rhel7/rhel:7.2.3'
UNTAGGED_RHEL = 'registry.access.redhat.com/rhel7/rhel'
DIGEST = '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
DIGEST_OTHER = '@sha256:' + 'a' * 64

# prmExactMatchTestTable: symmetric.
EXACT_TABLE = [
    ('busybox:latest', 'busybox:latest', True),
    (FULL_RHEL, FULL_RHEL, True),
    ('busybox' + DIGEST, 'busybox' + DIGEST, True),
    ('library/busybox:latest', 'busybox:latest', True),
    ('docker.io/library/busybox:latest', 'busybox:latest', True),
    ('library/busybox' + DIGEST, 'busybox' + DIGEST, True),
    ('busybox:latest', 'busybox:notlatest', False),
    ('busybox:latest', 'notbusybox:latest', False),
    ('busybox:latest', 'hostname/library/busybox:notlatest', False),
    ('hostname/library/busybox:latest', 'busybox:notlatest', False),
    ('busybox:latest', FULL_RHEL, False),
    ('busybox' + DIGEST, 'notbusybox' + DIGEST, False),
    ('busybox:latest', 'busybox' + DIGEST, False),
    ('busybox' + DIGEST, 'busybox' + DIGEST_OTHER, False),
    ('busybox', 'busybox:latest', False),
    ('busybox', 'busybox' + DIGEST, False),
    ('busybox', 'busybox', False),
    ('busybox:latest' + DIGEST, 'busybox:latest' + DIGEST, True),
    ('busybox:latest' + DIGEST, 'busybox:latest' + DIGEST_OTHER, False),
    ('busybox:latest' + DIGEST, 'busybox:notlatest' + DIGEST, False),
    ('busybox:latest' + DIGEST, 'busybox' + DIGEST, False),
    ('busybox:latest' + DIGEST, 'busybox:latest', False),
    ('UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', False),
    ('', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', False),
    ('INVALID', 'INVALID', False),
]

# prmRepositoryMatchTestTable: symmetric.
REPOSITORY_TABLE = [
    ('busybox:latest', 'busybox:latest', True),
    (FULL_RHEL, FULL_RHEL, True),
    ('busybox' + DIGEST, 'busybox' + DIGEST, True),
    ('library/busybox:latest', 'busybox:latest', True),
    ('docker.io/library/busybox:latest', 'busybox:latest', True),
    ('library/busybox' + DIGEST, 'busybox' + DIGEST, True),
    ('busybox:latest', 'busybox:notlatest', True),
    (FULL_RHEL + 'tagsuffix', FULL_RHEL, True),
    ('library/busybox:latest', 'busybox:notlatest', True),
    ('busybox:latest', 'library/busybox:notlatest', True),
    ('docker.io/library/busybox:notlatest', 'busybox:latest', True),
    ('busybox:notlatest', 'docker.io/library/busybox:latest', True),
    ('busybox:latest', 'busybox' + DIGEST, True),
    ('busybox' + DIGEST, 'busybox' + DIGEST_OTHER, True),
    ('busybox', 'busybox:notlatest', True),
    (FULL_RHEL, UNTAGGED_RHEL, True),
    ('busybox', 'busybox' + DIGEST, True),
    ('library/busybox', 'busybox', True),
    ('docker.io/library/busybox', 'busybox', True),
    ('busybox:latest', 'notbusybox:latest', False),
    ('hostname/library/busybox:latest', 'busybox:notlatest', False),
    ('busybox:latest', FULL_RHEL, False),
    ('busybox' + DIGEST, 'notbusybox' + DIGEST, False),
    ('busybox:latest' + DIGEST, 'busybox:latest' + DIGEST, True),
    ('busybox:latest' + DIGEST, 'busybox:latest' + DIGEST_OTHER, True),
    ('busybox:latest' + DIGEST, 'busybox:notlatest' + DIGEST, True),
    ('busybox:latest' + DIGEST, 'busybox' + DIGEST, True),
    ('busybox:latest' + DIGEST, 'busybox:latest', True),
    ('UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', False),
    ('', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', False),
    ('INVALID', 'INVALID', False),
]

# matchRepoDigestOrExactTestTable: (image, signature), not symmetric.
REPO_DIGEST_OR_EXACT_TABLE = [
    ('busybox:latest', 'busybox:notlatest', False),
    (FULL_RHEL + 'tagsuffix', FULL_RHEL, False),
    ('library/busybox:latest', 'busybox:notlatest', False),
    ('busybox:latest', 'library/busybox:notlatest', False),
    ('docker.io/library/busybox:notlatest', 'busybox:latest', False),
    ('busybox:notlatest', 'docker.io/library/busybox:latest', False),
    ('busybox', 'busybox:latest', False),
    ('busybox:latest', 'busybox', False),
    ('busybox', 'busybox' + DIGEST, False),
    ('busybox' + DIGEST, 'busybox', False),
    (FULL_RHEL, UNTAGGED_RHEL, False),
    ('busybox', 'busybox', False),
    ('busybox:latest', 'busybox' + DIGEST, False),
    ('busybox' + DIGEST, 'busybox:latest', True),
    ('busybox' + DIGEST, 'busybox' + DIGEST_OTHER, True),
    ('busybox:latest' + DIGEST, 'busybox:latest', False),
    ('busybox:latest' + DIGEST, 'busybox:notlatest', False),
    ('busybox:latest', 'busybox:latest' + DIGEST, False),
    ('busybox:latest' + DIGEST, 'busybox:latest' + DIGEST_OTHER, False),
    ('busybox:latest' + DIGEST, 'busybox:notlatest' + DIGEST_OTHER, False),
]


def symmetric(table):
    """Each (a, b, result) row, and its mirror (b, a, result)."""
    return list(table) + [(b, a, result) for a, b, result in table]


def image_and_sig(identity, image_ref, sig_ref):
    """testImageAndSig: None when the image reference cannot exist, else whether the signature matches."""
    try:
        intended = parse_normalized_named(image_ref)
    except InvalidReferenceError:
        return None
    return identity.matches(intended, sig_ref)


@pytest.mark.parametrize('image_ref, sig_ref, expected', symmetric(EXACT_TABLE))
def test_match_exact(image_ref, sig_ref, expected):
    result = image_and_sig(SignedIdentity(MATCH_EXACT), image_ref, sig_ref)
    assert result in (None, expected)


@pytest.mark.parametrize('image_ref, sig_ref, expected', symmetric(REPOSITORY_TABLE))
def test_match_repository(image_ref, sig_ref, expected):
    result = image_and_sig(SignedIdentity(MATCH_REPOSITORY), image_ref, sig_ref)
    assert result in (None, expected)


# matchRepoDigestOrExact accepts what matchExact accepts, rejects what matchRepository rejects, and the rest is its own table.
REPO_DIGEST_OR_EXACT_CASES = ([row for row in symmetric(EXACT_TABLE) if row[2]] + [row for row in symmetric(REPOSITORY_TABLE) if not row[2]]
                              + REPO_DIGEST_OR_EXACT_TABLE)


@pytest.mark.parametrize('image_ref, sig_ref, expected', REPO_DIGEST_OR_EXACT_CASES)
def test_match_repo_digest_or_exact(image_ref, sig_ref, expected):
    result = image_and_sig(SignedIdentity(MATCH_REPO_DIGEST_OR_EXACT), image_ref, sig_ref)
    assert result in (None, expected)


def test_the_tables_are_not_vacuous():
    # image_and_sig may skip an unparsable image reference; make sure nearly every row really ran.
    ran = [image_and_sig(SignedIdentity(MATCH_EXACT), a, b) for a, b, dummy in symmetric(EXACT_TABLE)]
    assert sum(result is not None for result in ran) == 2 * len(EXACT_TABLE) - 5


@pytest.mark.parametrize('fixed, sig_ref, expected', symmetric(EXACT_TABLE))
def test_exact_reference_ignores_the_image(fixed, sig_ref, expected):
    identity = SignedIdentity(EXACT_REFERENCE, docker_reference=fixed)
    assert identity.matches(None, sig_ref) is expected
    assert identity.matches(parse_normalized_named('unrelated/image:tag'), sig_ref) is expected


@pytest.mark.parametrize('fixed, sig_ref, expected', symmetric(REPOSITORY_TABLE))
def test_exact_repository_ignores_the_image(fixed, sig_ref, expected):
    identity = SignedIdentity(EXACT_REPOSITORY, docker_repository=fixed)
    assert identity.matches(None, sig_ref) is expected


@pytest.mark.parametrize('identity', [MATCH_EXACT, MATCH_REPO_DIGEST_OR_EXACT, MATCH_REPOSITORY, REMAP_IDENTITY])
def test_an_image_without_docker_reference_matches_no_image_relative_identity(identity):
    assert SignedIdentity(identity, prefix='docker.io', signed_prefix='docker.io').matches(None, '') is False
    assert SignedIdentity(identity, prefix='docker.io', signed_prefix='docker.io').matches(None, 'busybox:latest') is False


@pytest.mark.parametrize('ref, prefix, expected', [
    ('docker.io/image', 'docker.io', True),
    ('docker.io/image', 'example.com', False),
    ('example.com:5000/image', 'example.com:5000', True),
    ('example.com:50000/image', 'example.com:5000', False),
    ('example.com:5000/image', 'example.com', False),
    ('example.com/foo', 'example.com', True),
    ('example.com/foo/bar', 'example.com', True),
    ('example.com/foo/bar:baz', 'example.com', True),
    ('example.com/foo/bar' + DIGEST, 'example.com', True),
    ('docker.io/ns/image', 'docker.io/library', False),
    ('example.com/library', 'docker.io/library', False),
    ('docker.io/libraryy/image', 'docker.io/library', False),
    ('docker.io/library/busybox', 'docker.io/library', True),
    ('example.com/ns/image', 'example.com/ns', True),
    ('example.com/ns2/image', 'example.com/ns', False),
    ('example.com/n2/image', 'example.com/ns', False),
    ('example.com', 'example.com/library/busybox', False),
    ('example.com:5000/ns/image', 'example.com/ns', False),
    ('example.com/ns/image', 'example.com:5000/ns', False),
    ('docker.io/library/busybox', 'docker.io/library/busybox', True),
    ('example.com/library/busybox', 'docker.io/library/busybox', False),
    ('docker.io/library/busybox2', 'docker.io/library/busybox', False),
    ('example.com/ns/image', 'example.com/ns/image', True),
    ('example.com/ns/imag2', 'example.com/ns/image', False),
    ('example.com/ns/imagee', 'example.com/ns/image', False),
    ('example.com:5000/ns/image', 'example.com/ns/image', False),
    ('example.com/ns/image', 'example.com:5000/ns/image', False),
    ('example.com/ns/image:tag', 'example.com/ns/image', True),
    ('example.com/ns/image' + DIGEST, 'example.com/ns/image', True),
    ('example.com/ns/image:tag' + DIGEST, 'example.com/ns/image', True),
])
def test_ref_matches_prefix(ref, prefix, expected):
    assert prefix_problem(prefix) is None
    assert ref_matches_prefix(parse_normalized_named(ref), prefix) is expected


@pytest.mark.parametrize('prefix, signed_prefix, ref, expected', [
    ('mirror.example', 'vendor.example', 'mirror.example/ns/image:tag', 'vendor.example/ns/image:tag'),
    ('mirror.example', 'vendor.example', 'different.com/ns/image:tag', 'different.com/ns/image:tag'),
    ('mirror.example/ns', 'vendor.example/vendor-ns', 'mirror.example/different-ns/image:tag', 'mirror.example/different-ns/image:tag'),
    ('docker.io', 'not-docker-signed.example/ns', 'busybox', 'not-docker-signed.example/ns/library/busybox'),
    ('example.com/mirror', 'example.com/vendor', 'example.com/mirror/image:tag', 'example.com/vendor/image:tag'),
    ('example.com/ns/mirror', 'example.com/ns/vendor', 'example.com/ns/mirror:tag', 'example.com/ns/vendor:tag'),
    ('mirror.example', 'vendor.example', 'prefixmirror.example/ns/image:tag', 'prefixmirror.example/ns/image:tag'),
    ('docker.io', 'not-docker-signed.example', 'busybox', 'not-docker-signed.example/library/busybox'),
    ('docker.io/library', 'not-docker-signed.example/ns', 'busybox', 'not-docker-signed.example/ns/busybox'),
    ('docker.io/library/busybox', 'not-docker-signed.example/ns/notbusybox', 'busybox', 'not-docker-signed.example/ns/notbusybox'),
    ('mirror.example', 'vendor.example', 'mirror.example/image', 'vendor.example/image'),
    ('mirror.example', 'vendor.example', 'mirror.example/image:tag', 'vendor.example/image:tag'),
    ('mirror.example', 'vendor.example', 'mirror.example/image' + DIGEST, 'vendor.example/image' + DIGEST),
    ('mirror.example', 'vendor.example', 'mirror.example/image:tag' + DIGEST, 'vendor.example/image:tag' + DIGEST),
    # Rewrites that produce an invalid reference, or a short one that would imply docker.io.
    ('mirror.example/ns/image', 'vendor.example:5000', 'mirror.example/ns/image:tag', None),
    ('mirror.example/ns/image', 'vendor.example:5000', 'mirror.example/ns/image' + DIGEST, None),
    ('mirror.example/ns/image', 'notlocalhost', 'mirror.example/ns/image:tag', None),
])
def test_remap_reference_prefix(prefix, signed_prefix, ref, expected):
    assert prefix_problem(prefix) is None and prefix_problem(signed_prefix) is None
    parsed = parse_normalized_named(ref)
    if expected is None:
        with pytest.raises(InvalidReferenceError, match='not canonical|invalid reference'):
            remap_reference_prefix(parsed, prefix, signed_prefix)
    else:
        assert str(remap_reference_prefix(parsed, prefix, signed_prefix)) == expected


@pytest.mark.parametrize('prefix, signed_prefix, image_ref, sig_ref, expected', [
    ('does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'busybox:latest', True),
    ('does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'notbusybox:latest', False),
    ('mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:1', True),
    ('mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:not1', False),
    ('mirror.example', 'docker.io/library', 'mirror.example/busybox:latest', 'busybox:latest', True),
    ('mirror.example', 'docker.io/library', 'mirror.example/alpine:latest', 'busybox:latest', False),
    ('docker.io/library', 'original.com', 'copied:latest', 'original.com/copied:latest', True),
    ('docker.io/library', 'original.com', 'copied:latest', 'original.com/ns/copied:latest', False),
    ('busybox', 'example.com/busybox', 'busybox:latest', 'example.com/busybox:latest', False),
    ('docker.io/library/busybox', 'busybox', 'docker.io/library/busybox:latest', 'busybox:latest', False),
    ('UPPERCASE', 'example.com', 'example.com/foo:latest', 'example.com/foo:latest', True),
    # containers/image answers False: its fork of docker/reference takes "UPPERCASE/foo" for a docker.io path and refuses
    # it. reference.py follows today's distribution/reference, where an uppercase first component is a registry, so the
    # rewritten reference is valid and equals the signed one. Both are exact matches of what the signature names.
    ('example.com', 'UPPERCASE', 'example.com/foo:latest', 'UPPERCASE/foo:latest', True),
])
def test_remap_identity_matches(prefix, signed_prefix, image_ref, sig_ref, expected):
    identity = SignedIdentity(REMAP_IDENTITY, prefix=prefix, signed_prefix=signed_prefix)
    assert image_and_sig(identity, image_ref, sig_ref) is expected


def _modified(text):
    """containers/image's modifiedString: the first letter moved on by one."""
    first = text[0]
    return ('a' if first == 'z' else chr(ord(first) + 1)) + text[1:]


@pytest.mark.parametrize('image_ref, sig_ref, expected', REPO_DIGEST_OR_EXACT_CASES)
def test_remap_identity_otherwise_behaves_as_match_repo_digest_or_exact(image_ref, sig_ref, expected):
    try:
        parsed = parse_normalized_named(image_ref)
    except InvalidReferenceError:
        return
    # No rewrite happens.
    never = SignedIdentity(REMAP_IDENTITY, prefix='never-causes-a-rewrite.example', signed_prefix='never-causes-a-rewrite.example')
    assert image_and_sig(never, image_ref, sig_ref) is expected
    # The image lives under a modified registry name that the remap turns back into the signed one.
    remap = SignedIdentity(REMAP_IDENTITY, prefix=_modified(parsed.domain), signed_prefix=parsed.domain)
    mirrored = parse_normalized_named(_modified(str(parsed)))
    assert remap.matches(mirrored, sig_ref) is expected


@pytest.mark.parametrize('prefix', [
    'localhost', 'example.com', 'example.com:80', 'example.com/repo', 'example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores',
    'example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores', 'shortname', 'ns/shortname',
])
def test_valid_remap_prefixes(prefix):
    assert prefix_problem(prefix) is None


@pytest.mark.parametrize('prefix', [
    '', 'repo_with_underscores', 'example.com/', 'example.com/UPPERCASEISINVALID', 'example.com/repo/', 'example.com/repo:tag',
    'example.com/repo' + DIGEST, 'example.com/repo:tag' + DIGEST, 7,
])
def test_invalid_remap_prefixes(prefix):
    assert prefix_problem(prefix) in ('is not a host[:port] or host[:port]/path prefix without tag or digest', 'must be a string')


@pytest.mark.parametrize('identity, text', [
    (SignedIdentity(MATCH_EXACT), 'matchExact'),
    (SignedIdentity(EXACT_REFERENCE, docker_reference='a/b:c'), 'exactReference "a/b:c"'),
    (SignedIdentity(EXACT_REPOSITORY, docker_repository='a/b'), 'exactRepository "a/b"'),
    (SignedIdentity(REMAP_IDENTITY, prefix='m.example', signed_prefix='v.example'), 'remapIdentity "m.example" -> "v.example"'),
])
def test_describe(identity, text):
    assert identity.describe() == text
