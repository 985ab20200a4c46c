"""Shared pytest plugin for the integration targets: modules run for real, against a real registry.

Each target's ``runme.sh`` runs pytest with this plugin (``-p ocikit_it``). Modules are executed the
way Ansible executes them on a managed node, as a separate Python process reading its arguments
from a JSON file, so results, exit codes and peak memory are real. ``run_playbook`` runs
ansible-playbook for the tests that need the whole of Ansible (module_defaults groups, check and
diff mode as Ansible passes them, idempotence over a play).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import typing as t
from pathlib import Path

import pytest

from ocikit_testbed import Registry

COLLECTION_ROOT = Path(os.environ.get('OCIKIT_COLLECTION_ROOT') or Path(__file__).resolve().parents[3])
# The directory holding ansible_collections/ocikit/images (ansible-test's copy, or a dev symlink tree).
COLLECTIONS_PATH = Path(os.environ.get('OCIKIT_COLLECTIONS_PATH') or COLLECTION_ROOT.parents[2])
PYTHON = os.environ.get('ANSIBLE_TEST_PYTHON_INTERPRETER') or sys.executable
USER, PASSWORD = 'alice', 'wonderland'


@dataclasses.dataclass
class ModuleRun:
    """One module execution: its JSON result, exit code, stderr and peak RSS in bytes."""

    result: dict[str, t.Any]
    rc: int
    stderr: str
    max_rss: int

    @property
    def failed(self) -> bool:
        return bool(self.result.get('failed')) or self.rc != 0

    @property
    def msg(self) -> str:
        return str(self.result.get('msg', ''))

    def __repr__(self) -> str:
        # The message first: pytest shortens long reprs, and the message is what explains a failure.
        return 'ModuleRun(rc=%d, msg=%r, error_type=%r)' % (self.rc, self.msg, self.result.get('error_type'))


def _env(extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(COLLECTIONS_PATH)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    env.setdefault('HOME', tempfile.gettempdir())
    env.update(extra or {})
    return env


def run_module(name: str, args: t.Mapping[str, t.Any], check: bool = False, diff: bool = False,
               env: t.Mapping[str, str] | None = None, timeout: float = 900) -> ModuleRun:
    """Run ``plugins/modules/<name>.py`` with ``args`` in a fresh process, as Ansible does on a host."""
    module_args = dict(args)
    module_args['_ansible_check_mode'] = check
    module_args['_ansible_diff'] = diff
    module_args['_ansible_tmpdir'] = tempfile.gettempdir()
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': module_args}, handle)
        args_path = handle.name
    try:
        # A child of its own, so that ru_maxrss of RUSAGE_CHILDREN after the wait is this module's
        # peak alone: run it through a tiny wrapper that reports the child's rusage.
        wrapper = textwrap.dedent('''
            import json, resource, subprocess, sys
            proc = subprocess.run(sys.argv[1:], capture_output=True)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            sys.stdout.write(json.dumps({"rc": proc.returncode, "stdout": proc.stdout.decode("utf-8", "replace"),
                                         "stderr": proc.stderr.decode("utf-8", "replace"), "maxrss_kb": usage.ru_maxrss}))
        ''')
        module_path = COLLECTION_ROOT / 'plugins' / 'modules' / ('%s.py' % name)
        proc = subprocess.run([PYTHON, '-c', wrapper, PYTHON, str(module_path), args_path], capture_output=True, text=True,
                              env=_env(env), timeout=timeout, check=True)
        outer = json.loads(proc.stdout)
    finally:
        os.unlink(args_path)
    stdout = outer['stdout']
    try:
        result = json.loads(stdout[stdout.index('{'):]) if '{' in stdout else {}
    except ValueError:
        result = {'failed': True, 'msg': 'unparseable module output', 'stdout': stdout}
    return ModuleRun(result=result, rc=outer['rc'], stderr=outer['stderr'], max_rss=outer['maxrss_kb'] * 1024)


@dataclasses.dataclass
class PlaybookRun:
    """An ansible-playbook run with the json callback: exit code, per-task results, stats."""

    rc: int
    output: dict[str, t.Any]
    stderr: str

    def tasks(self) -> list[tuple[str, dict[str, t.Any]]]:
        out = []
        for play in self.output.get('plays', []):
            for task in play.get('tasks', []):
                for dummy, host_result in task.get('hosts', {}).items():
                    out.append((task['task']['name'], host_result))
        return out

    @property
    def stats(self) -> dict[str, t.Any]:
        return next(iter(self.output.get('stats', {}).values()), {})


def run_playbook(playbook: str, extra_vars: t.Mapping[str, t.Any] | None = None, check: bool = False, diff: bool = False,
                 env: t.Mapping[str, str] | None = None) -> PlaybookRun:
    """Run ``playbook`` (YAML text) against localhost with this collection and interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / 'play.yml'
        book.write_text(playbook)
        cmd = [str(Path(PYTHON).parent / 'ansible-playbook') if (Path(PYTHON).parent / 'ansible-playbook').exists() else 'ansible-playbook',
               '-i', 'localhost,', '-c', 'local', str(book), '-e', json.dumps(dict(extra_vars or {}))]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        penv = _env(env)
        penv.update({'ANSIBLE_COLLECTIONS_PATH': str(COLLECTIONS_PATH), 'ANSIBLE_STDOUT_CALLBACK': 'ocikit_json',
                     'ANSIBLE_CALLBACK_PLUGINS': str(Path(__file__).parent / 'callback_plugins'), 'ANSIBLE_PYTHON_INTERPRETER': PYTHON,
                     'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_LOCALHOST_WARNING': '0', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0'})
        proc = subprocess.run(cmd, capture_output=True, text=True, env=penv, timeout=900, check=False)
    try:
        output = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        output = {'raw': proc.stdout}
    return PlaybookRun(rc=proc.returncode, output=output, stderr=proc.stderr)


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the reference peer."""
    return subprocess.run(['skopeo', *args], capture_output=True, text=True, check=check, timeout=600)


def skopeo_inspect(image: str, *flags: str) -> dict[str, t.Any]:
    return json.loads(skopeo('inspect', *flags, image).stdout)


@pytest.fixture(scope='session')
def registry(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Registry]:
    """A registry with TLS (a CA made for the tests) and htpasswd basic auth."""
    with Registry(tmp_path_factory.mktemp('reg-basic'), tls=True, auth='htpasswd', users={USER: PASSWORD}) as reg:
        yield reg


@pytest.fixture(scope='session')
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Registry]:
    """A registry with TLS and token auth served by the test bed's token server."""
    with Registry(tmp_path_factory.mktemp('reg-token'), tls=True, auth='token', users={USER: PASSWORD}) as reg:
        yield reg


def creds(reg: Registry, **extra: t.Any) -> dict[str, t.Any]:
    """Module connection options for ``reg``: its user and its CA."""
    opts = {'username': USER, 'password': PASSWORD, 'cert_dir': str(reg.cert_dir)}
    opts.update(extra)
    return opts


def blob_writes(reg: Registry) -> list[dict[str, t.Any]]:
    """Requests in the access log that write (POST, PUT, PATCH, DELETE)."""
    return [r for r in reg.requests() if r['method'] in ('POST', 'PUT', 'PATCH', 'DELETE')]


class ModuleProcess:
    """A module started with :func:`start_module`, running in the background (to be killed, or waited for)."""

    def __init__(self, name: str, args: t.Mapping[str, t.Any], env: t.Mapping[str, str] | None = None) -> None:
        module_args = dict(args, _ansible_check_mode=False, _ansible_diff=False, _ansible_tmpdir=tempfile.gettempdir())
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': module_args}, handle)
            self.args_path = handle.name
        module_path = COLLECTION_ROOT / 'plugins' / 'modules' / ('%s.py' % name)
        self.proc = subprocess.Popen([PYTHON, str(module_path), self.args_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=_env(env))

    def kill(self) -> bool:
        """SIGKILL the module (no cleanup of any kind runs); True when it was still running."""
        running = self.proc.poll() is None
        self.proc.kill()
        self.finish()
        return running

    def finish(self, timeout: float = 600) -> ModuleRun:
        """Wait for the module and return its result (empty when it was killed)."""
        try:
            stdout, stderr = self.proc.communicate(timeout=timeout)
        finally:
            if os.path.exists(self.args_path):
                os.unlink(self.args_path)
        text = stdout.decode('utf-8', 'replace')
        try:
            result = json.loads(text[text.index('{'):]) if '{' in text else {}
        except ValueError:
            result = {'failed': True, 'msg': 'unparseable module output', 'stdout': text}
        return ModuleRun(result=result, rc=self.proc.returncode, stderr=stderr.decode('utf-8', 'replace'), max_rss=0)


def start_module(name: str, args: t.Mapping[str, t.Any], env: t.Mapping[str, str] | None = None) -> ModuleProcess:
    """Start ``plugins/modules/<name>.py`` with ``args`` in a background process (see :class:`ModuleProcess`)."""
    return ModuleProcess(name, args, env)
