# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""WWW-Authenticate parsing, token responses and the token cache (no network)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import AuthenticationError
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import (
    Scope,
    TokenCache,
    basic_authorization,
    parse_challenges,
    parse_token_response,
)

CHALLENGES = [
    # (header values, [(scheme, params, token68)])
    (['Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'],
     [('bearer', {'realm': 'https://auth.example/token', 'service': 'registry.example', 'scope': 'repository:a/b:pull'}, None)]),
    (['Basic realm="Registry Realm"'], [('basic', {'realm': 'Registry Realm'}, None)]),
    # Two challenges in one header value.
    (['Basic realm="x", Bearer realm="https://a/t", service="s"'],
     [('basic', {'realm': 'x'}, None), ('bearer', {'realm': 'https://a/t', 'service': 's'}, None)]),
    # Two header values.
    (['Basic realm="x"', 'Bearer realm="https://a/t"'], [('basic', {'realm': 'x'}, None), ('bearer', {'realm': 'https://a/t'}, None)]),
    # Escapes inside quoted strings.
    ([r'Bearer realm="https://a/t",service="a \"quoted\" \\ name"'],
     [('bearer', {'realm': 'https://a/t', 'service': 'a "quoted" \\ name'}, None)]),
    # Commas (and an equals sign) inside quotes do not split.
    (['Bearer realm="https://a/t?x=1,2",service="s,t", scope="repository:a:pull,push"'],
     [('bearer', {'realm': 'https://a/t?x=1,2', 'service': 's,t', 'scope': 'repository:a:pull,push'}, None)]),
    # Whitespace around "=" and ",", unquoted tokens, case of scheme and names.
    (['BEARER Realm = "https://a/t" ,  SERVICE=reg.example'], [('bearer', {'realm': 'https://a/t', 'service': 'reg.example'}, None)]),
    # token68 schemes next to parameter schemes.
    (['Negotiate abc+/d==, Basic realm="r"'], [('negotiate', {}, 'abc+/d=='), ('basic', {'realm': 'r'}, None)]),
    # A scheme with no parameters at all.
    (['Bearer'], [('bearer', {}, None)]),
    # The first of two duplicate parameters wins.
    (['Bearer realm="one", realm="two"'], [('bearer', {'realm': 'one'}, None)]),
    # Empty and garbage values give nothing, not an exception.
    ([''], []),
    ([' , ,'], []),
    (['"quoted-first"'], []),
    # Unterminated quoted string: the challenge is kept, the broken parameter dropped.
    (['Bearer service="s", realm="https://a/t'], [('bearer', {'service': 's'}, None)]),
    # Error parameters as distribution sends them with insufficient_scope.
    (['Bearer realm="https://a/t",service="s",scope="repository:x:push",error="insufficient_scope"'],
     [('bearer', {'realm': 'https://a/t', 'service': 's', 'scope': 'repository:x:push', 'error': 'insufficient_scope'}, None)]),
]


@pytest.mark.parametrize('values, expected', CHALLENGES)
def test_parse_challenges(values: list[str], expected: list[tuple[str, dict[str, str], str | None]]) -> None:
    got = [(c.scheme, c.params, c.token68) for c in parse_challenges(values)]
    assert got == expected


def test_scope_string() -> None:
    assert str(Scope('library/busybox', 'pull,push')) == 'repository:library/busybox:pull,push'


def test_basic_authorization() -> None:
    assert basic_authorization('user', 'pässword') == 'Basic dXNlcjpww6Rzc3dvcmQ='


@pytest.mark.parametrize('body, expected', [
    ({'token': 'abc', 'expires_in': 300}, ('abc', 300.0)),
    ({'access_token': 'xyz'}, ('xyz', 60.0)),
    ({'token': 'abc', 'access_token': 'ignored', 'expires_in': 0}, ('abc', 60.0)),
    ({'token': 'abc', 'expires_in': 'soon'}, ('abc', 60.0)),
    ({'token': 'abc', 'expires_in': True}, ('abc', 60.0)),
])
def test_parse_token_response(body: dict[str, object], expected: tuple[str, float]) -> None:
    assert parse_token_response(json.dumps(body).encode(), 'where') == expected


@pytest.mark.parametrize('body', [b'not json', b'[]', b'{}', b'{"token": ""}', b'{"token": 5}', b'{"token": "a\\r\\nb"}'])
def test_parse_token_response_rejects(body: bytes) -> None:
    with pytest.raises(AuthenticationError, match='^where: '):
        parse_token_response(body, 'where')


def test_token_cache_expires_early() -> None:
    now = [0.0]
    cache = TokenCache(clock=lambda: now[0])
    cache.put(('s',), 'tok', 60.0)
    now[0] = 49.9
    assert cache.get(('s',)) == 'tok'
    now[0] = 50.0  # 10 s before the real expiry
    assert cache.get(('s',)) is None
    assert len(cache) == 0


def test_token_cache_short_lifetime_and_drop() -> None:
    now = [0.0]
    cache = TokenCache(clock=lambda: now[0])
    cache.put(('a',), 'tok', 4.0)  # renewed a quarter of its lifetime early
    now[0] = 2.9
    assert cache.get(('a',)) == 'tok'
    now[0] = 3.0
    assert cache.get(('a',)) is None
    cache.put(('a',), 'new', 60.0)
    cache.drop(('a',), 'old')  # someone else's stale token: keep the new one
    assert cache.get(('a',)) == 'new'
    cache.drop(('a',), 'new')
    assert cache.get(('a',)) is None
