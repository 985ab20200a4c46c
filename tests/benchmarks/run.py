# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ocikit.images' image_copy against ``skopeo copy``, side by side (``make bench``).

Builds a multi-layer image offline, starts two TLS + htpasswd registries from the test bed and
times five scenarios, ours and skopeo in turn (the order alternates between repetitions), every
transfer into a repository no run has used before:

* push        OCI layout -> registry A
* pull        registry A -> a new OCI layout directory
* copy        registry A -> registry B (two registries, so the blobs really travel)
* up-to-date  the push again, into a repository that already holds the image
* recompress  registry A -> a registry started for this run alone, gzip layers rewritten as zstd

Every run is verified: the destination must hold the source's manifest digest and all its blobs
(recompress: the source's config, zstd layers that decompress to the source's diff_ids, and the
manifest digest the tool reported), and the registry's access log must show the uploads a transfer
implies. The table goes to stdout,
every run's details to ``.bench/results.json``. See ``tests/benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO_ROOT / 'tests' / 'testbed')]

# pylint: disable=wrong-import-position
from ocikit_bench.measure import launcher, rss_baseline  # noqa: E402
from ocikit_bench.report import ratio, summarize, table  # noqa: E402
from ocikit_bench.sides import Endpoint, Job, Ours, Outcome, Skopeo, find_collections_root, probe_cache_isolation, skopeo_version  # noqa: E402
from ocikit_bench.verify import (  # noqa: E402
    OCI_LAYER_ZSTD, check_layout_image, check_recompressed_image, check_registry_image, settled_requests, wire_activity)
from ocikit_testbed import LayerSpec, Registry, build_image  # noqa: E402

TAG = 'v1'
USERS = {'alice': 'wonderland'}
SCENARIOS = {
    'push': 'OCI layout -> registry (new repository)',
    'pull': 'registry -> OCI layout (new directory)',
    'copy': 'registry A -> registry B (new repository)',
    'up-to-date': 'the push again, destination already holds the image',
    'recompress': 'registry A -> a fresh registry, gzip layers recompressed to zstd',
}
# Scenarios whose destination must receive every blob by upload, none by mount.
FULL_TRANSFER = ('push', 'copy', 'recompress')
RECOMPRESS_FORMAT = 'zstd'
SIDES = ('ours', 'skopeo')
# (share of the image's blob bytes, share of each file that is a repeated pattern): from
# incompressible (already-compressed assets) to highly compressible (text, binaries with padding).
LAYER_MIX = ((0.30, 0.0), (0.25, 0.25), (0.20, 0.5), (0.15, 0.75), (0.10, 0.6))
# gzip -1 shrinks the patterned part to about this fraction; only used to size the layers.
PATTERN_RATIO = 0.01


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; --quick only changes the defaults of --size-mb and --repeat."""
    parser = argparse.ArgumentParser(description='Benchmark ocikit.images image_copy against skopeo copy.')
    parser.add_argument('--repeat', type=int, default=None, help='repetitions of each scenario and side (default 3, 1 with --quick)')
    parser.add_argument('--size-mb', type=float, default=None, help='approximate image size in MB of blobs (default 300, 50 with --quick)')
    parser.add_argument('--quick', action='store_true', help='a ~50 MB smoke run, one repetition')
    parser.add_argument('--scenarios', default=','.join(SCENARIOS), help='comma-separated subset of: %s' % ', '.join(SCENARIOS))
    parser.add_argument('--sides', default=','.join(SIDES), help='comma-separated subset of: ours, skopeo')
    parser.add_argument('--timeout', type=float, default=1800.0, help='seconds before one run is killed (default 1800)')
    parser.add_argument('--workdir', type=Path, help='where to make the scratch directory (default: the system temp directory); it is removed afterwards')
    parser.add_argument('--keep', action='store_true', help='keep the scratch directory and pulled layouts')
    parser.add_argument('--output', type=Path, default=REPO_ROOT / '.bench' / 'results.json', help='JSON results (default .bench/results.json)')
    parser.add_argument('--python', default=sys.executable, help='interpreter that runs the module (default: this one)')
    parser.add_argument('--skopeo', default=shutil.which('skopeo') or 'skopeo', help='skopeo binary')
    args = parser.parse_args(argv)
    args.repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    args.size_mb = args.size_mb if args.size_mb is not None else (50.0 if args.quick else 300.0)
    args.scenarios = [s.strip() for s in args.scenarios.split(',') if s.strip()]
    args.sides = [s.strip() for s in args.sides.split(',') if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS] + [s for s in args.sides if s not in SIDES]
    if unknown or args.repeat < 1 or args.size_mb <= 0:
        parser.error('unknown scenario/side %s or bad --repeat/--size-mb' % ', '.join(unknown))
    return args


def layer_specs(size_mb: float) -> list[LayerSpec]:
    """Five gzip layers whose blobs add up to about ``size_mb`` MB."""
    specs = []
    for share, compressible in LAYER_MIX:
        blob_bytes = share * size_mb * 1e6
        content = int(blob_bytes / (1.0 - compressible + compressible * PATTERN_RATIO))
        specs.append(LayerSpec(size=content, compressible=compressible, compression='gzip', files=4))
    return specs


def registry_endpoint(registry: Registry, repository: str) -> Endpoint:
    """``docker://HOST/REPOSITORY:TAG`` on ``registry``."""
    return Endpoint('docker://' + registry.ref(repository, TAG), registry, repository)


class Bench:
    """State shared by all runs: the image, the registries, the contenders, the records."""

    def __init__(self, args: argparse.Namespace, workdir: Path, image: t.Any, reg_a: Registry, reg_b: Registry,
                 contenders: dict[str, t.Any], seeder: Skopeo) -> None:
        self.args = args
        self.workdir = workdir
        self.image = image
        self.reg_a = reg_a
        self.reg_b = reg_b
        self.contenders = contenders
        self.seeder = seeder
        self.records: list[dict[str, t.Any]] = []
        self.blob_count = len(image.blob_digests)

    def seed(self, repository: str, scratch: Path) -> list[str]:
        """Push the image into ``repository`` of registry A with skopeo, untimed; problems if any."""
        job = Job(Endpoint(self.image.oci_ref), registry_endpoint(self.reg_a, repository))
        outcome = self.seeder.run(job, scratch, self.args.timeout)
        if not outcome.ok:
            return ['seeding %s failed: %s' % (repository, outcome.result.get('msg'))]
        return check_registry_image(self.reg_a, repository, TAG, self.image.manifest_digest)

    def job_for(self, scenario: str, label: str, rep: int, scratch: Path, fresh: Registry | None = None) -> tuple[Job, list[str]]:
        """The job of one run and the problems of its untimed set-up (``fresh``: the run's own registry)."""
        repository = 'bench/%s-%s-r%d' % (scenario.replace('-', ''), label, rep + 1)
        if scenario == 'recompress':
            if fresh is None:
                raise ValueError('the recompress scenario needs a registry of its own')
            return Job(registry_endpoint(self.reg_a, 'bench/source'), registry_endpoint(fresh, repository), compress_format=RECOMPRESS_FORMAT), []
        if scenario == 'push':
            return Job(Endpoint(self.image.oci_ref), registry_endpoint(self.reg_a, repository)), []
        if scenario == 'pull':
            layout = scratch / 'layout'
            return Job(registry_endpoint(self.reg_a, 'bench/source'), Endpoint('oci:%s:%s' % (layout, TAG))), []
        if scenario == 'copy':
            return Job(registry_endpoint(self.reg_a, 'bench/source'), registry_endpoint(self.reg_b, repository)), []
        problems = self.seed(repository, scratch / 'seed')
        return Job(Endpoint(self.image.oci_ref), registry_endpoint(self.reg_a, repository)), problems

    def check(self, scenario: str, label: str, job: Job, outcome: Outcome, wire: dict[str, dict[str, int]],
              scratch: Path, facts: dict[str, t.Any]) -> list[str]:
        """Everything wrong with a finished run; an empty list means it counts. ``facts`` gets what was found."""
        if not outcome.ok:
            return ['run failed (rc=%d%s): %s' % (outcome.measurement.rc, ', timed out' if outcome.measurement.timed_out else '',
                                                  outcome.result.get('msg') or outcome.measurement.tail())]
        expected = self.image.manifest_digest
        problems: list[str] = []
        if label == 'ours':
            # recompress writes a new manifest: its digest is checked against the destination, the source's here.
            key = 'source_digest' if scenario == 'recompress' else 'digest'
            if outcome.result.get(key) != expected:
                problems.append('module reported %s %s, the source is %s' % (key, outcome.result.get(key), expected))
            if outcome.result.get('changed') != (scenario != 'up-to-date'):
                problems.append('module reported changed=%s' % outcome.result.get('changed'))
        dest = job.dest
        if scenario == 'recompress':
            problems += self.check_recompressed(label, job, outcome, scratch, facts)
        elif dest.registry is not None:
            problems += check_registry_image(dest.registry, dest.repository, TAG, expected)
        if dest.registry is not None:
            activity = wire['dest']
            if scenario in FULL_TRANSFER and (activity['blob_uploads'] != self.blob_count or activity['blob_mounts']):
                problems.append('%d of %d blobs uploaded, %d mounted: not a full transfer'
                                % (activity['blob_uploads'], self.blob_count, activity['blob_mounts']))
            if scenario == 'up-to-date' and label == 'ours' and activity['writes']:
                problems.append('%d write requests to an up-to-date destination' % activity['writes'])
        else:
            layout_dir, dummy, tag = dest.name[len('oci:'):].rpartition(':')
            problems += check_layout_image(Path(layout_dir), tag, expected)
        return problems

    def check_recompressed(self, label: str, job: Job, outcome: Outcome, scratch: Path, facts: dict[str, t.Any]) -> list[str]:
        """zstd layers with the source's diff_ids and config, and the manifest digest the tool reported."""
        dest = job.dest
        found = check_recompressed_image(dest.registry, dest.repository, TAG, self.image.config_digest, self.image.diff_ids, OCI_LAYER_ZSTD)
        facts.update(digest=found.digest, layer_bytes=found.layer_bytes)
        problems = list(found.problems)
        if label == 'ours':
            reported, why = outcome.result.get('digest'), 'the module reported'
        else:
            reported, why = self.seeder.inspect_digest(dest, scratch / 'inspect', self.args.timeout)
            why = why or 'skopeo inspect says'
        facts['reported_digest'] = reported
        if found.digest is not None and reported != found.digest:
            problems.append('destination manifest is %s, %s %s' % (found.digest, why, reported))
        if found.digest == self.image.manifest_digest:
            problems.append('destination manifest is the source\'s: nothing was recompressed')
        return problems

    def run_one(self, scenario: str, label: str, rep: int, position: int) -> dict[str, t.Any]:
        """Set up, run, measure and verify one contender's run of one scenario."""
        scratch = self.workdir / 'runs' / ('%s-%s-r%d' % (scenario, label, rep + 1))
        scratch.mkdir(parents=True)
        facts: dict[str, t.Any] = {}
        with contextlib.ExitStack() as stack:
            # recompress: a registry of this run's own, started untimed, so no tool can find a blob already there.
            fresh = stack.enter_context(Registry(scratch / 'registry', tls=True, auth='htpasswd', users=USERS)) if scenario == 'recompress' else None
            job, problems = self.job_for(scenario, label, rep, scratch, fresh)
            registries = {'src': job.src.registry, 'dest': job.dest.registry}
            for registry in registries.values():
                if registry is not None:
                    registry.clear_requests()
            outcome = self.contenders[label].run(job, scratch / 'run', self.args.timeout)
            wire = {side: wire_activity(settled_requests(registry)) for side, registry in registries.items() if registry is not None}
            if not problems:
                problems = self.check(scenario, label, job, outcome, wire, scratch, facts)
        if not self.args.keep and (scratch / 'layout').exists():
            shutil.rmtree(scratch / 'layout')
        measurement = outcome.measurement
        record = {
            'scenario': scenario, 'side': label, 'rep': rep + 1, 'position': position,
            'seconds': measurement.seconds, 'max_rss': measurement.max_rss, 'rc': measurement.rc,
            'cpu_user': measurement.cpu_user, 'cpu_system': measurement.cpu_system,
            'verified': not problems, 'problems': problems, 'notes': outcome.notes, 'wire': wire,
            'src': job.src.name, 'dest': job.dest.name, 'compress_format': job.compress_format,
        }
        if facts:
            record['dest_image'] = facts
        if label == 'ours':
            record['module'] = {k: outcome.result.get(k) for k in ('changed', 'digest', 'source_digest', 'blobs', 'bytes_copied', 'reason',
                                                                   'rule', 'converted', 'msg')}
        self.records.append(record)
        return record


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every run was verified."""
    args = parse_args(argv)
    for tool in (args.skopeo, '/usr/bin/docker-registry'):
        if not shutil.which(tool):
            print('ERROR: %s is not installed' % tool, file=sys.stderr)
            return 2
    # Always a new directory (inside --workdir when given), so removing it afterwards removes only our files.
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix='ocikit-bench-', dir=args.workdir)).resolve()
    try:
        return bench(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args: argparse.Namespace, workdir: Path) -> int:
    """Everything between setting up the scratch directory and removing it."""
    collections_root, origin = find_collections_root(REPO_ROOT, workdir)
    isolation = probe_cache_isolation(workdir)
    how, how_detail = launcher()
    contenders: dict[str, t.Any] = {'ours': Ours(collections_root, args.python, how), 'skopeo': Skopeo(args.skopeo, isolation, how)}
    environment = {
        'python': platform.python_version(), 'module_python': args.python, 'skopeo': skopeo_version(args.skopeo),
        'platform': platform.platform(), 'cpus': os.cpu_count(), 'collection': origin, 'skopeo_blob_info_cache': isolation.detail,
        'peak_rss_method': how_detail, 'peak_rss_floor': rss_baseline(how), 'load_average_before': os.getloadavg(),
    }
    print('collection: %s' % origin)
    print('skopeo %s; blob-info cache: %s' % (environment['skopeo'], isolation.detail))
    print('peak RSS: %s; floor (true): %.1f MiB' % (how_detail, environment['peak_rss_floor'] / 1048576))

    started = time.perf_counter()
    image = build_image(workdir / 'source', TAG, layers=layer_specs(args.size_mb))
    print('image: %d layers, %.1f MB of blobs (%.1f MB uncompressed), %s, built in %.1f s' % (
        len(image.layers), image.total_size / 1e6, sum(layer.uncompressed_size for layer in image.layers) / 1e6,
        image.manifest_digest, time.perf_counter() - started))
    warmup_image = build_image(workdir / 'warmup', TAG, seed=1)

    with Registry(workdir / 'reg-a', tls=True, auth='htpasswd', users=USERS) as reg_a, \
            Registry(workdir / 'reg-b', tls=True, auth='htpasswd', users=USERS) as reg_b:
        state = Bench(args, workdir, image, reg_a, reg_b, contenders, contenders['skopeo'])
        problems = state.seed('bench/source', workdir / 'seed-source')
        if problems:
            print('ERROR: could not seed registry A: %s' % '; '.join(problems), file=sys.stderr)
            return 2
        warmup(args, workdir, warmup_image, reg_a, contenders)

        total = args.repeat * len(args.scenarios) * len(args.sides)
        done = 0
        for rep in range(args.repeat):
            # Alternate who goes first, so neither side always meets the warmer page cache.
            order = list(args.sides) if rep % 2 == 0 else list(reversed(args.sides))
            for scenario in args.scenarios:
                for position, label in enumerate(order):
                    record = state.run_one(scenario, label, rep, position)
                    done += 1
                    status = 'ok' if record['verified'] else 'FAILED: ' + '; '.join(record['problems'])[:300]
                    print('[%2d/%d] rep %d %-10s %-6s %7.2f s  cpu %5.2f s  %4.0f MiB  %s' % (
                        done, total, rep + 1, scenario, label, record['seconds'], record['cpu_user'] + record['cpu_system'],
                        record['max_rss'] / 1048576, status), flush=True)

    rows = []
    for scenario in args.scenarios:
        row: dict[str, t.Any] = {'scenario': scenario, 'description': SCENARIOS[scenario]}
        for label in SIDES:
            row[label] = summarize([r for r in state.records if r['scenario'] == scenario and r['side'] == label])
        row['ratio'] = ratio(row['ours'], row['skopeo'])
        rows.append(row)
    print()
    print('%d x %.0f MB image, %d repetition(s), medians of verified runs (* = some runs failed):' % (
        len(image.layers), image.total_size / 1e6, args.repeat))
    print(table(rows))
    for row in rows:
        if row['scenario'] == 'recompress':
            print('recompress: gzip layers %.1f MB -> zstd layers %s' % (sum(image.layer_sizes) / 1e6, ', '.join(
                '%s %.1f MB' % (label, row[label]['median_layer_bytes_written'] / 1e6)
                for label in SIDES if row[label].get('median_layer_bytes_written'))))

    environment['load_average_after'] = os.getloadavg()
    write_results(args, rows, state.records, image, environment)
    failed = [r for r in state.records if not r['verified']]
    if failed:
        print('\n%d run(s) failed verification; first: %s %s: %s' % (len(failed), failed[0]['scenario'], failed[0]['side'],
                                                                     '; '.join(failed[0]['problems'])[:800]))
    return 1 if failed else 0


def warmup(args: argparse.Namespace, workdir: Path, warmup_image: t.Any, registry: Registry, contenders: dict[str, t.Any]) -> None:
    """One small untimed push per side: compiles ours' bytecode and warms both binaries' pages."""
    for label in args.sides:
        job = Job(Endpoint(warmup_image.oci_ref), registry_endpoint(registry, 'warmup/%s' % label))
        outcome = contenders[label].run(job, workdir / 'warmup-runs' / label, args.timeout)
        if not outcome.ok:
            print('warm-up of %s failed: %s' % (label, str(outcome.result.get('msg') or outcome.measurement.tail())[:500]))


def write_results(args: argparse.Namespace, rows: list[dict[str, t.Any]], records: list[dict[str, t.Any]], image: t.Any,
                  environment: dict[str, t.Any]) -> None:
    """``.bench/results.json``: settings, environment, the image, summaries and every run."""
    document = {
        'generated': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'command': [sys.executable] + sys.argv,
        'settings': {'repeat': args.repeat, 'size_mb': args.size_mb, 'quick': args.quick, 'scenarios': args.scenarios, 'sides': args.sides},
        'environment': environment,
        'image': {
            'digest': image.manifest_digest, 'total_size': image.total_size,
            'layers': [{'digest': layer.digest, 'size': layer.size, 'uncompressed_size': layer.uncompressed_size,
                        'compressible': spec[1]} for layer, spec in zip(image.layers, LAYER_MIX)],
        },
        'scenarios': rows,
        'runs': records,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, sort_keys=True) + '\n', encoding='utf-8')
    print('\nresults: %s' % args.output)


if __name__ == '__main__':
    sys.exit(main())
