# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers of the ours-versus-skopeo benchmark (``tests/benchmarks/run.py``).

``measure`` runs one process and reports its wall time and peak RSS; ``sides`` knows how to run
the image_copy module and ``skopeo copy`` for one copy job; ``verify`` checks what a run left at
the destination; ``report`` turns runs into the table and the JSON file.
"""
