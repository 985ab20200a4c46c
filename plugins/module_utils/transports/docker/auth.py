# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry authentication pieces that need no network: challenges, scopes, tokens.

``WWW-Authenticate`` is parsed per RFC 7235: a header may carry several challenges, parameters
may be quoted strings with backslash escapes and commas inside them, and a scheme may carry a
token68 instead of parameters. Bearer tokens (the distribution token spec) are cached per set of
scopes and expire early, so a token is not sent in the last seconds of its life.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import string
import threading
import time
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import AuthenticationError, remember_secret

#: Token lifetime when the token server does not say (the token spec's default).
DEFAULT_TOKEN_LIFETIME = 60.0
#: A cached token is renewed this long before it expires (at most a quarter of its lifetime).
TOKEN_EARLY_RENEWAL = 10.0
#: Largest token response read.
MAX_TOKEN_BODY = 1024 * 1024
#: The auth scheme of a registry whose ``/v2/`` asks for no authentication (RegistryClient.auth_scheme).
AUTH_SCHEME_NONE = 'none'

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
_TOKEN68_RE = re.compile(r'[A-Za-z0-9\-._~+/]+=*')
_SPACE = ' \t'


@dataclasses.dataclass(frozen=True)
class Scope:
    """Access to one repository: ``repository:NAME:ACTIONS`` (actions ``pull``, ``pull,push``, ``delete``)."""

    repository: str
    actions: str

    def __str__(self) -> str:
        return 'repository:%s:%s' % (self.repository, self.actions)


@dataclasses.dataclass
class Challenge:
    """One ``WWW-Authenticate`` challenge; the scheme and parameter names are lowercase."""

    scheme: str
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    token68: str | None = None


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _token(text: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in _TOKEN_CHARS:
        pos += 1
    return text[start:pos], pos


def _quoted(text: str, pos: int) -> tuple[str | None, int]:
    """Read the quoted-string starting at ``text[pos] == '"'``; None when it is unterminated."""
    out = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == '"':
            return ''.join(out), pos + 1
        if char == '\\' and pos + 1 < len(text):
            pos += 1
            char = text[pos]
        out.append(char)
        pos += 1
    return None, pos


def _parse_header(text: str) -> list[Challenge]:
    challenges: list[Challenge] = []
    current: Challenge | None = None
    pos = 0
    while True:
        pos = _skip(text, pos, _SPACE + ',')
        if pos >= len(text):
            break
        name, after = _token(text, pos)
        if not name:
            break  # malformed from here on; keep what was understood
        equals = _skip(text, after, _SPACE)
        if current is not None and equals < len(text) and text[equals] == '=':
            value_pos = _skip(text, equals + 1, _SPACE)
            if value_pos < len(text) and text[value_pos] == '"':
                value, pos = _quoted(text, value_pos)
                if value is None:
                    break
            else:
                value, pos = _token(text, value_pos)
            current.params.setdefault(name.lower(), value)
            continue
        current = Challenge(scheme=name.lower())
        challenges.append(current)
        pos = after
        # "Scheme token68": only after whitespace, and only when the token68 ends the challenge.
        start = _skip(text, pos, _SPACE)
        if start > pos:
            match = _TOKEN68_RE.match(text, start)
            if match:
                end = _skip(text, match.end(), _SPACE)
                if end >= len(text) or text[end] == ',':
                    current.token68 = match.group(0)
                    pos = end
    return challenges


def parse_challenges(values: t.Iterable[str]) -> list[Challenge]:
    """Every challenge of every ``WWW-Authenticate`` header value, in order."""
    out: list[Challenge] = []
    for value in values:
        out.extend(_parse_header(value))
    return out


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` value for HTTP Basic."""
    raw = ('%s:%s' % (username, password)).encode('utf-8')
    remember_secret(password)  # Whatever the registry echoes of it is redacted from messages (errors.redact).
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def parse_token_response(body: bytes, where: str) -> tuple[str, float]:
    """``(token, lifetime_seconds)`` from a token server's JSON answer (``token`` or ``access_token``)."""
    data = jsonutil.loads(body, '%s: the token response' % where, AuthenticationError)
    if not isinstance(data, dict):
        raise AuthenticationError('%s: the token response is not a JSON object' % where)
    token = data.get('token') or data.get('access_token')
    if not isinstance(token, str) or not token:
        raise AuthenticationError('%s: the token response holds no token' % where)
    if any(c in token for c in '\r\n\0'):
        raise AuthenticationError('%s: the token holds control characters' % where)
    remember_secret(token)  # A registry may echo it bare; errors.redact removes it then.
    lifetime = data.get('expires_in')
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
        lifetime = DEFAULT_TOKEN_LIFETIME
    return token, float(lifetime)


TokenKey = t.Tuple[str, ...]


class TokenCache:
    """Bearer tokens by scope set, thread-safe; a token is dropped a little before it expires."""

    def __init__(self, clock: t.Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[TokenKey, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: TokenKey) -> str | None:
        """The cached token for ``key`` if it is still fresh."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[1]:
                del self._tokens[key]
                return None
            return entry[0]

    def put(self, key: TokenKey, token: str, lifetime: float) -> None:
        """Cache ``token`` for ``lifetime`` seconds, minus the early renewal margin."""
        usable = lifetime - min(TOKEN_EARLY_RENEWAL, lifetime / 4.0)
        with self._lock:
            self._tokens[key] = (token, self._clock() + usable)

    def drop(self, key: TokenKey, token: str | None = None) -> None:
        """Forget the token for ``key`` (only if it is still ``token``, when given)."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and (token is None or entry[0] == token):
                del self._tokens[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)
