# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Summaries of the runs: medians, ratios, the printed table and the JSON document."""

from __future__ import annotations

import dataclasses
import statistics
import typing as t

MIB = 1024 * 1024


def summarize(runs: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Median wall time and peak RSS of one contender's verified runs of one scenario.

    Only runs that succeeded and passed verification count; ``failed`` says how many did not.
    ``peak_rss_mib`` is the largest peak over the counted runs, ``median_rss_mib`` their median;
    ``median_layer_bytes_written`` (recompress) the size of the layers the tool produced;
    ``median_requests``/``max_requests`` the registry requests besides auth (all registries),
    ``max_writes`` the most write requests to the destination, ``max_changed`` (playbook) the most
    loop items reported changed.
    """
    good = [r for r in runs if r['verified']]
    summary: dict[str, t.Any] = {'runs': len(runs), 'failed': len(runs) - len(good), 'median_s': None, 'min_s': None, 'max_s': None,
                                 'median_cpu_s': None, 'peak_rss_mib': None, 'median_rss_mib': None}
    if good:
        seconds = [r['seconds'] for r in good]
        rss = [r['max_rss'] / MIB for r in good]
        summary.update(median_s=statistics.median(seconds), min_s=min(seconds), max_s=max(seconds),
                       median_cpu_s=statistics.median([r['cpu_user'] + r['cpu_system'] for r in good]),
                       peak_rss_mib=max(rss), median_rss_mib=statistics.median(rss))
        requests = [r['requests_besides_auth'] for r in good if r.get('requests_besides_auth') is not None]
        if requests:
            summary.update(median_requests=statistics.median(requests), max_requests=max(requests),
                           max_writes=max(r.get('dest_writes', 0) for r in good))
        served = [r['registry_cpu_s'] for r in good if r.get('registry_cpu_s') is not None]
        if served:
            summary['median_registry_cpu_s'] = statistics.median(served)
        changed = [r['playbook']['changed'] for r in good if r.get('playbook')]
        if changed:
            summary['max_changed'] = max(changed)
        written = [r['dest_image']['layer_bytes'] for r in good if r.get('dest_image', {}).get('layer_bytes')]
        if written:
            summary['median_layer_bytes_written'] = statistics.median(written)
    return summary


def lower_bound(startup_floor_s: float, ours: t.Mapping[str, t.Any], skopeo: t.Mapping[str, t.Any], cores: int) -> dict[str, float] | None:
    """The least time a module sending ours' requests could take on this machine, and the best ratio to skopeo's median that allows.

    ``startup_floor_s`` (an interpreter importing ``ansible.module_utils.basic``: no Ansible module starts faster) plus
    the CPU seconds the registries spent on ours' requests (``median_registry_cpu_s`` of ours' summary) spread over
    every core: even a module sending the same requests whose own work took no CPU could not finish sooner. (/proc
    counts in 10 ms ticks, so a run of a request or two may show 0: the bound is then the floor, still a lower bound.)
    None where the registries' CPU or skopeo's time was not measured.

    Where ours' CPU was measured too (``median_cpu_s``), ``cpu_limit_s`` is the least time that CPU and the registries'
    allow on ``cores`` cores (not a bound on any module: on this implementation): the start-up floor, which runs on one
    core before any request, then the rest of ours' CPU and the registries' perfectly parallel. ``cpu_limit_ratio`` is
    that time over skopeo's, ``busy_share`` that time over ours' median: how much of what the machine could do ours'
    run used (near 1: the row is CPU-bound here, and only less CPU, on either side, makes it faster).
    """
    served, theirs = ours.get('median_registry_cpu_s'), skopeo.get('median_s')
    if served is None or not theirs or cores < 1:
        return None
    bound = startup_floor_s + float(served) / cores
    out = {'startup_floor_s': startup_floor_s, 'registry_cpu_s': float(served), 'cores': cores, 'bound_s': bound,
           'best_ratio': bound / float(theirs)}
    own, took = ours.get('median_cpu_s'), ours.get('median_s')
    if own is not None and took:
        limit = startup_floor_s + (max(0.0, float(own) - startup_floor_s) + float(served)) / cores
        out.update(ours_cpu_s=float(own), cpu_limit_s=limit, cpu_limit_ratio=limit / float(theirs), busy_share=limit / float(took))
    return out


def ratio(ours: t.Mapping[str, t.Any], skopeo: t.Mapping[str, t.Any]) -> float | None:
    """ours / skopeo of the median times, when both have one."""
    if ours.get('median_s') is None or not skopeo.get('median_s'):
        return None
    return float(ours['median_s']) / float(skopeo['median_s'])


def _cell(value: float | None, fmt: str, failed: int = 0, runs: int = 0) -> str:
    if value is None:
        return 'FAILED' if runs else '-'
    text = fmt % value
    return text + ('*' if failed else '')


def table(rows: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    """The side-by-side table; ``*`` marks a median over fewer runs because some failed.

    CPU s is the median user + system CPU time of the verified runs.
    """
    header = ['scenario', 'ours median s', 'skopeo median s', 'ours/skopeo', 'ours peak RSS MiB', 'skopeo peak RSS MiB',
              'ours CPU s', 'skopeo CPU s']
    lines = [header]
    for row in rows:
        ours, skopeo = row['ours'], row['skopeo']
        lines.append([
            row['scenario'],
            _cell(ours['median_s'], '%.2f', ours['failed'], ours['runs']),
            _cell(skopeo['median_s'], '%.2f', skopeo['failed'], skopeo['runs']),
            _cell(row['ratio'], '%.2f'),
            _cell(ours['peak_rss_mib'], '%.0f', ours['failed'], ours['runs']),
            _cell(skopeo['peak_rss_mib'], '%.0f', skopeo['failed'], skopeo['runs']),
            _cell(ours['median_cpu_s'], '%.2f', ours['failed'], ours['runs']),
            _cell(skopeo['median_cpu_s'], '%.2f', skopeo['failed'], skopeo['runs']),
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for number, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]
        out.append('  '.join(cells))
        if number == 0:
            out.append('  '.join('-' * width for width in widths))
    return '\n'.join(out)


# -- issue 10's goals: one row per P-number, pass or miss ------------------------------------------

@dataclasses.dataclass(frozen=True)
class Goal:
    """One row of issue 10's goal table.

    ``scenarios`` are the benchmark scenarios the row is computed from (for P5/P6, the rows of
    ``.bench/sync.json``); ``target`` bounds the row's primary value: the ours/skopeo ratio, or
    for P8 ours' peak RSS in MiB. The chart plots that value divided by ``target``.
    """

    number: str
    title: str
    scenarios: tuple[str, ...]
    target: float
    text: str
    unit: str = 'ratio'


GOALS = (
    Goal('P1', 'push oci -> registry', ('push',), 0.7, '<= 0.7'),
    Goal('P2', 'registry -> registry', ('copy',), 0.9, '<= 0.9'),
    Goal('P3', 'registry -> oci layout', ('pull',), 0.9, '<= 0.9'),
    Goal('P4', 'up-to-date copy, module process', ('up-to-date',), 2.0,
         '<= 2.0, 0 writes, <= %d requests besides auth' % 3),
    Goal('P4b', 'up-to-date copy, +20 ms per round trip', ('up-to-date-latency', 'up-to-date'), 1.0,
         '<= 1.0, latency cost <= 0.5x skopeo\'s'),
    Goal('P5', 'sync cold (image_sync)', ('sync-cold',), 0.3, '<= 0.3'),
    Goal('P6', 'sync up to date (image_sync)', ('sync-up-to-date',), 0.3, '<= 0.3'),
    Goal('P7', 'gzip -> zstd recompression', ('recompress',), 0.9, '<= 0.9'),
    Goal('P8', 'peak RSS, one big layer pushed', ('layer-256m', 'layer-1g', 'layer-4g'), 64.0,
         '<= 64 MiB, flat in layer size', unit='MiB'),
    Goal('P9', 'playbook, 20 images, second run', ('playbook',), 1.0, 'changed=0 and <= 1.0'),
    Goal('P10', '4-platform index (all), registry -> registry', ('index',), 0.6, '<= 0.6'),
)
MAX_UP_TO_DATE_REQUESTS = 3
LATENCY_COST_GOAL = 0.5
FLAT_TOLERANCE_MIB = 8.0
"""P8's "flat": ours' peak RSS may grow by at most this much from the smallest to the largest layer."""


def _median(side: t.Mapping[str, t.Any], key: str = 'median_s') -> float | None:
    value = side.get(key)
    return None if value is None else float(value)


def _fmt(value: float | None, fmt: str = '%.2f', unit: str = '') -> str:
    return '-' if value is None else (fmt % value) + unit


def evaluate(goal: Goal, rows: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Goal row for ``goal`` from the scenario rows (``{scenario: row}``) that were run.

    ``result`` is ``pass``, ``miss`` (``why`` says which condition failed) or ``not run`` (a
    needed scenario is missing or has no verified run on a side); ``value`` is the primary measure
    the chart plots against ``target``.
    """
    out: dict[str, t.Any] = {'number': goal.number, 'title': goal.title, 'goal': goal.text, 'target': goal.target, 'unit': goal.unit,
                             'value': None, 'ours': '-', 'skopeo': '-', 'ratio': None, 'requests': '-', 'rss': '-', 'result': 'not run',
                             'why': []}
    if goal.number == 'P8':
        return _evaluate_rss(goal, rows, out)
    main = rows.get(goal.scenarios[0])
    if main is None:
        out['why'] = ['%s was not run' % goal.scenarios[0]]
        return out
    ours, skopeo = main['ours'], main['skopeo']
    out.update(ours=_fmt(_median(ours), unit=' s'), skopeo=_fmt(_median(skopeo), unit=' s'), ratio=main.get('ratio'), value=main.get('ratio'),
               requests='%s / %s' % (_fmt(ours.get('median_requests'), '%.0f'), _fmt(skopeo.get('median_requests'), '%.0f')),
               rss='%s / %s' % (_fmt(ours.get('peak_rss_mib'), '%.0f'), _fmt(skopeo.get('peak_rss_mib'), '%.0f')))
    value = main.get('ratio')
    if value is None:
        out['why'] = ['no verified run on both sides']
        return out
    why = []
    if value > goal.target:
        bound = main.get('bound')
        why.append('ratio %.2f > %g' % (value, goal.target) + (' (best possible here %.2f)' % bound['best_ratio'] if bound else ''))
    if goal.number == 'P4':
        requests, writes = ours.get('max_requests'), ours.get('max_writes')
        if requests is None or requests > MAX_UP_TO_DATE_REQUESTS:
            why.append('%s requests besides auth > %d' % (_fmt(requests, '%.0f'), MAX_UP_TO_DATE_REQUESTS))
        if writes:
            why.append('%d writes' % writes)
    elif goal.number == 'P4b':
        why += _latency_cost(rows, out)
    elif goal.number == 'P9':
        changed = ours.get('max_changed')
        out['ours'] += ' (changed=%s)' % _fmt(changed, '%.0f')
        out['skopeo'] += ' (changed=%s)' % _fmt(skopeo.get('max_changed'), '%.0f')
        if changed is None or changed != 0:
            why.append('changed=%s on the second run' % _fmt(changed, '%.0f'))
    out.update(result='miss' if why else 'pass', why=why)
    return out


def _latency_cost(rows: t.Mapping[str, t.Mapping[str, t.Any]], out: dict[str, t.Any]) -> list[str]:
    """P4b's second condition: (latency run - plain run) of ours <= 0.5 x the same of skopeo."""
    plain, slow = rows.get('up-to-date'), rows.get('up-to-date-latency')
    if plain is None or slow is None:
        return ['up-to-date was not run: no latency cost']
    added = {}
    for side in ('ours', 'skopeo'):
        before, after = _median(plain[side]), _median(slow[side])
        if before is None or after is None:
            return ['no verified %s run of up-to-date: no latency cost' % side]
        added[side] = after - before
    out['added'] = added
    out['ours'] += ' (+%.2f s)' % added['ours']
    out['skopeo'] += ' (+%.2f s)' % added['skopeo']
    if added['skopeo'] <= 0 or added['ours'] > LATENCY_COST_GOAL * added['skopeo']:
        return ['latency cost %.2f s > %.1f x skopeo\'s %.2f s' % (added['ours'], LATENCY_COST_GOAL, added['skopeo'])]
    return []


def _evaluate_rss(goal: Goal, rows: t.Mapping[str, t.Mapping[str, t.Any]], out: dict[str, t.Any]) -> dict[str, t.Any]:
    """P8: ours' peak RSS over every layer size run <= target, and max - min <= FLAT_TOLERANCE_MIB."""
    present = [(name, rows[name]) for name in goal.scenarios if name in rows]
    peaks = {side: [row[side].get('peak_rss_mib') for dummy, row in present] for side in ('ours', 'skopeo')}
    if not present:
        out['why'] = ['%s were not run' % ', '.join(goal.scenarios)]
        return out
    if any(value is None for value in peaks['ours'] + peaks['skopeo']):
        out['why'] = ['no verified run of every layer size on both sides']
        return out
    sizes = '/'.join(name.rpartition('-')[2] for name, dummy in present)
    out.update(value=max(peaks['ours']), ours='%s MiB' % '/'.join('%.0f' % v for v in peaks['ours']),
               skopeo='%s MiB' % '/'.join('%.0f' % v for v in peaks['skopeo']), rss='%.0f / %.0f' % (max(peaks['ours']), max(peaks['skopeo'])),
               title='%s (%s)' % (goal.title, sizes))
    why = []
    if out['value'] > goal.target:
        why.append('peak %.0f MiB > %g MiB' % (out['value'], goal.target))
    if len(present) < 2:
        why.append('one layer size only: flatness not shown')
    elif max(peaks['ours']) - min(peaks['ours']) > FLAT_TOLERANCE_MIB:
        why.append('grows %.0f MiB with the layer (> %g)' % (max(peaks['ours']) - min(peaks['ours']), FLAT_TOLERANCE_MIB))
    out.update(result='miss' if why else 'pass', why=why)
    return out


def evaluate_all(rows: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Every goal of :data:`GOALS`, in order, from scenario rows (each with a ``scenario`` key)."""
    by_name = {row['scenario']: row for row in rows}
    return [evaluate(goal, by_name) for goal in GOALS]


def goal_table(goals: t.Sequence[t.Mapping[str, t.Any]], markdown: bool = False) -> str:
    """The goal table: P-number, scenario, goal, ours, skopeo, ratio, requests, peak RSS, result.

    ``requests`` are the median registry requests besides auth (the ``/v2/`` ping and 401
    challenges) of ours / skopeo; for P8 the RSS column names the layer sizes.
    """
    header = ['#', 'scenario', 'goal', 'ours', 'skopeo', 'ours/skopeo', 'requests ours / skopeo', 'peak RSS MiB ours / skopeo', 'result']
    lines = [header]
    for goal in goals:
        result = goal['result'] + (': ' + '; '.join(goal['why']) if goal['why'] else '')
        lines.append([goal['number'], goal['title'], goal['goal'], goal['ours'], goal['skopeo'], _fmt(goal['ratio']), goal['requests'],
                      goal['rss'], result])
    if markdown:
        rendered = ['| ' + ' | '.join(cell.replace('|', '\\|') for cell in line) + ' |' for line in lines]
        rendered.insert(1, '|' + '---|' * len(header))
        return '\n'.join(rendered)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = ['  '.join([cell.ljust(width) for cell, width in zip(line[:-1], widths)] + [line[-1]]) for line in lines]
    out.insert(1, '  '.join('-' * width for width in widths) + '  ------')
    return '\n'.join(out)


# -- docs/performance.md ---------------------------------------------------------------------------

def merge_documents(documents: t.Sequence[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The scenario rows of every results document (run.py's, sync.py's...); a later document's row replaces an earlier one of the same name."""
    rows: dict[str, dict[str, t.Any]] = {}
    for document in documents:
        for row in document.get('scenarios', []):
            rows[row['scenario']] = dict(row)
    return list(rows.values())


def machine_markdown(machine: t.Mapping[str, t.Any]) -> str:
    """The machine facts as a two-column markdown table."""
    names = (('cpu_model', 'CPU'), ('cores', 'cores'), ('ram_gib', 'RAM GiB'), ('kernel', 'kernel'), ('os', 'OS'), ('python', 'Python'),
             ('skopeo', 'skopeo'), ('commit', 'commit'))
    lines = ['| | |', '|---|---|']
    lines += ['| %s | %s |' % (label, machine.get(key, '-')) for key, label in names]
    return '\n'.join(lines)


def scenario_markdown(rows: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    """Every scenario that ran: medians, ratio, CPU, peak RSS and requests besides auth, ours and skopeo."""
    lines = ['| scenario | what | ours s | skopeo s | ours/skopeo | CPU s ours / skopeo | peak RSS MiB ours / skopeo | requests ours / skopeo |',
             '|---|---|---|---|---|---|---|---|']
    for row in rows:
        ours, skopeo = row['ours'], row['skopeo']
        failed = ' (%d+%d failed runs)' % (ours.get('failed', 0), skopeo.get('failed', 0)) if ours.get('failed') or skopeo.get('failed') else ''
        lines.append('| %s | %s%s | %s | %s | %s | %s / %s | %s / %s | %s / %s |' % (
            row['scenario'], str(row.get('description', '')).replace('|', '\\|'), failed, _fmt(_median(ours)), _fmt(_median(skopeo)),
            _fmt(row.get('ratio')), _fmt(ours.get('median_cpu_s')), _fmt(skopeo.get('median_cpu_s')), _fmt(ours.get('peak_rss_mib'), '%.0f'),
            _fmt(skopeo.get('peak_rss_mib'), '%.0f'), _fmt(ours.get('median_requests'), '%.0f'), _fmt(skopeo.get('median_requests'), '%.0f')))
    return '\n'.join(lines)


def performance_markdown(documents: t.Sequence[t.Mapping[str, t.Any]], goals: t.Sequence[t.Mapping[str, t.Any]],
                         rows: t.Sequence[t.Mapping[str, t.Any]], chart: str | None) -> str:
    """``docs/performance.md``: when and where it ran, the goal table, the chart (``chart``: its file name), every scenario."""
    main = documents[0]
    settings = main.get('settings', {})
    environment = main.get('environment', {})
    passed = sum(1 for goal in goals if goal['result'] == 'pass')
    missed = [goal['number'] for goal in goals if goal['result'] == 'miss']
    absent = [goal['number'] for goal in goals if goal['result'] == 'not run']
    out = [
        '# Performance: ocikit.images against skopeo',
        '',
        '<!-- Written by tests/benchmarks/render.py from .bench/*.json (make bench); edits here are overwritten. -->',
        '',
        'The latest benchmark run (`make bench`, or the scripts by hand: the commands below say which): each scenario run by',
        '`image_copy`/`image_sync` as Ansible runs a module (or through `ansible-playbook` for P9) and by `skopeo`, side by side',
        'on the machine below, every run verified at its destination.',
        'How each row is measured: [tests/benchmarks/README.md](../tests/benchmarks/README.md). The goals are issue 10\'s.',
        '',
        '- run: %s; %s' % (', '.join('`%s` at %s' % (_command(d), d.get('generated', '?')) for d in documents),
                           'settings: %s' % ', '.join('%s=%s' % (k, settings[k]) for k in sorted(settings) if k not in ('scenarios', 'sides'))),
        '- load average (1, 5, 15 min) before / after: %s / %s on %s cores' % (
            _loads(environment.get('load_average_before')), _loads(environment.get('load_average_after')), main.get('machine', {}).get('cores')),
        '- goals: %d pass, %d miss%s%s' % (passed, len(missed), ' (%s)' % ', '.join(missed) if missed else '',
                                           '; not run: %s' % ', '.join(absent) if absent else ''),
    ]
    busy = busy_note(environment, main.get('machine', {}).get('cores'))
    if busy:
        out.append(busy)
    out += [
        '',
        '## Machine',
        '',
        machine_markdown(main.get('machine', {})),
        '',
        '## Goals',
        '',
        goal_table(goals, markdown=True),
        '',
        'ours/skopeo is the ratio of median wall times (below 1: ours is faster). Requests are registry requests besides auth',
        '(the `/v2/` ping and 401 challenges), medians over all registries of one run. P4b adds to each side the time',
        'the latency added (latency run minus the plain up-to-date run); P8 lists ours\' and skopeo\'s peaks per layer size.',
        '',
    ]
    if chart:
        out += ['![measured value / goal per row](%s)' % chart, '',
                'Each bar is a row\'s measured value divided by its goal (the ratio, or for P8 ours\' peak RSS over 64 MiB): left of',
                'the line at 1 meets the goal; green passes every condition of the row, red misses at least one.', '']
    out += ['## Every scenario', '', scenario_markdown(rows), '']
    bounds = bounds_markdown(rows)
    if bounds:
        out += ['## Lower bounds', '', bounds, '']
    return '\n'.join(out)


def bounds_markdown(rows: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    """The rows that carry a lower bound on ours' time on this machine (:func:`lower_bound`), one line each; '' when none does."""
    lines = []
    for row in rows:
        bound = row.get('bound')
        if not bound:
            continue
        lines.append('- %s: no module sending ours\' requests could finish in less than %.2f s here: the start-up floor %.3f s + the '
                     'registries\' %.2f CPU-s for those requests over %d cores. skopeo took %s s: best possible ratio %.2f; ours %s%s.'
                     % (row['scenario'], bound['bound_s'], bound['startup_floor_s'], bound['registry_cpu_s'], bound['cores'],
                        _fmt(_median(row['skopeo'])), bound['best_ratio'], _fmt(row.get('ratio')), cpu_limit_suffix(bound)))
    if not lines:
        return ''
    return '\n'.join([
        'Where a row records them, the least time a module sending ours\' requests could take on this machine: the start-up',
        'floor (an interpreter importing `ansible.module_utils.basic`, the least any Ansible module costs before its work) plus',
        'the CPU the registries spent answering ours\' requests, spread over every core, as if the module\'s own work took no',
        'CPU at all. Ours sends no more requests than skopeo in any row (the protocol\'s fewest for the sync and up-to-date rows).',
        'Where ours\' CPU was measured, each line then adds the least time ours\' own CPU and the registries\' allow here (the',
        'start-up floor on one core, then the rest of both perfectly parallel), and how much of that the run used: near',
        '100 % busy, only less CPU on some side makes the row faster.',
        '',
    ] + lines)


def cpu_limit_suffix(bound: t.Mapping[str, t.Any]) -> str:
    """"; with ours' X CPU-s too >= Y s (ratio R), machine B % busy" for a bound that carries ``cpu_limit_s``
    (:func:`lower_bound`), else '': the end of a bound's line in run.py's and sync.py's printout and docs/performance.md."""
    if bound.get('cpu_limit_s') is None:
        return ''
    return '; with ours\' %.2f CPU-s too >= %.2f s (ratio %.2f), machine %.0f %% busy' % (
        bound['ours_cpu_s'], bound['cpu_limit_s'], bound['cpu_limit_ratio'], 100 * bound['busy_share'])


BUSY_LOAD_PER_CORE = 0.5
"""A 1-minute load average above this per core before or after the run marks the page as measured on a busy machine."""


def busy_note(environment: t.Mapping[str, t.Any], cores: int | None) -> str:
    """A warning line when other work was running as the benchmark started (1-minute load average above
    :data:`BUSY_LOAD_PER_CORE` per core), else ''. The load after the run is the benchmark's own (two processes
    and a registry on the CPUs): it says nothing about other work."""
    before = environment.get('load_average_before')
    if not before or not cores or before[0] <= BUSY_LOAD_PER_CORE * cores:
        return ''
    return ('- **busy machine**: a 1-minute load average of %.2f on %d cores as the run started means other work shared the CPUs; wall '
            'times and ratios are inflated and noisy, CPU seconds, requests and peak RSS are the figures to trust' % (before[0], cores))


def _command(document: t.Mapping[str, t.Any]) -> str:
    """The script and arguments a document was made by (``run.py --quick``), else its benchmark name."""
    command = [str(part) for part in document.get('command') or []]
    if len(command) < 2:
        return str(document.get('benchmark', '?'))
    return ' '.join([command[1].rpartition('/')[2]] + command[2:])


def _loads(values: t.Any) -> str:
    return '-' if not values else ', '.join('%.2f' % float(v) for v in values)
