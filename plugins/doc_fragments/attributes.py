# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The attributes every module of the collection documents; each module says its own support and details."""

    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and predict C(changed) without changing anything.
  diff_mode:
    description: In diff mode, returns what changed (or would change, in check mode).
  idempotent:
    description:
      - Running the task again with the same options, once it has succeeded and nothing else has changed the images, reports C(ok)
        and writes nothing.
  platform:
    description: The managed nodes the module runs on.
    support: full
    platforms: posix
  action_group:
    description: Part of the action group C(ocikit.images.images), so C(module_defaults) with C(group/ocikit.images.images) sets its options.
    support: full
    membership:
      - ocikit.images.images
'''
