# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The two contenders for one copy job: the image_copy module and ``skopeo copy``.

Ours runs the way Ansible runs a module on a host and the way the integration tests run it
(``tests/integration/support/ocikit_it.py``): ``python plugins/modules/image_copy.py ARGS.json``
in a fresh process, the arguments in a JSON file, the collection importable through PYTHONPATH.
Python start-up and imports are part of its time, as they are of every task.

skopeo runs with the matching flags and a blob-info cache of its own per run (see
:func:`probe_cache_isolation`): containers/image remembers where it has seen each blob and would
otherwise mount or skip blobs it uploaded in an earlier run, which is no transfer at all.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import tempfile
import typing as t
from pathlib import Path

from .measure import Measurement, measure

MODULE_RELATIVE = Path('ansible_collections') / 'ocikit' / 'images' / 'plugins' / 'modules' / 'image_copy.py'
# Where containers/image keeps its blob-info cache when it runs as root; ignores HOME and XDG_*.
ROOT_BLOB_INFO_CACHE_DIR = Path('/var/lib/containers/cache')
BLOB_INFO_CACHE_FILE = 'blob-info-cache-v1.boltdb'


@dataclasses.dataclass
class Endpoint:
    """One side of a copy: an image name and, for a registry, how to log in to it."""

    name: str
    """``oci:PATH:TAG`` or ``docker://HOST/REPO:TAG``, the same string for both contenders."""
    registry: t.Any = None
    """The ocikit_testbed Registry behind a ``docker://`` name, else None."""
    repository: str = ''
    """The repository within ``registry``."""


@dataclasses.dataclass
class Job:
    """One copy to run: the same source and destination for ours and for skopeo."""

    src: Endpoint
    dest: Endpoint
    compress_format: str | None = None
    """Layer compression asked of the destination (``gzip``/``zstd``), or None to keep the layers as they are."""
    all_images: bool = False
    """Copy a whole index (ours ``all: true``, skopeo ``--all``)."""
    tags: tuple[str, ...] = ()
    """Playbook jobs: the tags to copy, each ``src.name:TAG`` to ``dest.name:TAG`` (the names then carry no tag)."""


@dataclasses.dataclass
class Outcome:
    """A contender's run: the measurement and, for ours, the module's JSON result."""

    measurement: Measurement
    result: dict[str, t.Any]
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The process exited 0, in time, and (for ours) the module did not report a failure."""
        return self.measurement.rc == 0 and not self.measurement.timed_out and not self.result.get('failed')


def bench_environ() -> dict[str, str]:
    """This process's environment for a measured run, without ``PYTHONDONTWRITEBYTECODE``.

    Some machines (CI images, this project's sandbox) set it globally; a managed node usually does
    not. With it, every module run would compile the collection again (no ``__pycache__`` from the
    warm-up, no entries in module_utils/bytecode.py's cache), which is not what a user's second task
    pays. skopeo does not read it.
    """
    env = dict(os.environ)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    return env


def run_home(base: Path) -> dict[str, str]:
    """A throwaway HOME and XDG tree for one run: nothing read from or left in the real home."""
    for sub in ('config', 'data', 'cache', 'runtime', 'tmp'):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / 'runtime').chmod(0o700)
    return {'HOME': str(base), 'XDG_CONFIG_HOME': str(base / 'config'), 'XDG_DATA_HOME': str(base / 'data'),
            'XDG_CACHE_HOME': str(base / 'cache'), 'XDG_RUNTIME_DIR': str(base / 'runtime')}


def find_collections_root(repo_root: Path, scratch: Path) -> tuple[Path, str]:
    """A directory holding ``ansible_collections/ocikit/images``, and where it came from.

    ANSIBLE_COLLECTIONS_PATH first (``make bench`` points it at the built copy of the collection);
    otherwise a symlink tree to this work tree, made under ``scratch``.
    """
    paths = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or os.environ.get('ANSIBLE_COLLECTIONS_PATHS') or ''
    for entry in paths.split(os.pathsep):
        if not entry:
            continue
        candidate = Path(entry).expanduser().resolve()
        if candidate.name == 'ansible_collections':
            candidate = candidate.parent
        if (candidate / MODULE_RELATIVE).is_file():
            return candidate, 'ANSIBLE_COLLECTIONS_PATH=%s' % candidate
    root = scratch / 'collections'
    link = root / 'ansible_collections' / 'ocikit' / 'images'
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(repo_root, target_is_directory=True)
    return root, 'work tree %s (symlinked)' % repo_root


class Ours:
    """The image_copy module, run as a separate process per job."""

    label = 'ours'

    def __init__(self, collections_root: Path, python: str, how: str) -> None:
        self.collections_root = collections_root
        self.python = python
        self.how = how
        self.module_path = collections_root / MODULE_RELATIVE
        # The compiled-code caches (module_utils/bytecode.py's directory: module_utils entries, the dataclass
        # method table) of the first run, by path relative to XDG_CACHE_HOME: every later run's fresh home gets
        # them, as a managed node that ran a task before has them (and as __pycache__ is warm). Nothing else of
        # a run's cache directory (the blob-location cache) reaches the next run.
        self.code_cache: dict[str, bytes] | None = None

    def module_args(self, job: Job, tmpdir: Path) -> dict[str, t.Any]:
        """The task's arguments, plus the internal ones Ansible always sends."""
        args: dict[str, t.Any] = {'src': job.src.name, 'dest': job.dest.name}
        for prefix, endpoint in (('src_', job.src), ('dest_', job.dest)):
            if endpoint.registry is not None:
                user, password = endpoint.registry.credentials
                args.update({prefix + 'username': user, prefix + 'password': password,
                             prefix + 'cert_dir': str(endpoint.registry.cert_dir)})
        if job.compress_format:
            args['dest_compress_format'] = job.compress_format
        if job.all_images:
            args['all'] = True
        args.update({'_ansible_check_mode': False, '_ansible_diff': False, '_ansible_tmpdir': str(tmpdir)})
        return args

    def run(self, job: Job, scratch: Path, timeout: float) -> Outcome:
        """Run the module for ``job`` with a fresh HOME under ``scratch``."""
        home = run_home(scratch)
        args_path = scratch / 'args.json'
        args_path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': self.module_args(job, scratch / 'tmp')}), encoding='utf-8')
        env = bench_environ()
        env.update(home)
        env['PYTHONPATH'] = os.pathsep.join([str(self.collections_root)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
        cache_home = Path(home['XDG_CACHE_HOME'])
        if self.code_cache is not None:
            seed_files(cache_home, self.code_cache)
        measurement = measure([self.python, str(self.module_path), str(args_path)], env=env, timeout=timeout, how=self.how)
        if self.code_cache is None:
            self.code_cache = read_files(cache_home, CODE_CACHE_RELATIVE)
        return Outcome(measurement=measurement, result=parse_module_output(measurement))


#: module_utils/bytecode.py's cache directory, relative to XDG_CACHE_HOME.
CODE_CACHE_RELATIVE = 'ocikit/bytecode-v1'


def read_files(base: Path, relative: str) -> dict[str, bytes]:
    """Every regular file under ``base / relative`` (no temporary files), by path relative to ``base``."""
    found = {}
    for path in sorted((base / relative).rglob('*')):
        if path.is_file() and not path.is_symlink() and not path.name.startswith('.'):
            found[str(path.relative_to(base))] = path.read_bytes()
    return found


def seed_files(base: Path, files: t.Mapping[str, bytes]) -> None:
    """Write ``files`` (from :func:`read_files`) under ``base``: directories 0700, files 0600, as the module makes them."""
    for relative, data in files.items():
        path = base / relative
        for parent in reversed(path.relative_to(base).parents[:-1]):
            (base / parent).mkdir(mode=0o700, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o600)


def parse_module_output(measurement: Measurement) -> dict[str, t.Any]:
    """The module's JSON result (modules print exactly one JSON object; warnings may precede it)."""
    stdout = measurement.stdout
    try:
        return dict(json.loads(stdout[stdout.index('{'):]))
    except ValueError:
        return {'failed': True, 'msg': 'unparseable module output (rc=%d): %s' % (measurement.rc, measurement.tail())}


@dataclasses.dataclass
class CacheIsolation:
    """How each skopeo run gets an empty blob-info cache."""

    mode: str
    """``home`` (not root: the cache follows XDG_DATA_HOME), ``mount-namespace`` (root: a private
    empty directory bind-mounted over /var/lib/containers/cache in a mount namespace of the run's
    own) or ``delete`` (root without namespaces: the system cache file is removed before each run)."""
    detail: str


def probe_cache_isolation(scratch: Path) -> CacheIsolation:
    """Find the least intrusive way to give every skopeo run an empty blob-info cache."""
    if os.geteuid() != 0:
        return CacheIsolation('home', 'not root: the cache is under the per-run XDG_DATA_HOME')
    unshare, mount, shell = shutil.which('unshare'), shutil.which('mount'), shutil.which('sh')
    if unshare and mount and shell:
        # skopeo itself creates this directory on its first run as root; it must exist to be a mount point.
        ROOT_BLOB_INFO_CACHE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe_dir = Path(tempfile.mkdtemp(prefix='cache-probe-', dir=scratch))
        (probe_dir / 'marker').write_text('private\n', encoding='utf-8')
        proc = subprocess.run(isolated_argv(['cat', str(ROOT_BLOB_INFO_CACHE_DIR / 'marker')], probe_dir), capture_output=True, text=True,
                              check=False, timeout=30)
        shutil.rmtree(probe_dir, ignore_errors=True)
        if proc.returncode == 0 and proc.stdout.strip() == 'private':
            return CacheIsolation('mount-namespace', 'root: a per-run empty directory is bind-mounted over %s in a private mount namespace'
                                  % ROOT_BLOB_INFO_CACHE_DIR)
    return CacheIsolation('delete', 'root without mount namespaces: %s is deleted before each skopeo run'
                          % (ROOT_BLOB_INFO_CACHE_DIR / BLOB_INFO_CACHE_FILE))


def isolated_argv(argv: list[str], cache_dir: Path) -> list[str]:
    """``argv`` run in a new mount namespace where ``cache_dir`` hides the system blob-info cache.

    unshare and sh exec into the command, so the measured process is the command itself after a few
    milliseconds of set-up (a ``mount`` child, far smaller than skopeo, is the only other process).
    """
    script = 'mount --bind "$0" %s && exec "$@"' % ROOT_BLOB_INFO_CACHE_DIR
    return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, str(cache_dir), *argv]


class Skopeo:
    """``skopeo copy`` with the flags matching the module's arguments."""

    label = 'skopeo'

    def __init__(self, binary: str, isolation: CacheIsolation, how: str) -> None:
        self.binary = binary
        self.isolation = isolation
        self.how = how

    def argv(self, job: Job) -> list[str]:
        """The plain skopeo command line for ``job`` (without the cache isolation wrapper)."""
        flags: list[str] = []
        for side, endpoint in (('src', job.src), ('dest', job.dest)):
            if endpoint.registry is not None:
                flags += endpoint.registry.skopeo_flags(side)
        if job.compress_format:
            flags += ['--dest-compress-format', job.compress_format]
        if job.all_images:
            flags.append('--all')
        return [self.binary, 'copy', '--quiet', *flags, job.src.name, job.dest.name]

    def isolated(self, argv: list[str], scratch: Path) -> list[str]:
        """``argv`` run with the blob-info cache of ``scratch`` (see :class:`CacheIsolation`); as root without namespaces, the
        system cache file is deleted now."""
        if self.isolation.mode == 'mount-namespace':
            cache_dir = scratch / 'blob-info-cache'
            cache_dir.mkdir(mode=0o700, exist_ok=True)
            return isolated_argv(argv, cache_dir)
        if self.isolation.mode == 'delete':
            (ROOT_BLOB_INFO_CACHE_DIR / BLOB_INFO_CACHE_FILE).unlink(missing_ok=True)
        return argv

    def run(self, job: Job, scratch: Path, timeout: float) -> Outcome:
        """Run skopeo for ``job`` with a fresh HOME and an empty blob-info cache."""
        home = run_home(scratch)
        env = bench_environ()
        env.update(home)
        argv = self.isolated(self.argv(job), scratch)
        notes: list[str] = []
        cache_dir = scratch / 'blob-info-cache'
        measurement = measure(argv, env=env, timeout=timeout, how=self.how)
        if self.isolation.mode == 'mount-namespace' and not (cache_dir / BLOB_INFO_CACHE_FILE).exists():
            notes.append('skopeo left no blob-info cache in its private directory')
        result: dict[str, t.Any] = {}
        if measurement.rc != 0:
            result = {'failed': True, 'msg': measurement.tail()}
        return Outcome(measurement=measurement, result=result, notes=notes)

    def inspect_digest(self, endpoint: Endpoint, scratch: Path, timeout: float) -> tuple[str | None, str]:
        """The manifest digest ``skopeo inspect`` reports for ``endpoint`` (untimed), or None and why not.

        Runs with a fresh HOME and, as root, the same private blob-info cache as a copy, so it reads
        and changes nothing outside ``scratch``.
        """
        home = run_home(scratch)
        env = bench_environ()
        env.update(home)
        flags = endpoint.registry.skopeo_flags('') if endpoint.registry is not None else []
        argv = self.isolated([self.binary, 'inspect', *flags, endpoint.name], scratch)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=timeout)
        if proc.returncode != 0:
            return None, 'skopeo inspect failed (rc=%d): %s' % (proc.returncode, proc.stderr.strip()[-500:])
        try:
            return str(json.loads(proc.stdout)['Digest']), ''
        except (ValueError, KeyError, TypeError) as exc:
            return None, 'skopeo inspect printed no Digest: %s' % exc


def skopeo_version(binary: str) -> str:
    """``skopeo --version`` without the program name."""
    proc = subprocess.run([binary, '--version'], capture_output=True, text=True, check=False, timeout=30)
    return proc.stdout.strip().replace('skopeo version ', '')


PLAY_HEAD = """- name: P9 {side}
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
"""
OURS_TASK = """    - name: image_copy loop
      ocikit.images.image_copy:
        src: "{{{{ src }}}}:{{{{ item }}}}"
        dest: "{{{{ dest }}}}:{{{{ item }}}}"
        dest_username: "{{{{ username }}}}"
        dest_password: "{{{{ password }}}}"
        dest_cert_dir: "{{{{ cert_dir }}}}"
      loop: "{{{{ image_tags }}}}"
"""
SKOPEO_TASK = """    - name: skopeo copy loop
      ansible.builtin.command:
        argv: "{{{{ item }}}}"
      loop: "{{{{ commands }}}}"
      loop_control:
        label: "{{{{ item[-1] }}}}"
"""
# The default callback prints one line per loop item: "changed: [localhost] => (item=...)", "failed: [localhost] (item=...) => {...}".
_ITEM_LINE = re.compile(r'^(ok|changed|failed|fatal|skipping): \[localhost\](?: =>)? \(item=', re.MULTILINE)


class Playbook:
    """P9: ``ansible-playbook`` on localhost, one looped task over ``job.tags``.

    ``ours``: an ``ocikit.images.image_copy`` loop; ``skopeo``: a ``command: skopeo copy`` loop
    (with the same blob-info cache isolation as a plain skopeo run, one cache for all the play's
    runs). The collection comes from ``collections_root`` (ANSIBLE_COLLECTIONS_PATH), modules run
    with ``python``; HOME, Ansible's temp directories and the configuration are the run's own.
    """

    def __init__(self, side: str, ansible_playbook: str, python: str, collections_root: Path, skopeo: Skopeo, how: str) -> None:
        self.label = side
        self.ansible_playbook = ansible_playbook
        self.python = python
        self.collections_root = collections_root
        self.skopeo = skopeo
        self.how = how

    def play(self, job: Job, scratch: Path) -> tuple[str, dict[str, t.Any]]:
        """The playbook text and its extra vars for ``job``."""
        if self.label == 'ours':
            user, password = job.dest.registry.credentials
            return PLAY_HEAD.format(side=self.label) + OURS_TASK.format(), {
                'src': job.src.name, 'dest': job.dest.name, 'image_tags': list(job.tags), 'username': user, 'password': password,
                'cert_dir': str(job.dest.registry.cert_dir)}
        commands = [self.skopeo.isolated(self.skopeo.argv(Job(Endpoint('%s:%s' % (job.src.name, tag)),
                                                              Endpoint('%s:%s' % (job.dest.name, tag), job.dest.registry))), scratch)
                    for tag in job.tags]
        return PLAY_HEAD.format(side=self.label) + SKOPEO_TASK.format(), {'commands': commands}

    def run(self, job: Job, scratch: Path, timeout: float) -> Outcome:
        """Run the play once (a run of its own in ``scratch``, which later runs of the same job share)."""
        scratch.mkdir(parents=True, exist_ok=True)
        text, extra = self.play(job, scratch)
        (scratch / 'play.yml').write_text(text, encoding='utf-8')
        (scratch / 'vars.json').write_text(json.dumps(extra), encoding='utf-8')
        env = bench_environ()
        env.update(run_home(scratch / 'home'))
        env.update({'ANSIBLE_COLLECTIONS_PATH': str(self.collections_root), 'ANSIBLE_PYTHON_INTERPRETER': self.python,
                    'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0', 'ANSIBLE_RETRY_FILES_ENABLED': '0',
                    'ANSIBLE_LOCAL_TEMP': str(scratch / 'home' / 'tmp'), 'ANSIBLE_REMOTE_TEMP': str(scratch / 'home' / 'tmp'),
                    'ANSIBLE_CONFIG': str(scratch / 'ansible.cfg')})
        (scratch / 'ansible.cfg').write_text('[defaults]\n', encoding='utf-8')
        argv = [self.ansible_playbook, '-i', 'localhost,', '-e', '@' + str(scratch / 'vars.json'), str(scratch / 'play.yml')]
        measurement = measure(argv, env=env, cwd=str(scratch), timeout=timeout, how=self.how)
        return Outcome(measurement=measurement, result=play_result(measurement, len(job.tags)))


def play_result(measurement: Measurement, expected: int) -> dict[str, t.Any]:
    """Loop items by status from the play's output; ``failed`` unless it exited 0 with ``expected`` items ok or changed."""
    counts = {'ok': 0, 'changed': 0, 'failed': 0}
    for status in _ITEM_LINE.findall(measurement.stdout):
        key = 'failed' if status in ('failed', 'fatal') else status
        if key in counts:
            counts[key] += 1
    result: dict[str, t.Any] = dict(counts)
    if measurement.rc != 0 or counts['failed'] or counts['ok'] + counts['changed'] != expected:
        # The first failed item's line carries the module's message; stderr only Ansible's warnings.
        failures = [line for line in measurement.stdout.splitlines() if line.startswith(('failed:', 'fatal:'))]
        why = (failures[0] if failures else measurement.tail())[:1000]
        result.update(failed=True, msg='play rc=%d, items %s of %d: %s' % (measurement.rc, counts, expected, why))
    return result
