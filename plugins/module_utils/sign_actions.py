# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The work of the ``image_sign`` module: verify an image; skopeo's standalone-sign, standalone-verify,
manifest-digest and generate-sigstore-key. The module only maps its options to these functions.

What is compatible with containers/image and skopeo, and how:

* :func:`verify_image` evaluates a containers-policy.json with :func:`...signature.policy.evaluate`, the evaluator
  ``image_copy`` uses (containers/image's ``IsRunningImageAllowed``), on the manifest the reference names and the
  signatures its transport stores (a ``dir:`` image's ``signature-N`` files, a registry image's lookaside named by
  registries.d). Public keys given directly become an in-memory policy (:func:`direct_policy`: ``signedBy`` /
  ``sigstoreSigned`` with ``keyPaths`` and a ``signedIdentity``), so both paths share that one evaluator. For an index
  the index itself is evaluated, with the signatures stored for the index's digest (what ``skopeo copy --all
  --sign-by`` signs, and what the reference names).
* :func:`standalone_sign` is ``skopeo standalone-sign``: the reference is signed exactly as given, for
  ``manifest.Digest`` of the manifest file. With a sigstore private key it writes the blob containers/image stores for a
  sigstore signature (``\\x00sigstore-json\\n{...}``; skopeo has no such command).
* :func:`standalone_verify` is ``skopeo standalone-verify``: the signature, then the identity (equal to the expected
  reference after docker normalisation), then the manifest digest.
* :func:`manifest_file_digest` is ``skopeo manifest-digest`` (schema1 JWS signatures stripped).
* :func:`generate_key` is ``skopeo generate-sigstore-key``: an ECDSA P-256 pair, ``PREFIX.private`` (0600,
  ``ENCRYPTED COSIGN PRIVATE KEY``, scrypt + nacl/secretbox) and ``PREFIX.pub`` (``PUBLIC KEY``). Existing files are
  not overwritten (skopeo refuses too) unless forced; a pair that already matches the passphrase is left alone.

Files are written atomically (a temporary file in the same directory, fsynced, renamed into place) and never in check
mode. Passphrases are remembered as secrets (errors.remember_secret), so no message can carry one.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.copy.trust import describe as describe_verdict
from ansible_collections.ocikit.images.plugins.module_utils.copy.trust import policy_source
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidInputError,
    ManifestError,
    OcikitError,
    PolicyRejectedError,
    SignatureError,
    quote,
    remember_secret,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import fsync_dir, read_document, unlink_quietly
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import guess_media_type
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature.identity import (
    EXACT_REFERENCE,
    EXACT_REPOSITORY,
    MATCH_EXACT,
    MATCH_REPO_DIGEST_OR_EXACT,
    MATCH_REPOSITORY,
)
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import (
    FORMAT_SIGSTORE,
    FORMAT_SIMPLE_SIGNING,
    Policy,
    PolicyResult,
    SignatureVerifier,
    evaluate,
    parse_policy,
    reference_for_policy,
    signature_format,
)
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config import SIGNED_BY, SIGSTORE_SIGNED

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions, ImageReference

#: ``identity_match`` choices: the ``signedIdentity`` rules a direct-key verification can use.
IDENTITY_MATCH_CHOICES = (MATCH_REPO_DIGEST_OR_EXACT, MATCH_REPOSITORY, MATCH_EXACT, EXACT_REFERENCE)

#: Largest signature file read (containers/image's bound for one stored signature).
MAX_SIGNATURE_FILE_SIZE = 4 * 1024 * 1024
#: Largest key file read.
MAX_KEY_FILE_SIZE = 1024 * 1024

#: Result ``type`` of an accepted signature, by the requirement that accepted it.
_SIGNATURE_TYPES = {SIGNED_BY: 'gpg', SIGSTORE_SIGNED: 'sigstore'}


# -- small helpers -----------------------------------------------------------------------------------------------------


def read_passphrase(passphrase: str | None, passphrase_file: str | None) -> str | None:
    """The passphrase given inline or in a file (its first line, as skopeo's ``--passphrase-file``); None when neither.

    The value is remembered as a secret, so that no later message shows it.
    """
    if passphrase_file is not None:
        # The one reader of passphrase files (skopeo's pkg/cli/passphrase.go: the first line, its line ending trimmed).
        from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import read_passphrase_file  # pylint: disable=import-outside-toplevel

        passphrase = read_passphrase_file(passphrase_file)
    if passphrase is not None:
        remember_secret(passphrase)
    return passphrase


def _read_input(path: str, limit: int, what: str) -> bytes:
    """A small input file (manifest, signature, key), bounded; a clear error when it is missing or not a file."""
    label = '%s %s' % (what, quote(path))
    try:
        return read_document(path, limit, InvalidInputError, label)
    except FileNotFoundError:
        raise InvalidInputError('%s does not exist' % label) from None


def read_manifest_file(path: str) -> bytes:
    """The bytes of a manifest file (at most containers/image's manifest size limit)."""
    return _read_input(path, mt.MAX_MANIFEST_SIZE, 'manifest file')


def _manifest_digest(manifest: bytes, what: str) -> Digest:
    """containers/image's ``manifest.Digest`` of ``manifest``; ``what`` names it when a schema1 manifest's signatures are broken."""
    # Imported here: simple.py guards python-gnupg, which manifest_digest alone does not need.
    from ansible_collections.ocikit.images.plugins.module_utils.signature.simple import manifest_digest  # pylint: disable=import-outside-toplevel

    try:
        return manifest_digest(manifest)
    except ManifestError as exc:
        raise InvalidInputError('%s: %s' % (what, exc.message)) from None


def write_files_atomically(files: t.Sequence[tuple[str, bytes, int]]) -> None:
    """Write each ``(path, data, mode)``: all temporary files first, then the renames, in order.

    ``mode`` is applied less the umask (0600 stays 0600). A failure before the renames leaves every file as it was;
    each file is either its old or its new content, never a part.
    """
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[str, str]] = []
    try:
        for path, data, mode in files:
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory):
                raise InvalidInputError('cannot write %s: directory %s does not exist' % (quote(path), quote(directory)))
            try:
                fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
            except OSError as exc:
                raise InvalidInputError('cannot write %s: %s' % (quote(path), exc.strerror or type(exc).__name__)) from None
            staged.append((tmp, path))
            try:
                os.fchmod(fd, mode & ~umask)
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise InvalidInputError('cannot write %s: %s' % (quote(path), exc.strerror or type(exc).__name__)) from None
        while staged:
            tmp, path = staged[0]
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise InvalidInputError('cannot write %s: %s' % (quote(path), exc.strerror or type(exc).__name__)) from None
            staged.pop(0)
            fsync_dir(os.path.dirname(os.path.abspath(path)))
    finally:
        for tmp, dummy in staged:
            unlink_quietly(tmp)


def _current(path: str, limit: int, what: str) -> bytes | None:
    """The current content of an output file, None when there is none (a directory or a FIFO there is an error)."""
    try:
        return read_document(path, limit, InvalidInputError, '%s %s' % (what, quote(path)))
    except FileNotFoundError:
        return None


# -- manifest_digest ---------------------------------------------------------------------------------------------------


def manifest_file_digest(path: str) -> dict[str, t.Any]:
    """``skopeo manifest-digest PATH``: the digest of a manifest file, a signed schema1 manifest without its signatures."""
    return {'changed': False, 'digest': str(_manifest_digest(read_manifest_file(path), 'manifest file %s' % quote(path)))}


# -- verify --------------------------------------------------------------------------------------------------------------


def signed_identity(image_ref: 'ImageReference', identity: str | None, identity_match: str) -> dict[str, t.Any]:
    """The ``signedIdentity`` of a direct-key verification.

    Without ``identity`` the signature must name the image's own docker reference, by the ``identity_match`` rule
    (``matchRepoDigestOrExact``, ``matchRepository``, ``matchExact``). With it, the rule is applied to ``identity``
    instead: ``matchRepository`` becomes ``exactRepository`` of its repository, the others ``exactReference`` (a
    digest-only ``identity`` with ``matchRepoDigestOrExact`` accepts its repository, as that rule does for images used
    by digest).
    """
    if identity_match not in IDENTITY_MATCH_CHOICES:
        raise InvalidInputError('identity_match must be one of %s, not %s' % (', '.join(IDENTITY_MATCH_CHOICES), quote(identity_match)))
    if identity is None:
        if identity_match == EXACT_REFERENCE:
            raise InvalidInputError('identity_match: exactReference needs identity, the reference the signature must name')
        if image_ref.docker_reference() is None:
            raise InvalidInputError('identity is required: a %s: image has no docker reference to compare the signed identity with'
                                    % image_ref.transport.name)
        return {'type': identity_match}
    ref = parse_normalized_named(identity)
    if identity_match == MATCH_REPOSITORY:
        return {'type': EXACT_REPOSITORY, 'dockerRepository': ref.name}
    if ref.is_name_only():
        raise InvalidInputError('identity %s has neither a tag nor a digest; identity_match: %s compares both '
                                '(identity_match: matchRepository accepts any tag of the repository)' % (quote(identity), identity_match))
    if identity_match == MATCH_REPO_DIGEST_OR_EXACT and ref.tag is None:
        return {'type': EXACT_REPOSITORY, 'dockerRepository': ref.name}
    return {'type': EXACT_REFERENCE, 'dockerReference': str(ref)}


def direct_policy(image_ref: 'ImageReference', keys: t.Sequence[str] | None = None, sigstore_keys: t.Sequence[str] | None = None,
                  identity: str | None = None, identity_match: str = MATCH_REPO_DIGEST_OR_EXACT) -> Policy:
    """An in-memory policy trusting ``keys`` (GPG keyrings) or ``sigstore_keys`` (PEM public keys) for any image.

    ``{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": [...], "signedIdentity": ...}]}`` (or
    ``sigstoreSigned``), parsed by the policy parser like any policy. Key files are read when it is evaluated.
    """
    if bool(keys) == bool(sigstore_keys):
        raise InvalidInputError('give either keys (GPG public keys) or sigstore_keys (sigstore public keys) to verify with')
    requirement: dict[str, t.Any] = {'type': SIGNED_BY, 'keyType': 'GPGKeys'} if keys else {'type': SIGSTORE_SIGNED}
    requirement['keyPaths'] = [os.path.abspath(path) for path in (keys or sigstore_keys or ())]
    requirement['signedIdentity'] = signed_identity(image_ref, identity, identity_match)
    return parse_policy({'default': [requirement]})


@dataclasses.dataclass(frozen=True)
class VerifyOptions:
    """How :func:`verify_image` decides: with ``direct`` the policy was made from keys (messages name them, not a policy)."""

    direct: bool = False
    require_signature: bool = True
    fail_on_unverified: bool = True


def _accepted(policy: Policy, image_ref: 'ImageReference', manifest: bytes, signatures: t.Sequence[bytes], verdict: PolicyResult,
              verifier: SignatureVerifier) -> list[dict[str, t.Any]]:
    """Every signature a signature requirement of the scope accepts: ``{signature, type, key, identity}``, by position.

    The verdict names only the first accepted signature of each requirement; the others are evaluated one by one.
    """
    def entries(result: PolicyResult, index: int) -> list[dict[str, t.Any]]:
        return [{'signature': index, 'type': _SIGNATURE_TYPES[r.requirement.type], 'key': r.key, 'identity': r.identity}
                for r in result.results if r.accepted and r.requirement.verifies_signatures and r.key is not None][:1]

    if len(signatures) == 1:
        return entries(verdict, 1)
    found = []
    for index, blob in enumerate(signatures, 1):
        found.extend(entries(evaluate(policy, image_ref, manifest, [blob], verifier), index))
    return found


def _keys_described(policy: Policy) -> str:
    """The keys of a direct-key policy for messages: ``GPG keys "/a", "/b"``."""
    requirement = policy.default[0]
    kind = 'GPG keys' if requirement.type == SIGNED_BY else 'sigstore public keys'
    return '%s %s' % (kind, ', '.join(quote(path) for path in requirement.key_paths or ()))


def _success_reason(verdict: PolicyResult, policy: Policy, image_ref: 'ImageReference', options: VerifyOptions,
                    accepted: list[dict[str, t.Any]]) -> str:
    """Why the image is verified: the policy's message, or for direct keys which signatures the keys accepted."""
    if not options.direct:
        return verdict.message
    signed = ', '.join('signature %d by %s' % (entry['signature'], entry['key']) for entry in accepted)
    return '%s is verified by the %s: %s' % (quote(str(image_ref)), _keys_described(policy), signed)


def _failure_reason(verdict: PolicyResult, policy: Policy, image_ref: 'ImageReference', options: VerifyOptions) -> str:
    """Why the image is not verified: the policy's one-line message, or for direct keys the rejecting requirement's reason."""
    if not options.direct:
        return verdict.message
    reasons = [r.reason for r in verdict.results if not r.accepted]
    return '%s is not verified by the %s: %s' % (quote(str(image_ref)), _keys_described(policy), '; '.join(reasons) or verdict.message)


def verify_image(image_ref: 'ImageReference', connection: 'ConnectionOptions', policy: Policy, options: VerifyOptions,
                 verifier: SignatureVerifier | None = None) -> dict[str, t.Any]:
    """Whether ``policy`` accepts the image ``image_ref`` names, with the signatures its transport stores.

    The manifest read is the one the reference names (for an index, the index), digest-checked by the source when the
    reference has a digest. ``require_signature`` makes an acceptance without a verified signature (an
    ``insecureAcceptAnything`` scope, no policy found) a failure, as containers/image's ``RequireSignatureVerification``.
    Raises PolicyRejectedError with the reason when the image is not verified and ``fail_on_unverified``; otherwise the
    result says ``verified: false`` and why. Never writes anything.
    """
    if verifier is None:
        # Imported here: the verifier pulls in gpg plumbing that the other actions never need.
        from ansible_collections.ocikit.images.plugins.module_utils.signature.verifier import ImageVerifier  # pylint: disable=import-outside-toplevel

        verifier = ImageVerifier()
    with image_ref.new_source(connection) as src:
        manifest, media_type = src.get_manifest()
        signatures = src.get_signatures()
        image_ref = reference_for_policy(image_ref, src)
    verdict = evaluate(policy, image_ref, manifest, signatures, verifier, require_signed=options.require_signature)
    result: dict[str, t.Any] = {
        'changed': False,
        'verified': verdict.accepted,
        'digest': str(_manifest_digest(manifest, 'the manifest of %s' % quote(str(image_ref)))),
        # A dir: image stores no media type: the manifest's JSON says it, as containers/image guesses it.
        'media_type': media_type or guess_media_type(manifest) or None,
        'signatures': len(signatures),
        'formats': sorted({signature_format(blob) or 'unknown' for blob in signatures}),
        'policy': 'keys' if options.direct else policy_source(policy),
        'scope': verdict.selection.describe(),
        'requirement': None,
        'accepted': [],
    }
    if verdict.accepted:
        result['requirement'] = describe_verdict(verdict)['requirement']
        result['accepted'] = _accepted(policy, image_ref, manifest, signatures, verdict, verifier)
        result['reason'] = _success_reason(verdict, policy, image_ref, options, result['accepted'])
        return result
    reason = _failure_reason(verdict, policy, image_ref, options)
    if options.fail_on_unverified:
        raise PolicyRejectedError(reason)
    result['reason'] = reason
    return result


# -- standalone_sign / standalone_verify -----------------------------------------------------------------------------


def _load_sigstore_private_key(path: str, passphrase: str | None) -> t.Any:
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys  # pylint: disable=import-outside-toplevel

    return sigstore_keys.load_private_key(_read_input(path, MAX_KEY_FILE_SIZE, 'sigstore private key'), passphrase,
                                          'sigstore private key %s' % quote(path))


def _load_sigstore_public_keys(paths: t.Sequence[str]) -> list[t.Any]:
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys  # pylint: disable=import-outside-toplevel

    return [sigstore_keys.load_public_key(_read_input(path, MAX_KEY_FILE_SIZE, 'sigstore public key'), 'sigstore public key %s' % quote(path))
            for path in paths]


def _fingerprint_matches(wanted: str, primary: str, signing: str) -> bool:
    """Whether a signature by ``signing`` (a subkey of ``primary``, or itself) was made by the key the user named (fingerprint or key ID)."""
    return any(candidate.endswith(wanted) for candidate in (primary, signing))


def _gpg_signature_holds(blob: bytes, digest: Digest, reference: str, sign_by: str, gnupghome: str | None) -> str | None:
    """The primary fingerprint when ``blob`` is a valid signature by ``sign_by`` of ``digest`` as exactly ``reference``; else None."""
    from ansible_collections.ocikit.images.plugins.module_utils.signature import simple  # pylint: disable=import-outside-toplevel

    try:
        wanted = simple.normalize_fingerprint(sign_by)
        payload, primary, signing = simple.verify_blob(blob, [simple.export_public_keys([wanted], gnupghome)])
        parsed = simple.parse_payload(payload)
    except OcikitError:
        return None
    if not _fingerprint_matches(wanted, primary, signing) or parsed.manifest_digest != digest or parsed.docker_reference != reference:
        return None
    return primary


def _sigstore_signature_holds(blob: bytes, digest: Digest, reference: str, key: t.Any) -> bool:
    """Whether ``blob`` is a sigstore signature by ``key`` of ``digest`` for ``reference`` (normalised, as it is signed)."""
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

    try:
        verified = sigstore.verify_cryptography(sigstore.parse_blob(blob), [key.public_key()])
    except OcikitError:
        return False
    return verified.payload.manifest_digest == digest and verified.identity == str(parse_normalized_named(reference))


def standalone_sign(manifest_path: str, docker_reference: str, output: str, sign_by: str | None = None,
                    sigstore_private_key: str | None = None, passphrase: str | None = None, gnupghome: str | None = None,
                    check_mode: bool = False) -> dict[str, t.Any]:
    """``skopeo standalone-sign``: write a signature of the manifest file for ``docker_reference`` to ``output``.

    With ``sign_by`` (a GPG fingerprint of ``gnupghome``, gpg's default home when None) a simple signature; with
    ``sigstore_private_key`` a sigstore one. ``changed`` is false when ``output`` already holds a valid signature by that
    key of this manifest for this reference (a new signature would differ only by its timestamp).
    """
    if bool(sign_by) == bool(sigstore_private_key):
        raise InvalidInputError('give either sign_by (a GPG key fingerprint) or sign_by_sigstore_private_key to sign with')
    manifest = read_manifest_file(manifest_path)
    digest = _manifest_digest(manifest, 'manifest file %s' % quote(manifest_path))
    parse_normalized_named(docker_reference)
    current = _current(output, MAX_SIGNATURE_FILE_SIZE, 'signature file')
    result: dict[str, t.Any] = {'digest': str(digest), 'identity': docker_reference, 'signature': output}
    if sign_by:
        from ansible_collections.ocikit.images.plugins.module_utils.signature import simple  # pylint: disable=import-outside-toplevel

        result['type'] = 'gpg'
        held = _gpg_signature_holds(current, digest, docker_reference, sign_by, gnupghome) if current is not None else None
        if held is not None:
            return dict(result, changed=False, key=held)
        result['key'] = simple.normalize_fingerprint(sign_by)
        if check_mode:
            return dict(result, changed=True)
        blob = simple.standalone_sign(manifest, docker_reference, sign_by, passphrase=passphrase, gnupghome=gnupghome)
    else:
        from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_keys  # pylint: disable=import-outside-toplevel

        result['type'] = 'sigstore'
        key = _load_sigstore_private_key(t.cast(str, sigstore_private_key), passphrase)
        result['key'] = sigstore_keys.key_fingerprint(key.public_key())
        result['identity'] = str(parse_normalized_named(docker_reference))
        if current is not None and _sigstore_signature_holds(current, digest, docker_reference, key):
            return dict(result, changed=False)
        if check_mode:
            return dict(result, changed=True)
        blob = sigstore.sign(key, manifest, docker_reference).to_blob()
    write_files_atomically([(output, blob, 0o644)])
    return dict(result, changed=True)


def standalone_verify(manifest_path: str, docker_reference: str, signature_path: str, fingerprints: t.Sequence[str] | None = None,
                      keys: t.Sequence[str] | None = None, sigstore_keys: t.Sequence[str] | None = None, gnupghome: str | None = None,
                      fail_on_unverified: bool = True) -> dict[str, t.Any]:
    """``skopeo standalone-verify``: whether the signature file signs the manifest file as ``docker_reference``.

    A simple signature is checked against ``fingerprints`` (primary keys; their public keys exported from ``gnupghome``,
    gpg's default home when None, or read from ``keys`` files, where no fingerprint means any key of the files); a
    sigstore one against the PEM public keys ``sigstore_keys``. Returns the signed digest, the accepting key and the
    signed identity. A mismatch raises SignatureError, or with ``fail_on_unverified`` false returns ``verified: false``.
    """
    manifest = read_manifest_file(manifest_path)
    parse_normalized_named(docker_reference)
    blob = _read_input(signature_path, MAX_SIGNATURE_FILE_SIZE, 'signature file')
    found = signature_format(blob)
    try:
        if sigstore_keys:
            if keys or fingerprints:
                raise InvalidInputError('sigstore_keys cannot be combined with keys or fingerprints')
            from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

            if found != FORMAT_SIGSTORE:
                raise SignatureError('signature file %s is not a sigstore signature' % quote(signature_path))
            verified = sigstore.verify_cryptography(sigstore.parse_blob(blob), _load_sigstore_public_keys(sigstore_keys))
            kind, key, signed_reference, signed_digest = 'sigstore', verified.key_fingerprint, verified.identity, verified.payload.manifest_digest
        else:
            from ansible_collections.ocikit.images.plugins.module_utils.signature import simple  # pylint: disable=import-outside-toplevel

            if not fingerprints and not keys:
                raise InvalidInputError('give fingerprints (of keys in gnupghome), keys (public key files) or sigstore_keys to verify with')
            if found != FORMAT_SIMPLE_SIGNING:
                raise SignatureError('signature file %s is not a simple signing (GPG) signature' % quote(signature_path))
            accepted = [simple.normalize_fingerprint(value) for value in fingerprints] if fingerprints else None
            keyring: list[t.Any] = list(keys) if keys else [simple.export_public_keys(t.cast(t.List[str], accepted), gnupghome)]
            checked = simple.verify_signature(blob, keyring, accepted)
            kind, key, signed_reference, signed_digest = 'gpg', checked.key_fingerprint, checked.docker_reference, checked.manifest_digest
        # skopeo's order: the identity, then the manifest digest.
        from ansible_collections.ocikit.images.plugins.module_utils.signature.simple import check_identity  # pylint: disable=import-outside-toplevel

        check_identity(signed_reference, docker_reference)
        if not _digest_matches(manifest, signed_digest):
            raise SignatureError('manifest digest does not match: the signature is for %s, the manifest is %s'
                                 % (signed_digest, _manifest_digest(manifest, 'manifest file %s' % quote(manifest_path))))
    except SignatureError as exc:
        if fail_on_unverified:
            raise
        return {'changed': False, 'verified': False, 'reason': exc.message}
    return {'changed': False, 'verified': True, 'digest': str(signed_digest), 'key': key, 'identity': signed_reference, 'type': kind}


def _digest_matches(manifest: bytes, digest: Digest) -> bool:
    from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import manifest_matches_digest  # pylint: disable=import-outside-toplevel

    try:
        return manifest_matches_digest(manifest, str(digest))
    except ManifestError:
        return False


# -- generate_key ------------------------------------------------------------------------------------------------------


def _pair_state(private_path: str, public_path: str, passphrase: str) -> tuple[bool, str | None, str]:
    """``(matches, fingerprint, why not)`` of an existing pair: the private key decrypts and its public half is the .pub."""
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys  # pylint: disable=import-outside-toplevel

    private = _current(private_path, MAX_KEY_FILE_SIZE, 'private key file')
    public = _current(public_path, MAX_KEY_FILE_SIZE, 'public key file')
    if private is None and public is None:
        return False, None, ''
    if private is None or public is None:
        present = private_path if private is not None else public_path
        return False, None, '%s exists without its other half' % quote(present)
    try:
        key = sigstore_keys.load_private_key(private, passphrase, quote(private_path))
    except InvalidInputError as exc:
        return False, None, exc.message
    try:
        public_key = sigstore_keys.load_public_key(public, quote(public_path))
    except InvalidInputError as exc:
        return False, None, exc.message
    if sigstore_keys.public_key_pem(public_key) != sigstore_keys.public_key_pem(key.public_key()):
        return False, None, '%s is not the public key of %s' % (quote(public_path), quote(private_path))
    return True, sigstore_keys.key_fingerprint(public_key), ''


def generate_key(prefix: str, passphrase: str | None, force: bool = False, check_mode: bool = False) -> dict[str, t.Any]:
    """``skopeo generate-sigstore-key --output-prefix PREFIX``: write ``PREFIX.private`` (0600) and ``PREFIX.pub`` (0644).

    An existing pair whose private key decrypts with ``passphrase`` and whose public key is its public half is kept
    (``changed`` false). Any other existing file is refused, as skopeo refuses, unless ``force`` replaces the pair.
    """
    if passphrase is None:
        raise InvalidInputError('generate_key needs passphrase or passphrase_file (an empty passphrase is allowed)')
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys  # pylint: disable=import-outside-toplevel

    private_path, public_path = prefix + '.private', prefix + '.pub'
    matches, fingerprint, problem = _pair_state(private_path, public_path, passphrase)
    result: dict[str, t.Any] = {'private_key': private_path, 'public_key': public_path}
    if matches:
        return dict(result, changed=False, fingerprint=fingerprint)
    if problem and not force:
        raise InvalidInputError('refusing to overwrite the existing key pair %s: %s (force: true replaces it)' % (quote(prefix), problem))
    if check_mode:
        return dict(result, changed=True, fingerprint=None)
    private, public = sigstore_keys.generate_key_pair(passphrase)
    write_files_atomically([(private_path, private, 0o600), (public_path, public, 0o644)])
    return dict(result, changed=True, fingerprint=sigstore_keys.key_fingerprint(sigstore_keys.load_public_key(public)))
