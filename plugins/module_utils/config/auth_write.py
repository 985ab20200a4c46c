# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing registry credentials: auth files (containers and Docker formats) and credential helpers.

This is the writing half of :mod:`config.auth`, which reads. It follows containers/image
``pkg/docker/config`` (``SetCredentials``, ``RemoveAuthentication``, ``RemoveAllAuthentication``)
and, for Docker's ``config.json``, what ``docker login`` writes.

Which file
    The ``authfile`` option, else ``$REGISTRY_AUTH_FILE``, else the first file the lookup reads:
    ``$XDG_RUNTIME_DIR/containers/auth.json``, ``/run/containers/$UID/auth.json`` when that
    variable is unset, ``~/.config/containers/auth.json`` off Linux. An ``$XDG_RUNTIME_DIR`` that
    does not exist is an error, as in containers/image, not a silent fallback to another file.
    A Docker-format file is written only when named (podman's ``--compat-auth-file``).

Keys
    ``host[:port]`` or ``host[:port]/namespace[/repo]``; URL forms lose their scheme and path, and
    Docker Hub's host aliases become ``docker.io``. Docker's format has registry keys only, and
    Docker Hub's key there is ``https://index.docker.io/v1/``.

How
    Read-modify-write happens under an exclusive ``flock`` of ``FILE.lock`` beside the file, so
    parallel writers (Ansible forks) do not lose each other's entries. The new document goes to a
    temporary file in the same directory (mode 0600), is fsynced and renamed over the file, so a
    reader sees the old file or the new one, never half of one. Missing directories are created
    0700. Everything in the document but the entries changed is kept, unknown keys included.

Temporary files
    Named ``.ocikit-tmp-NAME.`` + 16 hex digits beside the file NAME (the prefix of the local
    stores' temporaries), and held under a shared ``flock`` from creation to rename, as
    ``fsutil.create_temp_file`` holds its files. A writer killed in between leaves its temporary
    behind; the next write of the same file sweeps it (``fsutil.sweep_stale_temps``: only names of
    this pattern, owned by this user, older than ``fsutil.STALE_AFTER`` and locked by nobody).

Credential helpers
    When the file names a helper for the registry (``credHelpers``; in Docker's format also
    ``credsStore``), the secret goes to ``docker-credential-NAME store``/``erase`` instead of the
    file. Helpers hold registries, not namespaces. In Docker's format the file keeps an empty entry
    for the registry, as ``docker login`` leaves one.

Nothing here logs, and no message carries a secret.
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import json
import os
import re
import secrets
import subprocess
import sys
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.config.auth import (
    CREDENTIAL_HELPER_PREFIX,
    CREDENTIAL_HELPER_TIMEOUT,
    DOCKER_IO,
    AuthFile,
    Credentials,
    checked_helper_name,
    decode_auth_entry,
    normalize_auth_key,
    normalize_registry,
)
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, InvalidInputError, OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    exclusive_lock,
    fsync_dir,
    hold_shared_lock,
    sweep_stale_temps,
    unlink_quietly,
)
from ansible_collections.ocikit.images.plugins.module_utils.reference import validate_domain, validate_repository_path

#: File formats: containers-auth.json(5), and Docker's config.json (``compat_auth_file``).
FORMAT_CONTAINERS = 'containers'
FORMAT_DOCKER = 'docker'

#: Docker Hub's key in Docker's config.json (and the server URL Docker gives helpers for it).
DOCKER_HUB_DOCKER_KEY = 'https://index.docker.io/v1/'
_DOCKER_HUB_HELPER_HOSTS = ('docker.io', 'index.docker.io', 'registry-1.docker.io')

AUTH_FILE_MODE = 0o600
AUTH_DIR_MODE = 0o700
LOCK_SUFFIX = '.lock'
#: Seconds to wait for another writer of the same file.
LOCK_TIMEOUT = 120.0
#: Temporary files are ``TEMP_PREFIX + NAME + '.'`` + 16 hex digits (the local stores' prefix, so leftovers are recognisably ours).
TEMP_PREFIX = '.ocikit-tmp-'
_TEMP_SUFFIX_RE = re.compile(r'[0-9a-f]{16}\Z')

# What docker-credential-helpers print when they hold nothing for a server.
_HELPER_NOT_FOUND = 'credentials not found in native keychain'
_REDACTED = '********'


@dataclasses.dataclass(frozen=True)
class AuthTarget:
    """The auth file that credentials are written to (and removed from), and its format."""

    path: str
    format: str = FORMAT_CONTAINERS

    @property
    def docker_format(self) -> bool:
        """True for Docker's config.json format."""
        return self.format == FORMAT_DOCKER

    @property
    def directory(self) -> str:
        """The directory holding the file (after symlinks, where the file is really written)."""
        return os.path.dirname(real_path(self.path))


@dataclasses.dataclass(frozen=True)
class RegistryKey:
    """What a ``registry`` option names: the key in containers form and the registry host it belongs to."""

    key: str
    registry: str

    @property
    def namespaced(self) -> bool:
        """True for ``host/namespace[/repo]`` keys."""
        return self.key != self.registry


def default_auth_file() -> str:
    """The file written when no ``authfile`` is given, as containers/image ``getPathToAuth`` (and skopeo) choose it.

    Raises ConfigError when ``$XDG_RUNTIME_DIR`` names a directory that does not exist.
    """
    explicit = os.environ.get('REGISTRY_AUTH_FILE')
    if explicit:
        return explicit
    if not sys.platform.startswith('linux'):
        return os.path.join(os.path.expanduser('~'), '.config', 'containers', 'auth.json')
    runtime_dir = os.environ.get('XDG_RUNTIME_DIR')
    if runtime_dir:
        if not os.path.isdir(runtime_dir):
            raise ConfigError('the directory %s set by $XDG_RUNTIME_DIR does not exist: create it, unset XDG_RUNTIME_DIR, or set authfile'
                              % runtime_dir)
        return os.path.join(runtime_dir, 'containers', 'auth.json')
    return '/run/containers/%d/auth.json' % os.getuid()


def auth_target(authfile: str | None = None, compat_auth_file: str | None = None) -> AuthTarget:
    """The file to write: ``compat_auth_file`` (Docker's format), else ``authfile``, else :func:`default_auth_file`."""
    if authfile and compat_auth_file:
        raise InvalidInputError('authfile and compat_auth_file cannot both be set: the first names a containers auth file, '
                                'the second a Docker config.json to write instead')
    if compat_auth_file:
        return AuthTarget(path=compat_auth_file, format=FORMAT_DOCKER)
    return AuthTarget(path=authfile or default_auth_file())


def parse_registry_key(value: str) -> RegistryKey:
    """Check and normalise a ``registry`` option: ``host[:port]`` or ``host[:port]/namespace[/repo]``.

    ``https://host/v1/`` and ``http://host`` give ``host`` (containers/common does the same);
    Docker Hub aliases give ``docker.io``. Tags, digests, bad host names and repository paths are
    refused with InvalidInputError.
    """
    text = (value or '').strip()
    if not text:
        raise InvalidInputError('registry is empty: give host[:port] or host[:port]/namespace[/repo]')
    if text.startswith(('http://', 'https://')):
        text = text.split('://', 1)[1].split('/', 1)[0]
    host, slash, path = text.partition('/')
    if '@' in text:
        raise InvalidInputError('registry %r contains a digest ("@"): give host[:port] or host[:port]/namespace[/repo]' % value)
    if slash and ':' in path:
        raise InvalidInputError('registry %r contains a tag (":" after host[:port]): give host[:port] or host[:port]/namespace[/repo]' % value)
    try:
        validate_domain(host)
    except OcikitError as exc:
        raise InvalidInputError('registry %r does not start with a registry host: %s' % (value, exc.message)) from None
    if slash and not ('.' in host or ':' in host or host == 'localhost' or host.startswith('[')):
        # "team/app" would be a Docker Hub repository to the rest of the tools, not a registry "team".
        raise InvalidInputError('registry %r does not start with a registry host (for Docker Hub, write docker.io/%s)' % (value, text))
    registry = normalize_registry(host)
    if not slash:
        return RegistryKey(key=registry, registry=registry)
    try:
        validate_repository_path(path)
    except OcikitError as exc:
        raise InvalidInputError('registry %r: %s' % (value, exc.message)) from None
    return RegistryKey(key='%s/%s' % (registry, path), registry=registry)


def file_key(key: RegistryKey, target: AuthTarget) -> str:
    """The ``auths`` key for ``key`` in ``target``'s format; Docker's format refuses namespaces."""
    if not target.docker_format:
        return key.key
    if key.namespaced:
        raise InvalidInputError('%s is namespace-scoped; Docker\'s config.json format (compat_auth_file) stores credentials per registry only, '
                                'so it cannot hold it: log in to %s, or write a containers auth file (authfile)' % (key.key, key.registry))
    return DOCKER_HUB_DOCKER_KEY if key.registry == DOCKER_IO else key.registry


def helper_server_url(key: RegistryKey, target: AuthTarget) -> str:
    """What a credential helper is given as the server: the registry (containers/image), Docker's key in Docker's format."""
    return file_key(key, target) if target.docker_format else key.registry


def helper_for(auth_file: AuthFile, registry: str, docker_format: bool) -> str | None:
    """The credential helper ``auth_file`` names for ``registry``, or None when the file itself holds its credentials.

    ``credHelpers[registry]`` in both formats (Docker keys Docker Hub as ``index.docker.io``),
    then ``credsStore`` in Docker's format; containers/image ignores ``credsStore``.
    """
    hosts = _DOCKER_HUB_HELPER_HOSTS if docker_format and registry == DOCKER_IO else (registry,)
    for host in hosts:
        if host in auth_file.cred_helpers:
            return checked_helper_name(auth_file, auth_file.cred_helpers[host], 'credHelpers[%r]' % host)
    if docker_format and auth_file.creds_store:
        return checked_helper_name(auth_file, auth_file.creds_store, 'credsStore')
    return None


def encode_auth(username: str, password: str) -> str:
    """The ``auth`` field of an entry: base64 of ``username:password``."""
    return base64.b64encode(('%s:%s' % (username, password)).encode('utf-8')).decode('ascii')


def entry_holds(path: str, key: str, entry: t.Any, username: str, password: str) -> bool:
    """True when the ``auths`` entry decodes to exactly ``username``/``password`` (other fields are not compared)."""
    if not isinstance(entry, dict):
        return False
    try:
        creds = decode_auth_entry(path, key, entry)
    except ConfigError:
        # An undecodable entry is simply not these credentials; it will be replaced.
        return False
    return same_credentials(creds, username, password)


def same_credentials(creds: Credentials | None, username: str, password: str) -> bool:
    """True when ``creds`` are ``username``/``password`` (an identity token is something else)."""
    return creds is not None and not creds.identity_token and creds.username == username and creds.password == password


# -- the document --------------------------------------------------------------------------

def auths_of(document: dict[str, t.Any]) -> dict[str, t.Any]:
    """``document['auths']``, created empty when absent (load_auth_file has checked its type)."""
    auths = document.get('auths')
    if not isinstance(auths, dict):
        auths = document['auths'] = {}
    return auths


def registry_keys(document: dict[str, t.Any]) -> list[str]:
    """The ``auths`` keys of a document, sorted."""
    auths = document.get('auths')
    return sorted(auths) if isinstance(auths, dict) else []


def set_entry(document: dict[str, t.Any], key: str, username: str, password: str) -> None:
    """Store ``username``/``password`` under ``key``, replacing the whole entry (as containers/image does)."""
    auths_of(document)[key] = {'auth': encode_auth(username, password)}


def keys_to_remove(auth_file: AuthFile, key: RegistryKey, written_key: str) -> list[str]:
    """The ``auths`` keys a logout of ``key`` removes, sorted.

    The key itself, and for a registry (not a namespace) every other key the lookup would take for
    that registry (``https://host/v1/``, Docker Hub aliases): after a logout, the lookup in this
    file must find nothing for it. Namespace keys of the registry are separate logins and stay.
    """
    found = {written_key} & set(auth_file.auths)
    if not key.namespaced:
        found.update(k for k in auth_file.auths if normalize_auth_key(k, auth_file.legacy) == key.registry)
    return sorted(found)


def serialize(document: dict[str, t.Any]) -> bytes:
    """The file's bytes: tab-indented JSON as containers/image and Docker write it, with a final newline."""
    return (json.dumps(document, indent='\t', ensure_ascii=False) + '\n').encode('utf-8')


# -- files ---------------------------------------------------------------------------------

def real_path(path: str) -> str:
    """``path`` with symlinks resolved, so that a symlinked auth file stays a symlink and its target is written."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def ensure_directory(directory: str) -> None:
    """Create ``directory`` and missing parents with mode 0700 (whatever the umask); existing ones are left alone."""
    missing = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for created in reversed(missing):
        try:
            os.mkdir(created, AUTH_DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(created):
                raise ConfigError('cannot create directory %s for the auth file: a file of that name exists' % created) from None
            continue
        except OSError as exc:
            raise ConfigError('cannot create directory %s for the auth file: %s' % (created, exc.strerror or exc)) from None
        os.chmod(created, AUTH_DIR_MODE)


def locked(path: str, timeout: float = LOCK_TIMEOUT) -> t.ContextManager[None]:
    """Hold the exclusive lock guarding read-modify-write of the auth file ``path`` (``path.lock``; its directory must exist)."""
    lock_path = real_path(path) + LOCK_SUFFIX
    return exclusive_lock(lock_path, AUTH_FILE_MODE, timeout, ConfigError,
                          'auth file %s is locked by another writer (waited %.0f s for %s)' % (path, timeout, lock_path), max_delay=0.25)


def temp_prefix(name: str) -> str:
    """The prefix of the temporary files that replace the auth file named ``name`` (a base name)."""
    return '%s%s.' % (TEMP_PREFIX, name)


def is_temp_name(name: str, prefix: str) -> bool:
    """True when ``name`` is ``prefix`` + exactly 16 lowercase hex digits: a temporary file this module made."""
    return name.startswith(prefix) and _TEMP_SUFFIX_RE.match(name, len(prefix)) is not None


def write_auth_file(path: str, document: dict[str, t.Any]) -> None:
    """Replace the auth file ``path`` with ``document``: temporary file (0600), fsync, rename, fsync of the directory.

    Call it holding :func:`locked`. It first sweeps the temporaries that killed writers of this
    file left (see the module's docstring). A file being replaced keeps its owner when this runs
    as root (``become`` writing a user's file).
    """
    target = real_path(path)
    directory = os.path.dirname(target)
    prefix = temp_prefix(os.path.basename(target))
    # Housekeeping that never fails a login: a live writer's temporary is held under its flock and stays.
    sweep_stale_temps(directory, lambda name: is_temp_name(name, prefix))
    try:
        owner: tuple[int, int] | None = None
        current = os.stat(target)
        if os.geteuid() == 0 and (current.st_uid, current.st_gid) != (0, 0):
            owner = (current.st_uid, current.st_gid)
    except FileNotFoundError:
        owner = None
    except OSError as exc:
        raise ConfigError('auth file %s cannot be written: %s' % (path, exc.strerror or exc)) from None
    temp_path = ''
    try:
        fd, temp_path = _create_temp(directory, prefix)
        with os.fdopen(fd, 'wb') as handle:
            os.fchmod(handle.fileno(), AUTH_FILE_MODE)
            if owner is not None:
                os.fchown(handle.fileno(), owner[0], owner[1])
            handle.write(serialize(document))
            handle.flush()
            os.fsync(handle.fileno())
            # Renamed while still open, so that its shared flock covers it until it is no temporary any more.
            os.replace(temp_path, target)
    except OSError as exc:
        if temp_path:
            unlink_quietly(temp_path)
        raise ConfigError('auth file %s cannot be written: %s' % (path, exc.strerror or exc)) from None
    except BaseException:
        if temp_path:
            unlink_quietly(temp_path)
        raise
    fsync_dir(directory)


def _create_temp(directory: str, prefix: str) -> tuple[int, str]:
    """Create ``prefix`` + 16 hex digits in ``directory`` exclusively, 0600 from the start, held under a shared flock.

    Not ``fsutil.create_temp_file``: that one lets the umask decide the mode (0644 less it) and
    raises LayoutError, while an auth file's temporary must never be readable by others, not even
    empty (an open descriptor would read what comes later), and its failures are ConfigErrors.
    The naming and the flock are the same, so :func:`fsutil.sweep_stale_temps` treats both alike.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)
    for dummy in range(100):
        temp_path = os.path.join(directory, '%s%s' % (prefix, secrets.token_hex(8)))
        try:
            fd = os.open(temp_path, flags, AUTH_FILE_MODE)
        except FileExistsError:
            continue
        # Until it is renamed or removed: tells sweep_stale_temps that a live writer owns it.
        hold_shared_lock(fd)
        return fd, temp_path
    raise OSError(errno.EEXIST, 'too many temporary file name collisions')


# -- credential helpers ----------------------------------------------------------------------

def _first_line(data: bytes, secret: str | None = None, limit: int = 200) -> str:
    lines = data.decode('utf-8', 'replace').strip().splitlines()
    line = lines[0][:limit] if lines else ''
    if secret and len(secret) >= 3:
        # A helper's error should not echo what it was given; if it does, it is not repeated here.
        line = line.replace(secret, _REDACTED)
    return line


def _run_helper(helper: str, action: str, payload: bytes, server_url: str) -> subprocess.CompletedProcess:
    program = CREDENTIAL_HELPER_PREFIX + helper
    try:
        return subprocess.run([program, action], input=payload, capture_output=True, timeout=CREDENTIAL_HELPER_TIMEOUT, check=False)
    except FileNotFoundError:
        raise ConfigError('credential helper %s is not installed: no such program on PATH' % program) from None
    except subprocess.TimeoutExpired:
        raise ConfigError('credential helper %s did not %s credentials for %s within %g seconds'
                          % (program, action, server_url, CREDENTIAL_HELPER_TIMEOUT)) from None
    except OSError as exc:
        raise ConfigError('credential helper %s cannot be run: %s' % (program, exc.strerror or type(exc).__name__)) from None


def store_in_helper(helper: str, server_url: str, username: str, password: str) -> None:
    """``docker-credential-HELPER store`` the credentials for ``server_url``; ConfigError (without the secret) on failure."""
    payload = json.dumps({'ServerURL': server_url, 'Username': username, 'Secret': password}).encode('utf-8')
    completed = _run_helper(helper, 'store', payload, server_url)
    if completed.returncode != 0:
        said = _first_line(completed.stdout, password) or _first_line(completed.stderr, password)
        raise ConfigError('credential helper %s%s failed to store credentials for %s (exit status %d)%s'
                          % (CREDENTIAL_HELPER_PREFIX, helper, server_url, completed.returncode, ': %s' % said if said else ''))


def erase_from_helper(helper: str, server_url: str) -> bool:
    """``docker-credential-HELPER erase`` ``server_url``; False when the helper held nothing for it."""
    completed = _run_helper(helper, 'erase', server_url.encode('utf-8'), server_url)
    if completed.returncode == 0:
        return True
    said = _first_line(completed.stdout) or _first_line(completed.stderr)
    if said == _HELPER_NOT_FOUND or _first_line(completed.stderr) == _HELPER_NOT_FOUND:
        return False
    raise ConfigError('credential helper %s%s failed to erase credentials for %s (exit status %d)%s'
                      % (CREDENTIAL_HELPER_PREFIX, helper, server_url, completed.returncode, ': %s' % said if said else ''))
