"""Prints the fault matrix after the run, whatever pytest's capture settings (``-s`` or not)."""

from __future__ import annotations

import typing as t

import pytest

#: Lines of the matrix report, filled by test_fault_matrix.py's ``matrix`` fixture.
REPORT: list[str] = []


@pytest.fixture(scope='session')
def matrix_report() -> list[str]:
    """Where the matrix test writes its table and counts."""
    return REPORT


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    if REPORT:
        terminalreporter.section('fault matrix')
        for line in REPORT:
            terminalreporter.write_line(line)
