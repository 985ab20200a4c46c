# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller plugins (filter/, lookup/) and modules tested in one process, each on its own side.

The first import of controller code (``ansible.errors``, which the filter and lookup plugins need)
switches ansible-core's module_utils to the controller's ways for the whole process
(``ansible.module_utils._internal.is_controller``): a module's ``warn()`` then prints through
Display instead of returning ``warnings`` in its result, and module tests that run after any
plugin test would see results no managed node produces. ansible-test units forks each test, so
there the switch never leaks; a plain ``pytest tests/unit`` does not. So the switch is made here,
once, before any test module is imported, and then undone; the tests under ``filter/`` and
``lookup/`` run with it on (:func:`controller_side`), every other test with it off, as on a node.
"""

from __future__ import annotations

import typing as t

import pytest

from ansible.module_utils import _internal as module_utils_internal

_NODE_SIDE = module_utils_internal.is_controller
try:
    # pylint: disable-next=wrong-import-position,unused-import
    import ansible.errors  # noqa: E402,F401
except ImportError:
    # ansible-test units runs the module tests where controller code cannot be imported: nothing to switch there.
    pass

module_utils_internal.is_controller = _NODE_SIDE
CONTROLLER_TEST_DIRS = ('filter', 'lookup')


@pytest.fixture(autouse=True)
def controller_side(request: pytest.FixtureRequest) -> t.Iterator[None]:
    """The controller's module_utils mode for the tests of controller plugins, the node's for every other test."""
    controller = request.node.path.parent.name in CONTROLLER_TEST_DIRS
    previous = module_utils_internal.is_controller
    module_utils_internal.is_controller = controller or _NODE_SIDE
    try:
        yield
    finally:
        module_utils_internal.is_controller = previous
