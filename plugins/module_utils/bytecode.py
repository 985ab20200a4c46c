# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Import this collection's module_utils fast when a module runs from Ansible's AnsiballZ zip.

Ansible ships a module with every module_util it can import in a zip and imports them with
``zipimport``, which never reads or writes bytecode, and whose ``find_spec`` compiles a module just
to learn its file name: every task compiled each module_util it imports twice (~0.1 s of CPU for
an ``image_copy``, the largest part of the collection's start-up). Each module imports this first;
when (and only when) this file itself was loaded from a zip, it puts a finder in front of
``sys.meta_path`` for the collection's module_utils (``ZipSourceFinder``) that reads each source
once and keeps its compiled code in the user's cache directory, one entry per source text:

* the key is the SHA-256 of the source bytes and the interpreter's bytecode magic number, so a
  changed file (another version of the collection, a patched copy) never gets stale code, and
  versions installed side by side share only what is identical;
* the directory (``$XDG_CACHE_HOME/ocikit/bytecode-v1/<cache tag>``, ``~/.cache`` without
  ``XDG_CACHE_HOME``) is made ``0700`` and used only while it and its parent are owned by the user
  the module runs as and writable by nobody else, as Python's own ``__pycache__`` would be;
  otherwise each module_util is compiled (once) as before;
* an entry is written to a temporary file and renamed, so a reader sees a whole entry or none; one
  that does not load (truncated, another format) is compiled again and replaced;
* ``OCIKIT_BYTECODE_CACHE=0`` (or ``off``/``false``/``no``) turns the cache off, and
  ``PYTHONDONTWRITEBYTECODE`` (``python -B``) keeps entries from being written (those there are
  read); a failed write (read-only home, full disk) costs nothing but the time; the directory is
  trimmed to its newest ``MAX_ENTRIES // 2`` entries when it grows past ``MAX_ENTRIES`` (each
  version of the collection adds one entry per module_util its tasks import), and the temporary
  file of a writer killed mid-write is removed by a later write.

Outside a zip (tests, ``ansible-test``, a module run from a source tree) nothing is installed: the
interpreter's ``__pycache__`` already does this job there.

Being every module's first import, it also pauses garbage collection while a module's own process
starts (:mod:`process`) and, in that process only, serves the methods ``@dataclass`` generates from
a compiled table in the same directory (:mod:`codecache`); both are no-ops in a process that only
imports the module.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
import types
import typing as t
import zipimport
from hashlib import sha256
from importlib.machinery import ModuleSpec
from importlib.util import MAGIC_NUMBER

PACKAGE = 'ansible_collections.ocikit.images.plugins.module_utils'
ENV = 'OCIKIT_BYTECODE_CACHE'
MAX_ENTRIES = 1024
#: Largest entry read (the collection's largest module_util, copy/execute.py, marshals to ~78 KB); a larger one counts as damaged.
MAX_ENTRY_BYTES = 8 * 1024 * 1024
STALE_SECONDS = 600
_OFF = ('0', 'off', 'false', 'no')
_TRIMMED: set[str] = set()


def cache_dir() -> str | None:
    """The directory entries live in for this interpreter; None when the cache is off or not safe to use.

    Made (``0700``) only when entries may be written: with ``PYTHONDONTWRITEBYTECODE`` an existing
    directory is read and none is created.
    """
    if os.environ.get(ENV, '').strip().lower() in _OFF:
        return None
    tag = sys.implementation.cache_tag
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    if not tag or not os.path.isabs(base):
        return None
    root = os.path.join(base, 'ocikit', 'bytecode-v1')
    path = os.path.join(root, tag)
    try:
        if not sys.dont_write_bytecode:
            os.makedirs(os.path.dirname(root), mode=0o700, exist_ok=True)
            for directory in (root, path):
                try:
                    os.mkdir(directory, 0o700)
                except FileExistsError:
                    pass
        for check in (root, path):
            info = os.stat(check)
            if info.st_uid != os.geteuid() or info.st_mode & 0o022:
                return None
    except OSError:
        return None
    return path


class ZipSourceLoader:
    """Loads one module_util from the zip: its code compiled once, or read from the cache when an entry for its source exists."""

    def __init__(self, zip_loader: zipimport.zipimporter, origin: str, source: bytes, directory: str | None) -> None:
        self.zip_loader = zip_loader
        self.origin = origin
        self.source = source
        self.directory = directory

    def create_module(self, spec: ModuleSpec) -> None:  # pylint: disable=unused-argument
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        code = self.get_code(module.__name__)
        self.source = b''  # the text is in the zip still (get_source); do not keep a copy per module
        exec(code, module.__dict__)  # pylint: disable=exec-used

    def get_code(self, fullname: str) -> types.CodeType:  # pylint: disable=unused-argument
        """The module's code object (importlib's InspectLoader protocol)."""
        source = self.source or self.zip_loader.get_data(self.origin)
        if self.directory is None:
            return compile(source, self.origin, 'exec', dont_inherit=True)
        key = sha256(MAGIC_NUMBER + b'\0' + source).hexdigest()
        entry = os.path.join(self.directory, key)
        try:
            with open(entry, 'rb') as handle:
                data = handle.read(MAX_ENTRY_BYTES + 1)
            if len(data) > MAX_ENTRY_BYTES:
                raise ValueError(entry)
            code = marshal.loads(data)
            if not isinstance(code, types.CodeType):
                raise ValueError(entry)
            fix = getattr(sys.modules.get('_imp'), '_fix_co_filename', None)
            if fix is not None:
                fix(code, self.origin)  # tracebacks name this run's file, as importlib does for a .pyc
            return code
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = compile(source, self.origin, 'exec', dont_inherit=True)
        if not sys.dont_write_bytecode:
            _store(self.directory, key, marshal.dumps(code))
        return code

    def __getattr__(self, name: str) -> t.Any:
        # get_source (linecache, tracebacks), get_data, is_package, get_resource_reader: the zip's answers
        return getattr(self.zip_loader, name)


def _store(directory: str, key: str, data: bytes) -> None:
    """Write one entry atomically; any failure leaves the cache as it was."""
    temp = os.path.join(directory, '.%s.%d.tmp' % (key, os.getpid()))
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, os.path.join(directory, key))
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        return
    if directory not in _TRIMMED:  # once per process: a cold task writes dozens of entries
        _TRIMMED.add(directory)
        _trim(directory)


def _trim(directory: str) -> None:
    """Keep the newest MAX_ENTRIES // 2 entries once there are more than MAX_ENTRIES, and drop the
    temporary files of writers killed more than STALE_SECONDS ago; called only after a write.

    Not fsutil's ``sweep_stale_temps`` (nor its other helpers): this file loads the collection's
    module_utils, and a write happens while one of them is being loaded, fsutil or errors.py among
    them, so importing either from here can meet it half-initialized.
    """
    try:
        with os.scandir(directory) as scan:
            found = [(entry.name, entry.stat().st_mtime, entry.path) for entry in scan if entry.is_file(follow_symlinks=False)]
    except OSError:
        return
    now = time.time()
    doomed = [path for name, mtime, path in found if name.startswith('.') and name.endswith('.tmp') and now - mtime > STALE_SECONDS]
    entries = sorted((mtime, path) for name, mtime, path in found if not name.startswith('.'))
    if len(entries) > MAX_ENTRIES:
        doomed.extend(path for dummy, path in entries[:len(entries) - MAX_ENTRIES // 2])
    for path in doomed:
        try:
            os.unlink(path)
        except OSError:
            pass


class ZipSourceFinder:
    """Finds the collection's module_utils in the AnsiballZ zip without compiling them to do so.

    ``zipimporter.find_spec`` asks its own ``get_filename``, which compiles the module to learn where
    it would come from, and the import compiles it again to run it: every module_util imported from
    an AnsiballZ zip is compiled twice. This finder answers for the modules (not the packages) of
    the collection's module_utils that are ``.py`` files in a zip, reading the source once.
    """

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    def find_spec(self, name: str, path: t.Sequence[str] | None = None, target: t.Any = None) -> ModuleSpec | None:  # pylint: disable=unused-argument
        """The spec of a module_util that is a ``.py`` file in a zip on ``path``; None for anything else."""
        if not name.startswith(PACKAGE + '.') or not path:
            return None
        tail = name.rpartition('.')[2]
        for entry in path:
            importer = sys.path_importer_cache.get(entry)
            if importer is None:
                try:
                    importer = zipimport.zipimporter(entry)
                except zipimport.ZipImportError:
                    return None  # not a zip: the path finder's business
                sys.path_importer_cache[entry] = importer
            if not isinstance(importer, zipimport.zipimporter):
                return None
            origin = '%s%s%s%s.py' % (importer.archive, os.sep, importer.prefix, tail)
            try:
                if importer.is_package(name):
                    return None  # a package: the zip importer loads it (our packages are empty)
                source = importer.get_data(origin)
            except (zipimport.ZipImportError, OSError):
                continue  # not in this entry (or only compiled): the next entry, then the path finder
            spec = ModuleSpec(name, ZipSourceLoader(importer, origin, source, self.directory), origin=origin)  # type: ignore[arg-type]
            spec.has_location = True
            return spec
        return None

    def invalidate_caches(self) -> None:
        """Nothing of its own to forget (the meta path protocol asks every finder)."""


def install() -> bool:
    """Put the caching finder in front of sys.meta_path when running from a zip; True when it is (or already was) there."""
    if any(isinstance(finder, ZipSourceFinder) for finder in sys.meta_path):
        return True
    spec = globals().get('__spec__')
    if spec is None or not isinstance(spec.loader, zipimport.zipimporter):
        return False
    sys.meta_path.insert(0, ZipSourceFinder(cache_dir()))
    return True


install()

# Also the first things a module's process does: garbage collection waits until the module's imports are done (process.py),
# and the methods dataclasses generate come compiled from the cache (codecache.py).
from ansible_collections.ocikit.images.plugins.module_utils import codecache, process  # noqa: E402 pylint: disable=wrong-import-position

process.pause()
if process.is_program():
    codecache.install(cache_dir())
