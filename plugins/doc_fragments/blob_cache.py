# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The record of where blobs were seen (as containers/image's blob info cache), for modules that write to registries."""

    DOCUMENTATION = r'''
options:
  blob_info_cache:
    description:
      - Keep a record, on the host that runs the module, of the registry repositories where blobs were uploaded, mounted
        or found, and mount a blob from one of them (one request, no bytes moved) when another repository of the same
        registry needs it, as skopeo does with its blob info cache. A play copying images that share base layers into
        several repositories then moves each shared layer once, across tasks and runs.
      - Only facts the host checked are recorded; a mount the registry declines (the blob was deleted, or these
        credentials cannot read that repository) costs one request, the blob is uploaded, and the record is dropped.
      - For a C(docker-daemon:) or C(containers-storage:) destination, the record also keeps the manifest digest of each image
        loaded, by image ID, so that a copy finding the image up to date reports the same manifest digest (those stores keep no manifest).
      - Anything wrong with the record (a read-only home, a damaged file) turns it off for the run; it never fails a task.
      - The record names repositories (not credentials); its file has mode 0600.
    type: bool
    default: true
  blob_info_cache_path:
    description:
      - The record's file. Defaults to C($XDG_CACHE_HOME/ocikit/blob-locations-v1.sqlite), that is
        C(~/.cache/ocikit/blob-locations-v1.sqlite) of the user the module runs as. Without a home directory and without
        this option, no record is kept.
    type: path
'''
