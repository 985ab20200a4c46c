# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Go regular expressions (RE2 syntax, Go's ``regexp`` package) compiled for Python's ``re``.

skopeo sync keeps a tag when ``regexp.MustCompile(expr).MatchString(tag)`` is true: a search
anywhere in the tag, not a full match (anchor with ``^...$`` to match whole tags). A pattern
pasted from a skopeo YAML file must select the same tags here, so :func:`compile_re2` parses the
Go syntax itself and writes an equivalent Python pattern; :meth:`RE2Pattern.search` is
``MatchString``.

Refused, as Go refuses them (each message names the construct and its offset):
    backreferences (``\\1``, ``(?P=name)``, ``\\k<name>``), lookahead and lookbehind (``(?=``, ``(?!``,
    ``(?<=``, ``(?<!``), atomic groups ``(?>``, conditionals ``(?(``, comments ``(?#``, recursion,
    possessive and other stacked repetitions (``a*+``, ``a**``, ``a{2}*``), ``\\Z`` (Go has only
    ``\\z``), ``\\C`` (any byte), ``\\G``, ``\\K``, ``\\R``, ``\\X``, ``\\h``, ``[\\b]``, escapes of letters Go does not
    define, flags other than ``i``, ``m``, ``s``, ``U`` (so ``(?x)`` and ``(?a)``), repeat counts over
    1000, unknown ``[:name:]`` classes, Unicode script classes (``\\p{Greek}``: Python has no script
    table; general categories such as ``\\pL`` and ``\\p{Lu}`` are supported).

Translated, because Python's ``re`` reads the same text differently:
    ``$`` without ``(?m)`` matches only at the end of the text (Python's also before a final
    newline); ``\\z`` is Python's ``\\Z``; ``\\d``, ``\\w``, ``\\s``, ``\\b`` are ASCII as in Go (``\\s`` is
    ``[\\t\\n\\f\\r ]``, without ``\\v``); POSIX classes ``[[:alpha:]]`` and ``[[:^digit:]]``;
    ``\\pL``, ``\\PL``, ``\\p{Lu}``, ``\\p{^Lu}`` (from Python's ``unicodedata``); ``\\Q...\\E`` literal
    text; ``\\x{10FFFF}`` and Go's octal ``\\123`` and ``\\0`` (Python reads ``\\12`` as a backreference);
    ``a{,3}``, which Go reads as literal text (Python as ``{0,3}``); ``(?U)``, which in Go swaps
    greedy and lazy repetition (Python's ``U`` flag means Unicode); ``(?i)``, ``(?m)``, ``(?s)`` in
    the middle of a pattern apply to the rest of the enclosing group, as in Go; ``(?<name>re)``
    (Go 1.22) and ``(?P<name>re)`` become plain groups (names are not used; Go's rule for them is
    checked: ``[A-Za-z0-9_]+``; Go, unlike RE2 in C++, accepts a name used twice, so this does too);
    ``\\B`` also matches an empty text, as in Go.

Known remaining differences, documented rather than hidden:
    case-insensitive matching folds case with Python's Unicode tables (``str.casefold``, then
    ``str.lower`` where full folding gives several characters), which agree with Go's simple
    folding (CaseFolding.txt C and S) except for the few characters whose simple folding differs
    from both, such as U+1FD3 (Go folds it with U+0390); Unicode categories come from Python's Unicode version, not Go's; Python's
    ``re`` backtracks, so a pathological pattern such as ``(a+)+$`` can take exponential time where
    RE2 is linear (tags are at most 128 characters, which bounds but does not remove the risk);
    patterns are limited to :data:`MAX_PATTERN_LENGTH` characters and :data:`MAX_NESTING` nested
    groups (Go allows 1000).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
import unicodedata

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, quote

MAX_PATTERN_LENGTH = 4096
MAX_NESTING = 100
MAX_REPEAT = 1000
_MAX_RUNE = 0x10FFFF

Ranges = t.List[t.Tuple[int, int]]

_WORD: Ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_PERL_CLASSES: dict[str, Ranges] = {
    'd': [(0x30, 0x39)],
    's': [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    'w': _WORD,
}
_POSIX_CLASSES: dict[str, Ranges] = {
    'alnum': [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    'alpha': [(0x41, 0x5A), (0x61, 0x7A)],
    'ascii': [(0x00, 0x7F)],
    'blank': [(0x09, 0x09), (0x20, 0x20)],
    'cntrl': [(0x00, 0x1F), (0x7F, 0x7F)],
    'digit': [(0x30, 0x39)],
    'graph': [(0x21, 0x7E)],
    'lower': [(0x61, 0x7A)],
    'print': [(0x20, 0x7E)],
    'punct': [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    'space': [(0x09, 0x0D), (0x20, 0x20)],
    'upper': [(0x41, 0x5A)],
    'word': _WORD,
    'xdigit': [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
#: Go's unicode.Categories (and "Any"); one-letter names are unions. "C" has no Cn, as in Go.
_CATEGORIES = frozenset((
    'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
    'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs'))
_C_ESCAPES = {'a': 0x07, 'f': 0x0C, 'n': 0x0A, 'r': 0x0D, 't': 0x09, 'v': 0x0B}
# Escapes Perl or Python know and Go does not: named so the message can say what they are.
_UNSUPPORTED_ESCAPES = {
    'Z': '\\Z (end of text or before a final newline) is not supported by RE2; use \\z or $',
    'C': '\\C (any byte) is not supported by Go\'s regexp',
    'G': '\\G (end of the previous match) is not supported by RE2',
    'K': '\\K (reset match start) is not supported by RE2',
    'R': '\\R (any line break) is not supported by RE2',
    'X': '\\X (extended grapheme cluster) is not supported by RE2',
    'h': '\\h (horizontal space) is not supported by RE2; use [\\t ] or [[:blank:]]',
    'k': '\\k<name> (named backreference) is not supported by RE2',
    'g': '\\g (backreference) is not supported by RE2',
    'N': '\\N is not supported by RE2',
    'e': '\\e is not supported by RE2; use \\x1b',
    'u': '\\u is not supported by RE2; use \\x{hhhh}',
    'U': '\\U is not supported by RE2; use \\x{hhhhhh}',
}

_REPEAT_RE = re.compile(r'\{([0-9]+)(,([0-9]*))?\}')

_CATEGORY_CACHE: dict[str, Ranges] = {}
_FOLD_ORBITS: dict[int, tuple[int, ...]] = {}
# The highest code point with a case mapping is below U+1E944 (Adlam); scanning a little further is cheap.
_CASED_LIMIT = 0x20000


@dataclasses.dataclass(frozen=True)
class RE2Pattern:
    """A compiled Go regular expression: ``pattern`` as written, ``python`` the equivalent Python pattern."""

    pattern: str
    python: str
    compiled: t.Pattern[str] = dataclasses.field(compare=False, repr=False)

    def search(self, text: str) -> bool:
        """Go's ``MatchString``: whether the expression matches anywhere in ``text``."""
        return self.compiled.search(text) is not None


def compile_re2(pattern: str) -> RE2Pattern:
    """Compile a Go (RE2) regular expression; InvalidInputError names any construct Go does not accept."""
    if not isinstance(pattern, str):
        raise InvalidInputError('invalid regular expression %s: it is not a string' % quote(pattern))
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidInputError('invalid regular expression %s: it is longer than %d characters' % (quote(pattern), MAX_PATTERN_LENGTH))
    python = _Parser(pattern).parse()
    try:
        compiled = re.compile(python)
    except (re.error, RecursionError, OverflowError) as exc:  # pragma: no cover - the translation is meant to always compile
        raise InvalidInputError('invalid regular expression %s: Python cannot compile its translation: %s' % (quote(pattern), exc)) from None
    return RE2Pattern(pattern=pattern, python=python, compiled=compiled)


# -- character sets ----------------------------------------------------------------------------------

def _normalise(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def _negate(ranges: Ranges) -> Ranges:
    result: Ranges = []
    start = 0
    for low, high in _normalise(ranges):
        if low > start:
            result.append((start, low - 1))
        start = high + 1
    if start <= _MAX_RUNE:
        result.append((start, _MAX_RUNE))
    return result


def _fold_key(code: int) -> int:
    """The code point ``code`` folds to: its one-character ``casefold()`` (Unicode full folding, which is the simple
    folding whenever it is one character), else its one-character ``lower()``, else itself."""
    char = chr(code)
    for folded in (char.casefold(), char.lower()):
        if len(folded) == 1:
            return ord(folded)
    return code


def _orbits() -> dict[int, tuple[int, ...]]:
    """Every cased code point mapped to its case orbit (the code points that fold to the same one)."""
    if not _FOLD_ORBITS:
        groups: dict[int, set[int]] = {}
        for code in range(_CASED_LIMIT):
            key = _fold_key(code)
            if key != code:
                groups.setdefault(key, {key}).add(code)
        for members in groups.values():
            orbit = tuple(sorted(members))
            for code in orbit:
                _FOLD_ORBITS[code] = orbit
    return _FOLD_ORBITS


def _fold(ranges: Ranges) -> Ranges:
    """``ranges`` closed under case folding (Go's appendFoldedRange)."""
    orbits = _orbits()
    extra: Ranges = []
    for low, high in ranges:
        if high - low > len(orbits):
            codes: t.Iterable[int] = (code for code in orbits if low <= code <= high)
        else:
            codes = range(low, min(high, _CASED_LIMIT - 1) + 1)
        for code in codes:
            for other in orbits.get(code, ()):
                extra.append((other, other))
    return _normalise(list(ranges) + extra)


def _category(name: str) -> Ranges:
    """Code points of the Unicode general category ``name`` (one letter: the union), from unicodedata."""
    if not _CATEGORY_CACHE:
        building: dict[str, list[tuple[int, int]]] = {}
        previous, start = None, 0
        for code in range(_MAX_RUNE + 2):
            category = unicodedata.category(chr(code)) if code <= _MAX_RUNE else None
            if category != previous:
                if previous is not None:
                    building.setdefault(previous, []).append((start, code - 1))
                previous, start = category, code
        for key, ranges in building.items():
            _CATEGORY_CACHE[key] = ranges
            if key != 'Cn':
                _CATEGORY_CACHE.setdefault(key[0], [])
                _CATEGORY_CACHE[key[0]] = _CATEGORY_CACHE[key[0]] + ranges
        for key in ('C', 'L', 'M', 'N', 'P', 'S', 'Z'):
            _CATEGORY_CACHE[key] = _normalise(_CATEGORY_CACHE.get(key, []))
    return _CATEGORY_CACHE.get(name, [])


def _class_text(ranges: Ranges) -> str:
    """A Python character class matching exactly ``ranges`` (code points escaped, so nothing is special)."""
    ranges = _normalise(ranges)
    if not ranges:
        return '(?!)'
    if ranges == [(0, _MAX_RUNE)]:
        return '[\\x00-\\U0010ffff]'
    parts = []
    for low, high in ranges:
        parts.append('\\U%08x' % low if low == high else '\\U%08x-\\U%08x' % (low, high))
    return '[%s]' % ''.join(parts)


# -- the parser ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Flags:
    fold: bool = False      # i
    multiline: bool = False  # m
    dot_nl: bool = False    # s
    ungreedy: bool = False  # U


class _Parser:
    """Recursive descent over Go's syntax (regexp/syntax, Perl flags), writing Python syntax as it goes."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0
        self.depth = 0

    def fail(self, reason: str, start: int | None = None) -> InvalidInputError:
        offset = self.pos if start is None else start
        return InvalidInputError('invalid regular expression %s: %s at offset %d' % (quote(self.pattern), reason, offset))

    def construct(self, start: int, end: int | None = None) -> str:
        return quote(self.pattern[start:self.pos if end is None else end])

    def parse(self) -> str:
        text = self.alternation(_Flags())
        if self.pos < len(self.pattern):
            raise self.fail('unexpected ")"')
        return text

    def alternation(self, flags: _Flags) -> str:
        branches = [self.concatenation(flags)]
        while self.pos < len(self.pattern) and self.pattern[self.pos] == '|':
            self.pos += 1
            branches.append(self.concatenation(flags))
        return '|'.join(branches)

    def concatenation(self, flags: _Flags) -> str:
        items: list[str] = []
        # Whether the last item can take a repetition, and whether it already is one.
        repeatable = False
        repeated = -1  # where the repetition operator of the last item starts, -1: it has none
        pattern = self.pattern
        while self.pos < len(pattern):
            char = pattern[self.pos]
            if char in '|)':
                break
            start = self.pos
            quantifier = self.quantifier()
            if quantifier is not None:
                if repeated >= 0:
                    hint = ' (possessive repetition is not supported by RE2)' if pattern[start] == '+' else ''
                    raise self.fail('invalid nested repetition operator %s%s' % (self.construct(repeated), hint), repeated)
                if not repeatable:
                    raise self.fail('missing argument to repetition operator %s' % self.construct(start), start)
                text, lazy = quantifier
                if self.pos < len(pattern) and pattern[self.pos] == '?':
                    self.pos += 1
                    lazy = not lazy
                if flags.ungreedy:
                    lazy = not lazy
                items[-1] = '(?:%s)%s%s' % (items[-1], text, '?' if lazy else '')
                repeated = start
                continue
            item = self.atom(flags)
            if item is None:
                # A flag group adds nothing: a repetition after it applies to the item before it, as in Go ("a*(?i)*").
                repeated = -1
                continue
            if isinstance(item, list):  # \Q...\E: one literal item per character
                items.extend(item)
                repeatable, repeated = bool(item), -1
                continue
            items.append(item)
            repeatable, repeated = True, -1
        return ''.join(items)

    def quantifier(self) -> tuple[str, bool] | None:
        """``(python text, False)`` for a repetition operator at the current position (consumed), else None."""
        pattern = self.pattern
        char = pattern[self.pos]
        if char in '*+?':
            self.pos += 1
            return char, False
        if char != '{':
            return None
        match = _REPEAT_RE.match(pattern, self.pos)
        if match is None:
            return None  # Go reads "{" that does not start {n}, {n,} or {n,m} as a literal ("a{,3}" too)
        start = self.pos
        self.pos = match.end()
        low = int(match.group(1)) if len(match.group(1)) < 8 else MAX_REPEAT + 1
        high_text = match.group(3)
        high = low if match.group(2) is None else (-1 if not high_text else (int(high_text) if len(high_text) < 8 else MAX_REPEAT + 1))
        if low > MAX_REPEAT or high > MAX_REPEAT or (high >= 0 and low > high):
            raise self.fail('invalid repeat count %s (at most %d, and min <= max)' % (self.construct(start), MAX_REPEAT), start)
        if match.group(2) is None:
            return '{%d}' % low, False
        return ('{%d,}' % low if high < 0 else '{%d,%d}' % (low, high)), False

    def atom(self, flags: _Flags) -> str | list[str] | None:
        pattern = self.pattern
        char = pattern[self.pos]
        if char == '(':
            return self.group(flags)
        if char == '[':
            return _class_text(self.bracket(flags))
        if char == '.':
            self.pos += 1
            return _class_text([(0, _MAX_RUNE)]) if flags.dot_nl else '[^\\n]'
        if char == '^':
            self.pos += 1
            return '(?m:^)' if flags.multiline else '\\A'
        if char == '$':
            self.pos += 1
            return '(?m:$)' if flags.multiline else '\\Z'
        if char == '\\':
            return self.escape_outside_class(flags)
        self.pos += 1
        return self.literal(ord(char), flags)

    def literal(self, code: int, flags: _Flags) -> str:
        if flags.fold:
            folded = _fold([(code, code)])
            if folded != [(code, code)]:
                return _class_text(folded)
        return re.escape(chr(code))

    # -- groups

    def group(self, flags: _Flags) -> str | None:
        pattern = self.pattern
        start = self.pos
        inner = _Flags(**dataclasses.asdict(flags))
        if pattern.startswith('(?', start):
            rest = pattern[start + 2:start + 4]
            if rest.startswith('P<') or (rest.startswith('<') and not rest.startswith(('<=', '<!'))):
                self.group_name(start)
            elif rest.startswith(('=', '!')):
                raise self.fail('lookahead %s is not supported by RE2' % quote(pattern[start:start + 3]), start)
            elif rest.startswith(('<=', '<!')):
                raise self.fail('lookbehind %s is not supported by RE2' % quote(pattern[start:start + 4]), start)
            elif rest.startswith('>'):
                raise self.fail('atomic group "(?>" is not supported by RE2', start)
            elif rest.startswith('('):
                raise self.fail('conditional "(?(" is not supported by RE2', start)
            elif rest.startswith('#'):
                raise self.fail('comment "(?#" is not supported by RE2', start)
            elif rest.startswith('P='):
                raise self.fail('backreference "(?P=" is not supported by RE2', start)
            elif rest.startswith('P>') or rest[:1] in ('R', '&') or rest[:1].isdigit() or rest[:1] == '+':
                raise self.fail('recursion %s is not supported by RE2' % quote(pattern[start:start + 3]), start)
            else:
                if self.flag_group(start, flags, inner):
                    return None
        else:
            self.pos += 1
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail('groups nest more than %d deep' % MAX_NESTING, start)
        body = self.alternation(inner)
        self.depth -= 1
        if self.pos >= len(pattern) or pattern[self.pos] != ')':
            raise self.fail('missing closing ")" for the group', start)
        self.pos += 1
        capturing = not pattern.startswith('(?', start) or pattern.startswith(('(?P<', '(?<'), start)
        return '(%s)' % body if capturing else '(?:%s)' % body

    def group_name(self, start: int) -> None:
        pattern = self.pattern
        name_start = pattern.index('<', start) + 1
        end = pattern.find('>', name_start)
        if end < 0:
            raise self.fail('invalid named capture %s: no closing ">"' % quote(pattern[start:]), start)
        name = pattern[name_start:end]
        if not re.fullmatch(r'[A-Za-z0-9_]+', name):
            raise self.fail('invalid named capture %s: a name is letters, digits and "_"' % quote(pattern[start:end + 1]), start)
        self.pos = end + 1

    def flag_group(self, start: int, outer: _Flags, inner: _Flags) -> bool:
        """Parse ``(?flags)`` (True: applies to ``outer`` from here on) or ``(?flags:`` (False: ``inner`` set, group opened)."""
        pattern = self.pattern
        pos = start + 2
        negate = False
        saw_flag = False
        target = _Flags(**dataclasses.asdict(outer))
        letters = {'i': 'fold', 'm': 'multiline', 's': 'dot_nl', 'U': 'ungreedy'}
        while pos < len(pattern):
            char = pattern[pos]
            pos += 1
            if char in letters:
                setattr(target, letters[char], not negate)
                saw_flag = True
            elif char == '-' and not negate:
                negate, saw_flag = True, False
            elif char in ':)' and (saw_flag or not negate):
                self.pos = pos
                if char == ')':
                    for name in letters.values():
                        setattr(outer, name, getattr(target, name))
                    return True
                for name in letters.values():
                    setattr(inner, name, getattr(target, name))
                return False
            else:
                if char.isalpha():
                    raise self.fail('flag %s is not supported by RE2 (only i, m, s and U)' % quote(char), pos - 1)
                break
        raise self.fail('invalid or unsupported Perl syntax %s' % quote(pattern[start:pos]), start)

    # -- escapes

    def escape_outside_class(self, flags: _Flags) -> str | list[str]:
        pattern = self.pattern
        start = self.pos
        if start + 1 >= len(pattern):
            raise self.fail('trailing backslash at end of expression', start)
        char = pattern[start + 1]
        # Python's \B never matches an empty text (before 3.14); "not at a boundary" always does, as Go's \B.
        simple = {'A': '\\A', 'z': '\\Z', 'b': '(?a:\\b)', 'B': '(?a:(?!\\b))'}
        if char in simple:
            self.pos += 2
            return simple[char]
        if char == 'Q':
            end = pattern.find('\\E', start + 2)
            text = pattern[start + 2:] if end < 0 else pattern[start + 2:end]
            self.pos = len(pattern) if end < 0 else end + 2
            return [self.literal(ord(c), flags) for c in text]
        ranges = self.class_escape(flags)
        if ranges is not None:
            return _class_text(ranges)
        return self.literal(self.escape(), flags)

    def class_escape(self, flags: _Flags) -> Ranges | None:
        """``\\d``-style and ``\\p``-style classes at the current position (consumed), folded and negated as Go does; else None."""
        pattern = self.pattern
        start = self.pos
        char = pattern[start + 1] if start + 1 < len(pattern) else ''
        if char.lower() in _PERL_CLASSES:
            self.pos += 2
            ranges = _PERL_CLASSES[char.lower()]
            if flags.fold:
                ranges = _fold(ranges)
            return _negate(ranges) if char.isupper() else list(ranges)
        if char not in ('p', 'P'):
            return None
        negated = char == 'P'
        if start + 2 >= len(pattern):
            raise self.fail('invalid character class range %s' % quote(pattern[start:]), start)
        if pattern[start + 2] == '{':
            end = pattern.find('}', start + 3)
            if end < 0:
                raise self.fail('invalid character class range %s: no closing "}"' % quote(pattern[start:]), start)
            name = pattern[start + 3:end]
            self.pos = end + 1
        else:
            name = pattern[start + 2]
            self.pos = start + 3
        if name.startswith('^'):
            negated, name = not negated, name[1:]
        if name == 'Any':
            ranges = [(0, _MAX_RUNE)]
        elif name in _CATEGORIES:
            ranges = _category(name)
        elif re.fullmatch(r'[A-Z][A-Za-z_]+', name):
            raise self.fail('Unicode class %s: scripts and other properties are not supported here, only general categories '
                            'such as \\pL or \\p{Lu}' % self.construct(start), start)
        else:
            raise self.fail('unknown Unicode class %s' % self.construct(start), start)
        if flags.fold:
            ranges = _fold(ranges)
        return _negate(ranges) if negated else list(ranges)

    def escape(self) -> int:
        """The code point of the single-character escape at the current position (consumed), as Go's parseEscape."""
        pattern = self.pattern
        start = self.pos
        if start + 1 >= len(pattern):
            raise self.fail('trailing backslash at end of expression', start)
        char = pattern[start + 1]
        self.pos = start + 2
        if ord(char) < 0x80 and not char.isalnum():
            return ord(char)
        if char in '01234567':
            digits = re.match(r'[0-7]{1,3}', pattern[start + 1:start + 4])
            text = t.cast(t.Match[str], digits).group(0)
            if char != '0' and len(text) == 1:
                raise self.fail('backreference %s is not supported by RE2' % self.construct(start), start)
            self.pos = start + 1 + len(text)
            return int(text, 8)
        if char == 'x':
            return self.hex_escape(start)
        if char in _C_ESCAPES:
            return _C_ESCAPES[char]
        if char in '89':
            raise self.fail('backreference %s is not supported by RE2' % self.construct(start), start)
        if char in _UNSUPPORTED_ESCAPES:
            raise self.fail(_UNSUPPORTED_ESCAPES[char], start)
        raise self.fail('invalid escape sequence %s' % self.construct(start), start)

    def hex_escape(self, start: int) -> int:
        pattern = self.pattern
        if pattern.startswith('{', self.pos):
            match = re.match(r'\{([0-9A-Fa-f]+)\}', pattern[self.pos:])
            if match is None or len(match.group(1)) > 8 or int(match.group(1), 16) > _MAX_RUNE:
                end = pattern.find('}', self.pos)
                self.pos = len(pattern) if end < 0 else end + 1
                raise self.fail('invalid escape sequence %s' % self.construct(start), start)
            self.pos += match.end()
            return int(match.group(1), 16)
        match = re.match(r'[0-9A-Fa-f]{2}', pattern[self.pos:self.pos + 2])
        if match is None:
            self.pos = min(len(pattern), self.pos + 2)
            raise self.fail('invalid escape sequence %s' % self.construct(start), start)
        self.pos += 2
        return int(match.group(0), 16)

    # -- bracket classes

    def bracket(self, flags: _Flags) -> Ranges:
        """``[...]`` at the current position (consumed) as code point ranges, as Go's parseClass builds them."""
        pattern = self.pattern
        start = self.pos
        self.pos += 1
        negated = pattern.startswith('^', self.pos)
        if negated:
            self.pos += 1
        ranges: Ranges = []
        first = True
        while first or not pattern.startswith(']', self.pos):
            if self.pos >= len(pattern):
                raise self.fail('missing closing "]" of the character class %s' % self.construct(start), start)
            first = False
            if pattern.startswith('[:', self.pos):
                end = pattern.find(':]', self.pos + 2)
                if end >= 0:
                    name = pattern[self.pos + 2:end]
                    wanted = name[1:] if name.startswith('^') else name
                    if wanted not in _POSIX_CLASSES:
                        raise self.fail('unknown POSIX class %s' % quote(pattern[self.pos:end + 2]), self.pos)
                    self.pos = end + 2
                    members = _fold(_POSIX_CLASSES[wanted]) if flags.fold else _POSIX_CLASSES[wanted]
                    ranges.extend(_negate(members) if name.startswith('^') else members)
                    continue
            if pattern.startswith('\\', self.pos):
                escaped = self.class_escape(flags)
                if escaped is not None:
                    ranges.extend(escaped)
                    continue
            item_start = self.pos
            low = self.class_char(start)
            high = low
            if pattern.startswith('-', self.pos) and self.pos + 1 < len(pattern) and pattern[self.pos + 1] != ']':
                self.pos += 1
                high = self.class_char(start)
                if high < low:
                    raise self.fail('invalid character class range %s' % self.construct(item_start), item_start)
            ranges.extend(_fold([(low, high)]) if flags.fold else [(low, high)])
        self.pos += 1
        ranges = _normalise(ranges)
        if negated:
            ranges = _negate(_fold(ranges) if flags.fold else ranges)
        return ranges

    def class_char(self, class_start: int) -> int:
        pattern = self.pattern
        if self.pos >= len(pattern):
            raise self.fail('missing closing "]" of the character class %s' % self.construct(class_start), class_start)
        if pattern[self.pos] == '\\':
            if pattern.startswith('\\b', self.pos):
                raise self.fail('"\\b" in a character class is not supported by RE2 (use \\x08 for a backspace)', self.pos)
            return self.escape()
        self.pos += 1
        return ord(pattern[self.pos - 1])
