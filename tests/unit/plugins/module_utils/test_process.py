# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""process.py: garbage collection paused while a module's own process starts, frozen at its exit; untouched anywhere else.

Each module runs in a fresh interpreter, the three ways a module is run: as Ansible's AnsiballZ
wrapper runs it (``runpy.run_module(..., run_name='__main__', alter_sys=True)``), as a file
(``python .../plugins/modules/NAME.py ARGS``), and imported by something else that calls its
``main()`` (a test, a plugin), which must be left alone. An atexit handler registered before the
module runs (so it runs after the module's own) reports the collector's state, and a GC callback
counts the collections before the module's ``process.resume()``.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils import process
from ansible_collections.ocikit.images.plugins.modules import image_inspect

FQN = 'ansible_collections.ocikit.images.plugins.modules.image_inspect'

_PROBE = textwrap.dedent('''
    import atexit, gc, importlib, json, os, runpy, sys
    how, args_path, report_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = {}
    def report():
        stats = gc.get_stats()
        seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), collections=sum(s['collections'] for s in stats))
        os.write(report_fd, json.dumps(seen).encode())
    atexit.register(report)
    # Collections until the module's process.resume(): while Python starts and runpy loads the module, and (in a module's
    # own process) none after its first import paused the collector. Read from process.py's state, not patched in.
    early, paused = [], []
    def on_collection(phase, info):
        proc = sys.modules.get('ansible_collections.ocikit.images.plugins.module_utils.process')
        if phase == 'start' and (proc is None or not proc._STATE['program']):
            early.append(info['generation'])
        elif phase == 'start' and proc._STATE['paused']:
            paused.append(info['generation'])
    gc.callbacks.append(on_collection)
    seen.update(early=early, paused=paused)
    sys.argv = ['module', args_path]
    if how == 'ansiballz':
        runpy.run_module(%(fqn)r, run_name='__main__', alter_sys=True)
    elif how == 'file':
        runpy.run_path(importlib.util.find_spec(%(fqn)r).origin, run_name='__main__')
    else:
        importlib.import_module(%(fqn)r).main()
''' % {'fqn': FQN})


def run_probe(how: str, tmp_path: t.Any, args: dict[str, t.Any]) -> tuple[dict[str, t.Any], dict[str, t.Any], int]:
    """Run image_inspect ``how``; (collector state at exit, module result, exit status)."""
    args_path = tmp_path / 'args.json'
    args_path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    # Module imports load lazily, so the one-time import of process.py and module.py happens here, as in a task.
    proc = subprocess.Popen([sys.executable, '-c', _PROBE, how, str(args_path), str(write_fd)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, pass_fds=(write_fd,), close_fds=True)
    os.close(write_fd)
    with os.fdopen(read_fd, 'rb') as pipe:
        state = pipe.read()
    stdout, stderr = proc.communicate(timeout=120)
    assert state, stderr.decode()
    result = json.loads(stdout[stdout.index(b'{'):]) if b'{' in stdout else {}
    return json.loads(state), result, proc.returncode


@pytest.fixture
def layout_args(tmp_path: t.Any) -> dict[str, t.Any]:
    """image_inspect of a small OCI image in a dir: layout (a successful run, exit_json)."""
    from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.dir.test_dir_image import make_image, write_image
    write_image(tmp_path / 'image', make_image())
    return {'image': 'dir:%s' % (tmp_path / 'image')}


@pytest.mark.parametrize('how', ['ansiballz', 'file'])
def test_module_process_collects_nothing_while_starting_and_freezes_at_exit(how: str, tmp_path: t.Any, layout_args: dict[str, t.Any]) -> None:
    state, result, status = run_probe(how, tmp_path, layout_args)
    assert status == 0 and not result.get('failed'), result
    assert result['digest'].startswith('sha256:')
    assert state['paused'] == [] and len(state['early']) < 10, state  # none while the module's imports ran
    assert state['enabled'] is True  # turned on again for the work
    assert state['frozen'] > 1000  # what was alive at the exit


def test_a_failing_module_process_freezes_at_exit_too(tmp_path: t.Any) -> None:
    state, result, status = run_probe('ansiballz', tmp_path, {'image': 'dir:%s' % (tmp_path / 'missing')})
    assert status == 1 and result['failed'], result
    assert state['paused'] == [] and len(state['early']) < 10 and state['enabled'] is True and state['frozen'] > 1000


def test_a_process_that_imports_a_module_is_left_alone(tmp_path: t.Any, layout_args: dict[str, t.Any]) -> None:
    state, result, status = run_probe('import', tmp_path, layout_args)
    assert status == 0 and result['digest'].startswith('sha256:')
    assert len(state['early']) > 30, state  # the collector ran while the modules were imported, as it always does
    assert state['enabled'] is True and state['frozen'] == 0


def test_this_test_process_is_not_a_module_program() -> None:
    assert image_inspect.main  # imported here, as a test imports it
    assert process.runs_as_program() is False
    frozen = gc.get_freeze_count()
    process.pause()
    process.resume()
    process.before_exit()
    assert gc.isenabled() and gc.get_freeze_count() == frozen
