# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""module_utils/bytecode.py: module_utils imported from a zip, as AnsiballZ does, compiled once and then cached.

Each case builds a zip laid out as Ansible's payload (the collection's module_utils under
``ansible_collections/ocikit/images/plugins/module_utils``, empty package files) and imports from
it in a fresh interpreter whose ``compile`` is counted, so what is compiled, read and written is
observed, not assumed.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import textwrap
import zipfile
from hashlib import sha256
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

from ansible_collections.ocikit.images.plugins.module_utils import bytecode

MU_DIR = Path(bytecode.__file__).resolve().parent
MU_ZIP = 'ansible_collections/ocikit/images/plugins/module_utils/'
PKG = 'ansible_collections.ocikit.images.plugins.module_utils'
# Imported by the probe after bytecode: a plain module and one that imports another module_util.
IMPORTED = ('digest', 'reference', 'errors')
TAG = sys.implementation.cache_tag

_PROBE = textwrap.dedent('''
    import builtins, inspect, json, sys
    sys.path.insert(0, sys.argv[1])
    compiled = []
    _real = builtins.compile
    def _counting(source, filename, *args, **kwargs):
        compiled.append(filename)
        return _real(source, filename, *args, **kwargs)
    builtins.compile = _counting
    from ansible_collections.ocikit.images.plugins.module_utils import bytecode
    from ansible_collections.ocikit.images.plugins.module_utils import digest, reference
    builtins.compile = _real
    mu = 'ansible_collections/ocikit/images/plugins/module_utils/'
    print(json.dumps({
        'installed': any(isinstance(f, bytecode.ZipSourceFinder) for f in sys.meta_path),
        'directory': next((f.directory for f in sys.meta_path if isinstance(f, bytecode.ZipSourceFinder)), None),
        'compiled': [name.split(mu, 1)[1] for name in compiled if mu in name],
        'loader': type(digest.__loader__).__name__,
        'file': digest.__file__,
        'co_filename': reference.parse_normalized_named.__code__.co_filename,
        'source_line': inspect.getsource(reference.parse_normalized_named).splitlines()[0],
        'parsed': str(reference.parse_normalized_named('registry.example/app:v1')),
    }))
''')


def make_zip(path: Path, replace: dict[str, bytes] | None = None) -> Path:
    """A payload-shaped zip of the collection's module_utils (sources only, empty package files)."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for package in ('ansible_collections/', 'ansible_collections/ocikit/', 'ansible_collections/ocikit/images/',
                        'ansible_collections/ocikit/images/plugins/', MU_ZIP):
            archive.writestr(package + '__init__.py', b'')
        packages = set()
        for source in sorted(MU_DIR.rglob('*.py')):
            relative = source.relative_to(MU_DIR).as_posix()
            if source.name == '__init__.py' or '__pycache__' in relative:
                continue
            packages.update(parent.as_posix() for parent in Path(relative).parents if parent.as_posix() != '.')
            archive.writestr(MU_ZIP + relative, (replace or {}).get(relative, source.read_bytes()))
        for package in sorted(packages):
            archive.writestr(MU_ZIP + package + '/__init__.py', b'')
    return path


def probe(archive: Path, cache_home: Path, **env: str) -> dict:
    environ = {key: value for key, value in os.environ.items() if key not in (bytecode.ENV, 'PYTHONDONTWRITEBYTECODE')}
    environ.update({'XDG_CACHE_HOME': str(cache_home), 'PYTHONPATH': ''}, **env)
    proc = subprocess.run([sys.executable, '-c', _PROBE, str(archive)], capture_output=True, text=True, env=environ, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def compiled_modules(run: dict) -> list[str]:
    """The module_utils a probe compiled, but bytecode.py (loaded by zipimport before the finder exists) and the empty package files."""
    return [name for name in run['compiled'] if name != 'bytecode.py' and not name.endswith('__init__.py')]


def key_of(relative: str, data: bytes | None = None) -> str:
    source = (MU_DIR / relative).read_bytes() if data is None else data
    return sha256(MAGIC_NUMBER + b'\0' + source).hexdigest()


def entries(cache_home: Path) -> dict[str, os.stat_result]:
    directory = cache_home / 'ocikit' / 'bytecode-v1' / TAG
    return {entry.name: entry.stat() for entry in directory.iterdir()} if directory.is_dir() else {}


def test_compiled_once_then_read_from_the_cache(tmp_path: Path):
    cache = tmp_path / 'cache'
    first = probe(make_zip(tmp_path / 'one.zip'), cache)
    assert first['installed'] and first['loader'] == 'ZipSourceLoader'
    assert first['parsed'] == 'registry.example/app:v1'
    # zipimport alone compiles every module twice (find_spec asks get_filename, which compiles); here each module once,
    # and bytecode.py itself (loaded by zipimport before the finder exists) twice.
    imported = compiled_modules(first)
    assert sorted(imported) == sorted(set(imported)) and {'digest.py', 'reference.py', 'errors.py'} <= set(imported)
    assert first['compiled'].count('bytecode.py') == 2
    stored = entries(cache)
    assert set(stored) == {key_of(name) for name in imported}
    directory = cache / 'ocikit' / 'bytecode-v1' / TAG
    assert directory.stat().st_mode & 0o777 == 0o700 and directory.parent.stat().st_mode & 0o777 == 0o700
    assert all(info.st_mode & 0o777 == 0o600 for info in stored.values())
    entry = marshal.loads((directory / key_of('reference.py')).read_bytes())
    assert entry.co_filename == str(tmp_path / 'one.zip') + '/' + MU_ZIP + 'reference.py'

    # Another run from a zip elsewhere (each task has its own temp dir): nothing compiled, nothing written,
    # and tracebacks and inspect name this run's file.
    second = probe(make_zip(tmp_path / 'two.zip'), cache)
    assert compiled_modules(second) == []
    assert second['parsed'] == 'registry.example/app:v1'
    assert second['co_filename'] == str(tmp_path / 'two.zip') + '/' + MU_ZIP + 'reference.py'
    assert second['file'] == str(tmp_path / 'two.zip') + '/' + MU_ZIP + 'digest.py'
    assert second['source_line'].startswith('def parse_normalized_named(')
    assert {name: info.st_mtime_ns for name, info in entries(cache).items()} == {name: info.st_mtime_ns for name, info in stored.items()}


def test_a_changed_source_never_gets_the_old_code(tmp_path: Path):
    cache = tmp_path / 'cache'
    probe(make_zip(tmp_path / 'old.zip'), cache)
    patched = (MU_DIR / 'reference.py').read_bytes() + b'\nPATCHED = True\n'
    run = probe(make_zip(tmp_path / 'new.zip', {'reference.py': patched}), cache)
    assert compiled_modules(run) == ['reference.py']
    assert key_of('reference.py', patched) in entries(cache) and key_of('reference.py') in entries(cache)


@pytest.mark.parametrize('damage', [b'', b'not marshal data', marshal.dumps('a string, not code'),
                                    marshal.dumps(compile('x = 1', 'x', 'exec')) + b'\0' * bytecode.MAX_ENTRY_BYTES])
def test_a_damaged_entry_is_compiled_again_and_replaced(tmp_path: Path, damage: bytes):
    cache = tmp_path / 'cache'
    archive = make_zip(tmp_path / 'p.zip')
    probe(archive, cache)
    entry = cache / 'ocikit' / 'bytecode-v1' / TAG / key_of('reference.py')
    entry.write_bytes(damage)
    run = probe(archive, cache)
    assert run['parsed'] == 'registry.example/app:v1'
    assert compiled_modules(run) == ['reference.py']
    assert marshal.loads(entry.read_bytes()).co_filename.endswith('reference.py')


@pytest.mark.parametrize('env', [{bytecode.ENV: '0'}, {bytecode.ENV: 'off'}, {bytecode.ENV: 'False'}, {'XDG_CACHE_HOME': 'relative/cache'}])
def test_off_compiles_each_module_once_and_writes_nothing(tmp_path: Path, env: dict[str, str]):
    cache = tmp_path / 'cache'
    run = probe(make_zip(tmp_path / 'p.zip'), cache, **env)
    assert run['installed'] and run['directory'] is None
    imported = compiled_modules(run)
    assert sorted(imported) == sorted(set(imported)) and 'reference.py' in imported
    assert not cache.exists() and not (tmp_path / 'relative').exists()


def test_dont_write_bytecode_reads_entries_and_writes_none(tmp_path: Path):
    cache = tmp_path / 'cache'
    archive = make_zip(tmp_path / 'p.zip')
    nothing = probe(archive, cache, PYTHONDONTWRITEBYTECODE='1')
    assert not cache.exists() and nothing['directory'] is None
    probe(archive, cache)  # writes the entries
    before = entries(cache)
    (cache / 'ocikit' / 'bytecode-v1' / TAG / key_of('digest.py')).unlink()
    run = probe(archive, cache, PYTHONDONTWRITEBYTECODE='1')
    assert compiled_modules(run) == ['digest.py']
    assert set(entries(cache)) == set(before) - {key_of('digest.py')}


@pytest.mark.parametrize('which', ['tag', 'root'])
def test_a_directory_others_can_write_is_not_used(tmp_path: Path, which: str):
    cache = tmp_path / 'cache'
    archive = make_zip(tmp_path / 'p.zip')
    probe(archive, cache)
    directory = cache / 'ocikit' / 'bytecode-v1' / TAG
    (directory if which == 'tag' else directory.parent).chmod(0o777 if which == 'tag' else 0o757)
    run = probe(archive, cache)
    assert run['directory'] is None
    assert 'reference.py' in run['compiled']  # not read from a directory someone else could have written


def test_a_read_only_cache_costs_only_the_compile(tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip('root writes into read-only directories')
    cache = tmp_path / 'cache'
    archive = make_zip(tmp_path / 'p.zip')
    probe(archive, cache, PYTHONDONTWRITEBYTECODE='')
    directory = cache / 'ocikit' / 'bytecode-v1' / TAG
    for entry in directory.iterdir():
        entry.unlink()
    directory.chmod(0o500)
    try:
        run = probe(archive, cache)
    finally:
        directory.chmod(0o700)
    assert run['parsed'] == 'registry.example/app:v1' and entries(cache) == {}


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path):
    directory = tmp_path / 'd'
    directory.mkdir()
    bytecode._store(str(directory / 'missing'), 'k', b'data')  # pylint: disable=protected-access
    bytecode._store(str(directory), 'k', b'data')  # pylint: disable=protected-access
    assert [entry.name for entry in directory.iterdir()] == ['k'] and (directory / 'k').read_bytes() == b'data'


def test_the_directory_is_trimmed_to_its_newest_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bytecode, 'MAX_ENTRIES', 8)
    for number in range(8):
        (tmp_path / ('old%d' % number)).write_bytes(b'x')
        os.utime(tmp_path / ('old%d' % number), (1000 + number, 1000 + number))
    (tmp_path / '.killed.1.tmp').write_bytes(b'half')
    (tmp_path / '.live.2.tmp').write_bytes(b'half')
    os.utime(tmp_path / '.killed.1.tmp', (1000, 1000))
    bytecode._store(str(tmp_path), 'new', b'data')  # pylint: disable=protected-access
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ['.live.2.tmp', 'new', 'old5', 'old6', 'old7']


def test_nothing_is_installed_outside_a_zip():
    assert bytecode.install() is False
    assert not any(isinstance(finder, bytecode.ZipSourceFinder) for finder in sys.meta_path)


def test_every_module_imports_it_before_any_other_module_util():
    modules = Path(bytecode.__file__).resolve().parents[1] / 'modules'
    for module in sorted(modules.glob('*.py')):
        if module.name == '__init__.py':
            continue
        imports = [line for line in module.read_text().splitlines() if line.startswith('from ansible_collections.')]
        assert imports and imports[0].startswith('from %s import bytecode ' % PKG), module.name
