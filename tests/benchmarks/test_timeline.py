# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How timeline.py reads the registry's application log (``python -m pytest tests/benchmarks``)."""

from __future__ import annotations

import datetime

import pytest

from timeline import completed_requests, go_duration, log_time


@pytest.mark.parametrize('text, seconds', [
    ('1.5s', 1.5), ('12.345ms', 0.012345), ('450µs', 0.00045), ('450us', 0.00045), ('800ns', 8e-7), ('1m2.5s', 62.5), ('2h', 7200.0),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize('text', ['', '1.5', 's', '1.5sx', '-1s', '1.5 s'])
def test_not_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        go_duration(text)


def test_log_times_keep_nanosecond_digits_and_zones() -> None:
    whole = datetime.datetime(2026, 12, 4, 9, 30, 1, tzinfo=datetime.timezone.utc).timestamp()
    assert log_time('2026-12-04T09:30:01.123456789Z') == pytest.approx(whole + 0.123456789)
    assert log_time('2026-12-04T09:30:01Z') == whole
    assert log_time('2026-12-04T10:30:01.5+01:00') == pytest.approx(whole + 0.5)
    with pytest.raises(ValueError):
        log_time('2026-12-04 09:30:01')


def test_completed_requests_start_at_the_end_minus_the_duration() -> None:
    origin = log_time('2026-12-04T09:30:00Z')
    entries = [
        {'msg': 'response completed', 'time': '2026-12-04T09:30:01.25Z', 'http.request.method': 'GET',
         'http.request.uri': '/v2/src/app/blobs/sha256:abc?_state=x', 'http.response.duration': '250ms', 'http.response.status': 200},
        {'msg': 'authorized request', 'time': '2026-12-04T09:30:01Z', 'http.request.method': 'GET'},  # no response: skipped
        {'msg': 'level=info', 'time': '2026-12-04T09:30:02Z'},
    ]
    [(start, end, registry, method, path, status)] = completed_requests(entries, 'A', origin)
    assert (registry, method, path, status) == ('A', 'GET', '/v2/src/app/blobs/sha256:abc', 200)
    assert (start, end) == (pytest.approx(1.0), pytest.approx(1.25))
