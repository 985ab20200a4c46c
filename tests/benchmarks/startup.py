# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a module task costs before and around its work: start-up, imports, AnsiballZ payload (``make bench``).

Ansible runs a module as AnsiballZ: one Python file carrying a base64 zip of the module and every
module_util it can import (found by static analysis of its imports, lazy ones included). On the host
the zip is written to a temp dir and imported from with ``zipimport``, which never caches bytecode,
so every task compiles every module_util it imports, every time. This script builds the real
AnsiballZ files with ``ansible``/``ansible-playbook`` (``ANSIBLE_KEEP_REMOTE_FILES=1``, everything in
a temp dir) and runs them again as the host would, directly, ``--repeat`` times:

* ``start-up`` rows, one per module: the task fails on an unknown option, so the run is the module's
  imports, AnsibleModule and the failure, nothing else. Payload = the zip's bytes and files.
* ``task`` rows: tasks that find their work done (image_copy oci: -> oci: and docker:// -> docker://
  up to date, image_inspect of a layout and of a registry, image_sync of one up-to-date image,
  image_delete in check mode), against a test-bed registry (TLS, htpasswd). The first run, through
  ``ansible-playbook``, does the work (and proves the payload holds every lazily imported
  module_util those features use); the timed runs find it done. skopeo's time for the same command
  is shown where there is one.

Columns: median wall and CPU seconds, the ``-X importtime`` total (sum of every module's own time,
one run), payload size, and which optional heavy packages the run imported (``httpx``,
``cryptography``, ``gnupg``, ``zstandard``, ``yaml``). See tests/benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO_ROOT / 'tests' / 'testbed')]

# pylint: disable=wrong-import-position
from ocikit_bench.measure import launcher, measure  # noqa: E402
from ocikit_bench.sides import bench_environ, find_collections_root, isolated_argv, probe_cache_isolation, run_home  # noqa: E402
from ocikit_testbed import LayerSpec, Registry, build_image  # noqa: E402

MODULES = ('image_copy', 'image_delete', 'image_inspect', 'image_sign', 'image_sync', 'registry_login')
# Packages only some runs need; the column says which of them a run imported.
HEAVY = ('httpx', 'cryptography', 'gnupg', 'zstandard', 'yaml', 'isal')
USERS = {'alice': 'wonderland'}
_IMPORTTIME_RE = re.compile(r'^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--repeat', type=int, default=5, help='timed runs per row (median shown)')
    parser.add_argument('--python', default=sys.executable, help='the managed host interpreter')
    parser.add_argument('--skip-tasks', action='store_true', help='start-up rows only (no registry)')
    parser.add_argument('--json', type=Path, default=REPO_ROOT / '.bench' / 'startup.json', help='where the results go')
    return parser.parse_args(argv)


class AnsiballzBuilder:
    """Runs ansible with kept remote files in a private tree and hands back each task's AnsiballZ file."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.env = bench_environ()
        self.env.update(run_home(scratch / 'home'))
        self.env.update({'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_LOCAL_TEMP': str(scratch / 'local'),
                         'ANSIBLE_CONFIG': str(scratch / 'no-ansible.cfg'), 'TMPDIR': str(scratch / 'home' / 'tmp')})
        self.count = 0

    def build(self, module: str, args: t.Mapping[str, t.Any], check: bool = False) -> tuple[Path, dict[str, t.Any]]:
        """Run one task through ansible-playbook (the integration tests' run_playbook); its kept AnsiballZ file and its result."""
        # Imported here: ocikit_it reads OCIKIT_COLLECTIONS_PATH when imported, and main() sets it.
        from ocikit_it import run_playbook  # pylint: disable=import-outside-toplevel

        self.count += 1
        remote = self.scratch / ('remote-%d' % self.count)
        play = [{'hosts': 'localhost', 'gather_facts': False, 'vars': {'ansible_remote_tmp': str(remote)},
                 'tasks': [{'name': module, 'ocikit.images.%s' % module: dict(args), 'check_mode': check, 'ignore_errors': True}]}]
        run = run_playbook(json.dumps(play), env=self.env)
        tasks = run.tasks()
        if not tasks:
            raise SystemExit('ansible-playbook gave no result for %s: %s' % (module, (run.stderr or str(run.output))[-2000:]))
        found = sorted(remote.glob('ansible-tmp-*/AnsiballZ_%s.py' % module))
        if not found:
            raise SystemExit('no AnsiballZ file kept for %s under %s' % (module, remote))
        return found[0], tasks[0][1]


def import_profile(python: str, ansiballz: Path, env: t.Mapping[str, str], repeat: int) -> tuple[float, list[str], list[tuple[int, str]]]:
    """``-X importtime`` runs: the median total seconds; of the last run, the HEAVY packages imported and the five slowest top-level imports."""
    totals = []
    for dummy in range(repeat):
        proc = subprocess.run([python, '-X', 'importtime', str(ansiballz)], capture_output=True, text=True, env=dict(env), timeout=300, check=False)
        total, names, top = parse_importtime(proc.stderr)
        totals.append(total)
    return statistics.median(totals), [name for name in HEAVY if name in names], sorted(top, reverse=True)[:5]


def parse_importtime(text: str) -> tuple[float, set[str], list[tuple[int, str]]]:
    """Seconds (the sum of every module's own time), the names loaded (0.1 ms or more), (µs, name) of each top-level import."""
    total = 0
    names = set()
    top: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = _IMPORTTIME_RE.match(line)
        if not match:
            continue
        own, cumulative, indent, name = int(match.group(1)), int(match.group(2)), match.group(3), match.group(4)
        total += own
        if cumulative >= 100:
            # Under 0.1 ms nothing was loaded: an import answered from sys.modules, such as the zstandard that httpx_import.py
            # makes httpx find missing (a line of a few µs), is not a package imported.
            names.add(name)
        if not indent:
            top.append((cumulative, name))
    return total / 1e6, names, top


def time_runs(argv: list[str], env: t.Mapping[str, str], repeat: int, how: str) -> dict[str, t.Any]:
    """Median wall and CPU seconds and peak RSS of ``repeat`` runs of ``argv``, and their exit codes."""
    runs = [measure(argv, env=env, timeout=300, how=how) for dummy in range(repeat)]
    return {'wall_s': statistics.median(r.seconds for r in runs), 'cpu_s': statistics.median(r.cpu_user + r.cpu_system for r in runs),
            'max_rss_mib': max(r.max_rss for r in runs) / 1048576, 'rcs': sorted({r.rc for r in runs}), 'stdout': runs[-1].stdout}


def module_result(stdout: str) -> dict[str, t.Any]:
    try:
        return json.loads(stdout[stdout.index('{'):])
    except ValueError:
        return {}


def row(label: str, builder: AnsiballzBuilder, args: argparse.Namespace, how: str, module: str, module_args: t.Mapping[str, t.Any],
        check: bool = False, skopeo: list[str] | None = None, expect: t.Callable[[dict[str, t.Any]], bool] | None = None) -> dict[str, t.Any]:
    """Build one task's AnsiballZ through ansible-playbook, then time it (and skopeo's command) run directly."""
    from ocikit_it import ansiballz_payload  # pylint: disable=import-outside-toplevel

    ansiballz, first = builder.build(module, module_args, check=check)
    env = builder.env
    timed = time_runs([args.python, str(ansiballz)], env, args.repeat, how)
    last = module_result(timed.pop('stdout'))
    seconds, heavy, top = import_profile(args.python, ansiballz, env, args.repeat)
    zip_bytes, sizes = ansiballz_payload(ansiballz)
    files, source_bytes = len(sizes), sum(sizes.values())
    record = {'row': label, 'module': module, 'first_run': {k: first.get(k) for k in ('changed', 'failed', 'msg')}, 'last_run':
              {k: last.get(k) for k in ('changed', 'failed', 'msg')}, 'import_s': seconds, 'heavy_imports': heavy, 'top_imports': top,
              'payload_zip_bytes': zip_bytes, 'payload_files': files, 'payload_source_bytes': source_bytes, **timed}
    record['ok'] = expect(last) if expect else True
    if skopeo:
        record['skopeo'] = time_runs(skopeo, env, args.repeat, how)
        record['skopeo'].pop('stdout')
    return record


def task_rows(builder: AnsiballzBuilder, args: argparse.Namespace, how: str, scratch: Path) -> list[dict[str, t.Any]]:
    """Tasks that find their work done, against a test-bed registry and an OCI layout."""
    image = build_image(scratch / 'layout', 'v1', layers=[LayerSpec(size=65536), LayerSpec(size=131072)])
    isolation = probe_cache_isolation(scratch)
    cache_dir = scratch / 'skopeo-blob-info-cache'
    cache_dir.mkdir()

    def skopeo(*skopeo_args: str) -> list[str] | None:
        # As root, skopeo's blob-info cache is /var/lib/containers/cache whatever HOME says: hide it, or leave skopeo out.
        argv = ['skopeo', *skopeo_args]
        if isolation.mode == 'home':
            return argv
        return isolated_argv(argv, cache_dir) if isolation.mode == 'mount-namespace' else None

    rows = []
    with Registry(scratch / 'registry', tls=True, auth='htpasswd', users=USERS) as registry:
        user, password = registry.credentials
        login = {'username': user, 'password': password, 'cert_dir': str(registry.cert_dir)}
        seed = skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + registry.ref('bench/app', 'v1'))
        if seed is None:
            raise SystemExit('skopeo runs as root and its blob-info cache cannot be hidden (no mount namespace): not seeding with it')
        subprocess.run(seed, check=True, capture_output=True, timeout=300, env=builder.env)
        src_docker = 'docker://' + registry.ref('bench/app', 'v1')
        dest_layout = 'oci:%s:v1' % (scratch / 'dest-layout')
        skopeo_flags = registry.skopeo_flags('src') + registry.skopeo_flags('dest')
        rows.append(row('copy oci: -> oci: up to date', builder, args, how, 'image_copy', {'src': image.oci_ref, 'dest': dest_layout},
                        skopeo=skopeo('copy', '--quiet', image.oci_ref, dest_layout), expect=unchanged))
        dest_docker = 'docker://' + registry.ref('bench/copy', 'v1')
        rows.append(row('copy docker:// -> docker:// up to date', builder, args, how, 'image_copy', dict(login, src=src_docker, dest=dest_docker),
                        skopeo=skopeo('copy', '--quiet', *skopeo_flags, src_docker, dest_docker), expect=unchanged))
        rows.append(row('inspect oci:', builder, args, how, 'image_inspect', {'image': image.oci_ref},
                        skopeo=skopeo('inspect', image.oci_ref), expect=unchanged))
        rows.append(row('inspect docker://', builder, args, how, 'image_inspect', dict(login, image=src_docker),
                        skopeo=skopeo('inspect', *registry.skopeo_flags(''), src_docker), expect=unchanged))
        rows.append(row('sync 1 image up to date', builder, args, how, 'image_sync',
                        {'src': registry.ref('bench/app', 'v1'), 'dest': '%s/mirror' % registry.host, 'username': user, 'password': password,
                         'src_cert_dir': str(registry.cert_dir), 'dest_cert_dir': str(registry.cert_dir)}, expect=unchanged))
        rows.append(row('delete docker:// (check mode)', builder, args, how, 'image_delete', dict(login, image=src_docker), check=True,
                        expect=lambda result: result.get('changed') is True and not result.get('failed')))
    return rows


def unchanged(result: t.Mapping[str, t.Any]) -> bool:
    """A task that found its work done."""
    return result.get('changed') is False and not result.get('failed')


def print_table(rows: t.Sequence[t.Mapping[str, t.Any]]) -> None:
    head = '%-40s %7s %7s %8s %6s %9s %5s  %-22s %9s'
    print(head % ('row', 'wall s', 'CPU s', 'import s', 'RSS', 'zip KiB', 'files', 'heavy imports', 'skopeo s'))
    for item in rows:
        other = item.get('skopeo')
        print(head % (item['row'] + ('' if item['ok'] else ' (UNEXPECTED RESULT)'), '%.3f' % item['wall_s'], '%.3f' % item['cpu_s'],
                      '%.3f' % item['import_s'], '%.0f' % item['max_rss_mib'], '%.0f' % (item['payload_zip_bytes'] / 1024), item['payload_files'],
                      ','.join(item['heavy_imports']) or '-', '%.3f' % other['wall_s'] if other else '-'))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix='ocikit-bench-startup-')).resolve()
    try:
        collections_root, origin = find_collections_root(REPO_ROOT, scratch)
        how = launcher()[0]
        os.environ.update({'OCIKIT_COLLECTIONS_PATH': str(collections_root), 'ANSIBLE_TEST_PYTHON_INTERPRETER': args.python})
        sys.path.insert(0, str(REPO_ROOT / 'tests' / 'integration' / 'support'))
        builder = AnsiballzBuilder(scratch)
        load_before = os.getloadavg()
        print('collection: %s; python %s; %d runs per row, medians; load average %.2f' % (origin, args.python, args.repeat, load_before[0]))
        baseline = time_runs([args.python, '-c', 'pass'], builder.env, args.repeat, how)
        print('bare interpreter (python -c pass): %.3f s wall, %.3f s CPU' % (baseline['wall_s'], baseline['cpu_s']))
        # Only an option no module has: the task fails in AnsibleModule() (a required option missing, or this one
        # unknown), after every module-level import and before any work.
        rows = [row('start-up %s' % module, builder, args, how, module, {'ocikit_startup_probe': True},
                    expect=lambda result: result.get('failed') is True) for module in MODULES]
        if not args.skip_tasks:
            rows += task_rows(builder, args, how, scratch)
        print_table(rows)
        load_after = os.getloadavg()
        print('load average after: %.2f (on %d CPUs; wall times scatter under load, CPU times much less)' % (load_after[0], os.cpu_count() or 0))
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({'collection': origin, 'python': args.python, 'repeat': args.repeat, 'bare_python': baseline, 'rows': rows,
                                         'load_average': [load_before, load_after], 'cpus': os.cpu_count()},
                                        indent=2, default=str), encoding='utf-8')
        print('details: %s' % args.json)
        return 0 if all(item['ok'] for item in rows) else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
