# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What machine a benchmark ran on: CPU model, cores, RAM, kernel, OS, Python, skopeo, commit.

Ratios travel between machines better than seconds, but only with the machine next to them:
``docs/performance.md`` prints these facts above the table.
"""

from __future__ import annotations

import os
import platform
import subprocess
import typing as t
from pathlib import Path


def _first_value(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc-style file, if any."""
    try:
        with open(path, encoding='utf-8') as handle:
            for line in handle:
                name, sep, value = line.partition(':')
                if sep and name.strip() == key:
                    return value.strip()
    except OSError:
        return None
    return None


def _os_name() -> str:
    try:
        with open('/etc/os-release', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('PRETTY_NAME='):
                    return line.partition('=')[2].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def git_commit(repo_root: Path) -> str:
    """Short commit of the work tree, with ``-dirty`` when tracked files differ from it; ``unknown`` outside git."""
    try:
        head = subprocess.run(['git', '-C', str(repo_root), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(['git', '-C', str(repo_root), 'status', '--porcelain', '--untracked-files=no'], capture_output=True, text=True,
                               check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    return head + ('-dirty' if dirty else '')


def machine_facts(repo_root: Path, skopeo: str) -> dict[str, t.Any]:
    """The facts of this machine and checkout (``skopeo`` is the version string already asked)."""
    mem_kib = _first_value('/proc/meminfo', 'MemTotal')
    return {
        'cpu_model': _first_value('/proc/cpuinfo', 'model name') or platform.processor() or 'unknown',
        'cores': os.cpu_count(),
        'ram_gib': round(int(mem_kib.split()[0]) / 1048576, 1) if mem_kib else None,
        'kernel': platform.release(),
        'os': _os_name(),
        'python': platform.python_version(),
        'skopeo': skopeo,
        'commit': git_commit(repo_root),
    }


def machine_line(facts: t.Mapping[str, t.Any]) -> str:
    """One line for humans: ``AMD EPYC ..., 2 cores, 23.4 GiB RAM, Linux 6.1, Debian 12, Python 3.11.7, skopeo 1.9.3, commit abc1234``."""
    return '%s, %s cores, %s GiB RAM, Linux %s, %s, Python %s, skopeo %s, commit %s' % (
        facts.get('cpu_model'), facts.get('cores'), facts.get('ram_gib'), facts.get('kernel'), facts.get('os'), facts.get('python'),
        facts.get('skopeo'), facts.get('commit'))
