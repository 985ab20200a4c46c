# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where the third-party signature fixtures are: ``shared/fixtures`` beside the project's clone.

They are read in place, never copied into the project. A user's clone has no ``shared/``: the tests
that need them skip with a reason that says where they were looked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURE_SETS = ('containers-image-signature', 'cosign-keys')


def _find_shared() -> Path | None:
    """``$OCIKIT_SHARED_DIR``, else the first ``shared/fixtures`` found walking up from this file."""
    override = os.environ.get('OCIKIT_SHARED_DIR')
    if override:
        candidate = Path(override) / 'fixtures'
        return candidate if candidate.is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / 'shared' / 'fixtures'
        if (candidate / FIXTURE_SETS[0]).is_dir():
            return candidate
    return None


@pytest.fixture(scope='session')
def shared_fixtures() -> Path:
    """The ``shared/fixtures`` directory (skips the test when it is absent)."""
    found = _find_shared()
    if found is None:
        pytest.skip('third-party signature fixtures not found: no shared/fixtures beside the clone '
                    '(set OCIKIT_SHARED_DIR to the directory that holds fixtures/)')
    return found


@pytest.fixture(scope='session')
def cimage_fixtures(shared_fixtures: Path) -> Path:
    """containers/image's signature fixtures (see their README for the expected verdicts)."""
    return shared_fixtures / 'containers-image-signature'


@pytest.fixture(scope='session')
def cosign_key_fixtures(shared_fixtures: Path) -> Path:
    """cosign's encrypted key vectors (passphrase in their README)."""
    return shared_fixtures / 'cosign-keys'
