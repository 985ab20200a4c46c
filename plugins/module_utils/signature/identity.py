# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``signedIdentity`` of containers-policy.json: which signed docker reference an image accepts.

A signature names the image it was made for (``critical.identity.docker-reference``); the policy
says how that claim must relate to the reference the image is being used as (the "intended"
reference). These are containers/image's ``PolicyReferenceMatch`` values
(``signature/policy_reference_match.go``), as pure functions over parsed references:

==========================  =================================================================
``matchExact``              both carry a tag or digest and their canonical strings are equal
``matchRepoDigestOrExact``  (the default) a tagged image needs exactly its tag signed; an image
                            used by digest accepts any signature of the same repository
``matchRepository``         the repository names are equal (cosign signs names without a tag)
``exactReference``          the signature names one fixed tagged/digested reference
``exactRepository``         the signature names one fixed repository
``remapIdentity``           a mirror: the image's name prefix is replaced, then as the default
==========================  =================================================================

Both sides are normalised as docker does (``busybox`` is ``docker.io/library/busybox``); a signed
reference that does not parse never matches. An image without a docker reference (``dir:``,
``oci:``) matches only ``exactReference`` and ``exactRepository``, which ignore the image.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidReferenceError, quote
from ansible_collections.ocikit.images.plugins.module_utils.reference import (
    DockerReference,
    parse_named,
    parse_normalized_named,
    validate_domain,
    validate_repository_path,
)

MATCH_EXACT = 'matchExact'
MATCH_REPO_DIGEST_OR_EXACT = 'matchRepoDigestOrExact'
MATCH_REPOSITORY = 'matchRepository'
EXACT_REFERENCE = 'exactReference'
EXACT_REPOSITORY = 'exactRepository'
REMAP_IDENTITY = 'remapIdentity'


# -- the scopes a docker reference is looked up under (policy.json and registries.d) ---------------

def docker_identity(ref: DockerReference) -> str:
    """``host/path:tag`` or ``host/path@digest`` (containers/image ``DockerReferenceIdentity``).

    containers/image refuses a docker reference with both a tag and a digest; this collection
    accepts one, and the digest is what identifies its image, so the identity is the digest form
    (registries.d lookups use the same scopes, config/registries_d.py). A name alone is ``:latest``.
    """
    if ref.digest is not None:
        return '%s@%s' % (ref.name, ref.digest)
    return '%s:%s' % (ref.name, ref.tag or 'latest')


def docker_namespaces(ref: DockerReference) -> list[str]:
    """``docker.io/library/busybox``, ``docker.io/library``, ``docker.io``, ``*.io`` for ``busybox:latest``."""
    result = []
    name = ref.name
    while True:
        result.append(name)
        cut = name.rfind('/')
        if cut < 0:
            break
        name = name[:cut]
    if name.startswith('['):
        # An IPv6 address has no parent domains to wildcard.
        return result
    host = name.split(':', 1)[0]
    while '.' in host:
        host = host[host.index('.') + 1:]
        result.append('*.' + host)
    return result


# -- signedIdentity ------------------------------------------------------------------------------

def parse_signed_reference(value: t.Any) -> DockerReference | None:
    """``value`` parsed as docker does (ParseNormalizedNamed), or None when it is not a reference."""
    if not isinstance(value, str):
        return None
    try:
        return parse_normalized_named(value)
    except InvalidReferenceError:
        return None


def match_exact(intended: DockerReference | None, signed: DockerReference) -> bool:
    """``matchExact``: both have a tag or digest, and they are the same reference (both parts if both are set)."""
    if intended is None or intended.is_name_only() or signed.is_name_only():
        return False
    return str(signed) == str(intended)


def match_repo_digest_or_exact(intended: DockerReference | None, signed: DockerReference) -> bool:
    """``matchRepoDigestOrExact``: exact for a tagged image, same repository for an image used by digest only.

    The digest itself is not compared here: the evaluation has already checked the signed digest
    against the manifest, and the manifest against the image's digest.
    """
    if intended is None or signed.is_name_only():
        return False
    if intended.tag is not None:
        return str(signed) == str(intended)
    if intended.digest is not None:
        return signed.name == intended.name
    return False


def match_repository(intended: DockerReference | None, signed: DockerReference) -> bool:
    """``matchRepository``: same repository name, tags and digests ignored."""
    return intended is not None and signed.name == intended.name


def prefix_problem(prefix: t.Any) -> str | None:
    """Why ``prefix`` cannot be a ``remapIdentity`` prefix, or None.

    A prefix is ``host[:port]`` or ``host[:port]/path`` without tag or digest, as containers/image's
    ``validateIdentityRemappingPrefix`` accepts. Like it, this does not reject a short name
    (``busybox``, ``ns/busybox``): such a prefix never matches a normalised name.
    """
    if not isinstance(prefix, str):
        return 'must be a string'
    domain, slash, path = prefix.partition('/')
    try:
        validate_domain(domain)
        if slash:
            validate_repository_path(path)
    except InvalidReferenceError:
        return 'is not a host[:port] or host[:port]/path prefix without tag or digest'
    return None


def ref_matches_prefix(ref: DockerReference, prefix: str) -> bool:
    """Whether the repository name of ``ref`` is ``prefix`` or lies below it (a ``/`` follows the prefix)."""
    name = ref.name
    if len(name) == len(prefix):
        return name == prefix
    return len(name) > len(prefix) and name.startswith(prefix) and name[len(prefix)] == '/'


def remap_reference_prefix(ref: DockerReference, prefix: str, signed_prefix: str) -> DockerReference:
    """``ref`` with ``prefix`` replaced by ``signed_prefix`` when it matches, else ``ref`` unchanged.

    The result must be a canonical reference (containers/image's ``ParseNamed``); a rewrite that
    yields a short or invalid name raises InvalidReferenceError.
    """
    if not ref_matches_prefix(ref, prefix):
        return ref
    text = str(ref)
    rewritten = signed_prefix + text[len(prefix):]
    return parse_named(rewritten)


@dataclasses.dataclass(frozen=True)
class SignedIdentity:
    """A parsed ``signedIdentity`` (or ``baseLayerIdentity``) of containers-policy.json.

    ``type`` is one of the six names above; ``docker_reference`` is set for ``exactReference``,
    ``docker_repository`` for ``exactRepository``, ``prefix``/``signed_prefix`` for
    ``remapIdentity``. Build it with the policy parser, which validates the fields.
    """

    type: str
    docker_reference: str | None = None
    docker_repository: str | None = None
    prefix: str | None = None
    signed_prefix: str | None = None

    def matches(self, intended: DockerReference | None, signed_reference: str) -> bool:
        """Whether a signature claiming ``signed_reference`` is acceptable for an image used as ``intended``.

        ``intended`` is the image's docker reference (None for transports without one). Never
        raises: whatever cannot be parsed does not match, so the evaluation fails closed.
        """
        signed = parse_signed_reference(signed_reference)
        if signed is None:
            return False
        if self.type == MATCH_EXACT:
            return match_exact(intended, signed)
        if self.type == MATCH_REPO_DIGEST_OR_EXACT:
            return match_repo_digest_or_exact(intended, signed)
        if self.type == MATCH_REPOSITORY:
            return match_repository(intended, signed)
        if self.type == EXACT_REFERENCE:
            fixed = parse_signed_reference(self.docker_reference)
            return fixed is not None and not fixed.is_name_only() and not signed.is_name_only() and str(signed) == str(fixed)
        if self.type == EXACT_REPOSITORY:
            fixed = parse_signed_reference(self.docker_repository)
            return fixed is not None and signed.name == fixed.name
        if self.type == REMAP_IDENTITY:
            if intended is None or self.prefix is None or self.signed_prefix is None:
                return False
            try:
                remapped = remap_reference_prefix(intended, self.prefix, self.signed_prefix)
            except InvalidReferenceError:
                return False
            return match_repo_digest_or_exact(remapped, signed)
        return False

    def describe(self) -> str:
        """The identity rule for messages: ``matchExact``, ``exactReference "x"``, ``remapIdentity "a" -> "b"``."""
        if self.type == EXACT_REFERENCE:
            return '%s %s' % (self.type, quote(self.docker_reference))
        if self.type == EXACT_REPOSITORY:
            return '%s %s' % (self.type, quote(self.docker_repository))
        if self.type == REMAP_IDENTITY:
            return '%s %s -> %s' % (self.type, quote(self.prefix), quote(self.signed_prefix))
        return self.type


DEFAULT_SIGNED_IDENTITY = SignedIdentity(MATCH_REPO_DIGEST_OR_EXACT)
