# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""registries.d: where the signatures of registry images are kept (lookaside) and whether sigstore attachments are used.

This reads the same files, with the same meaning, as containers/image ``docker/registries_d.go``
(what skopeo, podman and buildah read), documented in ``containers-registries.d(5)``.

Directory (:func:`registries_d_path`)
    An explicit path (skopeo ``--registries.d``) if given, else ``$HOME/.config/containers/registries.d``
    when it exists, else ``/etc/containers/registries.d``. A missing directory is an empty
    configuration, not an error.

Files (:func:`load_registries_d`)
    Every ``*.yaml`` file of the directory (not ``*.yml``, not subdirectories' files), merged.
    A file may define ``default-docker`` (one section) and ``docker`` (a map from scope to
    section). Unknown keys are ignored, as containers/image's non-strict YAML decoding does; a
    known key of the wrong type, a key repeated within one mapping (yaml.v3 refuses those too) and a
    ``default-docker`` or ``docker`` scope defined in two files are errors that name both places.
    Files are read bounded (:data:`MAX_FILE_SIZE`) and FIFOs or devices are refused.

Sections (:class:`Section`)
    ``lookaside`` (read, and write when no staging is set), ``lookaside-staging`` (write only),
    the deprecated ``sigstore`` and ``sigstore-staging`` (the same, under their old names) and
    ``use-sigstore-attachments`` (bool). An empty string counts as not set.

Scope lookup (:func:`docker_scopes`)
    As for containers-policy.json: the full identity (``host[:port]/path:tag`` or ``...@digest``),
    then ``host/ns/repo``, ``host/ns``, ``host[:port]``, then ``*.sub.example.com``, ``*.example.com``,
    ``*.com`` (port stripped), then ``default-docker``. Unlike the man page's wording ("the most
    specific scope is used"), containers/image falls through to the next, less specific scope
    *for each key* when the matched section does not set it (``signatureTopLevel`` and
    ``useSigstoreAttachments`` both loop on). This module does the same, so a repository section
    that only sets ``use-sigstore-attachments`` still inherits its host's lookaside.

Precedence within a section
    Read: ``lookaside`` > ``sigstore``. Write: ``lookaside-staging`` > ``sigstore-staging`` >
    ``lookaside`` > ``sigstore``. ``use-sigstore-attachments`` defaults to false.

Defaults (:func:`default_lookaside_url`)
    When no scope configures a lookaside: ``file:///var/lib/containers/sigstore`` for root,
    ``file://$HOME/.local/share/containers/sigstore`` for everyone else (by effective UID, as
    ``builtinDefaultLookasideStorageDir``). So there is always a lookaside to read from.

How the signature storage pieces fit (see :mod:`...signature.lookaside`): registry images keep
simple-signing (GPG) signatures in the lookaside named here, and sigstore signatures as
attachments (the ``sha256-<hex>.sig`` tag) when ``use-sigstore-attachments`` is true; ``dir:``
keeps both kinds as ``signature-N`` files beside the manifest (transports/dir).

Every error is a :class:`PolicyError` naming the file and the key; values are quoted with
:func:`errors.quote` (control characters escaped, URL userinfo redacted).
"""

from __future__ import annotations

import dataclasses
import os
import typing as t
import urllib.parse

from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyError, quote
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import read_document
from ansible_collections.ocikit.images.plugins.module_utils.signature.identity import docker_identity, docker_namespaces
from ansible_collections.ocikit.images.plugins.module_utils.yamlutil import kind_of, load_yaml

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference

#: The system-wide directory (containers/image ``builtinRegistriesDirPath``).
SYSTEM_REGISTRIES_D = '/etc/containers/registries.d'
#: The per-user directory, relative to the home directory.
USER_REGISTRIES_D = '.config/containers/registries.d'
#: The built-in lookaside for root.
ROOT_LOOKASIDE_DIR = '/var/lib/containers/sigstore'
#: The built-in lookaside for other users, relative to the home directory.
USER_LOOKASIDE_DIR = '.local/share/containers/sigstore'
#: Set by podman in its rootless user namespace to the user's real UID.
ROOTLESS_UID_ENV = '_CONTAINERS_ROOTLESS_UID'
#: Bytes of one registries.d file; real ones are a few hundred bytes.
MAX_FILE_SIZE = 1024 * 1024
#: Schemes a lookaside may use (containers/image reads file, http and https; writes file only).
LOOKASIDE_SCHEMES = ('file', 'http', 'https')

# Section keys: YAML name -> Section attribute.
_URL_KEYS = {
    'lookaside': 'lookaside',
    'lookaside-staging': 'lookaside_staging',
    'sigstore': 'sigstore',
    'sigstore-staging': 'sigstore_staging',
}
_ATTACHMENTS_KEY = 'use-sigstore-attachments'
DEFAULT_DOCKER = 'default-docker'
DOCKER = 'docker'


@dataclasses.dataclass(frozen=True)
class Section:
    """One registries.d section (``default-docker`` or one ``docker`` scope). ``None`` means not set.

    ``origin`` says where it was defined (``docker scope "x" in /etc/.../a.yaml``), for messages.
    """

    origin: str = ''
    lookaside: str | None = None
    lookaside_staging: str | None = None
    sigstore: str | None = None
    sigstore_staging: str | None = None
    use_sigstore_attachments: bool | None = None

    def top_level(self, write: bool) -> tuple[str, str] | None:
        """``(url, key)`` of the lookaside this section sets for reading or (``write``) writing, else None."""
        keys = ('lookaside-staging', 'sigstore-staging', 'lookaside', 'sigstore') if write else ('lookaside', 'sigstore')
        for key in keys:
            value = getattr(self, _URL_KEYS[key])
            if value:
                return value, key
        return None


@dataclasses.dataclass(frozen=True)
class LookasideBase:
    """The top of a lookaside store, before the repository path is appended.

    ``url`` is a ``file://``, ``http://`` or ``https://`` URL; ``origin`` names the key and file it
    came from, or says it is the built-in default; ``path`` is the local directory of a ``file://`` URL.
    """

    url: str
    origin: str

    @property
    def scheme(self) -> str:
        """``file``, ``http`` or ``https``."""
        return urllib.parse.urlsplit(self.url).scheme.lower()

    @property
    def path(self) -> str:
        """The local directory of a ``file://`` base (percent-decoded, as Go's ``url.URL.Path``)."""
        return urllib.parse.unquote(urllib.parse.urlsplit(self.url).path)


@dataclasses.dataclass(frozen=True)
class RegistriesConfig:
    """The merged registries.d configuration. ``directory`` is where it was read from (None: built in code)."""

    docker: t.Mapping[str, Section] = dataclasses.field(default_factory=dict)
    default_docker: Section | None = None
    directory: str | None = None

    def _sections(self, ref: 'DockerReference') -> t.Iterator[Section]:
        """The sections that apply to ``ref``, most specific first (``default-docker`` last)."""
        for scope in docker_scopes(ref):
            section = self.docker.get(scope)
            if section is not None:
                yield section
        if self.default_docker is not None:
            yield self.default_docker

    def signature_top_level(self, ref: 'DockerReference', write: bool) -> tuple[str, Section, str] | None:
        """``(url, section, key)`` configured for ``ref``, falling through scopes per key; None when nothing is."""
        for section in self._sections(ref):
            found = section.top_level(write)
            if found is not None:
                return found[0], section, found[1]
        return None

    def lookaside_base(self, ref: 'DockerReference', write: bool = False, euid: int | None = None,
                       home: str | None = None) -> LookasideBase:
        """The lookaside for ``ref``, for reading or (``write``) writing, or the built-in default.

        The URL is checked here, so that a broken entry is reported with its file and key: it must
        be a ``file``, ``http`` or ``https`` URL (containers/image fails later, on first use, with
        "Unsupported scheme"), and a ``file`` URL must not name a host (Go would silently drop it
        and use the path alone).
        """
        found = self.signature_top_level(ref, write)
        if found is None:
            return LookasideBase(default_lookaside_url(euid, home), 'the built-in default lookaside')
        url, section, key = found
        origin = '%s of %s' % (key, section.origin)
        return LookasideBase(validate_lookaside_url(url, origin), origin)

    def use_sigstore_attachments(self, ref: 'DockerReference') -> bool:
        """Whether sigstore signatures of ``ref`` are read from and written to attachments (default false)."""
        for section in self._sections(ref):
            if section.use_sigstore_attachments is not None:
                return section.use_sigstore_attachments
        return False


def validate_lookaside_url(url: str, origin: str) -> str:
    """``url`` if it is a usable lookaside URL, else PolicyError naming ``origin`` (the key and file)."""
    try:
        parts = urllib.parse.urlsplit(url)
        dummy = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise PolicyError('%s: %s is not a valid URL: %s' % (origin, quote(url), exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in LOOKASIDE_SCHEMES:
        what = 'has no scheme' if not scheme else 'has the unsupported scheme %s' % quote(scheme)
        raise PolicyError('%s: %s %s; a lookaside is a file://, http:// or https:// URL' % (origin, quote(url), what))
    if scheme == 'file':
        if parts.netloc not in ('', 'localhost'):
            raise PolicyError('%s: %s names a host; a file:// lookaside is a local directory (file:///path)' % (origin, quote(url)))
        if not parts.path.startswith('/'):
            raise PolicyError('%s: %s has no absolute path' % (origin, quote(url)))
    elif not parts.hostname:
        raise PolicyError('%s: %s has no host' % (origin, quote(url)))
    return url


def default_lookaside_url(euid: int | None = None, home: str | None = None) -> str:
    """The built-in lookaside: ``file:///var/lib/containers/sigstore`` for root, else under the home directory.

    ``euid`` defaults to containers/image's ``rootless.GetRootlessEUID``: ``$_CONTAINERS_ROOTLESS_UID``
    when set (podman sets it inside the user namespace of ``podman unshare``, where the effective
    UID is 0 but the user is not root; a value that is not a number counts as 0, as Go's Atoi
    failure does), else :func:`os.geteuid`. ``home`` defaults to ``$HOME`` (then the password
    database), as containers/image's ``homedir.Get``.
    """
    if euid is None:
        euid = rootless_euid()
    if euid == 0:
        return 'file://' + ROOT_LOOKASIDE_DIR
    if not home:
        home = os.path.expanduser('~')
    path = os.path.normpath(os.path.join(home, USER_LOOKASIDE_DIR))
    return 'file://' + urllib.parse.quote(path, safe='/')


def rootless_euid() -> int:
    """The user's UID outside a rootless user namespace (``$_CONTAINERS_ROOTLESS_UID``), else the effective UID."""
    value = os.environ.get(ROOTLESS_UID_ENV, '')
    if value:
        try:
            return int(value)
        except ValueError:
            return 0
    return os.geteuid()


def registries_d_path(explicit: str | None = None, home: str | None = None) -> str:
    """The registries.d directory: ``explicit``, else the user's when it exists, else the system one.

    No environment expansion happens in ``explicit`` (as in containers/image).
    """
    if explicit:
        return explicit
    if not home:
        home = os.path.expanduser('~')
    user_dir = os.path.join(home, USER_REGISTRIES_D)
    if os.path.exists(user_dir):
        return user_dir
    return SYSTEM_REGISTRIES_D


def docker_scopes(ref: 'DockerReference') -> list[str]:
    """The scopes to look ``ref`` up under, most specific first (without ``default-docker``).

    The full identity (``name:tag``, or ``name@digest``; a name-only reference is taken as
    ``:latest``, and a reference with both a tag and a digest by its digest, the part that
    identifies the image), then the name and each parent namespace down to ``host[:port]``, then
    the wildcard domains of the host without its port (containers/image
    ``PolicyConfigurationIdentity`` and ``PolicyConfigurationNamespaces``).
    """
    return [docker_identity(ref)] + docker_namespaces(ref)


# -- loading ---------------------------------------------------------------------------------------

def _parse_yaml(raw: bytes, path: str) -> t.Any:
    """The document of one file, parsed by the shared safe loader (a repeated key is refused, as by yaml.v3)."""
    return load_yaml(raw, 'registries.d file %s' % quote(path), PolicyError)


def _section(value: t.Any, origin: str) -> Section:
    """A Section from one parsed YAML mapping (None: an empty section). Unknown keys are ignored."""
    if value is None:
        return Section(origin=origin)
    if not isinstance(value, dict):
        raise PolicyError('%s is not a mapping' % origin)
    fields: dict[str, t.Any] = {}
    for key, attribute in _URL_KEYS.items():
        item = value.get(key)
        if item is not None and not isinstance(item, str):
            raise PolicyError('%s: %s must be a string, not %s' % (origin, key, kind_of(item)))
        fields[attribute] = item or None
    flag = value.get(_ATTACHMENTS_KEY)
    if flag is not None and not isinstance(flag, bool):
        raise PolicyError('%s: %s must be true or false, not %s' % (origin, _ATTACHMENTS_KEY, kind_of(flag)))
    return Section(origin=origin, use_sigstore_attachments=flag, **fields)


def parse_registries_file(raw: bytes, path: str) -> tuple[Section | None, dict[str, Section]]:
    """``(default-docker section or None, {scope: section})`` of one registries.d file's content."""
    document = _parse_yaml(raw, path)
    if document is None:
        return None, {}
    if not isinstance(document, dict):
        raise PolicyError('registries.d file %s is not a mapping (it is %s)' % (quote(path), kind_of(document)))
    default = None
    if document.get(DEFAULT_DOCKER) is not None:
        default = _section(document[DEFAULT_DOCKER], '%s in %s' % (DEFAULT_DOCKER, quote(path)))
    scopes = document.get(DOCKER)
    if scopes is None:
        return default, {}
    if not isinstance(scopes, dict):
        raise PolicyError('registries.d file %s: %s must be a mapping of scopes, not %s' % (quote(path), DOCKER, kind_of(scopes)))
    sections = {}
    for scope, value in scopes.items():
        if not isinstance(scope, str):
            raise PolicyError('registries.d file %s: %s scope %s is not a string' % (quote(path), DOCKER, quote(str(scope))))
        sections[scope] = _section(value, '%s scope %s in %s' % (DOCKER, quote(scope), quote(path)))
    return default, sections


def load_registries_d(directory: str) -> RegistriesConfig:
    """Read and merge every ``*.yaml`` file of ``directory`` (in name order); a missing directory is empty.

    A ``default-docker`` or ``docker`` scope defined in two files is a PolicyError naming both.
    """
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return RegistriesConfig(directory=directory)
    except OSError as exc:
        raise PolicyError('registries.d directory %s cannot be read: %s' % (quote(directory), exc.strerror or type(exc).__name__)) from None
    default: Section | None = None
    default_from = ''
    docker: dict[str, Section] = {}
    scope_from: dict[str, str] = {}
    for name in names:
        if not name.endswith('.yaml'):
            continue
        path = os.path.join(directory, name)
        try:
            raw = read_document(path, MAX_FILE_SIZE, PolicyError, 'registries.d file %s' % quote(path))
        except FileNotFoundError:
            continue  # removed since the listing (a dangling symlink, too): containers/image skips it as well
        file_default, sections = parse_registries_file(raw, path)
        if file_default is not None:
            if default is not None:
                raise PolicyError('registries.d: %s is defined both in %s and in %s' % (DEFAULT_DOCKER, quote(default_from), quote(path)))
            default, default_from = file_default, path
        for scope, section in sections.items():
            if scope in docker:
                raise PolicyError('registries.d: %s scope %s is defined both in %s and in %s'
                                  % (DOCKER, quote(scope), quote(scope_from[scope]), quote(path)))
            docker[scope] = section
            scope_from[scope] = path
    return RegistriesConfig(docker=docker, default_docker=default, directory=directory)


def load_registries_config(explicit: str | None = None, home: str | None = None) -> RegistriesConfig:
    """The configuration from :func:`registries_d_path` (``explicit`` or the usual places)."""
    return load_registries_d(registries_d_path(explicit, home))
