# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Go RE2 regexes under Python: the answers Go's ``regexp.MatchString`` gives, and its refusals, with exact messages.

The expected answers are Go's semantics (regexp/syntax doc.go and parse.go). Every row of MATCHES
and REFUSED was also run through Go 1.19's ``regexp.Compile``/``MatchString`` with a throwaway
harness: Go gives the same answer and refuses the same patterns, except ``(?<name>re)``, which
Go accepts only since 1.22 (skopeo is built with a newer Go), and ``\\p{Greek}``, a script class
this module refuses on purpose (Python has no script table). 24,000 random patterns built from
these constructs (with random texts) gave the same answers and refusals in Go and here. Where Python's ``re`` alone would
answer differently the row says so.
"""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.sync.re2 import MAX_NESTING, compile_re2

MATCHES = [
    # skopeo's own example (docs/skopeo-sync.1.md), and unanchored search as MatchString.
    (r'^1\.13\.[12]-alpine-perl$', '1.13.1-alpine-perl', True),
    (r'^1\.13\.[12]-alpine-perl$', '1.13.3-alpine-perl', False),
    (r'alpine', '3.19-alpine3.18', True),
    (r'', 'anything', True),
    # $ without (?m) is the end of the text only (Python's $ also matches before a final newline).
    (r'a$', 'a\n', False),
    (r'(?m)a$', 'a\nb', True),
    (r'(?m)^b', 'a\nb', True),
    (r'^b', 'a\nb', False),
    (r'a\z', 'a', True),
    (r'a\z', 'a\n', False),
    (r'\Aa', 'ba', False),
    # . excludes \n unless (?s); flags apply to the rest of the enclosing group, across |.
    (r'a.b', 'a\nb', False),
    (r'(?s)a.b', 'a\nb', True),
    (r'(?s:a.)b|c.d', 'c\nd', False),
    (r'x(?i)a|b', 'B', True),
    (r'(?i)abc', 'ABC', True),
    (r'(?i:a)b', 'AB', False),
    (r'(?i)a(?-i)b', 'Ab', True),
    (r'(?i)a(?-i)b', 'AB', False),
    # Perl classes and \b are ASCII (Python's are Unicode); \s has no \v.
    (r'^\d+$', '\u0661\u0662', False),
    (r'^\w+$', 'caf\u00e9', False),
    (r'\s', '\x0b', False),
    (r'\s', '\x0c', True),
    (r'\bfoo\b', '\u00e9foo', True),
    (r'\Bfoo', 'xfoo', True),
    (r'^[\d\s]+$', '1 2', True),
    (r'^\W$', '\u00e9', True),
    # POSIX classes (Python has none) and their negation.
    (r'^[[:alpha:]]+$', 'abcXYZ', True),
    (r'^[[:alpha:]]+$', 'abc1', False),
    (r'^[[:^digit:]]+$', 'abc', True),
    (r'[[:punct:]]', 'a_b', True),
    (r'^[[:xdigit:]]+$', 'deadBEEF', True),
    (r'^[[:word:]-]+$', 'a-b_c', True),
    # Unicode general categories (Python's re has no \p).
    (r'^\pL+$', 'h\u00e9llo', True),
    (r'^\p{Lu}', 'Abc', True),
    (r'^\p{Lu}', 'abc', False),
    (r'^\PL', '1', True),
    (r'^\p{^L}', 'a', False),
    (r'^[\p{Nd}x]+$', '12x', True),
    (r'\p{Any}', '\n', True),
    # Case folding uses the Unicode orbits: the Kelvin sign folds to k; negation comes after folding.
    (r'(?i)k', '\u212a', True),
    (r'(?i)[^k]', 'K', False),
    (r'(?i)[a-c]+', 'ABC', True),
    # Octal, hex, \Q...\E and C escapes.
    (r'\101\x41\x{41}', 'AAA', True),
    (r'\0', '\x00', True),
    (r'\12', '\n', True),
    (r'\Qa.b*\E', 'a.b*', True),
    (r'\Qa.b*\E', 'axb', False),
    (r'\Qab\E+', 'abbb', True),
    (r'\Qa.b', 'a.b', True),
    (r'\t\n\f\r\v\a', '\t\n\f\r\x0b\x07', True),
    (r'\_\-\.', '_-.', True),
    # "{" that is no repetition is a literal; a{,3} is literal text in Go ({0,3} in Python).
    (r'^a{,3}$', 'a{,3}', True),
    (r'^a{,3}$', 'aa', False),
    (r'^a{2}$', 'aa', True),
    (r'^a{2,}$', 'aaaa', True),
    (r'^a{1,2}$', 'aaa', False),
    (r'{', '{', True),
    (r'^x{a}$', 'x{a}', True),
    # (?U) swaps greedy and lazy (in Python the U flag means Unicode).
    (r'(?U)^a+', 'aaa', True),
    # Groups: named (both spellings), non-capturing, empty, nested; classes with ] and - literal.
    (r'^(?P<major>\d+)\.(?<minor>\d+)$', '1.2', True),
    (r'^(?:ab)+$', 'abab', True),
    (r'^()$', '', True),
    (r'^[]a]+$', ']a', True),
    (r'^[^]a]+$', 'bc', True),
    (r'^[a-]+$', 'a-', True),
    (r'^[\d-z]+$', '1-z', True),
    (r'[[]', '[', True),
    (r'^*a', 'a', True),
    # A repetition after a flag group applies to the item before it; Go accepts a group name used twice.
    (r'^a*(?i)*$', 'aa', True),
    (r'^(?P<n>x)(?P<n>y)$', 'xy', True),
    (r'\B', '', True),
    (r'\Bb', 'ab', True),
    (r'\Bb', ' b', False),
]


@pytest.mark.parametrize('pattern, text, expected', MATCHES)
def test_matches_as_go_regexp(pattern, text, expected):
    assert compile_re2(pattern).search(text) is expected


def test_lazy_and_ungreedy_translate_to_the_same_python_quantifiers():
    assert compile_re2('a+?').python == '(?:a)+?'
    assert compile_re2('(?U)a+').python == '(?:a)+?'
    assert compile_re2('(?U)a+?').python == '(?:a)+'


REFUSED = [
    (r'(a)\1', r'backreference "\\1" is not supported by RE2 at offset 3'),
    (r'\8', r'backreference "\\8" is not supported by RE2 at offset 0'),
    (r'(?P<n>a)(?P=n)', 'backreference "(?P=" is not supported by RE2 at offset 8'),
    (r'\k<n>', r'\k<name> (named backreference) is not supported by RE2 at offset 0'),
    (r'a(?=b)', 'lookahead "(?=" is not supported by RE2 at offset 1'),
    (r'a(?!b)', 'lookahead "(?!" is not supported by RE2 at offset 1'),
    (r'(?<=a)b', 'lookbehind "(?<=" is not supported by RE2 at offset 0'),
    (r'(?<!a)b', 'lookbehind "(?<!" is not supported by RE2 at offset 0'),
    (r'(?>a)', 'atomic group "(?>" is not supported by RE2 at offset 0'),
    (r'(?(1)a|b)', 'conditional "(?(" is not supported by RE2 at offset 0'),
    (r'(?#note)a', 'comment "(?#" is not supported by RE2 at offset 0'),
    (r'(?R)', 'recursion "(?R" is not supported by RE2 at offset 0'),
    (r'a*+', 'invalid nested repetition operator "*+" (possessive repetition is not supported by RE2) at offset 1'),
    (r'a++', 'invalid nested repetition operator "++" (possessive repetition is not supported by RE2) at offset 1'),
    (r'a**', 'invalid nested repetition operator "**" at offset 1'),
    (r'a{2}{3}', 'invalid nested repetition operator "{2}{3}" at offset 1'),
    (r'a??*', 'invalid nested repetition operator "??*" at offset 1'),
    (r'*a', 'missing argument to repetition operator "*" at offset 0'),
    (r'a|+', 'missing argument to repetition operator "+" at offset 2'),
    (r'(?i)*', 'missing argument to repetition operator "*" at offset 4'),
    (r'(?i)a**', 'invalid nested repetition operator "**" at offset 5'),
    (r'a{1001}', 'invalid repeat count "{1001}" (at most 1000, and min <= max) at offset 1'),
    (r'a{2,1}', 'invalid repeat count "{2,1}" (at most 1000, and min <= max) at offset 1'),
    (r'a\Z', r'\Z (end of text or before a final newline) is not supported by RE2; use \z or $ at offset 1'),
    (r'\C', "\\C (any byte) is not supported by Go's regexp at offset 0"),
    (r'\G', r'\G (end of the previous match) is not supported by RE2 at offset 0'),
    (r'\h', r'\h (horizontal space) is not supported by RE2; use [\t ] or [[:blank:]] at offset 0'),
    (r'\q', r'invalid escape sequence "\\q" at offset 0'),
    ('\\\u00e9', 'invalid escape sequence "\\\\\u00e9" at offset 0'),
    (r'\x{110000}', r'invalid escape sequence "\\x{110000}" at offset 0'),
    (r'\xZ1', r'invalid escape sequence "\\xZ1" at offset 0'),
    ('a\\', 'trailing backslash at end of expression at offset 1'),
    (r'[\b]', r'"\b" in a character class is not supported by RE2 (use \x08 for a backspace) at offset 1'),
    (r'[\Q]', r'invalid escape sequence "\\Q" at offset 1'),
    (r'[[:foo:]]', 'unknown POSIX class "[:foo:]" at offset 1'),
    (r'[z-a]', 'invalid character class range "z-a" at offset 1'),
    (r'[a', 'missing closing "]" of the character class "[a" at offset 0'),
    (r'\p{Greek}', r'Unicode class "\\p{Greek}": scripts and other properties are not supported here, '
                   r'only general categories such as \pL or \p{Lu} at offset 0'),
    (r'\pX', r'unknown Unicode class "\\pX" at offset 0'),
    (r'\p{Lu', r'invalid character class range "\\p{Lu": no closing "}" at offset 0'),
    (r'(?x)a b', 'flag "x" is not supported by RE2 (only i, m, s and U) at offset 2'),
    (r'(?a)\w', 'flag "a" is not supported by RE2 (only i, m, s and U) at offset 2'),
    (r'(?i-)a', 'invalid or unsupported Perl syntax "(?i-)" at offset 0'),
    (r'(?i--s)a', 'invalid or unsupported Perl syntax "(?i--" at offset 0'),
    (r'(?P<1-a>x)', 'invalid named capture "(?P<1-a>": a name is letters, digits and "_" at offset 0'),
    (r'(?P<n', 'invalid named capture "(?P<n": no closing ">" at offset 0'),
    (r'(ab', 'missing closing ")" for the group at offset 0'),
    (r'ab)', 'unexpected ")" at offset 2'),
]


@pytest.mark.parametrize('pattern, reason', REFUSED)
def test_refuses_what_re2_lacks_naming_the_construct(pattern, reason):
    with pytest.raises(InvalidInputError) as caught:
        compile_re2(pattern)
    assert caught.value.message == 'invalid regular expression %s: %s' % (_quoted(pattern), reason)


def _quoted(pattern):
    return '"%s"' % pattern.replace('\\', '\\\\').replace('"', '\\"')


def test_limits():
    with pytest.raises(InvalidInputError, match='groups nest more than %d deep' % MAX_NESTING):
        compile_re2('(' * (MAX_NESTING + 1) + ')' * (MAX_NESTING + 1))
    assert compile_re2('(' * MAX_NESTING + 'a' + ')' * MAX_NESTING).search('a')
    with pytest.raises(InvalidInputError, match='longer than 4096 characters'):
        compile_re2('a' * 4097)
    with pytest.raises(InvalidInputError, match='it is not a string'):
        compile_re2(5)


def test_the_pattern_keeps_its_source_text():
    compiled = compile_re2(r'^v\d+$')
    assert compiled.pattern == r'^v\d+$'
    assert compiled.python == r'\Av(?:[\U00000030-\U00000039])+\Z'


@pytest.mark.parametrize('pattern, text, expected', [
    # Go's simple case folding orbits (unicode.SimpleFold): long s with s, sharp s with capital sharp s,
    # final sigma with sigma; the dotless i and the dotted capital I stand alone.
    (r'(?i)^s$', '\u017f', True),
    (r'(?i)^\u00df$', '\u1e9e', True),
    (r'(?i)^\u03c3$', '\u03c2', True),
    (r'(?i)^i$', '\u0131', False),
    (r'(?i)^i$', '\u0130', False),
    (r'(?i)^I$', 'i', True),
])
def test_case_folding_orbits(pattern, text, expected):
    assert compile_re2(pattern.encode('ascii').decode('unicode_escape')).search(text) is expected
