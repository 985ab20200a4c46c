# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One entry point for every manifest a source can return: schema2/OCI manifests and indexes, and Docker schema1."""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, ImageManifest, parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import Schema1Manifest, guess_media_type, parse_schema1

AnyParsed = t.Union[ImageManifest, ImageIndex, Schema1Manifest]


def parse_any(raw: bytes, content_type: str | None = None, expected_digest: Digest | None = None, what: str = 'manifest') -> AnyParsed:
    """Parse ``raw`` as whatever manifest it is; schema1 digests are of the payload without signatures."""
    reported = (content_type or '').split(';', 1)[0].strip().lower()
    if reported in mt.SCHEMA1_TYPES or (reported not in mt.SINGLE_IMAGE_TYPES + mt.INDEX_TYPES and guess_media_type(raw) in mt.SCHEMA1_TYPES):
        return parse_schema1(raw, content_type, expected_digest, what)
    return parse_manifest(raw, content_type, expected_digest, what)
