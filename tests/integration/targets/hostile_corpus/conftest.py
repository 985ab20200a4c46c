"""Counts the corpus outcomes and prints one line at the end of the run (it shows in ``make test``)."""

from __future__ import annotations

import collections
import typing as t

OUTCOMES: 'collections.Counter[str]' = collections.Counter()


def record(outcome: str) -> None:
    """``refused`` (refused cleanly), ``accepted`` (works as designed) or ``bad``."""
    OUTCOMES[outcome] += 1


def pytest_runtest_logreport(report: t.Any) -> None:
    # A case whose assertions failed counts as bad, whatever it recorded before failing.
    if report.when == 'call' and report.failed and 'test_case' in report.nodeid:
        OUTCOMES['bad'] += 1


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    total = OUTCOMES['refused'] + OUTCOMES['accepted'] + OUTCOMES['bad']
    if total:
        terminalreporter.write_line('hostile corpus: %d cases, %d refused cleanly, %d accepted as designed, %d bad'
                                    % (total, OUTCOMES['refused'], OUTCOMES['accepted'], OUTCOMES['bad']))
