# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The manifest digest an image name points at now (lookup image_digest), with as few requests as possible.

For a registry image this is containers/image ``docker.GetDigest`` (``docker/docker_image.go``,
what ``skopeo inspect --format '{{.Digest}}'`` reports without reading the config): one ``HEAD`` of
the manifest, whose ``Docker-Content-Digest`` header is the answer. Only when the HEAD does not say
it (no or an invalid header, no ``Content-Type``, ``405``) is the manifest read with a ``GET``, and
its digest computed from the bytes (a signed schema1 manifest without its signatures, as
containers/image ``manifest.Digest``). A ``404`` is read again with a GET, which names the missing
image in the engine's words.

With a ``platform`` (``os/arch[/variant]``) and an index (OCI index or Docker manifest list), the
index is read (by the digest the HEAD gave, so verified against it) and the digest of the instance
skopeo would choose for that platform is returned (manifest.platform.choose_instance); a
single-platform image is returned as it is, whatever the platform, as containers/image copies it.
Every other transport (``oci:``, ``dir:``, ``oci-archive:``, ``docker-archive:``, ...) reads its
manifest through the engine's own source, as image_inspect does.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import INDEX_TYPES
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, Platform
from ansible_collections.ocikit.images.plugins.module_utils.manifest.parse import parse_any
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import choose_instance, parse_platform
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions, ImageReference


def _instance_digest(top: t.Any, platform: Platform) -> str:
    if not isinstance(top, ImageIndex):
        return str(top.digest)
    return str(choose_instance(top, platform.os, platform.architecture, platform.variant).digest)


def manifest_digest(ref: ImageReference, options: ConnectionOptions, platform: str | None = None) -> str:
    """The digest of the manifest ``ref`` names (module docstring); for an index and a ``platform``, the chosen instance's."""
    wanted = parse_platform(platform) if platform else None
    with ref.new_source(options) as src:
        head = src.head_manifest() if ref.transport.name == 'docker' else None
        if head is not None:
            digest, media_type = head
            if wanted is None or media_type not in INDEX_TYPES:
                return str(digest)
            # By digest: the source verifies the bytes against what the HEAD said.
            raw, media_type = src.get_manifest(digest)
            return _instance_digest(parse_any(raw, media_type), wanted)
        raw, media_type = src.get_manifest()
        top = parse_any(raw, media_type)
        return _instance_digest(top, wanted) if wanted is not None else str(top.digest)
