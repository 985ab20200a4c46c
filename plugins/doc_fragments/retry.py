# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """skopeo's --retry-times / --retry-delay, shared by every module that talks to registries."""

    DOCUMENTATION = r'''
options:
  retry_times:
    description:
      - How many times to retry a request that failed for a reason that may pass (connection errors, HTTP 408, 429, 502, 503, 504),
        as skopeo's C(--retry-times). Authentication, permission and not-found errors are never retried.
      - A manifest, tag list or token whose answer is cut or stalls half-way is requested again; a blob upload or download cut
        that way, or whose token expires during the upload, starts again from the source (3 attempts at most).
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds to wait before the first retry; each further wait doubles (capped at 30 s) with jitter. A C(Retry-After) header
        from the registry is honoured instead. Defaults to 1 second.
    type: float
'''
