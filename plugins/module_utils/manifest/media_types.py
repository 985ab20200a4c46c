# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Media types of manifests, configs and layers, and the families they belong to."""

from __future__ import annotations

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar'
OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
OCI_LAYER_NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar'
OCI_LAYER_NONDISTRIBUTABLE_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'

DOCKER_V2S2 = 'application/vnd.docker.distribution.manifest.v2+json'
DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
DOCKER_V2S1 = 'application/vnd.docker.distribution.manifest.v1+json'
DOCKER_V2S1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws'
DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
DOCKER_LAYER_FOREIGN_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'

SINGLE_IMAGE_TYPES = (OCI_MANIFEST, DOCKER_V2S2)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
SCHEMA1_TYPES = (DOCKER_V2S1, DOCKER_V2S1_SIGNED)

# What we ask a registry for, most preferred first; the same list as containers/image's
# DefaultRequestedManifestMIMETypes, so registries that negotiate answer us as they answer skopeo.
ACCEPTED_MANIFEST_TYPES = (
    OCI_MANIFEST,
    DOCKER_V2S2,
    DOCKER_V2S1_SIGNED,
    DOCKER_V2S1,
    DOCKER_LIST,
    OCI_INDEX,
)

MAX_MANIFEST_SIZE = 4 * 1024 * 1024
MAX_CONFIG_SIZE = 4 * 1024 * 1024


def is_index(media_type: str) -> bool:
    """True for OCI indexes and Docker manifest lists."""
    return media_type in INDEX_TYPES
