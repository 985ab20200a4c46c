# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The methods ``@dataclass`` writes, compiled once per interpreter and kept with the bytecode cache.

A dataclass gets its ``__init__``, ``__repr__`` and ``__eq__`` (and for a frozen one ``__hash__``,
``__setattr__`` and ``__delattr__``) as source text that ``dataclasses`` compiles with ``exec``
when the ``class`` statement runs, in every process. An up-to-date ``image_copy`` creates ~80
dataclasses (ours, ansible-core's, h11's) and compiled ~340 such functions: 18 ms, a tenth of the
task, more than any single import.

In a module's own process (:func:`process.runs_as_program`), :func:`install` gives the
``dataclasses`` module its own ``exec`` (a global that shadows the builtin for that module only):
it looks the text up in a table of code objects loaded from the user's cache directory (the
bytecode cache's, :func:`bytecode.cache_dir`, with its ownership rules and its
``OCIKIT_BYTECODE_CACHE`` switch), compiles a text it does not hold exactly as ``exec`` would
(file name ``<string>``, no inherited ``__future__`` flags, the interpreter's optimisation level),
and runs the code. At the process's exit the table is written back (temporary file, rename) when it
grew; one that grew past :data:`MAX_FUNCTIONS` starts over with this process's texts only, so the
functions of older versions of the collection do not pile up. A table that does not load (another
interpreter's marshal format, a truncated file) is ignored and replaced.

A process that only imports a module (pytest, ansible-test, a controller plugin) is left alone.
"""

from __future__ import annotations

import atexit
import builtins
import marshal
import os
import sys
import types
import typing as t
from importlib.util import MAGIC_NUMBER

#: File name of the table in the bytecode cache directory.
TABLE = 'dataclass-code-v1'
#: Functions the table holds at most before it starts over (every module of this version together makes ~500; loading 1024 costs ~4 ms).
MAX_FUNCTIONS = 1024
#: Largest table read (every module's start-up together, ~400 functions, marshals to ~450 KB).
MAX_TABLE_BYTES = 16 * 1024 * 1024

_STATE: dict[str, t.Any] = {'installed': False, 'path': None, 'table': {}, 'used': set(), 'grew': False, 'compiled': 0}


def install(directory: str | None) -> bool:
    """Give ``dataclasses`` the caching ``exec`` when this process is a module's and ``directory`` (the cache) is usable."""
    if _STATE['installed'] or directory is None or sys.flags.optimize:
        return False  # (python -O compiles other code; the table holds the default level's only)
    import dataclasses  # pylint: disable=import-outside-toplevel
    if 'exec' in vars(dataclasses):
        return False  # somebody else's replacement: leave it
    path = os.path.join(directory, TABLE)
    _STATE.update(installed=True, path=path, table=_load(path))
    setattr(dataclasses, 'exec', cached_exec)
    atexit.register(save)
    return True


def cached_exec(source: t.Any, globals_: t.Any = None, locals_: t.Any = None) -> None:
    """``exec`` for ``dataclasses``: the code of a text seen before comes from the table; anything else is compiled as exec compiles it."""
    if globals_ is None:  # exec's own default: the caller's namespaces (dataclasses always passes its globals)
        caller = sys._getframe(1)  # pylint: disable=protected-access
        globals_, locals_ = caller.f_globals, caller.f_locals if locals_ is None else locals_
    if not isinstance(source, str):
        builtins.exec(source, globals_, locals_)
        return
    table = _STATE['table']
    code = table.get(source)
    if not isinstance(code, types.CodeType):
        code = compile(source, '<string>', 'exec', dont_inherit=True)
        table[source] = code
        _STATE['grew'] = True
        _STATE['compiled'] += 1
    _STATE['used'].add(source)
    builtins.exec(code, globals_, locals_)


def _load(path: str) -> dict[str, types.CodeType]:
    try:
        with open(path, 'rb') as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & 0o022 or info.st_size > MAX_TABLE_BYTES:
                return {}
            data = handle.read()
        if data[:len(MAGIC_NUMBER)] != MAGIC_NUMBER:
            return {}
        table = marshal.loads(data[len(MAGIC_NUMBER):])
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return table if isinstance(table, dict) else {}


def save() -> None:
    """Write the table back when this process compiled something it did not hold (called at exit)."""
    path = _STATE['path']
    if not _STATE['grew'] or path is None or sys.dont_write_bytecode:
        return
    table = _STATE['table']
    if len(table) > MAX_FUNCTIONS:
        table = {source: table[source] for source in _STATE['used']}
    try:
        data = MAGIC_NUMBER + marshal.dumps(table)
    except ValueError:
        return
    temp = os.path.join(os.path.dirname(path), '.%s.%d.tmp' % (TABLE, os.getpid()))  # bytecode._trim sweeps a killed writer's
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        return
    _STATE['grew'] = False
