# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one import of httpx, without the parts of it no module uses (every task that talks HTTP pays its import).

httpx's ``__init__`` imports its command-line client (``httpx._main``) whenever rich, click and pygments
are installed, as they are in execution environments that carry ansible-lint or ansible-navigator:
~45 ms of imports per task for a CLI no module runs. And ``httpx._decoders`` imports zstandard to
offer zstd ``Content-Encoding`` (~16 ms), which registries do not use and which a task that reads
no zstd layer does not need (compression.py imports zstandard itself when a layer is zstd).

So, when httpx is imported first here (the usual case: every other module of the collection takes
it from here), a stand-in ``httpx._main`` is in ``sys.modules`` while it loads (``httpx.main``
then says the command line is not available), and zstandard, when nothing imported it yet, reads as
missing while httpx loads; both entries are removed afterwards, so a later ``import zstandard``
loads the real package. httpx then advertises ``Accept-Encoding: gzip, deflate`` (and ``br`` with
brotli) but not ``zstd``, and decodes what it advertises. Where httpx was already imported (a
controller plugin, a test), it is used as it is.
"""

from __future__ import annotations

import sys
import types
import typing as t

HTTPX_IMPORT_ERROR: 'ImportError | None' = None


def _cli_unavailable(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    raise SystemExit('the httpx command line is not loaded by ocikit.images; run it in a Python of its own')


def _import_httpx() -> t.Any:
    stand_ins: dict[str, t.Any] = {}
    if 'httpx' not in sys.modules:
        if 'httpx._main' not in sys.modules:
            cli = types.ModuleType('httpx._main')
            cli.main = _cli_unavailable  # type: ignore[attr-defined]
            stand_ins['httpx._main'] = cli
        if 'zstandard' not in sys.modules:
            stand_ins['zstandard'] = None  # "import zstandard" raises ImportError while httpx loads
    sys.modules.update(stand_ins)
    try:
        import httpx  # pylint: disable=import-outside-toplevel
    finally:
        for name, value in stand_ins.items():
            if sys.modules.get(name, False) is value:
                del sys.modules[name]
    return httpx


try:
    httpx = _import_httpx()
except ImportError as _import_error:  # pragma: no cover - exercised only without httpx
    httpx = None
    HTTPX_IMPORT_ERROR = _import_error
