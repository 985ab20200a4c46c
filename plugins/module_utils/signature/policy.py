# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""containers-policy.json in use: which requirements apply to an image, and whether they accept it.

Compatible with containers/image (``signature/policy_eval*.go``), so that a policy file decides
here as it decides for skopeo and podman. The types, the strict parser and :func:`load_policy`
live in :mod:`policy_config` and are re-exported here.

* **Scope selection** (``requirementsForImageRef``): the image's policy identity, then its
  namespaces from the most to the least specific, then the transport's ``""`` scope, then
  ``default``; the first hit wins, nothing is merged. The identity and namespaces are those of
  the transports' ``PolicyConfigurationIdentity``/``PolicyConfigurationNamespaces``.
* **Evaluation** (``IsRunningImageAllowed``) fails closed: every requirement of the selected scope
  must accept (an empty list rejects). ``signedBy``/``sigstoreSigned`` accept when at least one
  signature verifies, is for this manifest's digest (``manifest.MatchesDigest``: a signed schema1
  manifest without its JWS signatures) and names an identity the ``signedIdentity`` rule accepts;
  no signature at all is "a signature was required, but no signature exists".
  ``insecureAcceptAnything`` accepts without verifying anything (``require_signed`` refuses that,
  as containers/image's ``RequireSignatureVerification``). ``signedBaseLayer`` and the ``keyType``
  values other than ``GPGKeys`` parse but reject, as in containers/image. Key files are read at
  evaluation time, so a missing one rejects rather than failing the parse.
* Cryptography is not done here: a :class:`SignatureVerifier` (signature/simple.py for GPG,
  signature/sigstore.py) checks a signature against the requirement's keys and returns the payload
  it vouches for; this module compares that payload with the manifest and the identity rule.
"""

from __future__ import annotations

import dataclasses
import os
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidDigestError,
    ManifestError,
    OcikitError,
    PolicyError,
    PolicyRejectedError,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import guess_media_type, signed_payload
from ansible_collections.ocikit.images.plugins.module_utils.signature.identity import DEFAULT_SIGNED_IDENTITY, docker_identity, docker_namespaces
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config import (
    ACCEPT_ANYTHING,
    IMPLEMENTED_KEY_TYPE,
    INSECURE_ACCEPT_ANYTHING,
    PATH_TRANSPORTS,
    PKI,
    REJECT,
    SIGNED_BASE_LAYER,
    SIGNED_BY,
    SIGSTORE_SIGNED,
    Fulcio,
    Policy,
    Requirement,
    Requirements,
    key_path,
    load_policy,
    parse_policy,
    read_key_file,
    scope_problem,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ImageReference

# Re-exported: callers need one import for the whole policy API.
__all__ = [
    'ACCEPT_ANYTHING', 'PKI', 'Fulcio', 'Policy', 'PolicyResult', 'Requirement', 'RequirementResult', 'ScopeSelection', 'SignatureVerifier',
    'VerifiedPayload', 'check', 'docker_identity', 'docker_namespaces', 'evaluate', 'load_policy', 'manifest_matches_digest', 'parse_policy', 'policy_identity',
    'read_key_file', 'reference_for_policy', 'scope_problem', 'select_requirements', 'signature_format',
]

# How a signature blob from ImageSource.get_signatures is stored (containers/image internal/signature).
FORMAT_SIMPLE_SIGNING = 'simple-signing'
FORMAT_SIGSTORE = 'sigstore-json'

# Scope kinds, for results and messages.
SCOPE_IDENTITY = 'identity'
SCOPE_NAMESPACE = 'namespace'
SCOPE_TRANSPORT_DEFAULT = 'transport default'
SCOPE_DEFAULT = 'default'


# ---------------------------------------------------------------------------------------------
# Scope selection


def policy_identity(image_ref: 'ImageReference') -> tuple[str | None, list[str]]:
    """The image's policy identity and namespaces (``PolicyConfigurationIdentity``/``Namespaces``).

    docker: ``host[:port]/path:tag`` (or ``@digest``), then ``host/path`` and each parent up to
    ``host[:port]``, then ``*.sub.example.com`` ... ``*.com`` (port stripped). dir, oci, oci-archive:
    the symlink-resolved absolute path (an oci ``:ref`` is ignored), then each parent directory
    except ``/``. docker-daemon: a name as docker's, an image ID none. containers-storage:
    ``[DRIVER@GRAPHROOT]NAME`` (see :func:`_storage_identity`). docker-archive and transports without
    scopes: no identity (only ``""`` applies).
    """
    name = image_ref.transport.name
    if name in ('docker', 'docker-daemon'):
        # docker-daemon: a named image is scoped as docker's; one named by image ID has no identity (only "").
        ref = image_ref.docker_reference()
        if ref is None:
            return None, []
        return docker_identity(ref), docker_namespaces(ref)
    if name == 'containers-storage':
        return _storage_identity(image_ref)
    if name in PATH_TRANSPORTS:
        resolved = os.path.realpath(t.cast(str, getattr(image_ref, 'path')))
        namespaces = []
        parent = resolved
        while True:
            cut = parent.rfind('/')
            if cut <= 0:
                break
            parent = parent[:cut]
            namespaces.append(parent)
        return resolved, namespaces
    return None, []


def reference_for_policy(image_ref: 'ImageReference', source: t.Any) -> 'ImageReference':
    """The reference the policy scopes ``source``'s image by: the source's fuller one where it has one (``policy_reference``:
    a containers-storage source names the service's store), else ``image_ref``."""
    resolve = getattr(source, 'policy_reference', None)
    return resolve() if resolve is not None else image_ref


def _storage_identity(image_ref: 'ImageReference') -> tuple[str | None, list[str]]:
    """containers/image's storageReference scopes: ``[DRIVER@GRAPHROOT]NAME`` (or ``...@ID``), then the name's parents, the store, ``[GRAPHROOT]``.

    The store must be known: the reference a containers-storage source gives for the policy
    (``policy_reference``) has the service's. Without it the scopes cannot be chosen, and guessing
    would let a broader scope decide: PolicyError.
    """
    store = getattr(image_ref, 'store', None)
    if store is None or not store.driver or not store.root:
        raise PolicyError('the trust policy has scopes for containers-storage, and the store of %s is not known: its graph driver '
                          'and root decide which scope applies' % quote(str(image_ref)))
    spec = '[%s@%s]' % (store.driver, store.root)
    ref = image_ref.docker_reference()
    image_id = getattr(image_ref, 'image_id', None)
    identity = spec + (docker_identity(ref) if ref is not None else '') + ('@' + image_id.hex if image_id is not None else '')
    namespaces = []
    if ref is not None:
        components = ref.name.split('/')
        while components:
            namespaces.append(spec + '/'.join(components))
            components.pop()
    return identity, namespaces + [spec, '[%s]' % store.root]


@dataclasses.dataclass(frozen=True)
class ScopeSelection:
    """The requirements that apply to an image and the scope they came from.

    ``kind`` is ``identity``, ``namespace``, ``transport default`` (scope ``""``) or ``default``
    (the top-level ``default``; then ``transport`` and ``scope`` are None).
    """

    requirements: Requirements
    kind: str
    transport: str | None = None
    scope: str | None = None

    def describe(self) -> str:
        """The scope for messages: ``transports.docker["example.com/app"]`` or ``default``."""
        if self.transport is None:
            return 'default'
        return '%s[%s]' % (key_path('transports', self.transport), quote(self.scope))


def select_requirements(policy: Policy, image_ref: 'ImageReference') -> ScopeSelection:
    """containers/image's ``requirementsForImageRef``: the most specific scope wins, no merging."""
    transport = image_ref.transport.name
    scopes = policy.transports.get(transport)
    if scopes is not None and any(scope != '' for scope in scopes):
        identity, namespaces = policy_identity(image_ref)
        if identity is not None and identity in scopes:
            return ScopeSelection(scopes[identity], SCOPE_IDENTITY, transport, identity)
        for namespace in namespaces:
            if namespace in scopes:
                return ScopeSelection(scopes[namespace], SCOPE_NAMESPACE, transport, namespace)
    if scopes is not None and '' in scopes:
        return ScopeSelection(scopes[''], SCOPE_TRANSPORT_DEFAULT, transport, '')
    return ScopeSelection(policy.default, SCOPE_DEFAULT)


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclasses.dataclass(frozen=True)
class VerifiedPayload:
    """What a cryptographically valid signature vouches for, as a verifier returns it.

    ``docker_reference`` is the signed ``critical.identity.docker-reference`` (not yet matched
    against the policy), ``docker_manifest_digest`` the signed ``critical.image.docker-manifest-digest``
    (not yet compared with the manifest), ``key`` the accepted key (uppercase primary-key fingerprint
    for GPG; a key or certificate description for sigstore).
    """

    docker_reference: str
    docker_manifest_digest: str
    key: str


class SignatureVerifier(t.Protocol):
    """Checks one signature's cryptography against a requirement's trust roots.

    Implemented by signature/simple.py (GPG) and signature/sigstore.py. Both raise SignatureError
    (one line, no secrets) when the signature is malformed, not valid, by an untrusted key, or its
    payload is not a well-formed image signature; they do NOT compare the payload with the manifest
    or the policy identity, :func:`evaluate` does that.
    """

    def verify_simple(self, blob: bytes, keyrings: t.Sequence[bytes]) -> VerifiedPayload:
        """A simple-signing (OpenPGP) ``blob`` signed by a primary key (or its subkey) in one of ``keyrings``."""

    def verify_sigstore(self, blob: bytes, requirement: Requirement) -> VerifiedPayload:
        """A sigstore ``blob`` (``\\x00sigstore-json\\n{...}``) checked against the keys, Fulcio/PKI and Rekor rules of ``requirement``.

        Key, CA and Rekor files named by paths are read with :func:`read_key_file`.
        """


@dataclasses.dataclass(frozen=True)
class RequirementResult:
    """How one requirement of the selected scope decided.

    ``signature`` (1-based index into the signatures), ``key`` and ``identity`` are set when a
    signature requirement accepted; ``reason`` says why it rejected.
    """

    requirement: Requirement
    accepted: bool
    reason: str = ''
    signature: int | None = None
    key: str | None = None
    identity: str | None = None


@dataclasses.dataclass(frozen=True)
class PolicyResult:
    """The verdict of :func:`evaluate`: accepted or not, by which scope, and each requirement's decision."""

    accepted: bool
    selection: ScopeSelection
    results: tuple[RequirementResult, ...]
    message: str
    warning: str | None = None

    @property
    def verified(self) -> bool:
        """Whether a signature was verified (an insecureAcceptAnything acceptance is not)."""
        return self.accepted and any(result.accepted and result.requirement.verifies_signatures for result in self.results)


def signature_format(blob: bytes) -> str | None:
    """``simple-signing``, ``sigstore-json`` or another format name, as containers/image classifies a stored blob.

    A blob starting with ``\\x00`` is ``\\x00<format>\\n<data>``; otherwise an OpenPGP message is
    recognised by its first packet tag (armored or clear-signed text is not a simple signature).
    None when it is neither.
    """
    if not blob:
        return None
    if blob[0] == 0:
        header, newline, dummy = blob[1:].partition(b'\n')
        if not newline:
            return None
        return header.decode('ascii', 'replace')
    # Imported here: simple.py (gpg plumbing) is needed only when there is a signature to look at.
    from ansible_collections.ocikit.images.plugins.module_utils.signature.simple import OPENPGP_FIRST_BYTES

    return FORMAT_SIMPLE_SIGNING if blob[0] in OPENPGP_FIRST_BYTES else None


def manifest_matches_digest(manifest: bytes, digest_text: str) -> bool:
    """containers/image's ``manifest.MatchesDigest``: a signed schema1 manifest counts without its JWS signatures.

    Raises ManifestError when the manifest cannot be digested (a schema1 manifest with broken signatures).
    """
    try:
        expected = Digest(digest_text)
    except InvalidDigestError:
        return False
    payload = signed_payload(manifest) if guess_media_type(manifest) == mt.DOCKER_V2S1_SIGNED else manifest
    return Digest.from_bytes(payload, expected.algorithm) == expected


class _Evaluation:
    """One image's evaluation; keeps per-run state (keys read once) out of the pure functions."""

    def __init__(self, image_ref: 'ImageReference', manifest: bytes, signatures: t.Sequence[bytes],
                 verifier: SignatureVerifier | None) -> None:
        self.image_ref = image_ref
        self.manifest = manifest
        self.signatures = list(signatures)
        self.verifier = verifier
        self.intended = image_ref.docker_reference()

    def requirement(self, requirement: Requirement) -> RequirementResult:
        """Decide one requirement; every failure is a rejection with its reason."""
        if requirement.type == INSECURE_ACCEPT_ANYTHING:
            return RequirementResult(requirement, True)
        if requirement.type == REJECT:
            return RequirementResult(requirement, False, 'the policy rejects this image ("type": "reject")')
        if requirement.type == SIGNED_BASE_LAYER:
            return RequirementResult(requirement, False, 'signedBaseLayer is not implemented, so it rejects (as in containers/image)')
        if requirement.type == SIGNED_BY:
            if requirement.key_type != IMPLEMENTED_KEY_TYPE:
                return RequirementResult(requirement, False, 'keyType %s is not implemented, so it rejects (as in containers/image)'
                                         % quote(requirement.key_type))
            return self.signatures_of(requirement, FORMAT_SIMPLE_SIGNING)
        if requirement.type == SIGSTORE_SIGNED:
            return self.signatures_of(requirement, FORMAT_SIGSTORE)
        return RequirementResult(requirement, False, 'unknown requirement type %s' % quote(requirement.type))

    def signatures_of(self, requirement: Requirement, wanted: str) -> RequirementResult:
        """Accept when one signature verifies, is for this manifest and has an accepted identity."""
        if not self.signatures:
            return RequirementResult(requirement, False, 'a signature was required, but no signature exists')
        reasons = []
        keyrings: list[bytes] | None = None
        for index, blob in enumerate(self.signatures, 1):
            found = signature_format(blob)
            if found != wanted:
                described = 'of an unknown format' if found is None else 'a %s signature' % quote(found)
                reasons.append('signature %d is %s, not a %s signature' % (index, described, wanted))
                continue
            if self.verifier is None:
                reasons.append('signature %d cannot be verified: no %s verifier is available' % (index, wanted))
                continue
            payload: VerifiedPayload | None = None
            try:
                if wanted == FORMAT_SIMPLE_SIGNING:
                    if keyrings is None:
                        keyrings = self.keyrings(requirement)
                    payload = self.verifier.verify_simple(blob, keyrings)
                else:
                    payload = self.verifier.verify_sigstore(blob, requirement)
                problem = self.payload_problem(requirement, payload)
            except PolicyError as exc:
                # A key file that cannot be read fails every signature alike: say it once.
                return RequirementResult(requirement, False, exc.message)
            except OcikitError as exc:
                problem = exc.message
            if problem is None and payload is not None:
                return RequirementResult(requirement, True, signature=index, key=payload.key, identity=payload.docker_reference)
            reasons.append('signature %d: %s' % (index, problem))
        if len(reasons) == 1:
            return RequirementResult(requirement, False, reasons[0])
        return RequirementResult(requirement, False, 'none of the %d signatures was accepted: %s' % (len(reasons), '; '.join(reasons)))

    def keyrings(self, requirement: Requirement) -> list[bytes]:
        """The GPG keyrings of a signedBy requirement, read now (as containers/image does at evaluation)."""
        if requirement.key_data is not None:
            return [requirement.key_data]
        paths = [requirement.key_path] if requirement.key_path is not None else list(requirement.key_paths or ())
        return [read_key_file(path, 'GPG keyring') for path in paths]

    def payload_problem(self, requirement: Requirement, payload: VerifiedPayload) -> str | None:
        """Why a cryptographically valid payload does not fit this image, or None."""
        if not manifest_matches_digest(self.manifest, payload.docker_manifest_digest):
            return 'it is for manifest digest %s, which does not match the image\'s manifest' % quote(payload.docker_manifest_digest)
        identity = requirement.signed_identity or DEFAULT_SIGNED_IDENTITY
        if not identity.matches(self.intended, payload.docker_reference):
            return 'its identity %s is not accepted by %s for %s' % (quote(payload.docker_reference), identity.describe(),
                                                                     quote(str(self.intended)) if self.intended else 'an image without '
                                                                     'a docker reference')
        return None


def evaluate(policy: Policy, image_ref: 'ImageReference', manifest: bytes, signatures: t.Sequence[bytes],
             verifier: SignatureVerifier | None = None, require_signed: bool = False) -> PolicyResult:
    """Whether ``policy`` allows the image ``image_ref`` whose manifest is ``manifest`` and whose stored signatures are ``signatures``.

    ``manifest`` is the one image's manifest (for a manifest list, each instance is evaluated on
    its own, as containers/image does in copy). ``signatures`` are the raw blobs of
    ``ImageSource.get_signatures``. Every requirement of the selected scope is evaluated and all
    must accept; ``require_signed`` additionally wants one accepting requirement that verified a
    signature (containers/image's ``RequireSignatureVerification``). Never raises for a bad image
    or signature: the result says rejected and why.
    """
    selection = select_requirements(policy, image_ref)
    run = _Evaluation(image_ref, manifest, signatures, verifier)
    if run.intended is not None and run.intended.digest is not None:
        # The source verified this already when it read the manifest; checked again because a result that says
        # "accepted" must hold for exactly these bytes.
        try:
            digest_ok = manifest_matches_digest(manifest, str(run.intended.digest))
        except ManifestError:
            digest_ok = False
        if not digest_ok:
            return _verdict(policy, image_ref, selection, (), 'the manifest does not match the digest in the reference')
    results = tuple(run.requirement(requirement) for requirement in selection.requirements)
    problem = None
    if not selection.requirements:
        problem = 'the scope has no requirements, so it rejects'
    elif require_signed and all(result.accepted for result in results) and not any(result.requirement.verifies_signatures for result in results):
        # A requirement that rejects is the better reason (named by _verdict); this is for a scope that accepts without verifying.
        problem = 'a verified signature is required, but no requirement of the scope verified one'
    return _verdict(policy, image_ref, selection, results, problem)


def _verdict(policy: Policy, image_ref: 'ImageReference', selection: ScopeSelection, results: tuple[RequirementResult, ...],
             problem: str | None) -> PolicyResult:
    """The result and its one-line message: the first rejecting requirement (by 1-based position) is named."""
    where = 'policy %s' % policy.source if policy.source != 'policy data' else 'the policy'
    image = quote(str(image_ref))
    if problem is None:
        for position, result in enumerate(results, 1):
            if not result.accepted:
                message = '%s rejects %s (scope %s, requirement %d %s): %s' % (
                    where, image, selection.describe(), position, result.requirement.describe(), result.reason)
                return PolicyResult(False, selection, results, message, policy.warning)
        message = '%s accepts %s (scope %s)' % (where, image, selection.describe())
        return PolicyResult(True, selection, results, message, policy.warning)
    message = '%s rejects %s (scope %s): %s' % (where, image, selection.describe(), problem)
    return PolicyResult(False, selection, results, message, policy.warning)


def check(policy: Policy, image_ref: 'ImageReference', manifest: bytes, signatures: t.Sequence[bytes],
          verifier: SignatureVerifier | None = None, require_signed: bool = False) -> PolicyResult:
    """:func:`evaluate`, raising PolicyRejectedError with the result's message when the image is rejected."""
    result = evaluate(policy, image_ref, manifest, signatures, verifier, require_signed)
    if not result.accepted:
        raise PolicyRejectedError(result.message)
    return result
