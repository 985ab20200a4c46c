# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where one copy's time goes, request by request: ours and skopeo side by side (not part of CI).

Starts two TLS + htpasswd registries from the test bed, seeds registry A with ``run.py``'s image
(``--scenario copy``: five gzip layers, ``--size-mb``) or its 4-platform index (``--scenario index``,
``--index-mb``), runs each side once untimed (ours' compiled-code caches, as in ``run.py``), then
once more into a new repository of registry B, exactly as ``run.py`` runs them. For that run it
prints every request the two registries logged, with when it started and ended in seconds from the
moment the side's process was started (the registries' application log: the time a response
completed and its duration), then a summary: the start-up (until the first request began), the
transfer (first request to the last response), the whole run and the number of requests logged.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO_ROOT / 'tests' / 'testbed')]

# pylint: disable=wrong-import-position
from ocikit_bench.measure import launcher  # noqa: E402
from ocikit_bench.sides import Endpoint, Job, Ours, Skopeo, find_collections_root, probe_cache_isolation  # noqa: E402
from ocikit_testbed import Registry, build_image, build_index  # noqa: E402
from run import INDEX_PLATFORMS, SIDES, TAG, USERS, index_layer_specs, layer_specs  # noqa: E402

_GO_DURATION_PART = re.compile(r'([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|µs|us|ns)')
_GO_UNITS = {'h': 3600.0, 'm': 60.0, 's': 1.0, 'ms': 1e-3, 'µs': 1e-6, 'us': 1e-6, 'ns': 1e-9}
_LOG_TIME = re.compile(r'(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z')


def go_duration(text: str) -> float:
    """Seconds of a Go duration string (``1.5s``, ``12.3ms``, ``1m2.5s``, ``450µs``); ValueError for anything else."""
    parts = _GO_DURATION_PART.findall(text)
    if not parts or ''.join(number + unit for number, unit in parts) != text:
        raise ValueError('not a Go duration: %r' % text)
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)


def log_time(text: str) -> float:
    """POSIX seconds of an RFC 3339 time with up to nanosecond digits (the registry's log ``time``)."""
    match = _LOG_TIME.match(text)
    if match is None:
        raise ValueError('not an RFC 3339 time: %r' % text)
    zone = '+00:00' if match.group(3) == 'Z' else match.group(3)
    whole = datetime.datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + float('0.' + (match.group(2) or '0'))


def completed_requests(entries: t.Iterable[t.Mapping[str, t.Any]], registry: str, origin: float) -> list[tuple[float, float, str, str, str, int]]:
    """(start, end, registry, method, path, status) of each logged response, in seconds from ``origin``."""
    rows = []
    for entry in entries:
        method, duration = entry.get('http.request.method'), entry.get('http.response.duration')
        if not method or not duration or 'time' not in entry:
            continue
        end = log_time(entry['time']) - origin
        rows.append((end - go_duration(duration), end, registry, method, entry.get('http.request.uri', '').partition('?')[0],
                     int(entry.get('http.response.status') or 0)))
    return rows


def seed(args: argparse.Namespace, work: Path, reg_a: Registry, skopeo: Skopeo) -> Endpoint:
    """Build the image (or index) and push it to registry A with skopeo; its name there."""
    if args.scenario == 'index':
        image = build_index(work / 'image', TAG, INDEX_PLATFORMS, seed=3, layers=index_layer_specs(args.index_mb))
    else:
        image = build_image(work / 'image', TAG, layers=layer_specs(args.size_mb))
    source = Endpoint('docker://' + reg_a.ref('bench/source', TAG), reg_a, 'bench/source')
    seeded = skopeo.run(Job(Endpoint(image.oci_ref), source, all_images=args.scenario == 'index'), work / 'seed', args.timeout)
    if not seeded.ok:
        raise SystemExit('seeding registry A failed: %s' % seeded.result.get('msg'))
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--scenario', choices=('copy', 'index'), default='copy')
    parser.add_argument('--size-mb', type=float, default=300.0, help='copy: MB of layer blobs (default 300, as make bench)')
    parser.add_argument('--index-mb', type=float, default=40.0, help='index: MB of layer blobs in the 4 platforms (default 40)')
    parser.add_argument('--python', default=sys.executable, help='the interpreter ours runs with (default: this one)')
    parser.add_argument('--skopeo', default='skopeo')
    parser.add_argument('--timeout', type=float, default=600.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='ocikit-bench-timeline-') as scratch:
        work = Path(scratch)
        collections_root, _origin = find_collections_root(REPO_ROOT, work)
        how, _detail = launcher()
        skopeo = Skopeo(args.skopeo, probe_cache_isolation(work), how)
        sides = {'ours': Ours(collections_root, args.python, how), 'skopeo': skopeo}
        with Registry(work / 'a', tls=True, auth='htpasswd', users=USERS) as reg_a, \
                Registry(work / 'b', tls=True, auth='htpasswd', users=USERS) as reg_b:
            source = seed(args, work, reg_a, skopeo)
            for label in SIDES:
                for run in ('warm-up', 'timed'):
                    repository = 'bench/%s-%s' % (label, run)
                    job = Job(source, Endpoint('docker://' + reg_b.ref(repository, TAG), reg_b, repository), all_images=args.scenario == 'index')
                    logged = (len(reg_a.app_log()), len(reg_b.app_log()))
                    origin = time.time()
                    outcome = sides[label].run(job, work / ('%s-%s' % (label, run)), args.timeout)
                    if not outcome.ok:
                        raise SystemExit('%s (%s) failed: %s' % (label, run, outcome.result.get('msg') or outcome.measurement.tail()))
                    if run == 'timed':
                        time.sleep(0.3)  # the registries write a log line after the response has gone out
                        report(label, outcome.measurement.seconds, completed_requests(reg_a.app_log()[logged[0]:], 'A', origin)
                               + completed_requests(reg_b.app_log()[logged[1]:], 'B', origin))


def report(label: str, seconds: float, rows: list[tuple[float, float, str, str, str, int]]) -> None:
    """Print one side's requests and the summary line."""
    rows.sort()
    print('== %s: %.3f s' % (label, seconds))
    for start, end, registry, method, path, status in rows:
        print('%7.3f %7.3f  %s %-6s %d %s' % (start, end, registry, method, status, path if len(path) <= 90 else path[:87] + '...'))
    if rows:
        first, last = rows[0][0], max(row[1] for row in rows)
        print('%s: start-up %.3f s (to the first request), transfer %.3f s (first request to last response), run %.3f s, %d requests logged'
              % (label, first, last - first, seconds, len(rows)))
    print()


if __name__ == '__main__':
    main()
