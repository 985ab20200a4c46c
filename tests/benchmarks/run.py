# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ocikit.images' image_copy against ``skopeo copy``, side by side (``make bench``).

Builds a multi-layer image offline, starts two TLS + htpasswd registries from the test bed and
times issue 10's scenarios, ours and skopeo in turn (the order alternates between repetitions),
every transfer into a repository no run has used before:

* push                P1: OCI layout -> registry A
* copy                P2: registry A -> registry B (two registries, so the blobs really travel)
* pull                P3: registry A -> a new OCI layout directory
* up-to-date          P4: the push again, into a repository that already holds the image
* up-to-date-latency  P4b: the same through the test bed's proxy adding --latency-ms per round trip
* recompress          P7: registry A -> a registry started for this run alone, gzip layers rewritten as zstd
* layer-256m/-1g/-4g  P8: one image of one big layer pushed (4 GiB only with --big): peak RSS
* playbook            P9: ansible-playbook, 20 images, second run: image_copy loop vs command: skopeo copy loop
* index               P10: a 4-platform index, registry A -> registry B, ours all: true, skopeo --all

(P5/P6 are ``sync.py``'s.) The goal table with pass/miss goes to stdout with the timings.

Every run is verified: the destination must hold the source's manifest digest and all its blobs
(recompress: the source's config, zstd layers that decompress to the source's diff_ids, and the
manifest digest the tool reported), and the registry's access log must show the uploads a transfer
implies. The table goes to stdout,
every run's details to ``.bench/results.json``. See ``tests/benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
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
from ocikit_bench.machine import machine_facts, machine_line  # noqa: E402
from ocikit_bench.measure import launcher, registries_cpu_seconds, registries_cpu_spent, rss_baseline, startup_floor  # noqa: E402
from ocikit_bench.report import cpu_limit_suffix, evaluate_all, goal_table, lower_bound, ratio, summarize, table  # noqa: E402
from ocikit_bench.sides import (  # noqa: E402
    Endpoint, Job, Ours, Outcome, Playbook, Skopeo, bench_environ, find_collections_root, probe_cache_isolation, skopeo_version)
from ocikit_bench.verify import (  # noqa: E402
    OCI_LAYER_ZSTD, check_layout_image, check_recompressed_image, check_registry_image, settled_requests, wire_activity)
from ocikit_testbed import FaultProxy, LayerSpec, Registry, build_image, build_index  # noqa: E402

TAG = 'v1'
USERS = {'alice': 'wonderland'}
SCENARIOS = {
    'push': 'OCI layout -> registry (new repository)',
    'pull': 'registry -> OCI layout (new directory)',
    'copy': 'registry A -> registry B (new repository)',
    'up-to-date': 'the push again, destination already holds the image',
    'up-to-date-latency': 'up-to-date through a proxy adding --latency-ms per round trip',
    'recompress': 'registry A -> a fresh registry, gzip layers recompressed to zstd',
    'layer-256m': 'push of one 256 MiB layer (peak RSS)',
    'layer-1g': 'push of one 1 GiB layer (peak RSS)',
    'layer-4g': 'push of one 4 GiB layer (peak RSS; --big)',
    'playbook': 'ansible-playbook second run: image_copy loop vs command: skopeo copy loop',
    'index': '4-platform index, registry A -> registry B (all)',
}
# P8's layers: content bytes of the one incompressible gzip layer.
LAYER_SCENARIOS = {'layer-256m': 256 << 20, 'layer-1g': 1 << 30, 'layer-4g': 4 << 30}
OPT_IN = ('layer-4g',)
QUICK_SKIPS = ('layer-1g',)
UP_TO_DATE = ('up-to-date', 'up-to-date-latency', 'playbook')
#: Rows given a lower bound (report.lower_bound): one module process against skopeo. Not the playbook (ansible-playbook's
#: own time per task is the larger part) nor the peak-RSS rows (their goal is memory).
BOUNDED = ('push', 'pull', 'copy', 'up-to-date', 'up-to-date-latency', 'recompress', 'index')
# Scenarios whose destination must receive every blob by upload, none by mount.
FULL_TRANSFER = ('push', 'copy', 'recompress', 'index') + tuple(LAYER_SCENARIOS)
INDEX_PLATFORMS = (('linux', 'amd64', None), ('linux', 'arm64', 'v8'), ('linux', 'arm', 'v7'), ('linux', 'ppc64le', None))
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
    parser.add_argument('--quick', action='store_true', help='a ~50 MB smoke run, one repetition, no 1 GiB layer')
    parser.add_argument('--big', action='store_true', help='also push a 4 GiB layer (P8; ~9 GB of disk, minutes)')
    parser.add_argument('--scenarios', default=None,
                        help='comma-separated subset of: %s (default: all but %s)' % (', '.join(SCENARIOS), ', '.join(OPT_IN)))
    parser.add_argument('--latency-ms', type=float, default=20.0, help='P4b: milliseconds the proxy adds per round trip (default 20)')
    parser.add_argument('--index-mb', type=float, default=40.0, help='P10: MB of layer blobs in the whole 4-platform index (default 40)')
    parser.add_argument('--playbook-images', type=int, default=20, help='P9: images the playbook copies (default 20)')
    parser.add_argument('--ansible-playbook', default=None, help='P9: ansible-playbook (default: beside --python, else on PATH)')
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
    if args.scenarios is None:
        skipped = set(OPT_IN if not args.big else ()) | set(QUICK_SKIPS if args.quick else ())
        args.scenarios = ','.join(name for name in SCENARIOS if name not in skipped)
    args.scenarios = [s.strip() for s in args.scenarios.split(',') if s.strip()]
    args.sides = [s.strip() for s in args.sides.split(',') if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS] + [s for s in args.sides if s not in SIDES]
    if unknown or args.repeat < 1 or args.size_mb <= 0 or args.index_mb <= 0 or args.playbook_images < 1 or args.latency_ms < 0:
        parser.error('unknown scenario/side %s or bad --repeat/--size-mb/--index-mb/--playbook-images/--latency-ms' % ', '.join(unknown))
    if args.ansible_playbook is None:
        beside = Path(args.python).parent / 'ansible-playbook'
        args.ansible_playbook = str(beside) if beside.is_file() else (shutil.which('ansible-playbook') or 'ansible-playbook')
    return args


def layer_specs(size_mb: float) -> list[LayerSpec]:
    """Five gzip layers whose blobs add up to about ``size_mb`` MB."""
    specs = []
    for share, compressible in LAYER_MIX:
        blob_bytes = share * size_mb * 1e6
        content = int(blob_bytes / (1.0 - compressible + compressible * PATTERN_RATIO))
        specs.append(LayerSpec(size=content, compressible=compressible, compression='gzip', files=4))
    return specs


def index_layer_specs(index_mb: float) -> list[LayerSpec]:
    """P10's layers per platform: two, whose blobs add up to about ``index_mb`` MB over the INDEX_PLATFORMS."""
    per_platform = index_mb * 1e6 / len(INDEX_PLATFORMS)
    return [LayerSpec(size=int(per_platform * 0.7), compressible=0.0), LayerSpec(size=int(per_platform * 0.3 / 0.5), compressible=0.5)]


@dataclasses.dataclass
class Images:
    """Everything built offline: the main image and what the other rows need (when they run)."""

    main: t.Any
    layers: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    """P8: scenario -> an image of one big layer."""
    index: t.Any = None
    """P10: the 4-platform index."""
    playbook: list[t.Any] = dataclasses.field(default_factory=list)
    """P9: small distinct images, one layout, tagged t0..tN."""


def build_images(args: argparse.Namespace, workdir: Path) -> Images:
    """Build the images of the selected scenarios, saying how long each took."""
    started = time.perf_counter()
    image = build_image(workdir / 'source', TAG, layers=layer_specs(args.size_mb))
    print('image: %d layers, %.1f MB of blobs (%.1f MB uncompressed), %s, built in %.1f s' % (
        len(image.layers), image.total_size / 1e6, sum(layer.uncompressed_size for layer in image.layers) / 1e6,
        image.manifest_digest, time.perf_counter() - started))
    images = Images(main=image)
    for scenario, size in LAYER_SCENARIOS.items():
        if scenario in args.scenarios:
            started = time.perf_counter()
            # Incompressible content, gzip -1: the blob is about as big as the layer, and skopeo keeps gzip layers as they are.
            built = build_image(workdir / scenario, TAG, layers=[LayerSpec(size=size, compressible=0.0, compression='gzip', files=1)], seed=7)
            images.layers[scenario] = built
            print('%s: one layer of %.0f MiB, built in %.1f s' % (scenario, built.total_size / 1048576, time.perf_counter() - started))
    if 'index' in args.scenarios:
        images.index = build_index(workdir / 'index', TAG, INDEX_PLATFORMS, seed=3, layers=index_layer_specs(args.index_mb))
        blob_mb = sum(image.total_size for image in images.index.images) / 1e6
        print('index: %d platforms, %.1f MB of blobs, %s' % (len(INDEX_PLATFORMS), blob_mb, images.index.digest))
    if 'playbook' in args.scenarios:
        images.playbook = [build_image(workdir / 'playbook', 't%d' % number, layers=[LayerSpec(size=16384 + number)], seed=100 + number)
                           for number in range(args.playbook_images)]
    return images


def registry_endpoint(registry: Registry, repository: str) -> Endpoint:
    """``docker://HOST/REPOSITORY:TAG`` on ``registry``."""
    return Endpoint('docker://' + registry.ref(repository, TAG), registry, repository)


class Bench:
    """State shared by all runs: the image, the registries, the contenders, the records."""

    def __init__(self, args: argparse.Namespace, workdir: Path, images: Images, reg_a: Registry, reg_b: Registry,
                 contenders: dict[str, t.Any], seeder: Skopeo) -> None:
        self.args = args
        self.workdir = workdir
        self.images = images
        self.image = images.main
        self.reg_a = reg_a
        self.reg_b = reg_b
        self.contenders = contenders
        self.seeder = seeder
        self.records: list[dict[str, t.Any]] = []

    def source_of(self, scenario: str) -> t.Any:
        """The built image (or index) a scenario copies."""
        if scenario in LAYER_SCENARIOS:
            return self.images.layers[scenario]
        return self.images.index if scenario == 'index' else self.image

    def blob_count(self, scenario: str) -> int:
        """How many distinct blobs a full transfer of the scenario's source uploads."""
        source = self.source_of(scenario)
        if scenario == 'index':
            return len({digest for image in source.images for digest in image.blob_digests})
        return len(source.blob_digests)

    def seed(self, repository: str, scratch: Path) -> list[str]:
        """Push the image into ``repository`` of registry A with skopeo, untimed; problems if any."""
        job = Job(Endpoint(self.image.oci_ref), registry_endpoint(self.reg_a, repository))
        outcome = self.seeder.run(job, scratch, self.args.timeout)
        if not outcome.ok:
            return ['seeding %s failed: %s' % (repository, outcome.result.get('msg'))]
        return check_registry_image(self.reg_a, repository, TAG, self.image.manifest_digest)

    def job_for(self, scenario: str, label: str, rep: int, scratch: Path, fresh: Registry | None = None,
                proxy: FaultProxy | None = None) -> tuple[Job, list[str]]:
        """The job of one run and the problems of its untimed set-up (``fresh``: the run's own registry, ``proxy``: P4b's)."""
        repository = 'bench/%s-%s-r%d' % (scenario.replace('-', ''), label, rep + 1)
        if scenario in LAYER_SCENARIOS:
            return Job(Endpoint(self.source_of(scenario).oci_ref), registry_endpoint(self.reg_a, repository)), []
        if scenario == 'index':
            return Job(registry_endpoint(self.reg_a, 'bench/index'), registry_endpoint(self.reg_b, repository), all_images=True), []
        if scenario == 'playbook':
            layout = self.images.playbook[0].layout_dir
            dest = Endpoint('docker://%s/%s' % (self.reg_a.host, repository), self.reg_a, repository)
            return Job(Endpoint('oci:%s' % layout), dest, tags=tuple(image.tag for image in self.images.playbook)), []
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
        if proxy is not None:
            # P4b: the same registry, reached through the latency proxy (same CA, same credentials).
            return Job(Endpoint(self.image.oci_ref), Endpoint('docker://' + proxy.ref(repository, TAG), self.reg_a, repository)), problems
        return Job(Endpoint(self.image.oci_ref), registry_endpoint(self.reg_a, repository)), problems

    def check(self, scenario: str, label: str, job: Job, outcome: Outcome, wire: dict[str, dict[str, int]],
              scratch: Path, facts: dict[str, t.Any]) -> list[str]:
        """Everything wrong with a finished run; an empty list means it counts. ``facts`` gets what was found."""
        if not outcome.ok:
            return ['run failed (rc=%d%s): %s' % (outcome.measurement.rc, ', timed out' if outcome.measurement.timed_out else '',
                                                  outcome.result.get('msg') or outcome.measurement.tail())]
        source = self.source_of(scenario)
        expected = source.manifest_digest
        problems: list[str] = []
        if scenario == 'playbook':
            if label == 'ours' and outcome.result.get('changed') != 0:
                problems.append('second run reported changed=%s' % outcome.result.get('changed'))
            for image in self.images.playbook:
                problems += check_registry_image(job.dest.registry, job.dest.repository, image.tag, image.manifest_digest)
        elif label == 'ours':
            # recompress writes a new manifest: its digest is checked against the destination, the source's here.
            key = 'source_digest' if scenario == 'recompress' else 'digest'
            if outcome.result.get(key) != expected:
                problems.append('module reported %s %s, the source is %s' % (key, outcome.result.get(key), expected))
            if outcome.result.get('changed') != (scenario not in UP_TO_DATE):
                problems.append('module reported changed=%s' % outcome.result.get('changed'))
        dest = job.dest
        if scenario == 'recompress':
            problems += self.check_recompressed(label, job, outcome, scratch, facts)
        elif dest.registry is not None and scenario != 'playbook':
            problems += check_registry_image(dest.registry, dest.repository, TAG, expected)
        if dest.registry is not None:
            activity = wire['dest']
            if scenario in FULL_TRANSFER and (activity['blob_uploads'] != self.blob_count(scenario) or activity['blob_mounts']):
                problems.append('%d of %d blobs uploaded, %d mounted: not a full transfer'
                                % (activity['blob_uploads'], self.blob_count(scenario), activity['blob_mounts']))
            if scenario in UP_TO_DATE and label == 'ours' and activity['writes']:
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
            # P4b: the proxy is started (untimed) for this run alone, after the seeding that goes straight to the registry.
            proxy = stack.enter_context(FaultProxy(self.reg_a, delay=self.args.latency_ms / 1000.0)) if scenario == 'up-to-date-latency' else None
            job, problems = self.job_for(scenario, label, rep, scratch, fresh, proxy)
            contender = self.contenders[label]
            if scenario == 'playbook':
                contender = self.contenders['playbook-' + label]
                # The first run copies everything (untimed set-up); the second, measured below, is the one P9 is about.
                first = contender.run(job, scratch / 'run', self.args.timeout)
                facts['first_run'] = {'seconds': first.measurement.seconds, **{k: first.result.get(k) for k in ('ok', 'changed', 'msg')}}
                if not first.ok:
                    problems.append('first run of the play failed: %s' % first.result.get('msg'))
            registries = {'src': job.src.registry, 'dest': job.dest.registry}
            for registry in registries.values():
                if registry is not None:
                    registry.clear_requests()
            serving = list({id(r): r for r in registries.values() if r is not None}.values())
            served = registries_cpu_seconds(serving)
            outcome = contender.run(job, scratch / 'run', self.args.timeout)
            registry_cpu = registries_cpu_spent(serving, served)
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
            'requests_besides_auth': sum(activity['requests_besides_auth'] for activity in wire.values()),
            'dest_writes': wire.get('dest', {}).get('writes', 0),
            # What the run cost the registry processes (CPU seconds, /proc): the lower bound's share (report.lower_bound).
            'registry_cpu_s': registry_cpu,
        }
        if scenario == 'playbook':
            record['playbook'] = {k: outcome.result.get(k) for k in ('ok', 'changed', 'failed')}
            record['playbook']['first_run'] = facts.pop('first_run', None)
        if facts:
            record['dest_image'] = facts
        if label == 'ours' and scenario != 'playbook':
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
    skopeo = Skopeo(args.skopeo, isolation, how)
    contenders: dict[str, t.Any] = {'ours': Ours(collections_root, args.python, how), 'skopeo': skopeo}
    for label in SIDES:
        contenders['playbook-' + label] = Playbook(label, args.ansible_playbook, args.python, collections_root, skopeo, how)
    environment = {
        'python': platform.python_version(), 'module_python': args.python, 'skopeo': skopeo_version(args.skopeo),
        'platform': platform.platform(), 'cpus': os.cpu_count(), 'collection': origin, 'skopeo_blob_info_cache': isolation.detail,
        'peak_rss_method': how_detail, 'peak_rss_floor': rss_baseline(how), 'load_average_before': os.getloadavg(),
    }
    machine = machine_facts(REPO_ROOT, environment['skopeo'])
    print('machine: %s' % machine_line(machine))
    print('collection: %s' % origin)
    print('skopeo %s; blob-info cache: %s' % (environment['skopeo'], isolation.detail))
    print('peak RSS: %s; floor (true): %.1f MiB' % (how_detail, environment['peak_rss_floor'] / 1048576))

    images = build_images(args, workdir)
    image = images.main
    warmup_image = build_image(workdir / 'warmup', TAG, seed=1)

    with Registry(workdir / 'reg-a', tls=True, auth='htpasswd', users=USERS) as reg_a, \
            Registry(workdir / 'reg-b', tls=True, auth='htpasswd', users=USERS) as reg_b:
        state = Bench(args, workdir, images, reg_a, reg_b, contenders, contenders['skopeo'])
        problems = state.seed('bench/source', workdir / 'seed-source')
        if images.index is not None:
            seeded = skopeo.run(Job(Endpoint(images.index.oci_ref), registry_endpoint(reg_a, 'bench/index'), all_images=True),
                                workdir / 'seed-index', args.timeout)
            problems += [] if seeded.ok else ['seeding the index failed: %s' % seeded.result.get('msg')]
            problems += check_registry_image(reg_a, 'bench/index', TAG, images.index.digest)
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
                    print('[%2d/%d] rep %d %-18s %-6s %7.2f s  cpu %5.2f s  %4.0f MiB  %s' % (
                        done, total, rep + 1, scenario, label, record['seconds'], record['cpu_user'] + record['cpu_system'],
                        record['max_rss'] / 1048576, status), flush=True)

    floor = startup_floor(args.python, bench_environ())
    environment['startup_floor_s'] = floor
    rows = []
    for scenario in args.scenarios:
        row: dict[str, t.Any] = {'scenario': scenario, 'description': SCENARIOS[scenario]}
        for label in SIDES:
            row[label] = summarize([r for r in state.records if r['scenario'] == scenario and r['side'] == label])
        row['ratio'] = ratio(row['ours'], row['skopeo'])
        if scenario in BOUNDED:
            bound = lower_bound(floor, row['ours'], row['skopeo'], os.cpu_count() or 1)
            if bound is not None:
                row['bound'] = bound
        rows.append(row)
    print()
    print('%d x %.0f MB image, %d repetition(s), medians of verified runs (* = some runs failed):' % (
        len(image.layers), image.total_size / 1e6, args.repeat))
    print(table(rows))
    print('lower bounds (start-up floor %.3f s + the registries\' CPU for ours\' requests / %d cores):' % (floor, os.cpu_count() or 1))
    for row in rows:
        if row.get('bound'):
            print('  %-18s >= %.2f s (registries %.2f CPU-s): best ratio %.2f, ours %s%s' % (
                row['scenario'], row['bound']['bound_s'], row['bound']['registry_cpu_s'], row['bound']['best_ratio'],
                '-' if row['ratio'] is None else '%.2f' % row['ratio'], cpu_limit_suffix(row['bound'])))
    goals = evaluate_all(rows)
    print()
    print('issue 10\'s goals (P5/P6: sync.py; render.py puts both in docs/performance.md):')
    print(goal_table(goals))
    for row in rows:
        if row['scenario'] == 'recompress':
            print('recompress: gzip layers %.1f MB -> zstd layers %s' % (sum(image.layer_sizes) / 1e6, ', '.join(
                '%s %.1f MB' % (label, row[label]['median_layer_bytes_written'] / 1e6)
                for label in SIDES if row[label].get('median_layer_bytes_written'))))

    environment['load_average_after'] = os.getloadavg()
    write_results(args, rows, state.records, image, environment, machine, goals)
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
                  environment: dict[str, t.Any], machine: dict[str, t.Any], goals: list[dict[str, t.Any]]) -> None:
    """``.bench/results.json``: settings, machine, environment, the image, summaries, goals and every run."""
    document = {
        'benchmark': 'copy',
        'generated': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'command': [sys.executable] + sys.argv,
        'settings': {'repeat': args.repeat, 'size_mb': args.size_mb, 'quick': args.quick, 'big': args.big, 'scenarios': args.scenarios,
                     'sides': args.sides, 'latency_ms': args.latency_ms, 'index_mb': args.index_mb, 'playbook_images': args.playbook_images},
        'machine': machine,
        'environment': environment,
        'image': {
            'digest': image.manifest_digest, 'total_size': image.total_size,
            'layers': [{'digest': layer.digest, 'size': layer.size, 'uncompressed_size': layer.uncompressed_size,
                        'compressible': spec[1]} for layer, spec in zip(image.layers, LAYER_MIX)],
        },
        'scenarios': rows,
        'goals': goals,
        'runs': records,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, sort_keys=True) + '\n', encoding='utf-8')
    print('\nresults: %s' % args.output)


if __name__ == '__main__':
    sys.exit(main())
