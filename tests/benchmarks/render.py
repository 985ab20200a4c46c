# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Render ``docs/performance.md`` and its chart from the benchmarks' JSON (the last step of ``make bench``).

Reads ``.bench/results.json`` (``run.py``) and every other ``.bench/*.json`` document with a
``benchmark`` key and a ``scenarios`` list (``sync.py``'s ``.bench/sync.json``: see the README's
"JSON" section), evaluates issue 10's goals on all their scenario rows, and writes the page (the
machine, the goal table with pass/miss, every scenario) and ``docs/performance.png``: each row's
measured value divided by its goal. The chart needs matplotlib, a benchmark-only dependency
(``tests/benchmarks/requirements.txt``, installed by ``make bench``); without it the page is
written without a chart and the program says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE)]

# pylint: disable=wrong-import-position
from ocikit_bench.machine import machine_line  # noqa: E402
from ocikit_bench.report import busy_note, evaluate_all, merge_documents, performance_markdown  # noqa: E402

COLORS = {'pass': '#2e7d32', 'miss': '#c62828'}


def load_documents(results: Path, extra_dir: Path) -> list[dict[str, t.Any]]:
    """``results`` first (its machine and settings head the page), then the other benchmark documents in ``extra_dir``, by name."""
    documents = [json.loads(results.read_text(encoding='utf-8'))]
    for path in sorted(extra_dir.glob('*.json')):
        if path.resolve() == results.resolve():
            continue
        document = json.loads(path.read_text(encoding='utf-8'))
        if isinstance(document, dict) and 'benchmark' in document and isinstance(document.get('scenarios'), list):
            documents.append(document)
    return documents


def chart(goals: t.Sequence[t.Mapping[str, t.Any]], machine: t.Mapping[str, t.Any], heading: str, path: Path) -> bool:
    """Write the bar chart of value / goal per row to ``path``; False when matplotlib is not installed."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use('Agg')
        from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
    except ImportError:
        return False
    shown = [goal for goal in goals if goal['value'] is not None]
    figure, axes = pyplot.subplots(figsize=(11, 0.45 * max(len(shown), 4) + 1.6), dpi=110)
    names = ['%s %s' % (goal['number'], goal['title']) for goal in shown]
    scores = [goal['value'] / goal['target'] for goal in shown]
    positions = list(range(len(shown)))[::-1]
    axes.barh(positions, scores, color=[COLORS.get(goal['result'], '#9e9e9e') for goal in shown], height=0.6)
    axes.axvline(1.0, color='black', linewidth=1.2, linestyle='--')
    axes.set_yticks(positions, names, fontsize=9)
    for position, score, goal in zip(positions, scores, shown):
        measured = ('%.0f MiB' % goal['value']) if goal['unit'] == 'MiB' else '%.2f' % goal['value']
        # Past the dashed line as well as past the bar, so the label never crosses the goal line.
        axes.text(max(score, 1.0) + 0.03, position, '%s (goal %s)' % (measured, goal['goal'].split(',')[0]), va='center', fontsize=8)
    axes.set_xlim(0, max(scores + [1.0]) * 1.45)
    axes.set_xlabel('measured / goal (left of the dashed line meets it; green: every condition of the row passes)')
    axes.set_title('ocikit.images vs skopeo, %s\n%s' % (heading, textwrap.fill(machine_line(machine), 100)), fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)
    return True


def main(argv: list[str] | None = None) -> int:
    """Render the page (and the chart); 0 when both were written, 1 without a chart, 2 without results."""
    parser = argparse.ArgumentParser(description='Render docs/performance.md and its chart from .bench/*.json.')
    parser.add_argument('--results', type=Path, default=REPO_ROOT / '.bench' / 'results.json', help='run.py\'s JSON (default .bench/results.json)')
    parser.add_argument('--extra-dir', type=Path, default=None, help='other benchmark JSON documents (default: the directory of --results)')
    parser.add_argument('--markdown', type=Path, default=REPO_ROOT / 'docs' / 'performance.md', help='page to write')
    parser.add_argument('--png', type=Path, default=REPO_ROOT / 'docs' / 'performance.png', help='chart to write')
    args = parser.parse_args(argv)
    if not args.results.is_file():
        print('ERROR: no %s: run tests/benchmarks/run.py first' % args.results, file=sys.stderr)
        return 2
    documents = load_documents(args.results, args.extra_dir or args.results.parent)
    rows = merge_documents(documents)
    goals = evaluate_all(rows)
    main_document = documents[0]
    settings = main_document.get('settings', {})
    heading = '%s, %s repetition(s), %s MB image' % (main_document.get('generated', ''), settings.get('repeat', '?'), settings.get('size_mb', '?'))
    if busy_note(main_document.get('environment', {}), main_document.get('machine', {}).get('cores')):
        heading += ', BUSY machine (see the page)'
    drawn = chart(goals, main_document.get('machine', {}), heading, args.png)
    if not drawn:
        print('WARNING: matplotlib is not installed (pip install -r tests/benchmarks/requirements.txt): no chart', file=sys.stderr)
    relative = Path(args.png).name if args.png.parent.resolve() == args.markdown.parent.resolve() else str(args.png.resolve())
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    page = performance_markdown(documents, goals, rows, relative if drawn else None)
    # Hand-written notes (where the time goes, what was cut) follow the measured tables.
    notes = HERE / 'performance-notes.md'
    if notes.is_file():
        page = page.rstrip('\n') + '\n\n' + notes.read_text(encoding='utf-8')
    args.markdown.write_text(page, encoding='utf-8')
    print('wrote %s%s from %s' % (args.markdown, ' and %s' % args.png if drawn else '', ', '.join(d.get('benchmark', '?') for d in documents)))
    return 0 if drawn else 1


if __name__ == '__main__':
    sys.exit(main())
