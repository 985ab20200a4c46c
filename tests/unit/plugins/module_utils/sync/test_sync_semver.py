# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Masterminds/semver v3 versions and constraints, as skopeo's images-by-semver uses them.

The tables marked "Masterminds" are its own test tables (``version_test.go`` TestNewVersion loose
mode, TestCompare; ``constraints_test.go`` TestConstraintsCheck, TestNewConstraint,
TestRewriteRange): same inputs, same expected answers, so the two implementations agree.
During development 84 constraints x 52 versions (4,212 pairs: parse results and Check answers)
were also run through skopeo's vendored Masterminds v3.5.0 with a throwaway Go harness: no
difference.
"""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.sync import semver
from ansible_collections.ocikit.images.plugins.module_utils.sync.semver import (
    Version,
    parse_constraint,
    parse_version,
    try_parse_version,
)

# Masterminds TestNewVersion ("With loose NewVersion"): (version, accepted).
NEW_VERSION = [
    ("1.2.3", True),
    ("1.2.3-alpha.01", False),
    ("1.2.3+test.01", True),
    ("1.2.3-alpha.-1", True),
    ("v1.2.3", True),
    ("1.0", True),
    ("v1.0", True),
    ("1", True),
    ("v1", True),
    ("1.2.beta", False),
    ("v1.2.beta", False),
    ("foo", False),
    ("1.2-5", True),
    ("v1.2-5", True),
    ("1.2-beta.5", True),
    ("v1.2-beta.5", True),
    ("\n1.2", False),
    ("\nv1.2", False),
    ("1.2.0-x.Y.0+metadata", True),
    ("v1.2.0-x.Y.0+metadata", True),
    ("1.2.0-x.Y.0+metadata-width-hypen", True),
    ("v1.2.0-x.Y.0+metadata-width-hypen", True),
    ("1.2.3-rc1-with-hypen", True),
    ("v1.2.3-rc1-with-hypen", True),
    ("1.2.3-0abc123", True),
    ("1.2.3-beta.01", False),
    ("1.2.3.4", False),
    ("v1.2.3.4", False),
    ("1.2.2147483648", True),
    ("1.2147483648.3", True),
    ("2147483648.3.0", True),
    ("12.3.4.1234", False),
    ("12.23.4.1234", False),
    ("12.3.34.1234", False),
    ("20221209-update-renovatejson-v4", True),
    ("1.1.2+.123", False),
    ("1.0.0-alpha_beta", False),
    ("1.0.0-alpha..", False),
    ("1.0.0-alpha..1", False),
    ("9.8.7+meta+meta", False),
    ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", False),
    ("01.1.1", True),
    ("1.01.1", True),
    ("1.1.01", True),
]


@pytest.mark.parametrize('text, accepted', NEW_VERSION)
def test_masterminds_new_version_table(text, accepted):
    assert (try_parse_version(text) is not None) is accepted


@pytest.mark.parametrize('text, expected', [
    ('v1.2', Version(1, 2, 0, original='v1.2')),
    ('1', Version(1, 0, 0, original='1')),
    ('01.02.003', Version(1, 2, 3, original='01.02.003')),
    ('1.2.3-beta.1+build.5', Version(1, 2, 3, 'beta.1', 'build.5', '1.2.3-beta.1+build.5')),
    ('1.2-5', Version(1, 2, 0, '5', original='1.2-5')),
    ('18446744073709551615.0.0', Version(2 ** 64 - 1, 0, 0, original='18446744073709551615.0.0')),
])
def test_parsed_parts(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize('text, reason', [
    ('latest', 'it is not [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]'),
    ('1.2.3.4', 'it is not [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]'),
    ('V1.2', 'it is not [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]'),
    ('1.2.3-beta.01', 'the numeric pre-release identifier "01" starts with 0'),
    ('1.0.0-alpha..1', 'it is not [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]'),
    ('18446744073709551616.0.0', 'the number "18446744073709551616" is larger than 2^64-1'),
    ('1.' + '1' * 300, 'it is longer than 256 characters'),
])
def test_not_versions_say_why(text, reason):
    with pytest.raises(InvalidInputError) as caught:
        parse_version(text)
    assert caught.value.message == '"%s" is not a semantic version: %s' % (text[:200] + ('...' if len(text) > 200 else ''), reason)


# Masterminds TestCompare: (a, b, a.compare(b)).
COMPARE = [
    ('1.2.3', '1.5.1', -1),
    ('2.2.3', '1.5.1', 1),
    ('2.2.3', '2.2.2', 1),
    ('3.2-beta', '3.2-beta', 0),
    ('1.3', '1.1.4', 1),
    ('4.2', '4.2-beta', 1),
    ('4.2-beta', '4.2', -1),
    ('4.2-alpha', '4.2-beta', -1),
    ('4.2-alpha', '4.2-alpha', 0),
    ('4.2-beta.2', '4.2-beta.1', 1),
    ('4.2-beta2', '4.2-beta1', 1),
    ('4.2-beta', '4.2-beta.2', -1),
    ('4.2-beta', '4.2-beta.foo', -1),
    ('4.2-beta.2', '4.2-beta', 1),
    ('4.2-beta.foo', '4.2-beta', 1),
    ('1.2+bar', '1.2+baz', 0),
    ('1.0.0-beta.4', '1.0.0-beta.-2', -1),
    ('1.0.0-beta.-2', '1.0.0-beta.-3', -1),
    ('1.0.0-beta.-3', '1.0.0-beta.5', 1),
]


@pytest.mark.parametrize('left, right, expected', COMPARE)
def test_masterminds_compare_table(left, right, expected):
    assert parse_version(left).compare(parse_version(right)) == expected


# Masterminds TestConstraintsCheck: (constraint, version, satisfied).
CONSTRAINTS_CHECK = [
    ('*', '1.2.3', True),
    ('~0.0.0', '1.2.3', True),
    ('0.x.x', '1.2.3', False),
    ('0.0.x', '1.2.3', False),
    ('0.0.0', '1.2.3', False),
    ('*', '1.2.3', True),
    ('^0.0.0', '1.2.3', False),
    ('= 2.0', '1.2.3', False),
    ('= 2.0', '2.0.0', True),
    ('4.1', '4.1.0', True),
    ('4.1.x', '4.1.3', True),
    ('1.x', '1.4', True),
    ('!=4.1', '4.1.0', False),
    ('!=4.1-alpha', '4.1.0-alpha', False),
    ('!=4.1-alpha', '4.1.1-alpha', False),
    ('!=4.1-alpha', '4.1.0', True),
    ('!=4.1', '5.1.0', True),
    ('!=4.x', '5.1.0', True),
    ('!=4.x', '4.1.0', False),
    ('!=4.1.x', '4.2.0', True),
    ('!=4.2.x', '4.2.3', False),
    ('>1.1', '4.1.0', True),
    ('>1.1', '1.1.0', False),
    ('<1.1', '0.1.0', True),
    ('<1.1', '1.1.0', False),
    ('<1.1', '1.1.1', False),
    ('<1.x', '1.1.1', False),
    ('<1.x', '0.1.1', True),
    ('<1.x', '2.0.0', False),
    ('<1.1.x', '1.2.1', False),
    ('<1.1.x', '1.1.500', False),
    ('<1.1.x', '1.0.500', True),
    ('<1.2.x', '1.1.1', True),
    ('>=1.1', '4.1.0', True),
    ('>=1.1', '4.1.0-beta', False),
    ('>=1.1', '1.1.0', True),
    ('>=1.1', '0.0.9', False),
    ('<=1.1', '0.1.0', True),
    ('<=1.1', '0.1.0-alpha', False),
    ('<=1.1-a', '0.1.0-alpha', True),
    ('<=1.1', '1.1.0', True),
    ('<=1.x', '1.1.0', True),
    ('<=2.x', '3.0.0', False),
    ('<=1.1', '1.1.1', True),
    ('<=1.1.x', '1.2.500', False),
    ('<=4.5', '3.4.0', True),
    ('<=4.5', '3.7.0', True),
    ('<=4.5', '4.6.3', False),
    ('>1.1, <2', '1.1.1', False),
    ('>1.1, <2', '1.2.1', True),
    ('>1.1, <3', '4.3.2', False),
    ('>=1.1, <2, !=1.2.3', '1.2.3', False),
    ('>1.1 <2', '1.1.1', False),
    ('>1.1 <2', '1.2.1', True),
    ('>1.1    <3', '4.3.2', False),
    ('>=1.1    <2    !=1.2.3', '1.2.3', False),
    ('>=1.1, <2, !=1.2.3 || > 3', '4.1.2', True),
    ('>=1.1, <2, !=1.2.3 || > 3', '3.1.2', False),
    ('>=1.1, <2, !=1.2.3 || >= 3', '3.0.0', True),
    ('>=1.1, <2, !=1.2.3 || > 3', '3.0.0', False),
    ('>=1.1, <2, !=1.2.3 || > 3', '1.2.3', False),
    ('>=1.1 <2 !=1.2.3', '1.2.3', False),
    ('>=1.1 <2 !=1.2.3 || > 3', '4.1.2', True),
    ('>=1.1 <2 !=1.2.3 || > 3', '3.1.2', False),
    ('>=1.1 <2 !=1.2.3 || >= 3', '3.0.0', True),
    ('>=1.1 <2 !=1.2.3 || > 3', '3.0.0', False),
    ('>=1.1 <2 !=1.2.3 || > 3', '1.2.3', False),
    ('> 1.1, <     2', '1.1.1', False),
    ('>   1.1, <2', '1.2.1', True),
    ('>1.1, <  3', '4.3.2', False),
    ('>= 1.1, <     2, !=1.2.3', '1.2.3', False),
    ('> 1.1 < 2', '1.1.1', False),
    ('>1.1 < 2', '1.2.1', True),
    ('> 1.1    <3', '4.3.2', False),
    ('>=1.1    < 2    != 1.2.3', '1.2.3', False),
    ('>= 1.1, <2, !=1.2.3 || > 3', '4.1.2', True),
    ('>= 1.1, <2, != 1.2.3 || > 3', '3.1.2', False),
    ('>= 1.1, <2, != 1.2.3 || >= 3', '3.0.0', True),
    ('>= 1.1, <2, !=1.2.3 || > 3', '3.0.0', False),
    ('>= 1.1, <2, !=1.2.3 || > 3', '1.2.3', False),
    ('>= 1.1 <2 != 1.2.3', '1.2.3', False),
    ('>= 1.1 <2 != 1.2.3 || > 3', '4.1.2', True),
    ('>= 1.1 <2 != 1.2.3 || > 3', '3.1.2', False),
    ('>= 1.1 <2 != 1.2.3 || >= 3', '3.0.0', True),
    ('>= 1.1 < 2 !=1.2.3 || > 3', '3.0.0', False),
    ('>=1.1 < 2 !=1.2.3 || > 3', '1.2.3', False),
    ('>= 1.0.0  <= 2.0.0-beta', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta', '1.0.1', True),
    ('>= 1.0.0  <= 2.0.0-beta', '3.0.0', False),
    ('>= 1.0.0  <= 2.0.0-beta || > 3', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta || > 3', '3.0.1-beta', False),
    ('>= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3', '1.0.1-beta', False),
    ('>= 1.0.0-0  <= 2.0.0', '1.0.1-beta', True),
    ('1.1 - 2', '1.1.1', True),
    ('1.5.0 - 4.5', '3.7.0', True),
    ('1.1-3', '4.3.2', False),
    ('^1.1', '1.1.1', True),
    ('^1.1', '4.3.2', False),
    ('^1.x', '1.1.1', True),
    ('^2.x', '1.1.1', False),
    ('^1.x', '2.1.1', False),
    ('^1.x', '1.1.1-beta1', False),
    ('^1.1.2-alpha', '1.2.1-beta1', True),
    ('^1.2.x-alpha', '1.1.1-beta1', False),
    ('^0.0.1', '0.0.1', True),
    ('^0.0.1', '0.3.1', False),
    ('~*', '2.1.1', True),
    ('~1', '2.1.1', False),
    ('~1', '1.3.5', True),
    ('~1', '1.4', True),
    ('~1.x', '2.1.1', False),
    ('~1.x', '1.3.5', True),
    ('~1.x', '1.4', True),
    ('~1.1', '1.1.1', True),
    ('~1.1', '1.1.1-alpha', False),
    ('~1.1-alpha', '1.1.1-beta', True),
    ('~1.1.1-beta', '1.1.1-alpha', False),
    ('~1.1.1-beta', '1.1.1', True),
    ('~1.2.3', '1.2.5', True),
    ('~1.2.3', '1.2.2', False),
    ('~1.2.3', '1.3.2', False),
    ('~1.1', '1.2.3', False),
    ('~1.3', '2.4.5', False),
    ('1.0.0 - 2.0.0 <=2.0.0', '1.5.0', True),
    ('1.0.0 - 2.0.0, <=2.0.0', '1.5.0', True),
]


@pytest.mark.parametrize('constraint, version, expected', CONSTRAINTS_CHECK)
def test_masterminds_constraints_check_table(constraint, version, expected):
    assert parse_constraint(constraint).check(parse_version(version)) is expected


# Masterminds TestNewConstraint: (constraint, alternatives, terms in the first), or None when refused.
@pytest.mark.parametrize('text, shape', [
    ('>= 1.1', (1, 1)),
    ('>40.50.60, < 50.70', (1, 2)),
    ('2.0', (1, 1)),
    ('v2.3.5-20161202202307-sha.e8fc5e5', (1, 1)),
    ('v1.2.3-0abc', (1, 1)),
    ('v1.2.3-beta.01', None),
    ('>= bar', None),
    ('BAR >= 1.2.3', None),
    ('>= 1.2.3 < 2.0', (1, 2)),
    ('>= 1.2.3 < 2.0 || => 3.0 < 4', (2, 2)),
    ('>= 1.2.3, < 2.0', (1, 2)),
    ('>= 1.2.3, < 2.0 || => 3.0, < 4', (2, 2)),
    ('3 - 4 || => 3.0, < 4', (2, 2)),
    ('12.3.4.1234', None),
    ('12.23.4.1234', None),
    ('12.3.34.1234', None),
    ('12.3.34 ~1.2.3', (1, 2)),
    ('12.3.34~ 1.2.3', None),
    ('1.0.0 - 2.0.0, <=2.0.0', (1, 3)),
])
def test_masterminds_new_constraint_table(text, shape):
    if shape is None:
        with pytest.raises(InvalidInputError):
            parse_constraint(text)
        return
    parsed = parse_constraint(text)
    assert (len(parsed.groups), len(parsed.groups[0])) == shape


# Masterminds TestRewriteRange.
@pytest.mark.parametrize('text, rewritten', [
    ('2 - 3', '>= 2, <= 3 '),
    ('2 - 3, 2 - 3', '>= 2, <= 3 ,>= 2, <= 3 '),
    ('2 - 3, 4.0.0 - 5.1', '>= 2, <= 3 ,>= 4.0.0, <= 5.1 '),
    ('2 - 3 4.0.0 - 5.1', '>= 2, <= 3 >= 4.0.0, <= 5.1 '),
    ('1.0.0 - 2.0.0 <=2.0.0', '>= 1.0.0, <= 2.0.0 <=2.0.0'),
])
def test_masterminds_rewrite_range_table(text, rewritten):
    assert semver._rewrite_ranges(text) == rewritten  # pylint: disable=protected-access


@pytest.mark.parametrize('constraint, tags, expected', [
    # skopeo's documented example: non-semver tags are skipped, not errors.
    ('>= 3.12.0', ['3.11', '3.12', 'v3.12.1', 'latest', 'edge', '3.13.0-rc1', '20240101'], ['3.12', 'v3.12.1', '20240101']),
    # Pre-releases count only for an alternative that names one, then compare normally (Masterminds v3).
    ('>= 1.2.3-0', ['1.2.3-beta', '1.5.0-beta', '1.2.2-rc.1', '1.2.3'], ['1.2.3-beta', '1.5.0-beta', '1.2.3']),
    ('~1.2 || >= 2.0.0-rc.1', ['1.2.9', '1.2.9-rc.1', '2.0.0-rc.2', '1.3.0'], ['1.2.9', '2.0.0-rc.2']),
    ('1.x', ['1', '1.9.9', '2.0.0', '0.9'], ['1', '1.9.9']),
    ('^0.2.3', ['0.2.3', '0.2.9', '0.3.0', '1.2.3'], ['0.2.3', '0.2.9']),
    ('^0.0.3', ['0.0.3', '0.0.4'], ['0.0.3']),
    ('!=1.2.x', ['1.2.0', '1.3.0'], ['1.3.0']),
    ('=1.2.3+build', ['1.2.3', '1.2.3+other'], ['1.2.3', '1.2.3+other']),
])
def test_constraint_against_tag_lists(constraint, tags, expected):
    parsed = parse_constraint(constraint)
    assert [tag for tag in tags if parsed.matches(tag)] == expected


@pytest.mark.parametrize('text, message', [
    ('', 'invalid semver constraint "": it is empty (expected terms such as ">= 1.2", "~1.2.3", "^2", "1.x" or "1.2 - 1.4.5", '
         'joined by "," or spaces, alternatives separated by "||")'),
    ('>= bar', 'invalid semver constraint ">= bar": ">= bar" is not a list of terms (expected terms such as ">= 1.2", "~1.2.3", "^2", '
               '"1.x" or "1.2 - 1.4.5", joined by "," or spaces, alternatives separated by "||")'),
    ('>= 1 ||', 'invalid semver constraint ">= 1 ||": an alternative between "||" is empty (expected terms such as ">= 1.2", "~1.2.3", '
                '"^2", "1.x" or "1.2 - 1.4.5", joined by "," or spaces, alternatives separated by "||")'),
    ('>= 1.2.3-beta.01', 'invalid semver constraint ">= 1.2.3-beta.01": the version in ">= 1.2.3-beta.01" is not valid: '
                         'the numeric pre-release identifier "01" starts with 0'),
    ('>= 1x', 'invalid semver constraint ">= 1x": the version in ">= 1x" is not valid: '
              'it is not [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]'),
    ('||'.join(['1'] * 33), 'invalid semver constraint "%s": more than 32 "||" alternatives' % '||'.join(['1'] * 33)),
    ('1' * 513, 'invalid semver constraint "%s...": it is longer than 512 characters' % ('1' * 200)),
    (3.12, 'invalid semver constraint "3.12": it is not a string'),
])
def test_refused_constraints_say_why(text, message):
    with pytest.raises(InvalidInputError) as caught:
        parse_constraint(text)
    assert caught.value.message == message


def test_wildcards_and_missing_parts_are_accepted_as_masterminds_does():
    # ">= x" is valid in Masterminds: the wildcard major makes it ">= 0.0.0".
    assert parse_constraint('>= x').matches('0.0.1')
    assert parse_constraint('*').matches('99')
    assert not parse_constraint('*').matches('1.0.0-rc1')


# Beyond Masterminds' tables: answers of skopeo's vendored Masterminds v3.5.0, obtained by running it
# (its quirks included: "<=*" is "<= 0.x", "=<2" keeps every 2.x). None: the constraint is refused.
@pytest.mark.parametrize('constraint, version, expected', [
    ('1.2 - 1.3 - 1.4', '1.3.0', None),
    ('1.2 -1.3', '1.2.5', None),
    ('1|2', '1.0.0', None),
    ('>=01.2', '1.2.0', True),
    ('!=1.2.x-beta', '1.2.3-beta', False),
    ('~1.2.3-beta.2', '1.2.3-beta.11', True),
    ('>1.2.x', '1.3.0', True),
    ('<=*', '5.0.0', False),
    ('^0.x', '0.9.0', True),
    ('=>1, =<2', '2.5.0', True),
    ('1.x.3', '1.9.0', True),
])
def test_masterminds_quirks_as_run(constraint, version, expected):
    if expected is None:
        with pytest.raises(InvalidInputError):
            parse_constraint(constraint)
    else:
        assert parse_constraint(constraint).check(parse_version(version)) is expected
