# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Semantic versions and constraints as Masterminds/semver v3 reads them, for ``images-by-semver``.

skopeo sync (``cmd/skopeo/sync.go``) keeps a tag when ``semver.NewVersion(tag)`` parses it and
``semver.NewConstraint(constraint).Check(version)`` is true; skopeo v1.22 vendors Masterminds/semver
v3.5.0, whose rules this module follows (its own test tables are ported in the unit tests).

Versions (:func:`parse_version`, Masterminds' ``NewVersion`` with its default ``CoerceNewVersion``)
    ``[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]``: ``v1.2``, ``1``, ``1.2.3-beta.1+build.5``
    and ``01.02.03`` (leading zeros are accepted in the numbers) are versions; missing parts are 0.
    Pre-release and metadata are dot-separated identifiers of ``[0-9A-Za-z-]``; a numeric
    pre-release identifier must not have a leading zero (``1.2.3-beta.01`` is not a version).
    Not versions, so skipped by a semver filter: ``latest``, ``1.2.3.4``, ``1.2.beta``, ``1.0.0-alpha_beta``,
    ``9.8.7+meta+meta``, anything over 256 characters, numbers over 2^64-1.

Comparison (:meth:`Version.compare`)
    Numbers, then pre-release (a version without one is greater); identifiers compare numerically
    when both are numbers, a number is less than text, text compares bytewise, fewer identifiers
    are less. Metadata is ignored.

Constraints (:func:`parse_constraint`, ``NewConstraint``)
    Terms ``OP VERSION`` with OP one of ``=`` (or none), ``!=``, ``>``, ``<``, ``>=`` (``=>``),
    ``<=`` (``=<``), ``~`` (``~>``), ``^``; the version may use ``x``, ``X`` or ``*`` wildcards and
    omit parts (``1.2``, ``1.x``, ``*``). Terms joined by ``,`` or spaces must all hold; ``||``
    separates alternatives (at most 32); ``A - B`` (spaces required) means ``>= A, <= B``. At most
    512 characters. ``~1.2.3`` is ``>=1.2.3 <1.3.0``, ``~1`` is ``>=1 <2``; ``^1.2.3`` is
    ``>=1.2.3 <2``, ``^0.2.3`` is ``>=0.2.3 <0.3``, ``^0.0.3`` is ``=0.0.3``. A bare or ``=`` term with
    a wildcard or a missing part behaves as ``~`` (``1.2`` matches ``1.2.7``).

Pre-releases (Masterminds v3, which differs from npm and from Masterminds v1)
    A version with a pre-release (``1.3.0-rc.1``) is only considered by an ``||`` alternative in
    which at least one term names a pre-release; it is then compared like any version, whatever
    its major.minor.patch (``>=1.2.3-0`` matches ``1.5.0-beta``; ``^1.1.2-alpha`` matches ``1.2.1-beta1``).
    skopeo does not set ``IncludePrerelease``, so neither does this module.

Metadata on a constraint's version is dropped when the version has a wildcard or a missing part
(Masterminds rebuilds it from the numbers and the pre-release only). Every constraint Masterminds
accepts is accepted here with the same meaning; what it refuses is refused with
:class:`InvalidInputError` naming the constraint and the part at fault.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, quote

MAX_VERSION_LENGTH = 256
MAX_CONSTRAINT_LENGTH = 512
MAX_CONSTRAINT_GROUPS = 32
_UINT64_MAX = 2 ** 64 - 1

# The patterns below are Masterminds' own (Go RE2, leftmost-first like Python's re), with Go's
# ASCII \s spelled out and "$" as the end of the text.
_SPACE = r'[\t\n\f\r ]'
_LOOSE_VERSION_RE = re.compile(r'v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?'
                               r'(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?'
                               r'(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?')
_CV = (r'v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?'
       r'(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?'
       r'(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?')
_OPS = r'=||!=|>|<|>=|=>|<=|=<|~|~>|\^'
_CONSTRAINT_RE = re.compile(r'^{s}*({ops}){s}*({cv}){s}*\Z'.format(s=_SPACE, ops=_OPS, cv=_CV))
_RANGE_RE = re.compile(r'{s}*({cv}){s}+-{s}+({cv}){s}*'.format(s=_SPACE, cv=_CV))
_FIND_RE = re.compile(r'({ops}){s}*({cv})'.format(s=_SPACE, ops=_OPS, cv=_CV))
_VALID_RE = re.compile(r'^({s}*({ops}){s}*({cv}){s}*)((?:{s}+|,{s}*)({ops}){s}*({cv}){s}*)*\Z'.format(s=_SPACE, ops=_OPS, cv=_CV))

_DIGITS = frozenset('0123456789')
_ALLOWED = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789')

_SYNTAX_HINT = ('terms such as ">= 1.2", "~1.2.3", "^2", "1.x" or "1.2 - 1.4.5", joined by "," or spaces, '
                'alternatives separated by "||"')


def _identifiers_problem(text: str, what: str, numeric_zero_check: bool) -> str | None:
    for part in text.split('.'):
        if not part:
            return 'the %s %s has an empty identifier' % (what, quote(text))
        if numeric_zero_check and set(part) <= _DIGITS:
            if len(part) > 1 and part[0] == '0':
                return 'the numeric %s identifier %s starts with 0' % (what, quote(part))
        elif not set(part) <= _ALLOWED:
            return 'the %s %s has a character outside [0-9A-Za-z-]' % (what, quote(text))
    return None


@dataclasses.dataclass(frozen=True)
class Version:
    """A parsed version; ``original`` is the text it came from (the tag)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ''
    metadata: str = ''
    original: str = ''

    def __str__(self) -> str:
        text = '%d.%d.%d' % (self.major, self.minor, self.patch)
        if self.prerelease:
            text += '-' + self.prerelease
        if self.metadata:
            text += '+' + self.metadata
        return text

    def compare(self, other: 'Version') -> int:
        """-1, 0 or 1 as Masterminds' ``Compare``: numbers, then pre-release; metadata ignored."""
        for mine, theirs in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if mine != theirs:
                return -1 if mine < theirs else 1
        if not self.prerelease and not other.prerelease:
            return 0
        if not self.prerelease:
            return 1
        if not other.prerelease:
            return -1
        return _compare_prerelease(self.prerelease, other.prerelease)


def _compare_prerelease(mine: str, theirs: str) -> int:
    left, right = mine.split('.'), theirs.split('.')
    for index in range(max(len(left), len(right))):
        result = _compare_identifier(left[index] if index < len(left) else '', right[index] if index < len(right) else '')
        if result:
            return result
    return 0


def _as_uint(text: str) -> int | None:
    """Go's ``strconv.ParseUint(text, 10, 64)``: None unless ASCII digits within uint64."""
    if not text or not set(text) <= _DIGITS:
        return None
    value = int(text)
    return value if value <= _UINT64_MAX else None


def _compare_identifier(mine: str, theirs: str) -> int:
    if mine == theirs:
        return 0
    if not mine:
        return -1
    if not theirs:
        return 1
    mine_number, their_number = _as_uint(mine), _as_uint(theirs)
    if mine_number is None and their_number is None:
        return 1 if mine > theirs else -1
    if their_number is None:
        return -1
    if mine_number is None:
        return 1
    # Equal numbers spelled differently cannot pass validation; Masterminds answers -1 for them too.
    return 1 if mine_number > their_number else -1


def version_problem(text: str) -> str | None:
    """Why ``text`` is not a version Masterminds' ``NewVersion`` accepts, or None."""
    if not isinstance(text, str):
        return 'it is not a string'
    if len(text) > MAX_VERSION_LENGTH:
        return 'it is longer than %d characters' % MAX_VERSION_LENGTH
    match = _LOOSE_VERSION_RE.fullmatch(text)
    if match is None:
        return 'it is not [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]'
    for group in (1, 2, 3):
        number = match.group(group)
        if number is not None and _as_uint(number.lstrip('.')) is None:
            return 'the number %s is larger than 2^64-1' % quote(number.lstrip('.'))
    if match.group(5):
        problem = _identifiers_problem(match.group(5), 'pre-release', True)
        if problem:
            return problem
    if match.group(8):
        return _identifiers_problem(match.group(8), 'metadata', False)
    return None


def parse_version(text: str) -> Version:
    """The version ``text`` names (a tag such as ``v1.2``), or InvalidInputError saying why it is not one."""
    problem = version_problem(text)
    if problem is not None:
        raise InvalidInputError('%s is not a semantic version: %s' % (quote(text), problem))
    parts = t.cast(t.Match[str], _LOOSE_VERSION_RE.fullmatch(text))
    minor, patch = parts.group(2), parts.group(3)
    return Version(major=int(parts.group(1)), minor=int(minor[1:]) if minor else 0, patch=int(patch[1:]) if patch else 0,
                   prerelease=parts.group(5) or '', metadata=parts.group(8) or '', original=text)


def try_parse_version(text: str) -> Version | None:
    """The version of ``text``, or None when it is not one (such a tag is skipped by a semver filter, as by skopeo)."""
    if version_problem(text) is not None:
        return None
    return parse_version(text)


def _is_x(text: str) -> bool:
    return text in ('x', 'X', '*')


@dataclasses.dataclass(frozen=True)
class Term:
    """One ``OP VERSION`` term. ``dirty``: a part was a wildcard or missing; ``minor_dirty`` / ``patch_dirty`` say which."""

    operator: str
    version: Version
    text: str
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    def check(self, version: Version, include_prerelease: bool) -> bool:
        """Whether ``version`` satisfies this term (Masterminds' per-operator functions)."""
        if version.prerelease and not include_prerelease:
            return False
        return _CHECKS[self.operator](self, version)


def _not_equal(term: Term, version: Version) -> bool:
    con = term.version
    if term.dirty:
        if con.major != version.major:
            return True
        if con.minor != version.minor and not term.minor_dirty:
            return True
        if term.minor_dirty:
            return False
        if con.patch != version.patch and not term.patch_dirty:
            return True
        if term.patch_dirty:
            if version.prerelease or con.prerelease:
                return _compare_prerelease(version.prerelease, con.prerelease) != 0
            return False
    return version.compare(con) != 0


def _greater(term: Term, version: Version) -> bool:
    con = term.version
    if not term.dirty:
        return version.compare(con) == 1
    if version.major != con.major:
        return version.major > con.major
    if term.minor_dirty:
        return False
    if term.patch_dirty:
        return version.minor > con.minor
    return version.compare(con) == 1


def _less_equal(term: Term, version: Version) -> bool:
    con = term.version
    if not term.dirty:
        return version.compare(con) <= 0
    if version.major > con.major:
        return False
    return not (version.major == con.major and version.minor > con.minor and not term.minor_dirty)


def _tilde(term: Term, version: Version) -> bool:
    con = term.version
    if version.compare(con) < 0:
        return False
    if (con.major, con.minor, con.patch) == (0, 0, 0) and not term.minor_dirty and not term.patch_dirty:
        return True
    if version.major != con.major:
        return False
    return version.minor == con.minor or term.minor_dirty


def _tilde_or_equal(term: Term, version: Version) -> bool:
    if term.dirty:
        return _tilde(term, version)
    return version.compare(term.version) == 0


def _caret(term: Term, version: Version) -> bool:
    con = term.version
    if version.compare(con) < 0:
        return False
    if con.major > 0 or term.minor_dirty:
        return version.major == con.major
    if version.major > 0:
        return False
    if con.minor > 0 or term.patch_dirty:
        return version.minor == con.minor
    if version.minor > 0:
        return False
    return version.patch == con.patch


_CHECKS: dict[str, t.Callable[[Term, Version], bool]] = {
    '': _tilde_or_equal, '=': _tilde_or_equal, '!=': _not_equal,
    '>': _greater, '<': lambda term, version: version.compare(term.version) < 0,
    '>=': lambda term, version: version.compare(term.version) >= 0, '=>': lambda term, version: version.compare(term.version) >= 0,
    '<=': _less_equal, '=<': _less_equal, '~': _tilde, '~>': _tilde, '^': _caret,
}


@dataclasses.dataclass(frozen=True)
class Constraint:
    """A parsed constraint: ``groups`` are the ``||`` alternatives, each a tuple of terms that must all hold."""

    text: str
    groups: tuple[tuple[Term, ...], ...]

    def check(self, version: Version) -> bool:
        """Whether ``version`` satisfies the constraint (Masterminds' ``Check``, without ``IncludePrerelease``)."""
        for group in self.groups:
            include_prerelease = any(term.version.prerelease for term in group)
            if all(term.check(version, include_prerelease) for term in group):
                return True
        return False

    def matches(self, tag: str) -> bool:
        """Whether ``tag`` is a version satisfying the constraint; a tag that is no version never matches."""
        version = try_parse_version(tag)
        return version is not None and self.check(version)


def _rewrite_ranges(text: str) -> str:
    """``A - B`` becomes ``>= A, <= B `` (Masterminds' rewriteRange, replacing each match's first occurrence)."""
    result = text
    for match in _RANGE_RE.finditer(text):
        result = result.replace(match.group(0), '>= %s, <= %s ' % (match.group(1), match.group(11)), 1)
    return result


def _parse_term(text: str, constraint: str) -> Term:
    match = _CONSTRAINT_RE.match(text)
    if match is None:  # pragma: no cover - the whole group matched the same grammar
        raise InvalidInputError('invalid semver constraint %s: improper term %s' % (quote(constraint), quote(text)))
    operator, version_text, major, minor, patch, prerelease = match.group(1, 2, 3, 4, 5, 6)
    minor_dirty = patch_dirty = dirty = False
    if _is_x(major):
        version_text, dirty = '0.0.0%s' % (prerelease or ''), True
    elif minor is None or _is_x(minor[1:]):
        version_text, dirty, minor_dirty = '%s.0.0%s' % (major, prerelease or ''), True, True
    elif patch is None or _is_x(patch[1:]):
        version_text, dirty, patch_dirty = '%s%s.0%s' % (major, minor, prerelease or ''), True, True
    problem = version_problem(version_text)
    if problem is not None:
        raise InvalidInputError('invalid semver constraint %s: the version in %s is not valid: %s'
                                % (quote(constraint), quote(text.strip()), problem))
    return Term(operator=operator, version=parse_version(version_text), text=match.group(2), dirty=dirty,
                minor_dirty=minor_dirty, patch_dirty=patch_dirty)


def parse_constraint(text: str) -> Constraint:
    """Parse a Masterminds/semver v3 constraint (``>= 3.12``, ``~1.2 || ^2``, ``1.2 - 1.4.5``), refusing what it refuses.

    InvalidInputError names the constraint and the alternative or term at fault.
    """
    if not isinstance(text, str):
        raise InvalidInputError('invalid semver constraint %s: it is not a string' % quote(text))
    if len(text) > MAX_CONSTRAINT_LENGTH:
        raise InvalidInputError('invalid semver constraint %s: it is longer than %d characters' % (quote(text), MAX_CONSTRAINT_LENGTH))
    alternatives = _rewrite_ranges(text).split('||')
    if len(alternatives) > MAX_CONSTRAINT_GROUPS:
        raise InvalidInputError('invalid semver constraint %s: more than %d "||" alternatives' % (quote(text), MAX_CONSTRAINT_GROUPS))
    groups = []
    for alternative in alternatives:
        if not _VALID_RE.match(alternative):
            what = 'it is empty' if not alternative.strip() else '%s is not a list of terms' % quote(alternative.strip())
            if len(alternatives) > 1 and not alternative.strip():
                what = 'an alternative between "||" is empty'
            raise InvalidInputError('invalid semver constraint %s: %s (expected %s)' % (quote(text), what, _SYNTAX_HINT))
        groups.append(tuple(_parse_term(match.group(0), text) for match in _FIND_RE.finditer(alternative)))
    return Constraint(text=text, groups=tuple(groups))
