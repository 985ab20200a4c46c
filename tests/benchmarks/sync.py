# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync against ``skopeo sync``, side by side (``make bench-sync``; not part of CI).

Starts two TLS + htpasswd registries from the test bed, seeds registry A with ``--images`` small
distinct images (one repository, one tag each; untimed, by our engine in-process), then times:

* cold        registry A -> a new repository path on registry B (every image copied)
* up-to-date  the same again (every image already there)

for ours (``plugins/modules/image_sync.py`` run as its own process, as Ansible runs it) and for
``skopeo sync --src docker --dest docker``, each into its own destination (``--repeat`` times, the
order of the sides alternating, each repetition with a registry B of its own). Each run is checked
(the destination holds every tag with the source's digest) and the requests it made to each
registry are counted from the access logs, and the CPU seconds each run cost its client (the
side's process tree) and the two registries (``/proc``) are recorded. Prints every run, then the
medians and their ratios ours/skopeo, and for ours a lower bound on this machine:

    bound = start-up floor + registries' CPU for ours' requests / cores

the start-up floor being the least any Ansible module takes before its work (an interpreter
importing ``ansible.module_utils.basic``, compiled), measured here. Ours makes the protocol's fewest
requests, so the registries cannot do less for it; even a client that took no CPU at all could not
finish before its start-up plus the registries' work spread over every core. ``bound / skopeo`` is
the best ratio any module could reach on this machine (``best ratio`` in the output and the JSON).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
COLLECTION = REPO_ROOT / 'build' / 'collections' / 'ansible_collections' / 'ocikit' / 'images'
os.environ.setdefault('OCIKIT_COLLECTION_ROOT', str(COLLECTION))
sys.path[:0] = [str(HERE), str(REPO_ROOT / 'tests' / 'testbed'), str(REPO_ROOT / 'tests' / 'integration' / 'support'), str(COLLECTION.parents[2])]

# pylint: disable=wrong-import-position
from ocikit_bench.measure import registries_cpu_seconds, registries_cpu_spent, startup_floor  # noqa: E402
from ocikit_bench.report import cpu_limit_suffix, lower_bound  # noqa: E402
from ocikit_bench.sides import bench_environ, isolated_argv, probe_cache_isolation  # noqa: E402
from ocikit_it import run_module  # noqa: E402
from ocikit_testbed import LayerSpec, Registry, build_image  # noqa: E402

SCENARIOS = ('cold', 'up-to-date')
SIDES = ('ours', 'skopeo')


class Run(t.NamedTuple):
    """One timed run of one side."""

    side: str
    scenario: str
    seconds: float
    #: Requests per registry (A, B): {'total': ..., 'manifest GET': ...}.
    counts: list[dict[str, int]]
    #: CPU seconds of the side's process tree.
    client_cpu_s: float
    #: CPU seconds the two registries spent meanwhile; None where /proc could not say.
    registry_cpu_s: float | None


USERS = {'alice': 'wonderland'}


def seed(registry: Registry, layout: Path, count: int) -> dict[str, str]:
    """``count`` distinct small images as bench/app:t0..tN in ``registry``; tag -> digest."""
    from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image  # pylint: disable=import-outside-toplevel
    from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions  # pylint: disable=import-outside-toplevel
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions  # pylint: disable=import-outside-toplevel
    from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name  # pylint: disable=import-outside-toplevel

    digests = {}
    dest_options = ConnectionOptions(username='alice', password='wonderland', cert_dir=str(registry.cert_dir))
    for number in range(count):
        tag = 't%d' % number
        image = build_image(layout, tag, layers=[LayerSpec(size=4096 + number)], seed=1000 + number)
        copy_image(parse_image_name(image.oci_ref), parse_image_name('docker://%s/bench/app:%s' % (registry.host, tag)), ConnectionOptions(),
                   dest_options, CopyOptions())
        digests[tag] = image.manifest_digest
    return digests


def requests_per_registry(*registries: Registry) -> list[dict[str, int]]:
    counts = []
    for registry in registries:
        records = registry.requests()
        counts.append({'total': len(records), 'manifest GET': sum(1 for r in records if r['method'] == 'GET' and '/manifests/' in r['path'])})
    return counts


def ours(a: Registry, b: Registry, dest: str, concurrency: int) -> float:
    started = time.monotonic()
    out = run_module('image_sync', {'src': '%s/bench/app' % a.host, 'dest': '%s/%s' % (b.host, dest), 'username': 'alice',
                                    'password': 'wonderland', 'src_cert_dir': str(a.cert_dir), 'dest_cert_dir': str(b.cert_dir),
                                    'concurrency': concurrency}, timeout=3600, env={'PYTHONDONTWRITEBYTECODE': ''})  # as bench_environ()
    elapsed = time.monotonic() - started
    if out.failed:
        raise SystemExit('image_sync failed: %s' % out.msg)
    return elapsed


def skopeo(a: Registry, b: Registry, dest: str, cache: Path, isolation: str) -> float:
    """One ``skopeo sync`` with an empty HOME of its own and its blob-info cache in ``cache`` (nothing written to the real ones).

    As root, containers/image keeps that cache in /var/lib/containers/cache whatever HOME says: the run goes into a
    mount namespace where ``cache`` is bind-mounted there (as run.py's runs), or, without namespaces, the file is removed.
    """
    with tempfile.TemporaryDirectory(prefix='ocikit-bench-home-') as home:
        env = dict(bench_environ(), HOME=home, XDG_CACHE_HOME=home + '/.cache', XDG_CONFIG_HOME=home + '/.config', XDG_DATA_HOME=home + '/.local/share')
        argv = ['skopeo', 'sync', '--src', 'docker', '--dest', 'docker', '--src-cert-dir', str(a.cert_dir), '--dest-cert-dir',
                str(b.cert_dir), '--src-creds', 'alice:wonderland', '--dest-creds', 'alice:wonderland', '%s/bench/app' % a.host,
                '%s/%s' % (b.host, dest)]
        if isolation == 'mount-namespace':
            argv = isolated_argv(argv, cache)
        started = time.monotonic()
        subprocess.run(argv, check=True, capture_output=True, timeout=3600, env=env)
        return time.monotonic() - started


def children_cpu_seconds() -> float:
    """User + system CPU seconds of every child process this one has waited for (the sides' runs and their children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(side: str, scenario: str, run: t.Callable[[], float], a: Registry, b: Registry) -> Run:
    """``run()`` measured: its wall seconds, the requests it made, and the CPU seconds it cost its client and the registries."""
    a.clear_requests()
    b.clear_requests()
    client, served = children_cpu_seconds(), registries_cpu_seconds((a, b))
    seconds = run()
    registry_cpu = registries_cpu_spent((a, b), served)
    return Run(side, scenario, seconds, requests_per_registry(a, b), children_cpu_seconds() - client, registry_cpu)


def _median(values: t.Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def summarize_runs(runs: t.Sequence[Run], images: int, floor: float, cores: int) -> list[dict[str, t.Any]]:
    """The rows sync-cold and sync-up-to-date, in the format render.py reads (tests/benchmarks/README.md, JSON):
    per side the medians of wall time, client and registry CPU and requests; the ratio; ours' lower bound."""
    entries = []
    for scenario in SCENARIOS:
        entry: dict[str, t.Any] = {'scenario': 'sync-' + scenario, 'description': '%d small images, registry A -> B (%s)' % (images, scenario)}
        for side in SIDES:
            mine = [run for run in runs if (run.side, run.scenario) == (side, scenario)]
            entry[side] = {'median_s': statistics.median(run.seconds for run in mine), 'runs': len(mine), 'failed': 0, 'peak_rss_mib': None,
                           'median_cpu_s': _median(run.client_cpu_s for run in mine),
                           'median_registry_cpu_s': _median(run.registry_cpu_s for run in mine),
                           'median_requests': statistics.median(sum(registry['total'] for registry in run.counts) for run in mine)}
        entry['ratio'] = entry['ours']['median_s'] / entry['skopeo']['median_s']
        bound = lower_bound(floor, entry['ours'], entry['skopeo'], cores)
        if bound is not None:
            entry['bound'] = bound
        entries.append(entry)
    return entries


def check(b: Registry, dest: str, digests: dict[str, str]) -> None:
    """Every tag at the destination with the source's digest (HEAD requests, after the access logs were read)."""
    for tag, digest in digests.items():
        out = subprocess.run(['skopeo', 'inspect', '--raw', '--cert-dir', str(b.cert_dir), '--creds', 'alice:wonderland',
                              'docker://%s/%s/app:%s' % (b.host, dest, tag)], check=True, capture_output=True, timeout=120)
        import hashlib  # pylint: disable=import-outside-toplevel
        if 'sha256:' + hashlib.sha256(out.stdout).hexdigest() != digest:
            raise SystemExit('%s/app:%s has the wrong digest' % (dest, tag))


def main() -> None:
    parser = argparse.ArgumentParser(description='image_sync against skopeo sync')
    parser.add_argument('--images', type=int, default=100)
    parser.add_argument('--concurrency', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=1, help='runs of each side (alternating which goes first); medians are printed')
    parser.add_argument('--auth', choices=('htpasswd', 'token'), default='htpasswd',
                        help='how both registries authenticate: htpasswd (basic auth, a bcrypt check per request in the registry) or '
                             'token (a bearer token from the test bed\'s token server, as public registries do)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='ocikit-bench-sync-') as work:
        base = Path(work)
        isolation = probe_cache_isolation(base)
        if isolation.mode == 'delete':
            raise SystemExit('skopeo runs as root without mount namespaces here: its blob-info cache cannot be kept apart; not measured')
        with Registry(base / 'a', tls=True, auth=args.auth, users=USERS) as a:
            digests = seed(a, base / 'layout', args.images)
            runs: list[Run] = []
            for repetition in range(args.repeat):
                # A registry B of its own per repetition: skopeo (as root) keeps its blob-info cache in /var/lib/containers/cache
                # whatever HOME says, and would mount into a later repetition what an earlier one uploaded to the same registry.
                with Registry(base / ('b%d' % repetition), tls=True, auth=args.auth, users=USERS) as b:
                    # skopeo's cache lives for one repetition (cold, then up to date), as a nightly sync's on one host would.
                    cache = base / ('skopeo-cache-%d' % repetition)
                    cache.mkdir()
                    sides = [('ours', lambda dest, b=b: ours(a, b, dest, args.concurrency)),
                             ('skopeo', lambda dest, b=b, cache=cache: skopeo(a, b, dest, cache, isolation.mode))]
                    # Alternated, so that neither side always runs after the other on a machine whose load changes.
                    for side, run in (sides if repetition % 2 == 0 else sides[::-1]):
                        dest = '%s-mirror' % side
                        for scenario in SCENARIOS:
                            runs.append(timed(side, scenario, lambda run=run, dest=dest: run(dest), a, b))
                        check(b, dest, digests)
    floor, cores = startup_floor(sys.executable, bench_environ()), os.cpu_count() or 1
    print('%d images, concurrency %d (ours), %d run(s) per side' % (args.images, args.concurrency, args.repeat))
    print('%-8s %-11s %9s %11s %14s  %-28s %-28s' % ('side', 'scenario', 'seconds', 'client CPU', 'registries CPU',
                                                     'source requests (manifest GET)', 'dest requests (manifest GET)'))
    for run in runs:
        src, dst = run.counts
        print('%-8s %-11s %9.2f %11.2f %14s  %-28s %-28s' % (run.side, run.scenario, run.seconds, run.client_cpu_s,
                                                             '-' if run.registry_cpu_s is None else '%.2f' % run.registry_cpu_s,
                                                             '%d (%d)' % (src['total'], src['manifest GET']),
                                                             '%d (%d)' % (dst['total'], dst['manifest GET'])))
    entries = summarize_runs(runs, args.images, floor, cores)
    for entry in entries:
        ours_s, skopeo_s = entry['ours']['median_s'], entry['skopeo']['median_s']
        print('median %-11s ours %.2f s, skopeo %.2f s, ratio ours/skopeo %.2f' % (entry['scenario'][len('sync-'):], ours_s, skopeo_s, entry['ratio']))
        bound = entry.get('bound')
        if bound is not None:
            print('  lower bound for ours: start-up floor %.3f s + registries %.2f CPU-s / %d cores = %.2f s; best ratio %.2f%s'
                  % (bound['startup_floor_s'], bound['registry_cpu_s'], bound['cores'], bound['bound_s'], bound['best_ratio'],
                     cpu_limit_suffix(bound)))
    path = write_document(args, entries)
    print('results: %s' % path)


def write_document(args: argparse.Namespace, scenarios: list[dict[str, t.Any]]) -> Path:
    """``.bench/sync.json`` in the format render.py reads: the rows of :func:`summarize_runs`."""
    document = {'benchmark': 'sync', 'generated': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                'command': ['python', 'tests/benchmarks/sync.py'] + sys.argv[1:],
                'settings': {'images': args.images, 'concurrency': args.concurrency, 'repeat': args.repeat}, 'scenarios': scenarios}
    out = REPO_ROOT / '.bench' / 'sync.json'
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + '\n', encoding='utf-8')
    return out


if __name__ == '__main__':
    main()
