# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fixture locator finds the shared fixtures from the collection copy ansible-test runs."""

from __future__ import annotations

import hashlib


def test_manifest_fixture_has_the_digest_its_readme_states(cimage_fixtures):
    raw = (cimage_fixtures / 'image.manifest.json').read_bytes()
    assert 'sha256:' + hashlib.sha256(raw).hexdigest() == 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55'
