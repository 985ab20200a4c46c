# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The benchmark's pure parts: goal verdicts, tables, the page, request counting, play output.

Offline and timing-free (well under a second):
``/work/main/.venv/bin/python -m pytest -q -p no:cacheprovider tests/benchmarks/test_report.py``.
"""

from __future__ import annotations

import typing as t

import pytest

from ocikit_bench.measure import Measurement
from ocikit_bench.report import GOALS, cpu_limit_suffix, evaluate_all, goal_table, lower_bound, merge_documents, performance_markdown, summarize
from ocikit_bench.sides import play_result
from ocikit_bench.verify import wire_activity


def side(median_s: float | None, rss: float | None = 40.0, **extra: t.Any) -> dict[str, t.Any]:
    return {'median_s': median_s, 'peak_rss_mib': rss, 'median_cpu_s': 0.1, 'failed': 0, 'runs': 1, **extra}


def row(scenario: str, ours: dict[str, t.Any], skopeo: dict[str, t.Any]) -> dict[str, t.Any]:
    ratio = ours['median_s'] / skopeo['median_s'] if ours['median_s'] is not None and skopeo['median_s'] else None
    return {'scenario': scenario, 'description': scenario, 'ours': ours, 'skopeo': skopeo, 'ratio': ratio}


def verdicts(rows: list[dict[str, t.Any]]) -> dict[str, tuple[str, list[str]]]:
    return {goal['number']: (goal['result'], goal['why']) for goal in evaluate_all(rows)}


def test_every_issue_goal_has_a_row_in_order() -> None:
    assert [goal.number for goal in GOALS] == ['P1', 'P2', 'P3', 'P4', 'P4b', 'P5', 'P6', 'P7', 'P8', 'P9', 'P10']
    assert verdicts([])['P7'] == ('not run', ['recompress was not run'])


def test_ratio_goals_pass_at_the_bound_and_miss_above_it() -> None:
    result = verdicts([row('push', side(0.7), side(1.0)), row('copy', side(0.91), side(1.0)), row('pull', side(None), side(1.0))])
    assert result['P1'] == ('pass', [])
    assert result['P2'] == ('miss', ['ratio 0.91 > 0.9'])
    assert result['P3'] == ('not run', ['no verified run on both sides'])


def test_p4_needs_the_ratio_at_most_three_requests_besides_auth_and_no_write() -> None:
    ok = side(0.2, median_requests=1, max_requests=1, max_writes=0)
    assert verdicts([row('up-to-date', ok, side(0.1))])['P4'] == ('pass', [])
    busy = side(0.3, median_requests=4, max_requests=5, max_writes=1)
    assert verdicts([row('up-to-date', busy, side(0.1))])['P4'] == ('miss', ['ratio 3.00 > 2', '5 requests besides auth > 3', '1 writes'])


def test_p4b_compares_the_time_each_side_lost_to_the_latency() -> None:
    plain = row('up-to-date', side(0.40), side(0.10))
    assert verdicts([plain, row('up-to-date-latency', side(0.50), side(0.60))])['P4b'] == ('pass', [])
    goal = [g for g in evaluate_all([plain, row('up-to-date-latency', side(0.50), side(0.60))]) if g['number'] == 'P4b'][0]
    assert goal['added'] == pytest.approx({'ours': 0.10, 'skopeo': 0.50})
    assert goal['ours'] == '0.50 s (+0.10 s)'
    slow = verdicts([plain, row('up-to-date-latency', side(0.80), side(0.85))])['P4b']
    assert slow == ('miss', ["latency cost 0.40 s > 0.5 x skopeo's 0.75 s"])
    alone = verdicts([row('up-to-date-latency', side(0.5), side(0.6))])['P4b']
    assert alone == ('miss', ['up-to-date was not run: no latency cost'])


def test_p8_is_the_peak_and_its_growth_with_the_layer() -> None:
    flat = [row('layer-256m', side(1.0, 40), side(1.0, 22)), row('layer-1g', side(4.0, 46), side(4.0, 23))]
    goal = [g for g in evaluate_all(flat) if g['number'] == 'P8'][0]
    assert (goal['result'], goal['value'], goal['ours'], goal['skopeo']) == ('pass', 46, '40/46 MiB', '22/23 MiB')
    assert goal['title'].endswith('(256m/1g)')
    growing = [row('layer-256m', side(1.0, 40), side(1.0, 22)), row('layer-1g', side(4.0, 70), side(4.0, 23))]
    assert verdicts(growing)['P8'] == ('miss', ['peak 70 MiB > 64 MiB', 'grows 30 MiB with the layer (> 8)'])
    assert verdicts(flat[:1])['P8'] == ('miss', ['one layer size only: flatness not shown'])


def test_p9_needs_changed_zero_on_the_second_run() -> None:
    assert verdicts([row('playbook', side(9.0, max_changed=0), side(10.0, max_changed=20))])['P9'] == ('pass', [])
    assert verdicts([row('playbook', side(9.0, max_changed=2), side(10.0, max_changed=20))])['P9'] == ('miss', ['changed=2 on the second run'])


def test_sync_rows_from_another_document_feed_p5_and_p6() -> None:
    copy = {'benchmark': 'copy', 'scenarios': [row('push', side(1.0), side(2.0))]}
    sync = {'benchmark': 'sync', 'scenarios': [row('sync-cold', side(2.0), side(10.0)), row('sync-up-to-date', side(1.0), side(2.0))]}
    rows = merge_documents([copy, sync])
    assert [r['scenario'] for r in rows] == ['push', 'sync-cold', 'sync-up-to-date']
    result = verdicts(rows)
    assert (result['P5'][0], result['P6']) == ('pass', ('miss', ['ratio 0.50 > 0.3']))


def test_a_sync_row_with_a_lower_bound_names_the_best_possible_ratio() -> None:
    bounded = row('sync-up-to-date', side(0.6), side(1.2))
    bounded['bound'] = {'startup_floor_s': 0.1, 'registry_cpu_s': 0.5, 'cores': 2, 'bound_s': 0.35, 'best_ratio': 0.35 / 1.2}
    rows = merge_documents([{'benchmark': 'sync', 'scenarios': [row('sync-cold', side(2.0), side(10.0)), bounded]}])
    assert verdicts(rows)['P6'] == ('miss', ['ratio 0.50 > 0.3 (best possible here 0.29)'])
    assert verdicts(rows)['P5'] == ('pass', [])
    page = performance_markdown([{'benchmark': 'sync', 'scenarios': rows}], evaluate_all(rows), rows, None)
    section = page.split('## Lower bounds\n', 1)[1]
    assert ('- sync-up-to-date: no module sending ours\' requests could finish in less than 0.35 s here: the start-up floor 0.100 s + the '
            'registries\' 0.50 CPU-s for those requests over 2 cores. skopeo took 1.20 s: best possible ratio 0.29; ours 0.50.') in section
    assert 'sync-cold:' not in section
    busy = row('sync-cold', side(2.0), side(10.0))
    busy['bound'] = lower_bound(0.1, dict(busy['ours'], median_registry_cpu_s=2.9, median_cpu_s=0.9), busy['skopeo'], 2)
    section = performance_markdown([{'benchmark': 'sync', 'scenarios': [busy]}], evaluate_all([busy]), [busy], None).split('## Lower bounds\n', 1)[1]
    assert ('- sync-cold: no module sending ours\' requests could finish in less than 1.55 s here: the start-up floor 0.100 s + the '
            'registries\' 2.90 CPU-s for those requests over 2 cores. skopeo took 10.00 s: best possible ratio 0.15; ours 0.20; '
            'with ours\' 0.90 CPU-s too >= 1.95 s (ratio 0.20), machine 98 % busy.') in section
    assert '## Lower bounds' not in performance_markdown([{'benchmark': 'sync', 'scenarios': rows[:1]}], evaluate_all(rows[:1]), rows[:1], None)


def test_the_lower_bound_is_the_start_up_floor_plus_the_registries_cpu_over_the_cores() -> None:
    runs = [{'verified': True, 'seconds': s, 'max_rss': 0, 'cpu_user': 0.1, 'cpu_system': 0.0, 'registry_cpu_s': cpu}
            for s, cpu in ((0.5, 0.4), (0.6, 0.2), (0.7, None))] + [
        {'verified': False, 'seconds': 0.1, 'max_rss': 0, 'cpu_user': 0.0, 'cpu_system': 0.0, 'registry_cpu_s': 9.0}]
    ours = summarize(runs)
    assert ours['median_registry_cpu_s'] == pytest.approx(0.3)  # verified runs that measured it only
    bound = lower_bound(0.1, ours, {'median_s': 0.5}, 2)
    # The start-up (0.1 s) on one core, then the rest of ours' CPU (0.1 CPU-s in all: none left) and the registries' 0.3
    # over 2 cores: 0.25 s, of ours' median 0.6 s.
    assert bound == pytest.approx({'startup_floor_s': 0.1, 'registry_cpu_s': 0.3, 'cores': 2, 'bound_s': 0.25, 'best_ratio': 0.5,
                                   'ours_cpu_s': 0.1, 'cpu_limit_s': 0.25, 'cpu_limit_ratio': 0.5, 'busy_share': 0.25 / 0.6})
    assert cpu_limit_suffix(bound) == "; with ours' 0.10 CPU-s too >= 0.25 s (ratio 0.50), machine 42 % busy"
    # A module that used less CPU than the floor (measured at a slower moment) leaves no CPU of its own after the
    # start-up, and the limit is never below the bound: 0.2 + 0.3 / 2.
    short = lower_bound(0.2, ours, {'median_s': 0.5}, 2)
    assert short['cpu_limit_s'] == pytest.approx(short['bound_s']) == pytest.approx(0.35)
    without_cpu = lower_bound(0.1, dict(ours, median_cpu_s=None), {'median_s': 0.5}, 2)
    assert without_cpu is not None and 'cpu_limit_s' not in without_cpu and cpu_limit_suffix(without_cpu) == ''
    assert lower_bound(0.1, {'median_registry_cpu_s': None}, {'median_s': 0.5}, 2) is None
    assert lower_bound(0.1, ours, {'median_s': None}, 2) is None
    assert 'median_registry_cpu_s' not in summarize(runs[2:])


def test_goal_table_text_and_markdown() -> None:
    goals = evaluate_all([row('push', side(0.5, median_requests=20), side(1.0, median_requests=30))])
    text = goal_table(goals).splitlines()
    assert text[0].split()[:2] == ['#', 'scenario'] and text[1].startswith('---')
    assert text[2].split() == ['P1', 'push', 'oci', '->', 'registry', '<=', '0.7', '0.50', 's', '1.00', 's', '0.50', '20', '/', '30',
                               '40', '/', '40', 'pass']
    markdown = goal_table(goals, markdown=True).splitlines()
    assert markdown[1] == '|---|---|---|---|---|---|---|---|---|'
    assert markdown[2] == '| P1 | push oci -> registry | <= 0.7 | 0.50 s | 1.00 s | 0.50 | 20 / 30 | 40 / 40 | pass |'
    assert markdown[3].endswith('| not run: copy was not run |')
    assert len(markdown) == 2 + len(GOALS)


def test_performance_page_names_the_machine_the_goals_and_the_chart() -> None:
    machine = {'cpu_model': 'Test CPU', 'cores': 2, 'ram_gib': 23.5, 'kernel': '6.1', 'os': 'Debian 12', 'python': '3.11.7',
               'skopeo': '1.9.3', 'commit': 'abc1234'}
    document = {'benchmark': 'copy', 'generated': '2026-12-03T12:00:00+00:00', 'machine': machine, 'settings': {'repeat': 3},
                'command': ['/venv/bin/python', '/repo/tests/benchmarks/run.py', '--quick'],
                'environment': {'load_average_before': [0.5, 0.4, 0.3], 'load_average_after': [1.0, 0.5, 0.3]},
                'scenarios': [row('push', side(0.5), side(1.0)), row('copy', side(1.0), side(1.0))]}
    rows = merge_documents([document])
    page = performance_markdown([document], evaluate_all(rows), rows, 'performance.png')
    assert '| CPU | Test CPU |' in page and '| commit | abc1234 |' in page
    assert '- goals: 1 pass, 1 miss (P2); not run: P3, P4, P4b, P5, P6, P7, P8, P9, P10' in page
    assert '![measured value / goal per row](performance.png)' in page
    assert '| push | push | 0.50 | 1.00 | 0.50 | 0.10 / 0.10 | 40 / 40 | - / - |' in page
    assert '0.50, 0.40, 0.30 / 1.00, 0.50, 0.30 on 2 cores' in page
    assert 'busy machine' not in page
    assert '- run: `run.py --quick` at 2026-12-03T12:00:00+00:00; settings: repeat=3' in page
    # The load after the run is the benchmark's own; only other work running as it started makes the machine busy.
    document['environment']['load_average_after'] = [3.5, 2.0, 1.0]
    assert 'busy machine' not in performance_markdown([document], evaluate_all(rows), rows, None)
    document['environment']['load_average_before'] = [3.5, 2.0, 1.0]
    busy = performance_markdown([document], evaluate_all(rows), rows, None)
    assert '- **busy machine**: a 1-minute load average of 3.50 on 2 cores as the run started' in busy
    assert '![' not in performance_markdown([document], evaluate_all(rows), rows, None)


def test_requests_besides_auth_leave_out_the_ping_and_401_challenges() -> None:
    log = [{'method': 'GET', 'path': '/v2/', 'query': '', 'status': 401, 'size': 0},
           {'method': 'GET', 'path': '/v2/', 'query': '', 'status': 200, 'size': 2},
           {'method': 'HEAD', 'path': '/v2/r/manifests/v1', 'query': '', 'status': 401, 'size': 0},
           {'method': 'HEAD', 'path': '/v2/r/manifests/v1', 'query': '', 'status': 200, 'size': 0},
           {'method': 'PUT', 'path': '/v2/r/manifests/v1', 'query': '', 'status': 201, 'size': 0}]
    counts = wire_activity(log)
    assert (counts['requests'], counts['requests_besides_auth'], counts['writes'], counts['manifest_puts']) == (5, 2, 1, 1)


def test_summaries_carry_requests_writes_and_changed() -> None:
    runs = [{'verified': True, 'seconds': 1.0, 'max_rss': 40 << 20, 'cpu_user': 0.5, 'cpu_system': 0.1, 'requests_besides_auth': n,
             'dest_writes': w, 'playbook': {'changed': c}} for n, w, c in ((1, 0, 0), (3, 2, 0), (2, 0, 1))]
    runs.append({'verified': False, 'seconds': 9.0, 'max_rss': 0, 'cpu_user': 0, 'cpu_system': 0, 'requests_besides_auth': 99})
    summary = summarize(runs)
    assert (summary['median_requests'], summary['max_requests'], summary['max_writes'], summary['max_changed']) == (2, 3, 2, 1)
    assert (summary['failed'], summary['median_s']) == (1, 1.0)


def play(stdout: str, rc: int = 0) -> dict[str, t.Any]:
    return play_result(Measurement(argv=['ansible-playbook'], rc=rc, seconds=1.0, max_rss=0, stdout=stdout, stderr=''), 3)


def test_play_output_counts_loop_items_by_status() -> None:
    lines = ['TASK [image_copy loop] ***', 'ok: [localhost] => (item=t0)', 'changed: [localhost] => (item=t1)', 'ok: [localhost] => (item=t2)',
             'PLAY RECAP ***', 'localhost : ok=1 changed=1 unreachable=0 failed=0']
    assert play('\n'.join(lines)) == {'ok': 2, 'changed': 1, 'failed': 0}
    short = play('\n'.join(lines[:3]))
    assert short['failed'] is True and "items {'ok': 1, 'changed': 1, 'failed': 0} of 3" in short['msg']
    assert play('\n'.join(lines), rc=2)['failed'] is True
    broken = play('failed: [localhost] (item=t0) => {"msg": "boom"}\nok: [localhost] => (item=t1)\nok: [localhost] => (item=t2)', rc=2)
    assert (broken['failed'], broken['ok']) == (True, 2) and broken['msg'].endswith('of 3: failed: [localhost] (item=t0) => {"msg": "boom"}')


def test_code_cache_files_move_to_a_fresh_home(tmp_path: t.Any) -> None:
    from ocikit_bench.sides import CODE_CACHE_RELATIVE, read_files, seed_files
    first = tmp_path / 'first'
    (first / CODE_CACHE_RELATIVE / 'cpython-311').mkdir(parents=True)
    (first / CODE_CACHE_RELATIVE / 'cpython-311' / 'dataclass-code-v1').write_bytes(b'table')
    (first / CODE_CACHE_RELATIVE / 'cpython-311' / '.entry.123.tmp').write_bytes(b'half')
    (first / 'ocikit' / 'blob-locations-v1.sqlite').write_bytes(b'not carried over')
    files = read_files(first, CODE_CACHE_RELATIVE)
    assert files == {CODE_CACHE_RELATIVE + '/cpython-311/dataclass-code-v1': b'table'}
    second = tmp_path / 'second'
    second.mkdir()
    seed_files(second, files)
    table = second / CODE_CACHE_RELATIVE / 'cpython-311' / 'dataclass-code-v1'
    assert table.read_bytes() == b'table' and table.stat().st_mode & 0o777 == 0o600
    assert all((second / CODE_CACHE_RELATIVE / part).stat().st_mode & 0o777 == 0o700 for part in ('', 'cpython-311'))
    assert (second / 'ocikit').stat().st_mode & 0o777 == 0o700 and not (second / 'ocikit' / 'blob-locations-v1.sqlite').exists()
