# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Summaries of the runs: medians, ratios, the printed table and the JSON document."""

from __future__ import annotations

import statistics
import typing as t

MIB = 1024 * 1024


def summarize(runs: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Median wall time and peak RSS of one contender's verified runs of one scenario.

    Only runs that succeeded and passed verification count; ``failed`` says how many did not.
    ``peak_rss_mib`` is the largest peak over the counted runs, ``median_rss_mib`` their median;
    ``median_layer_bytes_written`` (recompress) the size of the layers the tool produced.
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
        written = [r['dest_image']['layer_bytes'] for r in good if r.get('dest_image', {}).get('layer_bytes')]
        if written:
            summary['median_layer_bytes_written'] = statistics.median(written)
    return summary


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
