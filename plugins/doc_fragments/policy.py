# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The trust policy (containers-policy.json) and registries.d, shared by the modules that read images to copy them."""

    DOCUMENTATION = r'''
options:
  policy:
    description:
      - Path of the containers-policy.json trust policy that decides whether the source image may be copied, as skopeo's C(--policy).
      - Without O(policy), O(policy_data) and O(insecure_policy), the policy is read where containers/image reads it,
        C($HOME/.config/containers/policy.json), then C(/etc/containers/policy.json). When neither exists, the image is accepted
        and the task returns a warning saying so (skopeo fails instead).
      - The policy is evaluated on the source before anything is read beyond its manifests and before anything is written, in check
        mode too. A rejected image fails the task with the scope and the requirement that rejected it, and the destination is left
        untouched. A malformed policy (an unknown or duplicate key, two key sources, a bad scope) or a missing key file fails as well.
      - V(signedBy) with C(keyType=GPGKeys) (simple signing) is verified with gpg in a throwaway home; the user's keyrings are
        neither read nor changed. V(sigstoreSigned) (public keys, Rekor, Fulcio, PKI) is verified for V(dir:), V(oci:) and
        V(oci-archive:) images, and for registry images whose registries.d entry sets C(use-sigstore-attachments) to V(true).
        See C(docs/signing-and-policy.md).
    type: path
  policy_data:
    description:
      - The trust policy itself, as a dict with the structure of containers-policy.json, so that a playbook carries its policy.
      - Parsed as strictly as a file (unknown keys and bad scopes fail).
    type: dict
  insecure_policy:
    description:
      - Accept any image without reading a policy, as skopeo's C(--insecure-policy).
    type: bool
    default: false
  registries_d:
    description:
      - The registries.d directory that says where the signatures of registry images are kept, as skopeo's C(--registries.d);
        simple signatures in their lookaside, sigstore signatures in the C(sha256-HEX.sig) attachment in the image's repository
        (read and appended to) when C(use-sigstore-attachments) is V(true) for it.
      - Defaults to C($HOME/.config/containers/registries.d) when it exists, else C(/etc/containers/registries.d). Without an entry
        for the registry, signatures are read from containers/image's default lookaside directory.
      - A V(http://) or V(https://) lookaside is read with the registry's TLS settings and without its credentials.
      - Simple signatures copied into a registry are written, as skopeo writes them, to the destination repository's
        C(lookaside-staging) (else C(lookaside), else the default directory), which must then be a V(file://) directory.
    type: path
notes:
  - O(policy), O(policy_data) and O(insecure_policy) are mutually exclusive.
'''
