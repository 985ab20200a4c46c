# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The trust policy in a copy: which manifests of the source are evaluated, with which signatures, and what the result says.

As containers/image's ``copy/single.go`` (``IsRunningImageAllowed`` right after the manifest is
read, before any blob): every single image the copy takes is evaluated on its own manifest and its
own signatures (an index's instances by their digests, as ``copyMultipleImages`` evaluates each
instance it copies). An index copied alone (``multi_arch: index-only``) has no instance to
evaluate, so the index itself is, with its signatures: stricter than containers/image, which
evaluates nothing then, but an image that no policy looked at is never written. Signatures are
read only when the selected scope has a requirement that verifies them, so an
``insecureAcceptAnything`` policy costs no lookaside request.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import SourceImage
from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyRejectedError
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import (
    Policy,
    PolicyResult,
    SignatureVerifier,
    evaluate,
    reference_for_policy,
    select_requirements,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ImageReference, ImageSource

# How Policy.source values are reported in the result.
_SOURCE_NAMES = {'policy data': 'inline', 'none': 'none found', 'insecure': 'insecure_policy'}


def policy_source(policy: Policy) -> str:
    """Where the policy came from, for the result: its file, ``inline``, ``insecure_policy`` or ``none found``."""
    return _SOURCE_NAMES.get(policy.source, policy.source)


def manifests_to_evaluate(source: SourceImage) -> list[tuple[bytes, 'Digest | None']]:
    """``(manifest bytes, instance digest or None for the top manifest)`` of every image the copy takes."""
    if isinstance(source.top, ImageIndex) and source.instances:
        return [(image.raw, image.digest) for image in source.instances]
    return [(source.top.raw, None)]


def describe(result: PolicyResult) -> dict[str, t.Any]:
    """One evaluation for the result: scope, requirement type and, for a verified signature, key and identity."""
    accepted = [r for r in result.results if r.accepted]
    chosen = next((r for r in accepted if r.requirement.verifies_signatures), accepted[0] if accepted else None)
    entry: dict[str, t.Any] = {'scope': result.selection.describe(), 'requirement': chosen.requirement.type if chosen else None}
    if chosen is not None and chosen.key is not None:
        entry['key'] = chosen.key
        entry['identity'] = chosen.identity
    return entry


def check_source(policy: Policy, src_ref: 'ImageReference', src: 'ImageSource', source: SourceImage,
                 verifier: SignatureVerifier | None) -> dict[str, t.Any]:
    """Evaluate ``policy`` on every image of ``source`` the copy takes; the ``policy`` result, or PolicyRejectedError.

    Called before the destination is opened: a rejected image leaves it untouched.
    """
    src_ref = reference_for_policy(src_ref, src)
    needs_signatures = any(r.verifies_signatures for r in select_requirements(policy, src_ref).requirements)
    entries = []
    manifests = manifests_to_evaluate(source)
    for raw, instance in manifests:
        signatures = src.get_signatures(instance) if needs_signatures else []
        result = evaluate(policy, src_ref, raw, signatures, verifier)
        if not result.accepted:
            raise PolicyRejectedError(result.message if instance is None else 'image %s of the index: %s' % (instance, result.message))
        entry = describe(result)
        if instance is not None:
            entry['digest'] = str(instance)
        entries.append(entry)
    outcome: dict[str, t.Any] = {'source': policy_source(policy)}
    outcome.update({k: v for k, v in entries[0].items() if k != 'digest'})
    if len(entries) > 1:
        outcome['images'] = entries
    return outcome
