"""A real CNCF distribution registry (``/usr/bin/docker-registry``, 2.8) for tests.

``Registry`` writes a config, starts ``docker-registry serve`` on a free 127.0.0.1 port,
waits until ``/v2/`` answers and tears everything down again. Variants: plain HTTP or TLS
(our throwaway CA), no auth, htpasswd (bcrypt) or token auth (our :class:`TokenServer`),
deletes on/off, schema1 on/off, optional mutual TLS.

Logs, as distribution 2.8 really writes them:

* stdout — the access log, Apache *combined* format (gorilla/handlers), one line per
  request whatever its status. ``log.formatter`` does not apply to it. This is what
  :meth:`Registry.requests` parses.
* stderr — the application log, JSON lines with ``log.formatter: json``. It has
  ``response completed`` entries too, but only for 2xx/3xx responses and errors raised
  by handlers: an authentication failure (401) never appears there, which is why the
  access log is the source of truth. :meth:`Registry.app_log` returns these entries.

Processes never outlive the test run: the registry runs in its own process group
(killed as a group), under ``setpriv --pdeathsig`` where available (dies with the
thread that started it), and every running registry is stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Literal, TypedDict

from .pki import PKI, CertPair
from .tokenserver import DEFAULT_ISSUER, DEFAULT_SERVICE, TokenServer

__all__ = ["REGISTRY_BINARY", "Registry", "RegistryError", "RequestRecord"]

REGISTRY_BINARY = os.environ.get("OCIKIT_TESTBED_REGISTRY", "/usr/bin/docker-registry")
DEFAULT_USERS = {"alice": "wonderland"}
START_TIMEOUT = 15.0

AuthKind = Literal["htpasswd", "token"]


class RegistryError(RuntimeError):
    """The registry could not be started (the message carries its stderr tail)."""


class RequestRecord(TypedDict):
    """One line of the registry's access log."""

    method: str
    path: str
    """Request path without the query string, e.g. ``/v2/repo/manifests/v1``."""
    query: str
    """Raw query string ('' when there is none)."""
    status: int
    size: int
    """Response body bytes as logged (0 when the log says ``-``)."""
    user_agent: str


# 127.0.0.1 - - [22/Nov/2026:12:50:18 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
_ACCESS_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>\S+) (?P<uri>\S+) [^"]*" (?P<status>\d{3}) '
    r'(?P<size>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?'
)

_live: set[Registry] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        registries = list(_live)
    for registry in registries:
        registry.stop()


class Registry:
    """A running distribution registry; a context manager, or call ``start``/``stop``.

    Everything lives under ``workdir``: ``storage/`` (the data, removed by ``stop``),
    ``config.yml``, ``pki/`` (CA and certificates), ``certs.d/HOST:PORT/`` (the client
    ``cert_dir``), ``htpasswd`` and the two log files.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        tls: bool = True,
        auth: AuthKind | None = None,
        users: dict[str, str] | None = None,
        delete: bool = True,
        schema1: bool = False,
        client_certs: bool = False,
        token_expires_in: int = 300,
        anonymous_pull: bool = False,
    ) -> None:
        """Describe the registry; nothing starts until :meth:`start`.

        ``users`` defaults to ``{"alice": "wonderland"}``. ``client_certs`` makes the
        registry require a client certificate (mutual TLS) and puts ``client.cert`` /
        ``client.key`` into ``cert_dir``. ``token_expires_in`` and ``anonymous_pull``
        configure the token server (``auth="token"`` only).
        """
        if auth not in (None, "htpasswd", "token"):
            raise ValueError(f"auth must be None, 'htpasswd' or 'token', not {auth!r}")
        if client_certs and not tls:
            raise ValueError("client_certs=True needs tls=True")
        self.workdir = Path(workdir).resolve()
        self.tls = tls
        self.auth: AuthKind | None = auth
        self.users: dict[str, str] = dict(DEFAULT_USERS if users is None else users)
        self.delete = delete
        self.schema1 = schema1
        self.client_certs = client_certs
        self.token_expires_in = token_expires_in
        self.anonymous_pull = anonymous_pull

        self.storage_dir = self.workdir / "storage"
        self.config_file = self.workdir / "config.yml"
        self.access_log_file = self.workdir / "registry.access.log"
        self.app_log_file = self.workdir / "registry.app.log"
        self.pki: PKI | None = None
        self.server_cert: CertPair | None = None
        self.client_cert: CertPair | None = None
        self.token_server: TokenServer | None = None
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- addresses and client settings -----------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference."""
        if self.port is None:
            raise RuntimeError("registry has not been started")
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT`` (or ``http://`` without TLS)."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def ca_file(self) -> Path:
        """The CA certificate that signed the registry's (and token server's) certificate."""
        if self.pki is None:
            raise RuntimeError("registry has not been started")
        return self.pki.ca_file

    @property
    def certs_d(self) -> Path:
        """A containers ``certs.d`` root holding ``HOST:PORT/ca.crt``."""
        return self.workdir / "certs.d"

    @property
    def cert_dir(self) -> Path:
        """Directory with ``ca.crt`` (and client cert/key) for containers' ``--cert-dir``."""
        return self.certs_d / self.host

    @property
    def credentials(self) -> tuple[str, str]:
        """The first user and password, for clients that need one login."""
        return next(iter(self.users.items()))

    def ref(self, repository: str, tag_or_digest: str = "latest") -> str:
        """``HOST/repository:tag`` (or ``@sha256:...`` when given a digest)."""
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        return f"{self.host}/{repository}{sep}{tag_or_digest}"

    def skopeo_flags(
        self, side: Literal["src", "dest", ""] = "dest", *, creds: bool = True
    ) -> list[str]:
        """skopeo flags to reach this registry: cert dir or TLS off, and credentials.

        ``side`` is ``"src"``/``"dest"`` for ``skopeo copy`` and ``""`` for commands
        such as ``inspect`` that take unprefixed flags.
        """
        prefix = f"--{side}-" if side else "--"
        flags = (
            [f"{prefix}cert-dir", str(self.cert_dir)] if self.tls else [f"{prefix}tls-verify=false"]
        )
        if creds and self.auth is not None:
            user, password = self.credentials
            flags += [f"{prefix}creds", f"{user}:{password}"]
        return flags

    def ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context trusting the CA (with the client cert when required)."""
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if self.client_cert is not None:
            ctx.load_cert_chain(self.client_cert.cert_file, self.client_cert.key_file)
        return ctx

    def http_client(self, **kwargs: Any) -> Any:
        """An ``httpx.Client`` with ``base_url`` and TLS set up for this registry."""
        import httpx  # only tests that talk HTTP themselves need it

        kwargs.setdefault("base_url", self.url)
        kwargs.setdefault("verify", self.ssl_context() or True)
        return httpx.Client(**kwargs)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Registry:
        """Start the registry (and token server) and wait until ``/v2/`` answers."""
        if self._process is not None:
            return self
        if not os.access(REGISTRY_BINARY, os.X_OK):
            raise RegistryError(f"{REGISTRY_BINARY} is not installed or not executable")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(exist_ok=True)
        self.pki = PKI(self.workdir / "pki")
        self.server_cert = self.pki.issue_server_cert()
        if self.client_certs:
            self.client_cert = self.pki.issue_client_cert()
        if self.auth == "token":
            self.token_server = TokenServer(
                signing=self.pki.issue_signing_cert(),
                users=self.users,
                tls=self.server_cert if self.tls else None,
                expires_in=self.token_expires_in,
                anonymous_pull=self.anonymous_pull,
            ).start()
        elif self.auth == "htpasswd":
            self._write_htpasswd()

        try:
            # A free port found by binding :0 can be taken by someone else before the
            # registry binds it; retry with a fresh port instead of failing the test.
            for attempt in range(3):
                self.port = _free_port()
                self._spawn()
                try:
                    self._wait_ready()
                    break
                except RegistryError as exc:
                    self._kill()
                    if attempt == 2 or "address already in use" not in str(exc):
                        raise
            self._log_offset = 0
            self.pki.write_cert_dir(self.cert_dir, client=self.client_cert)
        except BaseException:
            self.stop(keep=True)
            raise
        return self

    def stop(self, keep: bool = False) -> None:
        """Kill the registry and token server; remove ``storage/`` unless ``keep``.

        Logs and configuration stay, so a failed test can still be diagnosed.
        """
        with _live_lock:
            _live.discard(self)
        self._kill()
        if self.token_server is not None:
            self.token_server.stop()
        if not keep:
            shutil.rmtree(self.storage_dir, ignore_errors=True)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the registry process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- logs ------------------------------------------------------------------------

    def requests(self) -> list[RequestRecord]:
        """Requests from the access log since start (or the last :meth:`clear_requests`)."""
        records: list[RequestRecord] = []
        for line in self._read_access_log().splitlines():
            match = _ACCESS_LINE.match(line)
            if match is None:
                continue
            path, _sep, query = match["uri"].partition("?")
            size = match["size"]
            records.append(
                RequestRecord(
                    method=match["method"],
                    path=path,
                    query=query,
                    status=int(match["status"]),
                    size=0 if size == "-" else int(size),
                    user_agent=match["agent"] or "",
                )
            )
        return records

    def clear_requests(self) -> None:
        """Make later :meth:`requests` calls return only requests made from now on."""
        try:
            self._log_offset = self.access_log_file.stat().st_size
        except FileNotFoundError:
            self._log_offset = 0

    def wait_for_request(
        self, method: str, path: str | re.Pattern[str], *, timeout: float = 5.0
    ) -> RequestRecord:
        """Wait until a matching request is logged and return it.

        The registry writes an access-log line after the response has gone out, so a
        client can finish a moment before its last request is logged.
        ``path`` is an exact path or a compiled regex matched with ``fullmatch``.
        """
        deadline = time.monotonic() + timeout
        while True:
            for record in self.requests():
                if record["method"] != method:
                    continue
                if isinstance(path, str) and record["path"] == path:
                    return record
                if isinstance(path, re.Pattern) and path.fullmatch(record["path"]):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} {path} in the access log: {self.requests()}")
            time.sleep(0.05)

    def app_log(self) -> list[dict[str, Any]]:
        """The registry's JSON application log entries (all of them, since start)."""
        entries = []
        for line in _read_text(self.app_log_file).splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # Go panics and such are not JSON
        return entries

    def cpu_seconds(self) -> float | None:
        """CPU seconds (user + system) the registry process has used since it started; None where /proc cannot say.

        Benchmarks take the difference around a run: what a client's requests cost the registry.
        (A token server runs in the test process, so its share is not counted here.)
        """
        if self._process is None or self._process.poll() is not None:
            return None
        return process_cpu_seconds(self._process.pid)

    # -- internals -------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The registry configuration this instance runs with (``config.yml``)."""
        http: dict[str, Any] = {
            "addr": self.host,
            # Without a secret the registry warns and makes one up; fixing it keeps the
            # upload state (_state query) stable across a restart with keep=True.
            "secret": self._secret(),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        }
        if self.tls:
            assert self.server_cert is not None and self.pki is not None
            http["tls"] = {
                "certificate": str(self.server_cert.cert_file),
                "key": str(self.server_cert.key_file),
            }
            if self.client_certs:
                http["tls"]["clientcas"] = [str(self.pki.ca_file)]
        config: dict[str, Any] = {
            "version": "0.1",
            "log": {
                "level": "info",
                "formatter": "json",
                "accesslog": {"disabled": False},
            },
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": self.delete},
                # The purger would only log noise: test runs are far shorter than its age.
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
            "compatibility": {"schema1": {"enabled": self.schema1}},
        }
        if self.auth == "htpasswd":
            config["auth"] = {
                "htpasswd": {"realm": "ocikit-testbed", "path": str(self.workdir / "htpasswd")}
            }
        elif self.auth == "token":
            assert self.token_server is not None and self.pki is not None
            config["auth"] = {
                "token": {
                    "realm": self.token_server.realm,
                    "service": DEFAULT_SERVICE,
                    "issuer": DEFAULT_ISSUER,
                    # The CA, not the signing leaf: the token's x5c leaf must chain to it.
                    "rootcertbundle": str(self.pki.ca_file),
                }
            }
        return config

    def _secret(self) -> str:
        secret_file = self.workdir / "http.secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(16))
        return secret_file.read_text().strip()

    def _write_htpasswd(self) -> None:
        import bcrypt  # only the htpasswd variant needs it

        # Cost 4 (the minimum): the registry checks the password on every request, and
        # the default cost 12 would add ~250 ms to each one.
        lines = [
            f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
            for user, password in self.users.items()
        ]
        (self.workdir / "htpasswd").write_text("".join(lines))

    def _spawn(self) -> None:
        # The config is JSON, which is also YAML: no YAML library needed.
        self.config_file.write_text(json.dumps(self.config(), indent=2) + "\n")
        # REGISTRY_* variables override the config file; one leaking in from the
        # environment (REGISTRY_HTTP_ADDR in a CI job, say) must not change the bed.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        argv = [REGISTRY_BINARY, "serve", str(self.config_file)]
        setpriv = shutil.which("setpriv")
        if setpriv:
            argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
        with open(self.access_log_file, "wb") as out, open(self.app_log_file, "wb") as err:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        with _live_lock:
            _live.add(self)

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        ctx = self.ssl_context()
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RegistryError(
                    f"registry exited with status {self._process.returncode}; "
                    f"stderr tail:\n{self._stderr_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=2, context=ctx) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ssl.SSLError) as exc:
                last_error = str(exc)
                time.sleep(0.05)
                continue
            if status in (200, 401):
                return
            last_error = f"/v2/ answered {status}"
            time.sleep(0.05)
        raise RegistryError(
            f"registry did not answer {self.url}/v2/ within {START_TIMEOUT:.0f} s "
            f"({last_error}); stderr tail:\n{self._stderr_tail()}"
        )

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        process.poll()

    def _read_access_log(self) -> str:
        try:
            with open(self.access_log_file, "rb") as f:
                f.seek(self._log_offset)
                data = f.read()
        except FileNotFoundError:
            return ""
        # A line still being written has no newline yet: leave it for the next call.
        return data[: data.rfind(b"\n") + 1].decode("utf-8", "replace")

    def _stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(_read_text(self.app_log_file).splitlines()[-lines:])

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"<Registry {where} tls={self.tls} auth={self.auth}>"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one running process, from ``/proc/PID/stat`` (Linux); None elsewhere or once it is gone."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text(encoding="ascii")
    except OSError:
        return None
    # Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
