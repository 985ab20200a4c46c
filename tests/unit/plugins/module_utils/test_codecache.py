# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""codecache.py: the methods @dataclass generates, compiled once and kept in the bytecode cache directory.

In this (pytest) process nothing is installed; the tests give ``dataclasses`` the caching ``exec``
with ``monkeypatch`` for one class statement at a time, and run real module processes for the rest.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils import codecache

FQN = 'ansible_collections.ocikit.images.plugins.modules.image_inspect'


@pytest.fixture(name='state')
def state_fixture(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    state = {'installed': True, 'path': str(tmp_path / codecache.TABLE), 'table': {}, 'used': set(), 'grew': False, 'compiled': 0}
    monkeypatch.setattr(codecache, '_STATE', state)
    monkeypatch.setattr(sys, 'dont_write_bytecode', False)
    return state


def make_classes() -> tuple[type, type]:
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        name: str
        size: int = 0
        tags: tuple[str, ...] = ()

    @dataclasses.dataclass(order=True)
    class Plain:
        count: int
        items: list[int] = dataclasses.field(default_factory=list)

    return Frozen, Plain


def methods(cls: type) -> dict[str, t.Any]:
    return {name: value for name, value in vars(cls).items() if isinstance(value, type(methods))}


def test_cached_methods_are_the_ones_exec_makes(state: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch) -> None:
    plain_frozen, plain_plain = make_classes()
    monkeypatch.setattr(dataclasses, 'exec', codecache.cached_exec, raising=False)
    cached_frozen, cached_plain = make_classes()
    assert state['compiled'] > 8 and state['grew']
    for plain, cached in ((plain_frozen, cached_frozen), (plain_plain, cached_plain)):
        plain_methods, cached_methods = methods(plain), methods(cached)
        assert sorted(plain_methods) == sorted(cached_methods) and '__init__' in plain_methods
        for name, function in plain_methods.items():
            other = cached_methods[name].__code__
            code = function.__code__
            # The same code: bytes, constants, names, flags (no __future__ flag leaked from codecache.py's own
            # "from __future__ import annotations"), file name; annotations evaluated, not strings.
            assert (code.co_code, code.co_consts, code.co_names, code.co_flags, code.co_filename) == \
                (other.co_code, other.co_consts, other.co_names, other.co_flags, other.co_filename), name
            assert function.__annotations__ == cached_methods[name].__annotations__, name
    item = cached_frozen('a', 1)
    assert item == cached_frozen('a', 1) and hash(item) == hash(cached_frozen('a', 1)) and repr(item).endswith("Frozen(name='a', size=1, tags=())")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = 'b'  # type: ignore[misc]
    assert cached_plain(1) < cached_plain(2) and cached_plain(1).items == []
    compiled = state['compiled']
    make_classes()  # the same texts again: taken from the table
    assert state['compiled'] == compiled


def test_table_is_written_and_read_back(state: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataclasses, 'exec', codecache.cached_exec, raising=False)
    make_classes()
    codecache.save()
    path = state['path']
    assert os.stat(path).st_mode & 0o777 == 0o600 and not state['grew']
    loaded = codecache._load(path)
    assert set(loaded) == set(state['table']) and all(loaded[text].co_code == code.co_code for text, code in state['table'].items())
    assert [name for name in os.listdir(os.path.dirname(path)) if name.endswith('.tmp')] == []
    mtime = os.stat(path).st_mtime_ns
    codecache.save()  # nothing new: not written again
    assert os.stat(path).st_mtime_ns == mtime


@pytest.mark.parametrize('damage', ['garbage', 'other magic', 'truncated', 'not a dict', 'group writable'])
def test_a_table_that_does_not_load_is_ignored(state: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    monkeypatch.setattr(dataclasses, 'exec', codecache.cached_exec, raising=False)
    make_classes()
    codecache.save()
    path = state['path']
    data = open(path, 'rb').read()
    damaged = {'garbage': b'\x00' * 100, 'other magic': b'XXXX' + data[4:], 'truncated': data[:len(data) // 2],
               'not a dict': data[:len(codecache.MAGIC_NUMBER)] + __import__('marshal').dumps([1, 2]), 'group writable': data}[damage]
    with open(path, 'wb') as handle:
        handle.write(damaged)
    if damage == 'group writable':
        os.chmod(path, 0o620)
    assert codecache._load(path) == {}


def test_a_full_table_starts_over_with_what_this_process_used(state: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, 'MAX_FUNCTIONS', 3)
    state['table'].update({'x = %d' % number: compile('x = %d' % number, '<string>', 'exec') for number in range(5)})
    monkeypatch.setattr(dataclasses, 'exec', codecache.cached_exec, raising=False)
    make_classes()
    codecache.save()
    assert set(codecache._load(state['path'])) == state['used'] and not any(text.startswith('x = ') for text in state['used'])


def test_nothing_is_written_without_bytecode_writes(state: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataclasses, 'exec', codecache.cached_exec, raising=False)
    make_classes()
    monkeypatch.setattr(sys, 'dont_write_bytecode', True)
    codecache.save()
    assert not os.path.exists(state['path'])


def test_not_installed_in_a_process_that_imports_modules() -> None:
    assert 'exec' not in vars(dataclasses)
    assert codecache.install(None) is False


_PROBE = textwrap.dedent('''
    import atexit, importlib, json, os, runpy, sys
    how, args_path, report_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def report():  # registered first, so it runs after codecache's own exit handler
        cache = sys.modules.get('ansible_collections.ocikit.images.plugins.module_utils.codecache')
        dataclasses = sys.modules['dataclasses']
        os.write(report_fd, json.dumps({'installed': 'exec' in vars(dataclasses), 'compiled': cache._STATE['compiled'] if cache else None,
                                        'functions': len(cache._STATE['table']) if cache else None}).encode())
    atexit.register(report)
    sys.argv = ['module', args_path]
    if how == 'ansiballz':
        runpy.run_module(%(fqn)r, run_name='__main__', alter_sys=True)
    else:
        importlib.import_module(%(fqn)r).main()
''' % {'fqn': FQN})


def run_module(how: str, tmp_path: t.Any, args: dict[str, t.Any]) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    args_path = tmp_path / 'args.json'
    args_path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), XDG_CACHE_HOME=str(tmp_path / 'cache'))
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    env.pop('OCIKIT_BYTECODE_CACHE', None)
    proc = subprocess.Popen([sys.executable, '-c', _PROBE, how, str(args_path), str(write_fd)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, pass_fds=(write_fd,), close_fds=True)
    os.close(write_fd)
    with os.fdopen(read_fd, 'rb') as pipe:
        state = pipe.read()
    stdout, stderr = proc.communicate(timeout=120)
    assert state, stderr.decode()
    result = json.loads(stdout[stdout.index(b'{'):])
    return json.loads(state), result


def test_a_module_process_compiles_the_dataclass_methods_once(tmp_path: t.Any) -> None:
    from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.dir.test_dir_image import make_image, write_image
    write_image(tmp_path / 'image', make_image())
    args = {'image': 'dir:%s' % (tmp_path / 'image')}
    first, result = run_module('ansiballz', tmp_path, args)
    assert result['digest'].startswith('sha256:') and not result.get('failed'), result
    assert first['installed'] and first['compiled'] > 50, first  # every dataclass created after the module's first import
    tables = [os.path.join(root, name) for root, dummy, names in os.walk(str(tmp_path / 'cache')) for name in names]
    assert [os.path.basename(path) for path in tables] == [codecache.TABLE]
    second, again = run_module('ansiballz', tmp_path, args)
    assert again['digest'] == result['digest']
    assert second == {'installed': True, 'compiled': 0, 'functions': first['functions']}, second


def test_a_process_importing_a_module_is_left_alone(tmp_path: t.Any) -> None:
    from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.dir.test_dir_image import make_image, write_image
    write_image(tmp_path / 'image', make_image())
    state, result = run_module('import', tmp_path, {'image': 'dir:%s' % (tmp_path / 'image')})
    assert result['digest'].startswith('sha256:')
    assert state == {'installed': False, 'compiled': 0, 'functions': 0}
    assert not os.path.exists(str(tmp_path / 'cache' / 'ocikit'))


_SEEN: list[str] = []


def test_exec_without_namespaces_runs_in_the_callers(state: dict[str, t.Any]) -> None:
    namespace: dict[str, t.Any] = {}
    codecache.cached_exec('found = marker + 1', {'marker': 41}, namespace)
    assert namespace == {'found': 42}
    marker = 1  # noqa: F841 pylint: disable=unused-variable
    codecache.cached_exec('_SEEN.append((__name__, marker))')  # like exec(text): the calling frame's globals and locals
    assert _SEEN.pop() == (__name__, 1)
    assert state['compiled'] == 2


def test_not_installed_under_python_dash_o(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, '_STATE', dict(codecache._STATE, installed=False))

    class Flags:
        optimize = 1

    monkeypatch.setattr(codecache.sys, 'flags', Flags())
    assert codecache.install(str(tmp_path)) is False and 'exec' not in vars(dataclasses)
