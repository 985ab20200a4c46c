# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run one process and measure it: wall time and peak resident set size.

Peak RSS must come from a small parent. Linux carries the RSS high-water mark of the memory a
process had before ``exec`` into its ``ru_maxrss``: a child forked (or vforked, as Python's
subprocess does) straight from this benchmark, which holds tens of MB, would report at least the
benchmark's own peak, whatever it really used. So the child is started by ``/usr/bin/time -f %M``
(GNU time, about 1 MB), which forks it and reports the child's own ``ru_maxrss``. Without GNU time a
tiny Python wrapper does the same with ``os.wait4``; its own ~10 MB then become the floor of every
reading, which the result says (``rss_floor``).

Wall time is ``time.perf_counter()`` around the whole thing here, the end taken by a blocking
wait (not a polling one); the launcher adds about a millisecond.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import typing as t

GNU_TIME = '/usr/bin/time'

# Fallback launcher: fork the command, reap it with wait4, write its ru_maxrss (KiB) and CPU seconds to argv[1].
_WRAPPER = textwrap.dedent('''
    import os, sys
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[2], sys.argv[2:])
        finally:
            os._exit(127)
    status, usage = os.wait4(pid, 0)[1:]
    with open(sys.argv[1], "w") as out:
        out.write("%d %.2f %.2f\\n" % (usage.ru_maxrss, usage.ru_utime, usage.ru_stime))
    sys.exit(os.waitstatus_to_exitcode(status) % 256)
''')


@dataclasses.dataclass
class Measurement:
    """One finished process: exit code, wall seconds, peak RSS in bytes, CPU seconds, its output."""

    argv: list[str]
    rc: int
    seconds: float
    max_rss: int
    stdout: str
    stderr: str
    timed_out: bool = False
    cpu_user: float = 0.0
    cpu_system: float = 0.0

    def tail(self, lines: int = 15) -> str:
        """The last lines of stderr (else stdout), for a failure message."""
        text = self.stderr.strip() or self.stdout.strip()
        return '\n'.join(text.splitlines()[-lines:])


def launcher() -> tuple[str, str]:
    """``(name, description)`` of how peak RSS is taken on this host."""
    if os.access(GNU_TIME, os.X_OK) and _is_gnu_time():
        return 'gnu-time', '%s -f %%M (GNU time forks the command and reports its own ru_maxrss)' % GNU_TIME
    return 'wrapper', 'a Python fork/wait4 wrapper (no GNU time); its ~10 MB RSS is a floor under every reading'


def _is_gnu_time() -> bool:
    proc = subprocess.run([GNU_TIME, '--version'], capture_output=True, text=True, check=False, timeout=30)
    return 'GNU' in proc.stdout + proc.stderr


def measure(argv: t.Sequence[str], env: t.Mapping[str, str] | None = None, cwd: str | None = None,
            timeout: float = 1800.0, how: str = 'gnu-time') -> Measurement:
    """Run ``argv`` to completion under the RSS launcher ``how``; time it with ``perf_counter``.

    Output goes to temp files rather than pipes, so a chatty child never blocks on a full pipe and
    no reader thread competes with it for CPU. On timeout the whole process group is killed.
    """
    fd, rss_path = tempfile.mkstemp(prefix='rss-', suffix='.txt')
    os.close(fd)
    if how == 'gnu-time':
        full = [GNU_TIME, '-f', '%M %U %S', '-o', rss_path, '--', *argv]
    else:
        full = [sys.executable, '-c', _WRAPPER, rss_path, *argv]
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            with subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=dict(env) if env is not None else None,
                                  cwd=cwd, start_new_session=True) as proc:
                # A blocking wait, the timeout on a timer: Popen.wait(timeout=...) polls, sleeping up
                # to 50 ms between polls, which rounded every wall time up to the next poll.
                expired = threading.Event()
                killer = threading.Timer(timeout, _kill_group, (proc.pid, expired))
                killer.start()
                try:
                    rc = proc.wait()
                finally:
                    killer.cancel()
                timed_out = expired.is_set()
            seconds = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode('utf-8', 'replace')
            stderr = err.read().decode('utf-8', 'replace')
        with open(rss_path, encoding='utf-8') as handle:
            # GNU time puts "Command exited with non-zero status N" (or "...terminated by signal") first.
            lines = [line for line in handle.read().splitlines() if line.strip()]
        fields = lines[-1].split() if lines else []
        usage = (int(fields[0]), float(fields[1]), float(fields[2])) if len(fields) == 3 and fields[0].isdigit() else (0, 0.0, 0.0)
    finally:
        os.unlink(rss_path)
    return Measurement(argv=list(argv), rc=rc, seconds=seconds, max_rss=usage[0] * 1024, stdout=stdout, stderr=stderr, timed_out=timed_out,
                       cpu_user=usage[1], cpu_system=usage[2])


def _kill_group(pid: int, expired: threading.Event) -> None:
    expired.set()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended meanwhile
        pass


def rss_baseline(how: str) -> int:
    """Peak RSS in bytes the launcher reports for ``true``: the floor under every reading."""
    binary = shutil.which('true') or '/bin/true'
    return measure([binary], how=how, timeout=60).max_rss


def startup_floor(python: str, env: t.Mapping[str, str], repeat: int = 7) -> float:
    """Median wall seconds of the least any Ansible module takes before its work: ``python`` importing
    ``ansible.module_utils.basic`` from its compiled files (one unmeasured run first compiles what is not), as a
    managed host has them. ``env`` should not set ``PYTHONDONTWRITEBYTECODE`` (``sides.bench_environ()``)."""
    argv = [python, '-c', 'import ansible.module_utils.basic']
    subprocess.run(argv, check=True, env=dict(env), timeout=120, stdin=subprocess.DEVNULL)
    runs = []
    for dummy in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, env=dict(env), timeout=120, stdin=subprocess.DEVNULL)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def registries_cpu_seconds(registries: t.Iterable[t.Any]) -> float | None:
    """The CPU seconds the test-bed registries (``Registry.cpu_seconds()``) have used so far, summed; None where any cannot say."""
    total = 0.0
    for registry in registries:
        value = registry.cpu_seconds()
        if value is None:
            return None
        total += value
    return total


def registries_cpu_spent(registries: t.Sequence[t.Any], before: float | None) -> float | None:
    """The registries' CPU seconds since ``before`` (their :func:`registries_cpu_seconds` then); None where either reading failed."""
    after = registries_cpu_seconds(registries)
    return None if before is None or after is None else after - before
