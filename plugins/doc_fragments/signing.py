# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Signing the manifest written (skopeo copy's --sign-by, --sign-by-sigstore-private-key, --sign-identity), shared by image_copy and image_sign."""

    DOCUMENTATION = r'''
options:
  sign_by:
    description:
      - Fingerprint of the GPG key to sign the manifest with (a simple signing signature, as skopeo's C(--sign-by)).
      - The secret key is read from O(sign_gnupghome) (default gpg's, C($GNUPGHOME) or C(~/.gnupg)); its public part is
        exported from there too, to recognise a signature it made before.
      - Use the primary key's fingerprint; skopeo 1.9.3 and older refuse signatures made by subkeys.
    type: str
  sign_by_sigstore_private_key:
    description:
      - Path of a sigstore private key (cosign or C(skopeo generate-sigstore-key) format, encrypted, or a plain PKCS#8 PEM) to sign
        the manifest with, as skopeo's C(--sign-by-sigstore-private-key).
      - A registry stores sigstore signatures as an attachment (the C(sha256-<hex>.sig) tag) only where registries.d sets
        C(use-sigstore-attachments) for it; otherwise the task fails before writing anything.
    type: path
  sign_identity:
    description:
      - The docker reference the signature claims, as skopeo's C(--sign-identity), expanded as containers/image does
        (C(busybox:1) is C(docker.io/library/busybox:1)); it must have a tag or a digest.
      - Defaults to the destination's own reference, which V(dir:), V(oci:) and archive destinations do not have; set it for them.
    type: str
  sign_passphrase:
    description:
      - The passphrase of the signing key (GPG key or sigstore private key), given to gpg with loopback pinentry (never a prompt).
      - Without it a protected GPG key can be used only when gpg-agent has its passphrase cached.
    type: str
  sign_passphrase_file:
    description:
      - A file whose first line is the passphrase, as skopeo's C(--sign-passphrase-file).
    type: path
  sign_gnupghome:
    description:
      - The GnuPG home holding the O(sign_by) key. Defaults to gpg's own (C($GNUPGHOME), else C(~/.gnupg)).
    type: path
notes:
  - Signing is idempotent. A destination that already holds the manifest with a valid signature by the same key for the same
    identity gets no new signature (GPG signatures carry a timestamp, so a new one would differ byte for byte), and the task
    reports C(changed=false).
  - The key, its passphrase (for sigstore keys) and the destination's ability to store the signature are checked before anything
    is written. A GPG passphrase is tried when the manifest is signed, which is before anything is written unless layers are
    (re)compressed (then the manifest exists only after the layers are written, and a failure leaves the destination's name
    where it was).
  - For an index, the index is signed (as skopeo does), not each image in it.
  - O(sign_passphrase) and O(sign_passphrase_file) are mutually exclusive.
  - O(sign_identity) or O(sign_passphrase) without a signing key is an error. O(sign_gnupghome) and O(sign_passphrase_file) are
    ignored then, so that C(module_defaults) can set them for tasks that do not all sign.
'''
