# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The :class:`~...signature.policy.SignatureVerifier` copies use: GPG simple signing and sigstore.

* ``verify_simple`` is :func:`...signature.simple.verify_signature`: the requirement's keyrings are
  imported into a throwaway GNUPGHOME (the user's keyrings are neither read nor changed) and the
  accepted keys are the primary keys they hold, as containers/image's ``newGPGSigningMechanismInDirectory``
  plus ``signedBy`` with ``keyType: GPGKeys``. The key reported is the primary key's fingerprint.
* ``verify_sigstore`` is :func:`...signature.sigstore_verifier.verify_sigstore` (public keys,
  Rekor, Fulcio and PKI, as ``sigstoreSigned`` in containers/image).

Neither compares the signed digest or identity with the image: :func:`...signature.policy.evaluate` does.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import Requirement, VerifiedPayload


class ImageVerifier:
    """Verifies simple signatures with gpg and sigstore signatures with sigstore.py."""

    def __init__(self, gpgbinary: str = 'gpg') -> None:
        self.gpgbinary = gpgbinary

    def verify_simple(self, blob: bytes, keyrings: t.Sequence[bytes]) -> VerifiedPayload:
        """The payload ``blob`` vouches for, when a primary key of ``keyrings`` (or its subkey) made it; SignatureError otherwise."""
        # Imported here: the gpg plumbing is needed only when there is a simple signature to check.
        from ansible_collections.ocikit.images.plugins.module_utils.signature.simple import verify_signature  # pylint: disable=import-outside-toplevel

        verified = verify_signature(blob, list(keyrings), gpgbinary=self.gpgbinary)
        return VerifiedPayload(docker_reference=verified.docker_reference, docker_manifest_digest=str(verified.manifest_digest),
                               key=verified.key_fingerprint)

    def verify_sigstore(self, blob: bytes, requirement: Requirement) -> VerifiedPayload:
        """The payload of a sigstore ``blob`` whose signer ``requirement`` trusts; SignatureError (or PolicyError for unusable keys) otherwise."""
        # Imported here: it loads cryptography, which a copy whose policy verifies no sigstore signature never needs.
        from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_verifier  # pylint: disable=import-outside-toplevel

        return sigstore_verifier.verify_sigstore(blob, requirement)
