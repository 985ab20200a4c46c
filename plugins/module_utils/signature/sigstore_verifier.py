# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sigstore half of policy.py's ``SignatureVerifier``: one stored blob checked against a ``sigstoreSigned`` requirement.

policy.py compares the signed digest with the manifest and the signed identity with
``signedIdentity`` itself; this module turns the requirement's trust material into keys and
certificates (files read when the image is evaluated, as containers/image does, through
``read_key_file``) and asks sigstore.py who signed the blob and what the payload says.

Unusable trust material (a missing or malformed key, CA or Rekor key file, a Rekor key that is not
ECDSA) is a PolicyError, which rejects every signature alike; anything wrong with the signature is
a SignatureError.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyError, quote
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_certs, sigstore_keys
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import VerifiedPayload
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config import Requirement, read_key_file


def _sources(path: str | None, paths: t.Sequence[str] | None, data: bytes | None, datas: t.Sequence[bytes] | None,
             what: str, field: str) -> list[tuple[str, bytes]]:
    """(name for messages, bytes) of each key of one ``<field>Path(s)``/``<field>Data(s)`` family, files read now.

    ``what`` names the files for read_key_file's messages ("public key file /k: ..."); inline data
    is named by its field (``keyData``, ``keyDatas 2``).
    """
    if path is not None:
        return [(quote(path), read_key_file(path, what))]
    if paths is not None:
        return [(quote(each), read_key_file(each, what)) for each in paths]
    if data is not None:
        return [('%sData' % field, data)]
    return [('%sDatas %d' % (field, index), each) for index, each in enumerate(datas or (), 1)]


def _one(path: str | None, data: bytes | None, what: str) -> bytes | None:
    if path is not None:
        return read_key_file(path, what)
    return data


def verify_sigstore(blob: bytes, requirement: Requirement, now: datetime.datetime | None = None) -> VerifiedPayload:
    """Who signed the sigstore ``blob`` and what it says, if ``requirement`` (``sigstoreSigned``) trusts the signer.

    ``VerifiedPayload.key`` names the accepting key (its file or data position and fingerprint) or
    the certificate's subject as the requirement constrains it. ``now`` is the time PKI
    certificates are checked at (default: now).
    """
    signature = sigstore.parse_blob(blob)
    rekor_sources = _sources(requirement.rekor_public_key_path, requirement.rekor_public_key_paths, requirement.rekor_public_key_data,
                             requirement.rekor_public_key_datas, 'Rekor public key file', 'rekorPublicKey')
    rekor_keys = [sigstore_keys.load_rekor_public_key(data, 'Rekor public key %s' % name, PolicyError) for name, data in rekor_sources]
    if requirement.fulcio is not None:
        fulcio = requirement.fulcio
        ca = _one(fulcio.ca_path, fulcio.ca_data, 'Fulcio CA file')
        if ca is None:
            raise PolicyError('fulcio has neither caPath nor caData')
        trust = sigstore_certs.FulcioTrustRoot(tuple(sigstore_certs.load_certificates(ca, 'Fulcio CA certificates', PolicyError)),
                                               fulcio.oidc_issuer, fulcio.subject_email)
        verified = sigstore.verify_cryptography(signature, rekor_keys=rekor_keys, fulcio=trust)
        key = 'Fulcio certificate for %s from %s (%s)' % (quote(fulcio.subject_email), quote(fulcio.oidc_issuer), verified.key_fingerprint)
    elif requirement.pki is not None:
        pki = requirement.pki
        roots = _one(pki.ca_roots_path, pki.ca_roots_data, 'PKI CA roots file')
        if roots is None:
            raise PolicyError('pki has neither caRootsPath nor caRootsData')
        intermediates = _one(pki.ca_intermediates_path, pki.ca_intermediates_data, 'PKI CA intermediates file')
        trust_pki = sigstore_certs.PKITrustRoot(
            tuple(sigstore_certs.load_certificates(roots, 'PKI CA roots', PolicyError)),
            tuple(sigstore_certs.load_certificates(intermediates, 'PKI CA intermediates', PolicyError)) if intermediates is not None else (),
            pki.subject_email or '', pki.subject_hostname or '')
        verified = sigstore.verify_cryptography(signature, pki=trust_pki, now=now)
        subjects = [quote(value) for value in (pki.subject_email, pki.subject_hostname) if value]
        key = 'PKI certificate for %s (%s)' % (' and '.join(subjects), verified.key_fingerprint)
    else:
        sources = _sources(requirement.key_path, requirement.key_paths, requirement.key_data, requirement.key_datas, 'public key file', 'key')
        if not sources:
            raise PolicyError('sigstoreSigned has no key, fulcio or pki')
        public_keys = [sigstore_keys.load_public_key(data, 'public key %s' % name, PolicyError) for name, data in sources]
        verified = sigstore.verify_cryptography(signature, public_keys, rekor_keys or None)
        key = 'public key %s (%s)' % (sources[verified.key_index][0], verified.key_fingerprint)
    return VerifiedPayload(docker_reference=verified.identity, docker_manifest_digest=str(verified.payload.manifest_digest), key=key)
