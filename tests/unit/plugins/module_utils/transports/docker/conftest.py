# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the docker transport tests."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import FakeRegistry


@pytest.fixture(name='fake')
def fake_fixture() -> FakeRegistry:
    """An anonymous fake registry."""
    return FakeRegistry()
