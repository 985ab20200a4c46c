# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Log in to and out of registries: check credentials, store or remove them, say what changed.

The engine of the ``registry_login`` module, as ``skopeo login``/``logout`` (containers/common
``pkg/auth``) with Ansible's idempotence:

- ``login`` checks the credentials against the registry first (``verify``), by the registry's own
  auth flow through :class:`RegistryClient`: ping ``/v2/``; Basic: ``/v2/`` with the credentials
  must not be refused; Bearer: a token request with the credentials must succeed (and ``/v2/``
  accept the token). Refused credentials fail the task and nothing is written.
- Then, under the auth file's lock, the stored entry is read back and compared decoded (user and
  password, never timestamps or encodings): the same credentials are ``ok``, anything else is
  replaced. A credential helper named for the registry is asked and written instead of the file.
- ``logout`` removes the registry's entries (and its helper's credentials); a registry without
  credentials is ``ok``, not an error (skopeo fails there). ``logout_all`` empties the file's
  ``auths`` and erases every registry its helpers were named for; the helper configuration
  (``credHelpers``, ``credsStore``) is kept.
- Check mode reads and verifies, and writes, locks and creates nothing. ``diff`` lists the
  registries with credentials before and after (``auths`` keys, plus the registry at hand when a
  helper holds it) and, for the entries at hand, the user and the store (so bob → alice shows),
  never a secret: a password change alone shows as a hidden marker on both sides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.config.auth import (
    AuthFile,
    Credentials,
    checked_helper_name,
    credentials_from_helper,
    decode_auth_entry,
    load_auth_file,
    normalize_auth_key,
    normalize_registry,
)
from ansible_collections.ocikit.images.plugins.module_utils.config.auth_write import (
    AuthTarget,
    RegistryKey,
    auths_of,
    ensure_directory,
    entry_holds,
    erase_from_helper,
    file_key,
    helper_for,
    helper_server_url,
    keys_to_remove,
    locked,
    parse_registry_key,
    registry_keys,
    same_credentials,
    set_entry,
    store_in_helper,
    write_auth_file,
)
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInputError,
    TokenRefusedError,
    escape_controls,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import AUTH_SCHEME_NONE

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

# [scheme://]userinfo@host: credentials in the registry option.
_USERINFO_RE = re.compile(r'(?:[A-Za-z][A-Za-z0-9+.-]*://[^/@]*|[^/@:]*:[^/@]*)@')


@dataclasses.dataclass(frozen=True)
class Verification:
    """The outcome of checking credentials: the registry's auth scheme, and whether it judged them.

    ``verified`` is False only for a registry that asks for no authentication (scheme ``none``):
    it accepts anything, so the credentials were stored unchecked.
    """

    auth_scheme: str
    verified: bool

    def as_result(self) -> dict[str, t.Any]:
        """The ``verification`` result of the module."""
        return {'auth_scheme': self.auth_scheme, 'verified': self.verified}


Verifier = t.Callable[[str, str, str, 'ConnectionOptions'], Verification]


def verify_credentials(registry: str, username: str, password: str, options: ConnectionOptions, transport: t.Any = None) -> Verification:
    """Check ``username``/``password`` against ``registry`` (its host) by the registry's own auth flow.

    Raises AuthenticationError, naming the user and the registry (never the password), when the
    registry or its token server refuses them, or when the token server accepts them but the
    registry refuses the token it issued (said as such: the password is not at fault then);
    connection, TLS and other registry errors pass through as the client raises them. Only the
    given credentials are sent: auth files are not read.
    """
    # Here, not at the top: a logout (or a login stored without checking) needs no registry client and no httpx.
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import (  # pylint: disable=import-outside-toplevel
        RegistryClient,
    )

    creds = Credentials(username=username, password=password, source='the task')
    check_options = dataclasses.replace(options, username=username, password=password, registry_token=None, authfile=None, no_creds=False)
    with RegistryClient(registry, check_options, transport=transport, credentials=lambda *args: creds) as client:
        scheme = client.auth_scheme()
        try:
            # No scope: for Bearer, a token for no repository proves the credentials, as containers/image CheckAuth does.
            client.request('GET', '/v2/', [], 'checking the credentials of user %s at %s' % (escape_controls(username), registry))
        except TokenRefusedError as exc:
            # The token server took the password; the registry would not take the token it issued for it.
            why = ('the registry says it grants too little' if exc.insufficient_scope
                   else 'revoked, or the registry and the token server disagree on the signing key?')
            raise AuthenticationError('%s refused the token that its token server issued for the credentials of user %s (HTTP %d): '
                                      'the credentials were accepted, the token was not (%s). Nothing was stored'
                                      % (registry, escape_controls(username), exc.status or 401, why), status=exc.status, code=exc.code) from None
        except AuthenticationError as exc:
            where = 'the token server of %s' % registry if scheme == 'bearer' else registry
            status = ' (HTTP %d)' % exc.status if exc.status else ''
            raise AuthenticationError('%s refused the credentials of user %s%s: wrong username or password? Nothing was stored'
                                      % (where, escape_controls(username), status), status=exc.status, code=exc.code) from None
    return Verification(auth_scheme=scheme, verified=scheme != AUTH_SCHEME_NONE)


@contextlib.contextmanager
def _editing(target: AuthTarget, check_mode: bool, create: bool) -> t.Iterator[bool]:
    """Hold the file's lock for a read-modify-write; yield whether writing is allowed.

    In check mode nothing is locked or created. Without ``create`` (logouts), a missing directory
    means there is nothing to remove, and it is not created just to be locked.
    """
    if check_mode:
        yield False
        return
    if create:
        ensure_directory(target.directory)
    elif not os.path.isdir(target.directory):
        yield False
        return
    with locked(target.path):
        yield True


def _load(target: AuthTarget) -> AuthFile:
    return load_auth_file(target.path)


STORE_FILE = 'auth file'
HIDDEN_OLD = '(previous, hidden)'
HIDDEN_NEW = '(new, hidden)'


def _entry(username: str | None, helper: str | None) -> dict[str, t.Any]:
    """What the diff shows of one stored credential: the user and where it is kept, never a secret."""
    return {'username': username, 'store': 'credential helper %s' % helper if helper is not None else STORE_FILE}


def _file_username(auth_file: AuthFile, key: str) -> str | None:
    """The user of the file's entry ``key``; None when it holds none or cannot be decoded (it is shown anyway)."""
    entry = auth_file.auths.get(key)
    if not isinstance(entry, dict):
        return None
    try:
        creds = decode_auth_entry(auth_file.path, key, entry)
    except ConfigError:
        return None
    return creds.username if creds is not None else None


def _diff(before: t.Iterable[str], after: t.Iterable[str], before_entries: dict[str, dict[str, t.Any]] | None = None,
          after_entries: dict[str, dict[str, t.Any]] | None = None) -> dict[str, t.Any]:
    """``before``/``after``: the registries with credentials, and the entries at hand (user and store) by key.

    A change of user (bob to alice) or of store shows in ``credentials``; a change of password alone
    shows as a ``password`` marker, so that a changed task never has an empty diff.
    """
    return {'before': {'registries': sorted(set(before)), 'credentials': dict(sorted((before_entries or {}).items()))},
            'after': {'registries': sorted(set(after)), 'credentials': dict(sorted((after_entries or {}).items()))}}


def _prepare(registry: str, target: AuthTarget) -> tuple[RegistryKey, str]:
    if isinstance(registry, str) and _USERINFO_RE.match(registry.strip()):
        # "https://user:password@host": said before anything else, and quote() shows it without the password.
        raise InvalidInputError('registry %s contains credentials ("user:password@"): give host[:port] as registry, '
                                'and the credentials as username and password' % quote(registry))
    key = parse_registry_key(registry)
    return key, file_key(key, target)


def _refuse_namespace_in_helper(auth_file: AuthFile, key: RegistryKey, helper: str | None, target: AuthTarget) -> None:
    if helper is not None and key.namespaced:
        # The lookup asks the helper for the registry before it reads any namespace entry, so such
        # an entry would never be used.
        raise InvalidInputError('%s is namespace-scoped, but %s names credential helper %s for %s, and helpers store credentials '
                                'per registry: log in to %s instead' % (key.key, target.path, helper, key.registry, key.registry))


def login(registry: str, username: str, password: str, target: AuthTarget, options: ConnectionOptions, *,
          verify: bool = True, check_mode: bool = False, verifier: Verifier = verify_credentials) -> dict[str, t.Any]:
    """Store credentials for ``registry`` in ``target`` (or its credential helper); the module's result.

    Raises InvalidInputError for a bad ``registry``, a namespace that the target cannot hold, or
    missing/invalid credentials; AuthenticationError when ``verify`` and the registry refuses them;
    ConfigError for unusable auth files and failing helpers. Nothing is written on any error.
    """
    if not username or not password:
        raise InvalidInputError('logging in needs username and password, both non-empty')
    if ':' in username:
        raise InvalidInputError('username %s contains ":", which the auth file format cannot store (it keeps "user:password")' % quote(username))
    key, written_key = _prepare(registry, target)
    # Refuse what cannot be stored before asking the registry anything.
    current = _load(target)
    _refuse_namespace_in_helper(current, key, helper_for(current, key.registry, target.docker_format), target)

    verification = verifier(key.registry, username, password, options) if verify else None

    with _editing(target, check_mode, create=True) as writable:
        auth_file = _load(target)
        helper = helper_for(auth_file, key.registry, target.docker_format)
        _refuse_namespace_in_helper(auth_file, key, helper, target)
        document = auth_file.document
        before = registry_keys(document)
        before_entry: dict[str, t.Any] | None = None
        if helper is not None:
            server_url = helper_server_url(key, target)
            held = credentials_from_helper(helper, server_url)
            changed_secret = not same_credentials(held, username, password)
            if held is not None:
                before.append(written_key)
                before_entry = _entry(held.username, helper)
            # Docker leaves an empty entry beside a helper's credentials (and drops a plaintext one).
            changed_file = target.docker_format and auths_of(document).get(written_key) != {}
            if changed_file:
                auths_of(document)[written_key] = {}
            if writable and changed_secret:
                store_in_helper(helper, server_url, username, password)
            after = registry_keys(document) + [written_key]
        else:
            changed_secret = False
            if written_key in auth_file.auths:
                before_entry = _entry(_file_username(auth_file, written_key), None)
            changed_file = not entry_holds(auth_file.path, written_key, auth_file.auths.get(written_key), username, password)
            if changed_file:
                set_entry(document, written_key, username, password)
            after = registry_keys(document)
        if writable and changed_file:
            write_auth_file(target.path, document)
    after_entry = _entry(username, helper)
    if before_entry == after_entry and (changed_secret or (changed_file and helper is None)):
        # Same user, same store, another password: say so without showing either.
        before_entry = dict(before_entry, password=HIDDEN_OLD)
        after_entry = dict(after_entry, password=HIDDEN_NEW)

    result: dict[str, t.Any] = {
        'changed': bool(changed_secret or changed_file),
        'registry': key.key,
        'auth_key': written_key,
        'username': username,
        'authfile': target.path,
        'diff': _diff(before, after, {written_key: before_entry} if before_entry else None, {written_key: after_entry}),
    }
    if helper is not None:
        result['credential_helper'] = helper
    if verification is not None:
        result['verification'] = verification.as_result()
    return result


def logout(registry: str, target: AuthTarget, *, check_mode: bool = False) -> dict[str, t.Any]:
    """Remove the credentials for ``registry`` from ``target`` (and its credential helper); the module's result.

    A registry without credentials is not an error: ``changed`` is False and ``removed`` empty.
    """
    key, written_key = _prepare(registry, target)
    _load(target)  # An unusable file fails here, before anything is locked.
    with _editing(target, check_mode, create=False) as writable:
        auth_file = _load(target)
        document = auth_file.document
        before = registry_keys(document)
        removed: list[str] = []
        entries: dict[str, dict[str, t.Any]] = {}
        helper = helper_for(auth_file, key.registry, target.docker_format)
        if helper is not None and not key.namespaced:
            # Helpers hold registries; a namespace logout leaves the registry's helper entry alone (as containers/image).
            server_url = helper_server_url(key, target)
            held = credentials_from_helper(helper, server_url)
            if held is not None:
                before.append(written_key)
                removed.append(written_key)
                entries[written_key] = _entry(held.username, helper)
                if writable:
                    erase_from_helper(helper, server_url)
        stale = keys_to_remove(auth_file, key, written_key)
        for stale_key in stale:
            entries.setdefault(stale_key, _entry(_file_username(auth_file, stale_key), None))
        for stale_key in stale:
            del auths_of(document)[stale_key]
        removed.extend(stale)
        if writable and stale:
            write_auth_file(target.path, document)
        after = [k for k in registry_keys(document) if k not in removed]

    result: dict[str, t.Any] = {
        'changed': bool(removed),
        'registry': key.key,
        'auth_key': written_key,
        'authfile': target.path,
        'removed': sorted(set(removed)),
        'diff': _diff(before, after, entries),
    }
    if helper is not None:
        result['credential_helper'] = helper
    return result


def logout_all(target: AuthTarget, *, check_mode: bool = False) -> dict[str, t.Any]:
    """Remove every credential ``target`` holds or names (helpers included); the module's result.

    The file's ``auths`` is emptied, and every registry a helper is named for that the helper
    holds is erased from it: each ``credHelpers`` registry, and in Docker's format each ``auths``
    key whose registry has a helper (``credsStore`` included). The helper configuration itself is
    kept: it says where credentials go, it holds none.
    """
    _load(target)  # An unusable file fails here, before anything is locked.
    with _editing(target, check_mode, create=False) as writable:
        auth_file = _load(target)
        document = auth_file.document
        file_keys = registry_keys(document)
        candidates: list[tuple[str, str]] = []
        covered: set[str] = set()
        if target.docker_format:
            # Docker gives helpers its own keys (https://index.docker.io/v1/), kept in auths beside them.
            for stored_key in file_keys:
                host = normalize_registry(normalize_auth_key(stored_key).split('/', 1)[0])
                helper = helper_for(auth_file, host, True)
                if helper is not None:
                    candidates.append((helper, stored_key))
                    covered.add(host)
        for host in sorted(auth_file.cred_helpers):
            if normalize_registry(host) not in covered:
                candidates.append((checked_helper_name(auth_file, auth_file.cred_helpers[host], 'credHelpers[%r]' % host), host))
        entries = {stored_key: _entry(_file_username(auth_file, stored_key), None) for stored_key in file_keys}
        in_helpers = []
        for helper, server_url in candidates:
            held = credentials_from_helper(helper, server_url)
            if held is not None:
                in_helpers.append((helper, server_url))
                # A helper's credentials are what the key means (Docker keeps an empty entry beside them).
                entries[server_url] = _entry(held.username, helper)
        if writable:
            for helper, server_url in in_helpers:
                erase_from_helper(helper, server_url)
        if file_keys:
            auths_of(document).clear()
            if writable:
                write_auth_file(target.path, document)
    removed = sorted(set(file_keys) | {server_url for dummy, server_url in in_helpers})
    return {
        'changed': bool(removed),
        'authfile': target.path,
        'removed': removed,
        'diff': _diff(removed, [], entries),
    }
