# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing an image where it stands (image_sign ``action: sign``): a copy of the image onto itself that adds a signature.

skopeo has no such command; its users copy an image onto itself with ``--sign-by``. That is what
this does, through the one copy engine, so everything a signed copy guarantees holds here too: the
same key checks before writing, idempotence by verifying the signatures already there (a valid
one by the same key for the same identity: nothing is written), honest check mode. The whole
index is kept (``multi_arch: all``) and signed, as skopeo signs an index it copies; the image's
existing signatures stay and the new one is added after them. Nothing but the signatures changes:
the manifest is written back unchanged (a registry sees the same manifest PUT again; blobs are
found present and not sent).
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SignOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions, ImageReference


def sign_in_place(ref: 'ImageReference', options: 'ConnectionOptions', sign: SignOptions, check_mode: bool = False) -> dict[str, t.Any]:
    """Add this signer's signatures to the image ``ref`` names (unless valid ones are there); the module result."""
    if not sign.wanted:
        raise InvalidInputError('action=sign needs sign_by or sign_by_sigstore_private_key')
    outcome = copy_image(ref, ref, options, options, CopyOptions(multi_arch='all'), check_mode=check_mode, sign=sign)
    before, after = outcome.signature_counts or (0, 0)
    digest = str(outcome.after) if outcome.after else None
    return {
        'changed': outcome.changed,
        'digest': digest,
        'signed': outcome.signed or [],
        'signatures': after,
        'reason': outcome.plan.reason if outcome.changed else 'the image already holds a valid signature by every key given',
        'diff': {'before': {'digest': digest, 'signatures': before}, 'after': {'digest': digest, 'signatures': after}},
    }
