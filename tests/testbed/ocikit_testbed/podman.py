"""Podman's API service for tests: ``podman system service`` with everything it writes in one temporary directory.

The service answers the Docker Engine API (and libpod's) on a unix socket, or on ``tcp://127.0.0.1:PORT``
(plain HTTP). Its store (vfs), run root, temporary files (``TMPDIR``: podman spools loads there), events
log, configuration, ``HOME`` and ``XDG_*`` directories are all under ``base`` (the run root too, unless that path is
over podman's 50-character limit: then a directory of its own in /tmp), and nothing under
/var/lib/containers, /var/tmp or the real ``$HOME`` is touched. The service leads its own process group
and :meth:`PodmanService.stop` ends that group; use it as a context manager.

Requests are counted in the service's access log (``--log-level debug`` writes one line per answered
request): see :meth:`PodmanService.requests`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ['PodmanService', 'free_port', 'podman_available']


def podman_available() -> bool:
    return shutil.which('podman') is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class PodmanService:
    """A running ``podman system service`` (started by the constructor) and how to look into its store."""

    def __init__(self, base: Path, port: int | None = None, start_timeout: float = 60) -> None:
        self.base = base
        #: The daemon_host to give modules: the socket, or http://127.0.0.1:PORT for a service on TCP.
        self.host = 'http://127.0.0.1:%d' % port if port else 'unix://%s' % self.socket
        self.marks = 0
        for name in ('root', 'runroot', 'tmp', 'home'):
            (base / name).mkdir(parents=True, exist_ok=True)
        # podman refuses a run root longer than 50 characters (pytest's temporary paths are longer): then a short
        # directory of its own in /tmp, removed by stop().
        self._short_runroot = None if len(str(base / 'runroot')) <= 50 else tempfile.mkdtemp(prefix='ocikit-podman-', dir='/tmp')
        self.runroot = Path(self._short_runroot) if self._short_runroot else base / 'runroot'
        (base / 'storage.conf').write_text('[storage]\ndriver = "vfs"\nrunroot = "%s"\ngraphroot = "%s/root"\n' % (self.runroot, base))
        (base / 'containers.conf').write_text('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                                              'events_logfile_path = "%s/events.log"\ntmp_dir = "%s/tmp"\n' % (base, base))
        self.env = dict(os.environ, HOME=str(base / 'home'), XDG_CONFIG_HOME=str(base / 'home' / '.config'),
                        XDG_DATA_HOME=str(base / 'home' / '.local' / 'share'), XDG_RUNTIME_DIR=str(self.runroot),
                        CONTAINERS_CONF=str(base / 'containers.conf'), CONTAINERS_STORAGE_CONF=str(base / 'storage.conf'),
                        TMPDIR=str(base / 'tmp'))
        listen = 'tcp://127.0.0.1:%d' % port if port else 'unix://%s' % self.socket
        with open(self.log, 'wb') as log:
            self.process = subprocess.Popen(['podman', *self.flags(), '--log-level', 'debug', 'system', 'service', '--time=0', listen],
                                            stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with self.http_client() as client:
                    if client.get('/_ping').status_code == 200:
                        return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('podman system service did not start: %s' % self.log.read_text()[-2000:])
            time.sleep(0.2)

    @property
    def socket(self) -> Path:
        return self.base / 'podman.sock'

    @property
    def log(self) -> Path:
        return self.base / 'service.log'

    def flags(self) -> list[str]:
        """podman's global flags for this store."""
        return ['--root', str(self.base / 'root'), '--runroot', str(self.runroot), '--storage-driver', 'vfs',
                '--tmpdir', str(self.base / 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file']

    def http_client(self) -> httpx.Client:
        if self.host.startswith('http://'):
            return httpx.Client(base_url=self.host, timeout=10)
        return httpx.Client(base_url='http://d', transport=httpx.HTTPTransport(uds=str(self.socket)), timeout=10)

    def podman(self, *args: str) -> str:
        """Run the podman CLI on this store; its standard output."""
        return subprocess.run(['podman', *self.flags(), *args], check=True, capture_output=True, text=True, env=self.env, timeout=120).stdout

    def images(self) -> dict[str, str]:
        """Each name the store lists, and its image ID (``sha256:...``)."""
        listed: list[dict[str, Any]] = json.loads(self.podman('images', '--format', 'json') or '[]')
        return {name: 'sha256:' + entry['Id'] for entry in listed for name in entry.get('Names') or []}

    def requests(self, what: str) -> int:
        """How many requests the service has answered whose request line holds ``what`` (``POST /v1.41/images/load``).

        The access log is written after each answer: a marker request is made and waited for first, so that
        every earlier request is counted.
        """
        self.marks += 1
        marker = '/_ping?mark=%d ' % self.marks
        with self.http_client() as client:
            client.get(marker.strip())
        deadline = time.monotonic() + 20
        while marker not in self.log.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError('the service did not log the marker request %s' % marker)
            time.sleep(0.05)
        return sum(1 for line in self.log.read_text().splitlines() if what in line and ' - - [' in line)

    def loads(self) -> int:
        """Loads answered so far: the Docker-compatible ``POST /v1.41/images/load`` and libpod's ``POST /vX.Y.Z/libpod/images/load``."""
        return self.requests('/images/load')

    def exports(self) -> int:
        """Exports answered so far: the Docker-compatible ``GET /v1.41/images/get?names=`` and libpod's ``GET /vX.Y.Z/libpod/images/NAME/get``."""
        self.requests('')  # the marker, once: the count below reads the log as it is then
        return sum(1 for line in self.log.read_text().splitlines()
                   if ' - - [' in line and '"GET ' in line and ('/images/get?' in line or ('/libpod/images/' in line and '/get?' in line)))

    def stop(self) -> None:
        """End the service's process group (SIGTERM, then SIGKILL after 20 s); remove a run root made outside ``base``."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        if self._short_runroot:
            shutil.rmtree(self._short_runroot, ignore_errors=True)

    def unreachable(self) -> str:
        """What a client's message says of this service once stopped: its socket is gone, or nothing answers on it."""
        if self.socket.exists():
            return 'nothing answers on the socket %s (connection refused)' % self.socket
        return 'the socket %s does not exist' % self.socket

    def __enter__(self) -> 'PodmanService':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
