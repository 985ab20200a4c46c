# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry credentials: which auth files are consulted, how they are read, and in what order.

The lookup follows containers/image ``pkg/docker/config`` (what skopeo does):

1. Connection options: ``no_creds`` means anonymous; ``registry_token`` and ``username`` with
   ``password`` are used as given.
2. Otherwise the auth files from :func:`auth_file_candidates`, in order. The first file that
   yields credentials wins. In each file:

   a. ``credHelpers[registry]``: when present, the helper's answer is the file's answer;
   b. ``auths``, most specific key first (``registry/ns/repo`` ... ``registry``); the first key
      present is the file's answer, even when that entry holds no usable credentials;
   c. ``auths`` keys in URL or alias form (``https://index.docker.io/v1/``,
      ``http://host:5000/v2/``, ``registry-1.docker.io``), compared by host;
   d. ``credsStore``, when nothing above gave credentials. containers/image ignores this Docker
      field; it is consulted last so that it never changes an answer containers/image gives.

A missing file is skipped. A file that cannot be read or parsed stops the lookup with a
ConfigError naming the file: guessing past a broken file could send the wrong identity.

Parsing (:func:`load_auth_file`) and key handling (:func:`normalize_auth_key`,
:func:`auth_keys_for`) are separate so that login/logout can reuse them; :class:`AuthFile` keeps
the whole document for that reason. No function here logs, and no message carries a secret.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import subprocess
import sys
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import read_document

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

#: Kinds of auth file: a JSON document with ``auths``/``credHelpers``/``credsStore``, or the
#: legacy ``~/.dockercfg`` whose top level is the ``auths`` map.
AUTH_FILE_JSON = 'json'
AUTH_FILE_LEGACY = 'legacy'

#: Seconds a ``docker-credential-*`` helper may take; some unlock a keychain first.
CREDENTIAL_HELPER_TIMEOUT = 60.0
CREDENTIAL_HELPER_PREFIX = 'docker-credential-'
#: Bytes a helper may print on each of stdout and stderr; credentials are a few hundred bytes.
MAX_HELPER_OUTPUT = 1024 * 1024
#: Bytes of an auth file: real ones hold a few entries; /dev/zero or a huge file must not exhaust memory.
MAX_AUTH_FILE_SIZE = 4 * 1024 * 1024

# What docker-credential-helpers print when they hold nothing for a server.
_HELPER_NOT_FOUND = 'credentials not found in native keychain'
# A helper answering this user name hands out an identity (refresh) token as the secret.
_IDENTITY_TOKEN_USER = '<token>'

DOCKER_IO = 'docker.io'
DOCKER_HUB_INDEX_URL = 'https://index.docker.io/v1/'
_DOCKER_IO_ALIASES = frozenset((DOCKER_IO, 'index.docker.io', 'registry-1.docker.io'))

_REDACTED = '********'


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Credentials for one registry, and where they were found.

    ``identity_token`` is an OAuth2 refresh token, exchanged at the token endpoint by POST;
    ``registry_token`` is a bearer token sent as is. Empty values are None. ``source`` is
    ``'options'``, the auth file's path, or ``'credential helper docker-credential-NAME'``.
    """

    username: str | None = None
    password: str | None = None
    identity_token: str | None = None
    registry_token: str | None = None
    source: str = 'options'

    @property
    def is_anonymous(self) -> bool:
        """True when there is nothing to authenticate with."""
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def __repr__(self) -> str:
        # Secrets must never reach logs or results, even through a debugging repr.
        def hidden(value: str | None) -> str | None:
            return _REDACTED if value else value

        return 'Credentials(username=%r, password=%r, identity_token=%r, registry_token=%r, source=%r)' % (
            self.username, hidden(self.password), hidden(self.identity_token), hidden(self.registry_token), self.source)


@dataclasses.dataclass
class AuthFile:
    """An auth file as read: its entries, and the whole document for rewriting it later.

    ``auths`` maps keys as written in the file to their entries (``auth``, ``identitytoken``,
    ...). ``exists`` is False for a file that is not there; its maps are then empty.
    """

    path: str
    kind: str = AUTH_FILE_JSON
    exists: bool = False
    auths: dict[str, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    cred_helpers: dict[str, str] = dataclasses.field(default_factory=dict)
    creds_store: str | None = None
    document: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def legacy(self) -> bool:
        """True for the ``~/.dockercfg`` format."""
        return self.kind == AUTH_FILE_LEGACY


def normalize_registry(registry: str) -> str:
    """The canonical name of a registry host: Docker Hub's aliases become ``docker.io``."""
    return DOCKER_IO if registry in _DOCKER_IO_ALIASES else registry


def normalize_auth_key(key: str, legacy: bool = False) -> str:
    """Reduce an ``auths`` key to the registry host it stands for, where it is in URL form.

    Keys with an ``http://``/``https://`` scheme (what ``docker login`` long wrote, and still
    writes for Docker Hub) and every key of a legacy file lose their path; Docker Hub aliases
    become ``docker.io``. Other keys are kept whole: ``quay.io/ns`` stays a namespace key.
    """
    stripped = key
    for scheme in ('http://', 'https://'):
        if stripped.startswith(scheme):
            stripped = stripped[len(scheme):]
            break
    if legacy or stripped != key:
        stripped = stripped.split('/', 1)[0]
    return normalize_registry(stripped)


def auth_keys_for(registry: str, repository: str | None = None) -> list[str]:
    """The ``auths`` keys that apply to ``registry/repository``, most specific first.

    ``('quay.io', 'ns/sub/repo')`` gives ``quay.io/ns/sub/repo``, ``quay.io/ns/sub``,
    ``quay.io/ns`` and ``quay.io``.
    """
    key = '%s/%s' % (registry, repository.strip('/')) if repository and repository.strip('/') else registry
    keys = [key]
    while '/' in key:
        key = key.rsplit('/', 1)[0]
        keys.append(key)
    return keys


def _home() -> str:
    return os.path.expanduser('~')


def auth_file_candidates(options: ConnectionOptions) -> list[tuple[str, str]]:
    """The auth files to search, as ``(path, kind)`` in containers/image order; some may not exist.

    An explicit file (``options.authfile``, else ``$REGISTRY_AUTH_FILE`` as skopeo's
    ``--authfile`` default) is the only one read. Otherwise: the primary file
    (``$XDG_RUNTIME_DIR/containers/auth.json``, or ``/run/containers/$UID/auth.json`` when that
    variable is unset; ``~/.config/containers/auth.json`` off Linux), then
    ``${XDG_CONFIG_HOME:-~/.config}/containers/auth.json``, then ``$DOCKER_CONFIG/config.json``
    or ``~/.docker/config.json``, then the legacy ``~/.dockercfg``.
    """
    explicit = options.authfile or os.environ.get('REGISTRY_AUTH_FILE')
    if explicit:
        return [(explicit, AUTH_FILE_JSON)]

    home = _home()
    paths: list[tuple[str, str]] = []
    if not sys.platform.startswith('linux'):
        paths.append((os.path.join(home, '.config', 'containers', 'auth.json'), AUTH_FILE_JSON))
    else:
        runtime_dir = os.environ.get('XDG_RUNTIME_DIR')
        if not runtime_dir:
            paths.append(('/run/containers/%d/auth.json' % os.getuid(), AUTH_FILE_JSON))
        elif os.path.isdir(runtime_dir):
            paths.append((os.path.join(runtime_dir, 'containers', 'auth.json'), AUTH_FILE_JSON))
        # else: a mistyped or not yet created $XDG_RUNTIME_DIR; containers/image warns and
        # carries on, since the image may well be public.
    config_home = os.environ.get('XDG_CONFIG_HOME') or os.path.join(home, '.config')
    paths.append((os.path.join(config_home, 'containers', 'auth.json'), AUTH_FILE_JSON))
    docker_config = os.environ.get('DOCKER_CONFIG')
    paths.append((os.path.join(docker_config or os.path.join(home, '.docker'), 'config.json'), AUTH_FILE_JSON))
    paths.append((os.path.join(home, '.dockercfg'), AUTH_FILE_LEGACY))

    unique: list[tuple[str, str]] = []
    for candidate in paths:
        if candidate[0] not in [path for path, dummy in unique]:
            unique.append(candidate)
    return unique


def _check_auths(path: str, auths: t.Any, where: str) -> dict[str, dict[str, t.Any]]:
    if auths is None:
        return {}
    if not isinstance(auths, dict):
        raise ConfigError('auth file %s is not usable: %s is not a JSON object' % (path, where))
    for key, entry in auths.items():
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise ConfigError('auth file %s is not usable: entry %r in %s is not a JSON object' % (path, key, where))
        for field in ('auth', 'identitytoken'):
            if entry.get(field) is not None and not isinstance(entry[field], str):
                raise ConfigError('auth file %s is not usable: field %r of entry %r in %s is not a string' % (path, field, key, where))
    return {key: entry or {} for key, entry in auths.items()}


def load_auth_file(path: str, kind: str = AUTH_FILE_JSON) -> AuthFile:
    """Read and check one auth file; a missing file reads as an empty one (``exists`` False).

    Raises ConfigError naming the file when it cannot be read, is not JSON, or has fields of the
    wrong type. Messages never quote values from the file.
    """
    try:
        raw = read_document(path, MAX_AUTH_FILE_SIZE, ConfigError, 'auth file %s' % path)
    except FileNotFoundError:
        return AuthFile(path=path, kind=kind)
    # The message is an expectation and a position, never the text itself.
    document = jsonutil.loads(raw, 'auth file %s' % path, ConfigError)
    if not isinstance(document, dict):
        raise ConfigError('auth file %s is not usable: the top level is not a JSON object' % path)

    if kind == AUTH_FILE_LEGACY:
        return AuthFile(path=path, kind=kind, exists=True, auths=_check_auths(path, document, 'the file'), document=document)

    helpers = document.get('credHelpers')
    if helpers is None:
        helpers = {}
    if not isinstance(helpers, dict) or not all(isinstance(value, str) for value in helpers.values()):
        raise ConfigError('auth file %s is not usable: "credHelpers" must map registries to helper names' % path)
    store = document.get('credsStore')
    if store is not None and not isinstance(store, str):
        raise ConfigError('auth file %s is not usable: "credsStore" is not a string' % path)
    return AuthFile(path=path, kind=kind, exists=True, auths=_check_auths(path, document.get('auths'), '"auths"'),
                    cred_helpers=dict(helpers), creds_store=store or None, document=document)


def decode_auth_entry(path: str, key: str, entry: dict[str, t.Any]) -> Credentials | None:
    """Credentials from one ``auths`` entry, or None when it holds none.

    ``auth`` is base64 of ``user:password``. An entry without a colon (Docker writes empty
    entries when a credential helper holds the secret) yields nothing, as in Docker;
    ``identitytoken`` accompanies an ``auth`` entry, it is not read alone (containers/image).
    """
    encoded = (entry.get('auth') or '').replace('\r', '').replace('\n', '')
    try:
        decoded = base64.b64decode(encoded, validate=True).decode('utf-8')
    except ValueError:
        # binascii.Error and UnicodeDecodeError; their messages are not used, they may quote the secret.
        raise ConfigError('auth file %s is not usable: the "auth" field of entry %r is not base64 of UTF-8 "user:password"' % (path, key)) from None
    username, colon, password = decoded.partition(':')
    if not colon:
        return None
    creds = Credentials(username=username or None, password=password.strip('\x00') or None,
                        identity_token=entry.get('identitytoken') or None, source=path)
    return None if creds.is_anonymous else creds


def _first_line(data: bytes, limit: int = 200) -> str:
    lines = data.decode('utf-8', 'replace').strip().splitlines()
    return lines[0][:limit] if lines else ''


class _OutputTooLarge(Exception):
    """A helper printed more than its bound."""


def _run_bounded(argv: list[str], stdin: bytes, timeout: float, limit: int) -> subprocess.CompletedProcess:
    """``subprocess.run(capture_output=True)`` that keeps at most ``limit`` bytes per stream.

    A helper that prints without end would otherwise fill memory before its timeout; it is killed
    as soon as either stream passes ``limit`` (_OutputTooLarge) or ``timeout`` passes
    (subprocess.TimeoutExpired).
    """
    import selectors
    import time

    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            try:
                # A few bytes, below any pipe buffer: the write cannot block.
                t.cast(t.IO[bytes], process.stdin).write(stdin)
                t.cast(t.IO[bytes], process.stdin).close()
            except BrokenPipeError:
                pass  # the helper did not read its input; its answer still counts
            streams = (t.cast(t.IO[bytes], process.stdout), t.cast(t.IO[bytes], process.stderr))
            outputs = {stream.fileno(): bytearray() for stream in streams}
            deadline = time.monotonic() + timeout
            with selectors.DefaultSelector() as selector:
                for stream in streams:
                    selector.register(stream, selectors.EVENT_READ)
                while selector.get_map():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise subprocess.TimeoutExpired(argv, timeout)
                    for key, dummy in selector.select(remaining):
                        block = os.read(key.fd, 65536)
                        if not block:
                            selector.unregister(key.fileobj)
                            continue
                        outputs[key.fd] += block
                        if len(outputs[key.fd]) > limit:
                            raise _OutputTooLarge()
            returncode = process.wait(max(deadline - time.monotonic(), 0.001))
        except BaseException:
            process.kill()
            raise
    stdout, stderr = outputs.values()  # in the order of ``streams``; their descriptors are closed by now
    return subprocess.CompletedProcess(argv, returncode, bytes(stdout), bytes(stderr))


def credentials_from_helper(helper: str, registry: str) -> Credentials | None:
    """Ask ``docker-credential-<helper> get`` for ``registry``; None when it holds nothing.

    Raises ConfigError naming the helper when it is not installed, fails, times out
    (CREDENTIAL_HELPER_TIMEOUT) or answers something that is not credentials.
    """
    program = CREDENTIAL_HELPER_PREFIX + helper
    try:
        completed = _run_bounded([program, 'get'], registry.encode('utf-8'), CREDENTIAL_HELPER_TIMEOUT, MAX_HELPER_OUTPUT)
    except FileNotFoundError:
        raise ConfigError('credential helper %s is not installed: no such program on PATH' % program) from None
    except subprocess.TimeoutExpired:
        raise ConfigError('credential helper %s did not answer for %s within %g seconds' % (program, registry, CREDENTIAL_HELPER_TIMEOUT)) from None
    except _OutputTooLarge:
        raise ConfigError('credential helper %s answered for %s with more than %d bytes' % (program, registry, MAX_HELPER_OUTPUT)) from None
    except OSError as exc:
        raise ConfigError('credential helper %s cannot be run: %s' % (program, exc.strerror or type(exc).__name__)) from None

    if completed.returncode != 0:
        said = _first_line(completed.stdout) or _first_line(completed.stderr)
        if said == _HELPER_NOT_FOUND or _first_line(completed.stderr) == _HELPER_NOT_FOUND:
            return None
        # A failing helper prints an error, not credentials (the credentials protocol only
        # writes them on success), so its first line is safe to show and worth showing.
        raise ConfigError('credential helper %s failed for %s (exit status %d)%s'
                          % (program, registry, completed.returncode, ': %s' % said if said else ''))
    try:
        answer = jsonutil.loads(completed.stdout, 'the answer', ConfigError)
    except ConfigError:
        # Not the parser's position or depth: the answer is the secret, and either way it is unusable.
        raise ConfigError('credential helper %s answered for %s with something that is not JSON' % (program, registry)) from None
    if not isinstance(answer, dict):
        raise ConfigError('credential helper %s answered for %s with JSON that is not an object' % (program, registry))
    username, secret = answer.get('Username') or '', answer.get('Secret') or ''
    if not isinstance(username, str) or not isinstance(secret, str):
        raise ConfigError('credential helper %s answered for %s with a non-string Username or Secret' % (program, registry))
    source = 'credential helper %s' % program
    if username == _IDENTITY_TOKEN_USER:
        creds = Credentials(identity_token=secret or None, source=source)
    else:
        creds = Credentials(username=username or None, password=secret or None, source=source)
    return None if creds.is_anonymous else creds


def _checked_helper(auth_file: AuthFile, helper: str, field: str) -> str:
    # The name becomes part of a program name run from PATH; a path separator would make it a
    # path relative to the working directory instead.
    if not helper or '/' in helper or os.sep in helper:
        raise ConfigError('auth file %s is not usable: %s names an invalid credential helper %r' % (auth_file.path, field, helper))
    return helper


def checked_helper_name(auth_file: AuthFile, helper: str, field: str) -> str:
    """Return ``helper`` (named by ``field`` of ``auth_file``) when it is a usable helper name, else raise ConfigError.

    Writers of credentials (login, logout) apply the same rule as the lookup.
    """
    return _checked_helper(auth_file, helper, field)


def find_credentials_in_file(auth_file: AuthFile, registry: str, repository: str | None = None) -> Credentials | None:
    """Credentials for ``registry/repository`` from one loaded auth file, or None.

    ``registry`` should be canonical (see :func:`normalize_registry`). See the module docstring
    for the order in which the file's sections are consulted.
    """
    if registry in auth_file.cred_helpers:
        # Helpers are keyed by registry only; containers/image has no namespaced helpers.
        helper = _checked_helper(auth_file, auth_file.cred_helpers[registry], 'credHelpers[%r]' % registry)
        return credentials_from_helper(helper, registry)

    creds = None
    keys = [registry] if auth_file.legacy else auth_keys_for(registry, repository)
    found = [key for key in keys if key in auth_file.auths]
    if found:
        # The most specific entry present decides, even when it is empty: a namespace entry
        # must not silently fall back to the registry-wide identity.
        creds = decode_auth_entry(auth_file.path, found[0], auth_file.auths[found[0]])
    else:
        wanted = normalize_registry(registry)
        for key, entry in auth_file.auths.items():
            if normalize_auth_key(key, auth_file.legacy) == wanted:
                creds = decode_auth_entry(auth_file.path, key, entry)
                break

    if creds is None and auth_file.creds_store:
        store = _checked_helper(auth_file, auth_file.creds_store, 'credsStore')
        creds = credentials_from_helper(store, registry)
        if creds is None and registry == DOCKER_IO:
            # `docker login` (and registry_login with compat_auth_file) keep Docker Hub under its legacy index URL.
            creds = credentials_from_helper(store, DOCKER_HUB_INDEX_URL)
    return creds


def resolve_credentials(registry: str, repository: str | None, options: ConnectionOptions) -> Credentials | None:
    """The credentials to use for ``registry/repository``, or None for anonymous access.

    ``registry`` is the host (``docker.io``, ``quay.io``, ``localhost:5000``); ``repository`` the
    path within it (``library/busybox``), or None for registry-wide credentials. Raises
    ConfigError when ``username`` and ``password`` are not given together, or when an auth file or
    credential helper is unusable.
    """
    if options.no_creds:
        return None
    if bool(options.username) != bool(options.password):
        given, missing = ('username', 'password') if options.username else ('password', 'username')
        raise ConfigError('%s was given without %s: registry credentials need both' % (given, missing))
    if options.registry_token or options.username:
        return Credentials(username=options.username or None, password=options.password or None,
                           registry_token=options.registry_token or None, source='options')

    registry = normalize_registry(registry)
    for path, kind in auth_file_candidates(options):
        auth_file = load_auth_file(path, kind)
        if not auth_file.exists:
            continue
        creds = find_credentials_in_file(auth_file, registry, repository)
        if creds is not None:
            return creds
    return None
