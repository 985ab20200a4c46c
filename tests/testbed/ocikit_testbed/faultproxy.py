"""A fault-injecting TLS proxy between a client under test and the test bed's registry.

``FaultProxy(registry)`` listens on ``127.0.0.1`` with a certificate from the registry's own
throwaway CA (so clients verify it exactly as they verify the registry: same ``cert_dir``),
forwards every request to the real registry and, for requests matching a rule, misbehaves::

    with FaultProxy(registry) as proxy:
        proxy.add_fault(method="GET", path=r"/blobs/", kind="reset_after", nbytes=4096, times=1)
        ... run a module against proxy.ref("repo", "tag") ...
        assert proxy.hits() == 1

Rules are tried in the order they were added; the first one that matches the method and the
path regex (``re.search`` on the path without query) and still has occurrences left applies.
``skip`` lets that many matching requests pass first (the "N-th occurrence"), ``times`` bounds
how often it fires (None: always).

Fault kinds (``FAULT_KINDS``):

``reset_after``   forward, send the status, headers and ``nbytes`` body bytes, then reset (RST)
``drop_response`` forward (the registry acts on it), then reset before any byte of the answer:
                  the "lost response" of a request that did succeed
``stall``         forward, send headers and ``nbytes`` body bytes, then send nothing for
                  ``seconds`` (or until the proxy stops), then reset
``status``        answer ``status`` (500, 502, 503, 504, 429...) without forwarding, with a
                  registry error body and ``retry_after`` as ``Retry-After`` when given
                  (``"2"`` or an HTTP-date; :func:`http_date` makes one), and ``headers`` (pairs
                  or a mapping: ``RateLimit-Remaining``, ``RateLimit-Reset``...) added as given
``truncate``      forward, announce the full Content-Length, send half the body (at least 1
                  byte short; an empty body is announced as 64 bytes), then close cleanly
``lengthen``      forward, append ``nbytes`` (default 16) garbage bytes, Content-Length to match
``corrupt``       forward, same length, bytes inverted: wrong bytes for the digest asked for
``oversize``      forward, announce a Content-Length of 1 TiB and stream filler until the client
                  goes away or ``seconds`` pass
``endless``       as oversize, but chunked: no length announced at all
``deep_json``     forward, replace the body with ``nbytes`` (default 100 000) nested JSON arrays
``redirect``      fetch the answer from the registry (with the client's credentials), keep it, and
                  answer ``307`` to the recorder, a second TLS server on another port that logs
                  every header it receives (:attr:`recorded`) and serves the kept answer once
``revoke``        forward without the ``Authorization`` header: the registry answers ``401`` with
                  its own ``WWW-Authenticate`` challenge, as when a token is revoked or expires
``headers``       forward, and add ``headers`` to the registry's answer (a registry announcing its
                  rate limit on a successful answer: ``RateLimit-Remaining: 0``)
``paginate``      forward a tag list request and answer one page of it as distribution 3 pages tags
                  (``n`` tags after ``last``, a ``Link: <...>; rel="next"`` while more remain): the
                  test bed's distribution 2.8 ignores ``n`` and ``last`` on ``/tags/list``

Every request passing the proxy is logged (:attr:`FaultProxy.requests`) with the ``time.monotonic()``
at which it arrived, so tests can measure how long a client waited between two requests;
:attr:`FaultProxy.peak_in_flight` is the most requests the proxy was handling at once.

Latency (``FaultProxy(registry, delay=0.02)``, or :attr:`FaultProxy.delay` set later): every
request waits ``delay`` seconds before it is forwarded (one round trip), and every new connection
waits ``2 * delay`` before its TLS handshake (the TCP and TLS 1.3 handshakes are one round trip
each), as a registry that far away would cost. Nothing else changes: the client still verifies
the proxy's certificate, and faults apply as usual. The benchmark's P4b row uses it.

Every loop and stall is bounded in time and ends when :meth:`FaultProxy.stop` runs. Request
bodies are read whole before forwarding (test images are small), which also means a fault on
the answer comes after the registry has seen (and acted on) the whole request.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http.client
import itertools
import json
import re
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["FAULT_KINDS", "Fault", "FaultProxy", "ProxyRecord", "RecordedRequest", "http_date"]

FAULT_KINDS = (
    "reset_after",
    "drop_response",
    "stall",
    "status",
    "truncate",
    "lengthen",
    "corrupt",
    "oversize",
    "endless",
    "deep_json",
    "redirect",
    "revoke",
    "headers",
    "paginate",
)
#: Longest time one faulty answer may keep a connection busy (stall, oversize, endless).
MAX_FAULT_SECONDS = 60.0
_FILLER = b"\0" * 65536
_HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "content-length")
)
_STATUS_CODES = {429: "TOOMANYREQUESTS", 401: "UNAUTHORIZED", 403: "DENIED"}


def http_date(seconds_from_now: float) -> str:
    """An HTTP-date (``Retry-After`` form) this many seconds from now."""
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@dataclasses.dataclass
class Fault:
    """One rule: which requests (method, path regex, occurrences) and what goes wrong."""

    kind: str
    method: str | None = None
    path: str = ""
    skip: int = 0
    times: int | None = 1
    nbytes: int | None = None
    status: int = 503
    retry_after: str | None = None
    seconds: float = 30.0
    headers: Any = ()
    """Extra answer headers of ``status`` and ``headers`` faults: ``(name, value)`` pairs or a mapping."""
    seen: int = 0
    """Matching requests seen so far (skipped ones included)."""
    hits: int = 0
    """Times the fault was applied."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        self.seconds = min(float(self.seconds), MAX_FAULT_SECONDS)
        self._regex = re.compile(self.path)
        pairs = self.headers.items() if isinstance(self.headers, dict) else self.headers
        self.headers = tuple((str(name), str(value)) for name, value in pairs)

    def matches(self, method: str, path: str) -> bool:
        """Whether the request is one this rule is about (regardless of occurrences left)."""
        return (self.method is None or self.method.upper() == method) and bool(self._regex.search(path))


@dataclasses.dataclass
class ProxyRecord:
    """One request that passed the proxy, and the fault applied to it (None when forwarded as is)."""

    method: str
    path: str
    query: str
    fault: str | None
    authorization: bool
    """Whether the client sent an ``Authorization`` header."""
    at: float = 0.0
    """``time.monotonic()`` when the request arrived."""


@dataclasses.dataclass
class RecordedRequest:
    """One request the redirect recorder received: what a redirect target learns from a client."""

    method: str
    path: str
    headers: dict[str, str]


@dataclasses.dataclass
class _Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class _TLSServer(ThreadingHTTPServer):
    """A threading HTTP server whose TLS handshakes happen in the handler threads, not in accept()."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext, owner: FaultProxy) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context
        self.owner = owner

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-answer are the point of this server; no tracebacks on stderr.
        pass


class _BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ocikit-faultproxy/1"
    server: _TLSServer  # type: ignore[assignment]

    def setup(self) -> None:
        self.request.settimeout(30)
        self.request.do_handshake()
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass  # the connection was reset on purpose

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_head(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _reset(self, pause: float = 0.0) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), no TLS close_notify.

        ``pause`` lets the client read what was sent first: a RST makes the peer's kernel drop
        data it has received but not yet handed to the application.
        """
        self.close_connection = True
        try:
            self.wfile.flush()
        except (OSError, ValueError):
            pass
        if pause:
            self.server.owner.stopping.wait(pause)
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # makefile() objects hold the socket open: close them first so close() really closes.
        self.rfile.close()
        self.connection.close()


class _ProxyHandler(_BaseHandler):
    def setup(self) -> None:
        # Latency mode: a new connection pays the TCP and the TLS handshake's round trips first.
        delay = self.server.owner.delay
        if delay:
            self.server.owner.stopping.wait(2 * delay)
        super().setup()

    def _handle(self) -> None:
        proxy = self.server.owner
        split = self.path.partition("?")
        path, query = split[0], split[2]
        body = self._read_body()
        if proxy.delay:
            proxy.stopping.wait(proxy.delay)  # latency mode: the request's own round trip
        proxy.entered()
        try:
            self._answer(proxy, path, query, body)
        finally:
            proxy.left()

    def _answer(self, proxy: FaultProxy, path: str, query: str, body: bytes) -> None:
        fault = proxy.match(self.command, path)
        proxy.record(ProxyRecord(self.command, path, query, fault.kind if fault else None, "Authorization" in self.headers, time.monotonic()))
        if fault is None:
            self._relay(self._forward(body))
            return
        getattr(self, "_fault_" + fault.kind)(fault, body)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

    # -- forwarding ------------------------------------------------------------------

    def _forward(self, body: bytes, drop_auth: bool = False) -> _Answer:
        proxy = self.server.owner
        conn = http.client.HTTPSConnection("127.0.0.1", proxy.upstream_port, context=proxy.upstream_context, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if drop_auth:
                headers.pop("Authorization", None)
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            # Host stays the proxy's: the registry builds upload Locations from it.
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP and k.lower() not in ("date", "server")]
            length = resp.getheader("Content-Length")
            if self.command == "HEAD" and length is not None:
                kept.append(("Content-Length", length))
            return _Answer(resp.status, resp.reason, kept, data)
        finally:
            conn.close()

    def _relay(self, answer: _Answer, body: bytes | None = None, length: int | None = None) -> None:
        data = answer.body if body is None else body
        headers = list(answer.headers)
        if self.command != "HEAD":
            headers.append(("Content-Length", str(len(data) if length is None else length)))
        self._send_head(answer.status, answer.reason, headers)
        if self.command != "HEAD":
            self.wfile.write(data)

    def _head_only(self, answer: _Answer, extra: list[tuple[str, str]]) -> None:
        self._send_head(answer.status, answer.reason, list(answer.headers) + extra)

    # -- faults ----------------------------------------------------------------------

    def _fault_status(self, fault: Fault, body: bytes) -> None:
        code = _STATUS_CODES.get(fault.status, "UNAVAILABLE")
        data = json.dumps({"errors": [{"code": code, "message": "injected fault", "detail": None}]}).encode()
        headers = [("Content-Type", "application/json"), ("Docker-Distribution-API-Version", "registry/2.0")]
        if fault.retry_after is not None:
            headers.append(("Retry-After", fault.retry_after))
        headers.extend(fault.headers)
        self._relay(_Answer(fault.status, http.client.responses.get(fault.status, ""), headers, data))

    def _fault_reset_after(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._head_only(answer, [("Content-Length", str(len(answer.body)))] if self.command != "HEAD" else [])
        if self.command != "HEAD":
            self.wfile.write(answer.body[: fault.nbytes or 0])
        self._reset(pause=0.2)

    def _fault_drop_response(self, fault: Fault, body: bytes) -> None:
        self._forward(body)
        self._reset()

    def _fault_stall(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._head_only(answer, [("Content-Length", str(len(answer.body)))] if self.command != "HEAD" else [])
        if self.command != "HEAD":
            self.wfile.write(answer.body[: fault.nbytes or 0])
        self.wfile.flush()
        self.server.owner.stopping.wait(fault.seconds)
        self._reset()

    def _fault_truncate(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        announced = len(answer.body) or 64
        sent = answer.body[: len(answer.body) // 2]
        self._head_only(answer, [("Content-Length", str(announced))])
        if self.command != "HEAD":
            self.wfile.write(sent)
        self.close_connection = True  # socketserver then shuts the socket down: a clean FIN

    def _fault_lengthen(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._relay(answer, answer.body + b"#" * (16 if fault.nbytes is None else fault.nbytes))

    def _fault_corrupt(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._relay(answer, bytes(b ^ 0xFF for b in answer.body) if answer.body else b"\xff")

    def _stream_filler(self, fault: Fault, chunked: bool) -> None:
        deadline = time.monotonic() + fault.seconds
        stopping = self.server.owner.stopping
        try:
            while time.monotonic() < deadline and not stopping.is_set():
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(_FILLER), _FILLER))
                else:
                    self.wfile.write(_FILLER)
        except (OSError, ValueError):
            pass  # the client stopped reading: what a bounded client does
        self._reset(pause=0.1)

    def _fault_oversize(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._head_only(answer, [("Content-Length", str(1 << 40))])
        if self.command == "HEAD":
            return
        self._stream_filler(fault, chunked=False)

    def _fault_endless(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._head_only(answer, [("Transfer-Encoding", "chunked")] if self.command != "HEAD" else [])
        if self.command == "HEAD":
            return
        self._stream_filler(fault, chunked=True)

    def _fault_deep_json(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        depth = 100_000 if fault.nbytes is None else fault.nbytes
        self._relay(answer, b"[" * depth + b"]" * depth)

    def _fault_redirect(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        location = self.server.owner.stash(answer)
        self._relay(_Answer(307, "Temporary Redirect", [("Location", location)], b""))

    def _fault_revoke(self, fault: Fault, body: bytes) -> None:
        self._relay(self._forward(body, drop_auth=True))

    def _fault_headers(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        self._relay(_Answer(answer.status, answer.reason, list(answer.headers) + list(fault.headers), answer.body))

    def _fault_paginate(self, fault: Fault, body: bytes) -> None:
        answer = self._forward(body)
        if answer.status != 200 or self.command != "GET":
            self._relay(answer)
            return
        path, dummy, query = self.path.partition("?")
        params = urllib.parse.parse_qs(query)
        document = json.loads(answer.body)
        tags = document.get("tags") or []
        size = int(params["n"][0]) if "n" in params else len(tags)
        last = params.get("last", [None])[0]
        start = tags.index(last) + 1 if last in tags else 0
        page = tags[start:start + size]
        headers = [(k, v) for k, v in answer.headers if k.lower() not in ("link", "content-length")]
        if start + size < len(tags):
            headers.append(("Link", '<%s?last=%s&n=%d>; rel="next"' % (path, urllib.parse.quote(page[-1]), size)))
        self._relay(_Answer(200, answer.reason, headers, json.dumps({"name": document.get("name"), "tags": page}).encode()))


class _RecorderHandler(_BaseHandler):
    def _handle(self) -> None:
        proxy = self.server.owner
        self._read_body()
        proxy.record_redirected(RecordedRequest(self.command, self.path, dict(self.headers.items())))
        answer = proxy.unstash(self.path.partition("?")[0])
        if answer is None:
            answer = _Answer(404, "Not Found", [("Content-Type", "text/plain")], b"no such redirect\n")
        headers = list(answer.headers)
        if self.command != "HEAD":
            headers.append(("Content-Length", str(len(answer.body))))
        self._send_head(answer.status, answer.reason, headers)
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle


class FaultProxy:
    """The proxy in front of a started TLS :class:`Registry`; a context manager, or ``start``/``stop``."""

    def __init__(self, registry: Registry, delay: float = 0.0) -> None:
        if not registry.tls or registry.pki is None or registry.port is None:
            raise ValueError("FaultProxy needs a started registry with tls=True")
        if not 0.0 <= delay <= MAX_FAULT_SECONDS:
            raise ValueError(f"FaultProxy delay must be within [0, {MAX_FAULT_SECONDS:g}] seconds")
        self.registry = registry
        self.delay = float(delay)
        """Seconds added per request and twice per new connection (latency mode); 0 forwards at once."""
        self.upstream_port = registry.port
        self.upstream_context = registry.ssl_context()
        cert = registry.pki.issue_server_cert("faultproxy", hosts=("127.0.0.1",))
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_context.load_cert_chain(cert.cert_file, cert.key_file)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._stash_store: dict[str, _Answer] = {}
        self._stash_ids = itertools.count(1)
        self.stopping = threading.Event()
        self.requests: list[ProxyRecord] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        """The most requests being handled at once (from their body read to their answer sent) since start or clear_requests."""
        self.recorded: list[RecordedRequest] = []
        self._proxy: _TLSServer | None = None
        self._recorder: _TLSServer | None = None
        self._threads: list[threading.Thread] = []

    # -- addresses -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The proxy's port on 127.0.0.1."""
        if self._proxy is None:
            raise RuntimeError("proxy has not been started")
        return int(self._proxy.server_address[1])

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the registry part of references that go through the proxy."""
        return f"127.0.0.1:{self.port}"

    @property
    def recorder_host(self) -> str:
        """``127.0.0.1:PORT`` of the redirect recorder."""
        if self._recorder is None:
            raise RuntimeError("proxy has not been started")
        return f"127.0.0.1:{self._recorder.server_address[1]}"

    def ref(self, repository: str, tag_or_digest: str = "latest") -> str:
        """``HOST/repository:tag`` (or ``@sha256:...``) through the proxy."""
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        return f"{self.host}/{repository}{sep}{tag_or_digest}"

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Listen (proxy and recorder) in background threads."""
        if self._proxy is not None:
            return self
        self.stopping.clear()
        self._proxy = _TLSServer(_ProxyHandler, self._server_context, self)
        self._recorder = _TLSServer(_RecorderHandler, self._server_context, self)
        for server in (self._proxy, self._recorder):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop listening and end every stall and endless body."""
        self.stopping.set()
        for server in (self._proxy, self._recorder):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self._proxy = self._recorder = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- rules -----------------------------------------------------------------------

    def add_fault(self, kind: str, method: str | None = None, path: str = "", **params: Any) -> Fault:
        """Add a rule (see the module docstring for kinds and parameters) and return it."""
        fault = Fault(kind=kind, method=method, path=path, **params)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every rule; requests are forwarded untouched again."""
        with self._lock:
            self._faults.clear()

    def hits(self) -> int:
        """How many times any current rule fired."""
        with self._lock:
            return sum(fault.hits for fault in self._faults)

    def clear_requests(self) -> None:
        """Forget the request log and the recorder's log (and the peak of requests in flight)."""
        with self._lock:
            self.requests.clear()
            self.recorded.clear()
            self.peak_in_flight = self.in_flight

    # -- for the handler threads ---------------------------------------------------------

    def match(self, method: str, path: str) -> Fault | None:
        """The rule that applies to this request (counted as applied), or None."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                fault.hits += 1
                return fault
        return None

    def entered(self) -> None:
        """A handler thread started answering a request."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def left(self) -> None:
        """A handler thread is done with its request."""
        with self._lock:
            self.in_flight -= 1

    def record(self, record: ProxyRecord) -> None:
        """Log a request that reached the proxy."""
        with self._lock:
            self.requests.append(record)

    def record_redirected(self, record: RecordedRequest) -> None:
        """Log a request that reached the redirect recorder."""
        with self._lock:
            self.recorded.append(record)

    def stash(self, answer: _Answer) -> str:
        """Keep ``answer`` for the recorder to serve once; return its URL there."""
        key = f"/stash/{next(self._stash_ids)}"
        with self._lock:
            self._stash_store[key] = answer
        return f"https://{self.recorder_host}{key}"

    def unstash(self, key: str) -> _Answer | None:
        """Take the kept answer for ``key`` (a recorder path), if any."""
        with self._lock:
            return self._stash_store.pop(key, None)

    def __repr__(self) -> str:
        where = self.host if self._proxy is not None else "not started"
        return f"<FaultProxy {where} -> {self.registry!r}>"
