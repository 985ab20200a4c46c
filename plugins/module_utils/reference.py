# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Docker image references: the grammar of distribution/reference, normalised as skopeo does.

Grammar (``reference.go`` of distribution/reference)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path
    domain           := host [":" port-number]
    host             := domain-name | IPv4address | "[" IPv6address "]"
    domain-name      := domain-component ["." domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    port-number      := /[0-9]+/
    path             := path-component ["/" path-component]*
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/

Normalisation follows ``ParseNormalizedNamed`` and ``splitDockerDomain`` as vendored by skopeo
(containers/image ``docker/reference``): the first ``/``-separated component is a domain when it is
``localhost``, contains ``.`` or ``:``, or contains an uppercase letter; otherwise the name lives on
Docker Hub (``docker.io``), and a single-component Docker Hub name gets the ``library/`` prefix.
``index.docker.io`` is spelled ``docker.io``. A reference may carry both a tag and a digest.

Where the Go code would accept a first component that looks like a domain but is not a valid one
(``a.b_c/x`` becomes a reference with an *empty* domain there), this module rejects it: such a
reference names no registry that could be contacted.

Digests are :class:`Digest` objects, so only the algorithms and lengths ``digest.py`` accepts can
appear in a reference. Every problem raises :class:`InvalidReferenceError` (digest problems its
subclass :class:`InvalidDigestError`) with a message that names the input and the part at fault.
"""

from __future__ import annotations

import dataclasses
import re

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidDigestError,
    InvalidReferenceError,
    quote,
)

DEFAULT_DOMAIN = 'docker.io'
LEGACY_DEFAULT_DOMAIN = 'index.docker.io'
OFFICIAL_REPO_PREFIX = 'library/'
DEFAULT_TAG = 'latest'
LOCALHOST = 'localhost'

# Maximum length of "domain/path", as checked by containers/image on the normalised name.
NAME_TOTAL_LENGTH_MAX = 255
TAG_LENGTH_MAX = 128

_ALPHANUMERIC = r'[a-z0-9]+'
_SEPARATOR = r'(?:[._]|__|[-]+)'
_PATH_COMPONENT_RE = re.compile(_ALPHANUMERIC + r'(?:' + _SEPARATOR + _ALPHANUMERIC + r')*')
_DOMAIN_COMPONENT_RE = re.compile(r'[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]')
_IPV6_HOST_RE = re.compile(r'\[[a-fA-F0-9:]+\]')
_PORT_RE = re.compile(r'[0-9]+')
# Go's \w is ASCII-only; Python's is not, so the class is spelled out.
_TAG_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}')
_IDENTIFIER_RE = re.compile(r'[a-f0-9]{64}')

_PATH_CHARS_RE = re.compile(r'[a-zA-Z0-9._-]')
_SEPARATOR_RUN_RE = re.compile(r'[._-]+')
_VALID_SEPARATOR_RE = re.compile(_SEPARATOR)
_TAG_CHARS_RE = re.compile(r'[A-Za-z0-9_.-]')

_MESSAGE_CLIP = 200

# str.lower() maps some non-ASCII letters (the Kelvin sign) to ASCII ones; the grammar is ASCII.
_ASCII_LOWER = str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')


def _quote(value: str) -> str:
    """Double-quote ``value`` for a message: control characters escaped, userinfo redacted, clipped (errors.quote)."""
    return quote(value, _MESSAGE_CLIP)


def _tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not a valid tag, or None."""
    if _TAG_RE.fullmatch(tag):
        return None
    if not tag:
        reason = 'a tag must not be empty'
    else:
        bad = next((c for c in tag if not _TAG_CHARS_RE.fullmatch(c)), None)
        if bad is not None:
            reason = 'invalid character %s (allowed are letters, digits, "_", "." and "-")' % _quote(bad)
        elif tag[0] in '.-':
            reason = 'a tag must start with a letter, a digit or "_"'
        else:
            reason = 'a tag may be at most %d characters long, this one has %d' % (TAG_LENGTH_MAX, len(tag))
    return 'invalid tag %s: %s' % (_quote(tag), reason)


def _path_component_problem(component: str) -> str | None:
    """Why ``component`` is not a path component, or None; ASCII uppercase is left to the caller."""
    if _PATH_COMPONENT_RE.fullmatch(component.translate(_ASCII_LOWER)):
        return None
    if not component:
        return 'empty path component (a leading, trailing or doubled "/")'
    prefix = 'invalid path component %s: ' % _quote(component)
    bad = next((c for c in component if not _PATH_CHARS_RE.fullmatch(c)), None)
    if bad is not None:
        return prefix + 'invalid character %s (allowed are lowercase letters, digits, ".", "_" and "-")' % _quote(bad)
    if component[0] in '._-' or component[-1] in '._-':
        return prefix + 'it must start and end with a lowercase letter or a digit'
    for run in _SEPARATOR_RUN_RE.findall(component):
        if not _VALID_SEPARATOR_RE.fullmatch(run):
            return prefix + 'invalid separator %s (use one ".", one or two "_", or any number of "-")' % _quote(run)
    return prefix + 'it does not match %s' % _PATH_COMPONENT_RE.pattern


def _path_problem(path: str) -> str | None:
    """Why ``path`` is not a repository path (the name without its domain), or None."""
    if not path:
        return 'the repository path is empty'
    for component in path.split('/'):
        problem = _path_component_problem(component)
        if problem is not None:
            return problem
    # Only now: an uppercase letter is the whole problem, and the message says just that.
    if path.translate(_ASCII_LOWER) != path:
        return 'repository name must be lowercase'
    return None


def _domain_problem(domain: str) -> str | None:
    """Why ``domain`` is not ``host[:port]`` of the grammar, or None."""
    prefix = 'invalid domain %s: ' % _quote(domain)
    if not domain:
        return prefix + 'it is empty'
    if domain.startswith('['):
        end = domain.find(']')
        if end < 0 or not _IPV6_HOST_RE.fullmatch(domain[:end + 1]):
            return prefix + 'an IPv6 address must be in brackets and contain only hex digits and ":" (no zone, no embedded IPv4)'
        host, rest = domain[:end + 1], domain[end + 1:]
        if rest == ':':
            return prefix + 'empty port after ":"'
        if rest and (not rest.startswith(':') or not _PORT_RE.fullmatch(rest[1:])):
            return prefix + 'invalid port %s after %s' % (_quote(rest), _quote(host))
        return None
    host, sep, port = domain.partition(':')
    if sep:
        if ':' in port:
            return prefix + 'more than one ":" (an IPv6 address must be in brackets, as in "[::1]:5000")'
        if not port:
            return prefix + 'empty port after ":"'
        if not _PORT_RE.fullmatch(port):
            return prefix + 'the port %s is not a number' % _quote(port)
    for component in host.split('.'):
        if not _DOMAIN_COMPONENT_RE.fullmatch(component):
            if not component:
                return prefix + 'empty host name component'
            return prefix + ('invalid host name component %s (letters, digits and inner "-" only)' % _quote(component))
    return None


def _name_length_problem(name: str) -> str | None:
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        return 'repository name %s is %d characters long, the limit is %d' % (_quote(name), len(name), NAME_TOTAL_LENGTH_MAX)
    return None


def _split_docker_domain(name: str) -> tuple[str, str, bool]:
    """Split a name without tag or digest into (domain, path, domain_is_guess_from_uppercase).

    Mirrors splitDockerDomain: a single component is a Docker Hub official image; otherwise the
    first component is a domain if it is localhost, looks like a host (``.``/``:``) or is not
    lowercase (namespaces must be lowercase, so it cannot be one).
    """
    maybe_domain, slash, maybe_path = name.partition('/')
    by_case = False
    if not slash:
        domain, path = DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
        return domain, path, by_case
    if maybe_domain == LOCALHOST:
        domain, path = maybe_domain, maybe_path
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, path = DEFAULT_DOMAIN, maybe_path
    elif '.' in maybe_domain or ':' in maybe_domain:
        domain, path = maybe_domain, maybe_path
    elif maybe_domain.lower() != maybe_domain:
        domain, path, by_case = maybe_domain, maybe_path, True
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and path and '/' not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path, by_case


@dataclasses.dataclass(frozen=True)
class DockerReference:
    """A validated docker reference: ``domain/path[:tag][@digest]``.

    Construct it with :func:`parse_normalized_named` (user input) or :func:`parse_named`
    (canonical strings). Direct construction validates every field but does not normalise.
    A string ``digest`` is converted to a :class:`Digest`.
    """

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or not isinstance(self.path, str):
            raise InvalidReferenceError('invalid reference: domain and path must be strings, got %r and %r' % (self.domain, self.path))
        problem = _domain_problem(self.domain) or _path_problem(self.path) or _name_length_problem(self.name)
        if problem is None and self.tag is not None:
            if not isinstance(self.tag, str):
                problem = 'invalid tag %r: not a string' % (self.tag,)
            else:
                problem = _tag_problem(self.tag)
        if problem is not None:
            raise InvalidReferenceError('invalid reference %s: %s' % (_quote(self.name), problem))
        if self.digest is not None and not isinstance(self.digest, Digest):
            try:
                digest = Digest(self.digest)
            except InvalidDigestError as exc:
                raise InvalidDigestError('invalid reference %s: %s' % (_quote(self.name), exc.message)) from exc
            object.__setattr__(self, 'digest', digest)

    @property
    def name(self) -> str:
        """``domain/path``, without tag or digest."""
        return '%s/%s' % (self.domain, self.path)

    @property
    def repository(self) -> str:
        """The repository path as used in registry URLs (``/v2/<repository>/...``)."""
        return self.path

    @property
    def familiar_name(self) -> str:
        """The name as the docker CLI shows it: ``busybox``, ``user/app``, ``quay.io/x/y``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            remainder = self.path[len(OFFICIAL_REPO_PREFIX):]
            if '/' not in remainder:
                return remainder
        return self.path

    def _suffix(self) -> str:
        text = ''
        if self.tag is not None:
            text += ':' + self.tag
        if self.digest is not None:
            text += '@' + str(self.digest)
        return text

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar_string(self) -> str:
        """The reference as the docker CLI shows it (``busybox:latest``), as FamiliarString does.

        It normalises back to this reference, except for ``docker.io/library/<64 hex digits>``,
        whose familiar form is rejected as an image ID (also as in distribution/reference).
        """
        return self.familiar_name + self._suffix()

    def is_name_only(self) -> bool:
        """True when the reference has neither a tag nor a digest."""
        return self.tag is None and self.digest is None

    def with_tag(self, tag: str) -> 'DockerReference':
        """A copy with ``tag`` set (a digest, if any, is kept)."""
        validate_tag(tag)
        return dataclasses.replace(self, tag=tag)

    def with_digest(self, digest: 'Digest | str') -> 'DockerReference':
        """A copy with ``digest`` set (a tag, if any, is kept)."""
        return dataclasses.replace(self, digest=digest)

    def without_tag_or_digest(self) -> 'DockerReference':
        """The name only."""
        return dataclasses.replace(self, tag=None, digest=None)

    def with_default_tag(self) -> 'DockerReference':
        """A copy tagged ``latest`` if the reference is name-only, else ``self`` (TagNameOnly)."""
        return self.with_tag(DEFAULT_TAG) if self.is_name_only() else self


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag, else raise InvalidReferenceError naming the fault."""
    if not isinstance(tag, str):
        raise InvalidReferenceError('invalid tag %r: not a string' % (tag,))
    problem = _tag_problem(tag)
    if problem is not None:
        raise InvalidReferenceError(problem)
    return tag


def validate_repository_path(path: str) -> str:
    """Return ``path`` (a repository name without domain) if valid, else raise InvalidReferenceError."""
    if not isinstance(path, str):
        raise InvalidReferenceError('invalid repository path %r: not a string' % (path,))
    problem = _path_problem(path)
    if problem is None and len(path) > NAME_TOTAL_LENGTH_MAX:
        problem = 'it is %d characters long, the limit is %d' % (len(path), NAME_TOTAL_LENGTH_MAX)
    if problem is not None:
        raise InvalidReferenceError('invalid repository path %s: %s' % (_quote(path), problem))
    return path


def validate_domain(domain: str) -> str:
    """Return ``domain`` (``host[:port]``, IPv6 in brackets) if valid, else raise InvalidReferenceError."""
    if not isinstance(domain, str):
        raise InvalidReferenceError('invalid domain %r: not a string' % (domain,))
    problem = _domain_problem(domain)
    if problem is not None:
        raise InvalidReferenceError(problem)
    return domain


def parse_normalized_named(value: str) -> DockerReference:
    """Parse a reference as the user types it, normalising it as skopeo does.

    ``busybox`` becomes ``docker.io/library/busybox``, ``user/app:1`` becomes
    ``docker.io/user/app:1``, ``index.docker.io/x/y`` becomes ``docker.io/x/y``. No default tag is
    added; see :meth:`DockerReference.with_default_tag`.
    """
    if not isinstance(value, str):
        raise InvalidReferenceError('invalid reference %r: not a string' % (value,))

    def fail(problem: str) -> InvalidReferenceError:
        return InvalidReferenceError('invalid reference %s: %s' % (_quote(value), problem))

    if not value:
        raise fail('the reference is empty')
    if value.strip() != value:
        raise fail('leading or trailing whitespace')
    if _IDENTIFIER_RE.fullmatch(value):
        raise fail('a 64-character hexadecimal string is an image ID, not a repository name')
    scheme = value.find('://')
    if scheme >= 0:
        raise fail('a reference has no URL scheme, remove %s' % _quote(value[:scheme + 3]))

    # Neither a name nor a tag can contain "@", and a tag follows the last "/".
    remainder, at, digest_text = value.partition('@')
    if '/' in digest_text:
        raise fail('"@" may only introduce the digest at the end, but %s follows it' % _quote(digest_text))
    last_segment_start = remainder.rfind('/') + 1
    colon = remainder.find(':', last_segment_start)
    if colon >= 0:
        name, tag = remainder[:colon], remainder[colon + 1:]
    else:
        name, tag = remainder, None

    if not name:
        raise fail('missing repository name before %s' % _quote(value[len(name)]))
    if name.startswith('[') and '/' not in name:
        raise fail('missing repository path after the registry %s (as in "[::1]:5000/name")' % _quote(remainder))

    domain, path, domain_by_case = _split_docker_domain(name)
    problem = _domain_problem(domain)
    if problem is not None:
        # An uppercase first component was only taken for a domain because namespaces are lowercase.
        if domain_by_case and _path_component_problem(domain) is None:
            problem = 'repository name must be lowercase'
        raise fail(problem)
    if not path:
        raise fail('missing repository path after the registry %s' % _quote(domain))
    problem = _path_problem(path) or _name_length_problem('%s/%s' % (domain, path))
    if problem is not None:
        raise fail(problem)
    if tag is not None:
        if not tag:
            raise fail('empty tag after ":"')
        problem = _tag_problem(tag)
        if problem is not None:
            raise fail(problem)
    digest = None
    if at:
        if not digest_text:
            raise fail('empty digest after "@"')
        try:
            digest = Digest(digest_text)
        except InvalidDigestError as exc:
            raise InvalidDigestError('invalid reference %s: %s' % (_quote(value), exc.message)) from exc
    return DockerReference(domain=domain, path=path, tag=tag, digest=digest)


def parse_named(value: str) -> DockerReference:
    """Parse a reference that must already be canonical (``docker.io/library/busybox:latest``).

    Raises InvalidReferenceError when normalising would change ``value`` (``busybox``,
    ``index.docker.io/library/busybox``, ``docker.io/busybox``), naming the canonical form.
    """
    ref = parse_normalized_named(value)
    canonical = str(ref)
    if canonical != value:
        raise InvalidReferenceError('invalid reference %s: not canonical, the canonical form is %s' % (_quote(value), _quote(canonical)))
    return ref
