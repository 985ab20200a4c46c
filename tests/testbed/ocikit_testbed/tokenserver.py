"""A small Docker registry token server (the "token" auth of distribution).

It implements the two documented ways to get a bearer token:

* ``GET /token?service=S&scope=repository:NAME:pull,push&scope=...`` with optional HTTP
  Basic credentials (what skopeo/containers/image and docker do);
* ``POST /token`` with an OAuth2 form: ``grant_type=password`` (``username``,
  ``password``) or ``grant_type=refresh_token`` (``refresh_token``), ``scope`` being
  space separated (what docker does when it holds a refresh token).

Policy: a known user with the right password gets every action they ask for on every
resource; a wrong password (or unknown user) gets 401; anonymous callers get nothing, or
only ``pull`` on repositories when ``anonymous_pull`` is set.

Tokens are ES256 JWTs whose header carries the signing certificate in ``x5c``. The
registry (distribution 2.8) verifies that chain against ``auth.token.rootcertbundle``
(our CA) and then checks ``iss`` against ``auth.token.issuer`` and ``aud`` (a single
string in 2.8) against ``auth.token.service``.

Every request is recorded as a :class:`TokenRequest` for assertions, and every token issued (by
any server of the process) is kept for :func:`issued_tokens`: the secrets scan of the integration
suite looks for them, and their base64 forms, in everything the modules print.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from .pki import CertPair

__all__ = ["TokenRequest", "TokenServer", "issued_tokens"]

DEFAULT_SERVICE = "ocikit-testbed-registry"
DEFAULT_ISSUER = "ocikit-testbed-token-server"

# Tokens issued by every TokenServer of this process (access and refresh tokens), oldest first.
_ISSUED: list[str] = []
_ISSUED_LOCK = threading.Lock()


def issued_tokens() -> list[str]:
    """Every access and refresh token the token servers of this process have issued so far."""
    with _ISSUED_LOCK:
        return list(_ISSUED)


def _remember(token: str) -> str:
    with _ISSUED_LOCK:
        _ISSUED.append(token)
    return token


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server answered."""

    method: str
    """``GET`` or ``POST``."""
    user: str | None
    """The authenticated user; ``None`` for anonymous (or failed) requests."""
    attempted_user: str | None
    """The user name the client sent, even when the password was wrong."""
    service: str | None
    scopes: tuple[str, ...]
    """Scopes as the client sent them, in order (``repository:NAME:pull,push``)."""
    status: int
    """HTTP status returned: 200, 400 or 401."""
    granted: tuple[dict[str, Any], ...] = ()
    """The ``access`` claim of the issued token."""
    grant_type: str | None = None
    """For ``POST``: ``password`` or ``refresh_token``."""
    offline_token: bool = False
    """The client asked for a refresh token."""


class TokenServer:
    """Token server on ``127.0.0.1`` in a background thread, over TLS when given a cert.

    ``expires_in`` and ``anonymous_pull`` are plain attributes and may be changed while the
    server runs (tests exercising token refresh shorten ``expires_in``).
    """

    def __init__(
        self,
        *,
        signing: CertPair,
        users: dict[str, str],
        tls: CertPair | None = None,
        service: str = DEFAULT_SERVICE,
        issuer: str = DEFAULT_ISSUER,
        expires_in: int = 300,
        anonymous_pull: bool = False,
    ) -> None:
        """Prepare the server; call :meth:`start` (or use it as a context manager)."""
        self.users = dict(users)
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.anonymous_pull = anonymous_pull
        self.requests: list[TokenRequest] = []
        self._signing_key = signing.key_pem()
        # x5c carries standard (not URL-safe) base64 DER, leaf first.
        self._x5c = [base64.b64encode(signing.cert_der()).decode("ascii")]
        self._tls = tls
        self._lock = threading.Lock()
        self._refresh_tokens: dict[str, str] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> TokenServer:
        """Bind a free port and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        if self._tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self._tls.cert_file, self._tls.key_file)
            # Handshake lazily in the per-connection thread, so a client that connects
            # and stalls cannot block the accept loop.
            httpd.socket = ctx.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        httpd.token_server = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="ocikit-testbed-token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (only while running)."""
        if self._httpd is None:
            raise RuntimeError("token server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:PORT``."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        """The token endpoint, what the registry advertises as ``realm``."""
        return f"{self.url}/token"

    # -- records ---------------------------------------------------------------------

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self.requests.clear()

    def _record(self, record: TokenRequest) -> None:
        with self._lock:
            self.requests.append(record)

    # -- policy and signing ----------------------------------------------------------

    def authenticate(self, username: str | None, password: str | None) -> bool:
        """Whether ``username``/``password`` match the users table."""
        if username is None:
            return False
        expected = self.users.get(username)
        return expected is not None and secrets.compare_digest(
            expected.encode(), (password or "").encode()
        )

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        """Compute the ``access`` claim for ``user`` (``None`` = anonymous)."""
        access: list[dict[str, Any]] = []
        for scope in scopes:
            parsed = _parse_scope(scope)
            if parsed is None:
                continue
            rtype, name, actions = parsed
            if user is None:
                allowed = ["pull"] if self.anonymous_pull and rtype == "repository" else []
                actions = [a for a in actions if a in allowed]
            if actions:
                access.append({"type": rtype, "name": name, "actions": actions})
        return access

    def issue_token(
        self,
        user: str | None,
        access: list[dict[str, Any]],
        *,
        expires_in: int | None = None,
        issued_at: int | None = None,
    ) -> str:
        """Sign a registry token for ``user`` with the given ``access`` claim.

        ``expires_in`` defaults to the server's; ``issued_at`` (epoch seconds, default
        now) lets a test mint an already expired token. Note that distribution accepts
        a token up to 60 s past ``exp`` (its clock-skew leeway).
        """
        now = int(time.time()) if issued_at is None else issued_at
        expires_in = self.expires_in if expires_in is None else expires_in
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            # distribution 2.8 unmarshals "aud" into a plain string: a list is rejected.
            "aud": self.service,
            "exp": now + expires_in,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        return _remember(jwt.encode(claims, self._signing_key, algorithm="ES256", headers={"x5c": self._x5c}))

    def _new_refresh_token(self, user: str) -> str:
        token = _remember(secrets.token_urlsafe(24))
        with self._lock:
            self._refresh_tokens[token] = user
        return token

    def _user_for_refresh_token(self, token: str) -> str | None:
        with self._lock:
            return self._refresh_tokens.get(token)

    def _response(
        self, user: str | None, access: list[dict[str, Any]], *, refresh_token: str | None
    ) -> dict[str, Any]:
        token = self.issue_token(user, access)
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": datetime.datetime.now(datetime.UTC)
            .replace(microsecond=0)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return body


def _first(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def _parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """Split ``type:name:actions``; the name may itself contain ``:`` (e.g. a port)."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    rtype, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
    return rtype, name, [a for a in actions.split(",") if a]


class _Handler(BaseHTTPRequestHandler):
    server_version = "ocikit-testbed-token/1"
    protocol_version = "HTTP/1.1"

    @property
    def _ts(self) -> TokenServer:
        return self.server.token_server  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        # Requests are recorded as TokenRequest; stderr noise would only clutter pytest.
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self._send_json(404, {"error": "not found"})
            return
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        username, password = self._basic_auth()
        record = TokenRequest(
            method="GET",
            user=None,
            attempted_user=username,
            service=_first(query, "service"),
            # Repeated scope parameters are the norm; some clients also join with spaces.
            scopes=tuple(s for value in query.get("scope", []) for s in value.split(" ") if s),
            status=0,
            offline_token=(_first(query, "offline_token") or "").lower() == "true",
        )
        # No credentials at all is an anonymous request, not a failed login.
        authenticated = username is None or self._ts.authenticate(username, password)
        self._answer(record, username if authenticated else None, ok=authenticated)

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != "/token":
            self._send_json(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        grant_type = _first(form, "grant_type")
        record = TokenRequest(
            method="POST",
            user=None,
            attempted_user=None,
            service=_first(form, "service"),
            scopes=tuple(s for s in (_first(form, "scope") or "").split(" ") if s),
            status=0,
            grant_type=grant_type,
            offline_token=_first(form, "access_type") == "offline",
        )
        user: str | None
        if grant_type == "password":
            user = _first(form, "username")
            record = replace(record, attempted_user=user)
            ok = self._ts.authenticate(user, _first(form, "password"))
        elif grant_type == "refresh_token":
            user = self._ts._user_for_refresh_token(_first(form, "refresh_token") or "")
            record = replace(record, attempted_user=user)
            ok = user is not None
        else:
            self._ts._record(replace(record, status=400))
            self._send_json(400, {"error": "unsupported_grant_type"})
            return
        self._answer(record, user if ok else None, ok=ok, echo_scope=True)

    def _answer(
        self, record: TokenRequest, user: str | None, *, ok: bool, echo_scope: bool = False
    ) -> None:
        if not ok:
            self._ts._record(replace(record, status=401))
            self._unauthorized()
            return
        access = self._ts.grant(user, list(record.scopes))
        refresh = self._ts._new_refresh_token(user) if record.offline_token and user else None
        self._ts._record(replace(record, user=user, status=200, granted=tuple(access)))
        body = self._ts._response(user, access, refresh_token=refresh)
        if echo_scope:
            body["scope"] = " ".join(record.scopes)
        self._send_json(200, body)

    def _basic_auth(self) -> tuple[str | None, str | None]:
        header = self.headers.get("Authorization") or ""
        if not header.lower().startswith("basic "):
            return None, None
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "", None
        username, _sep, password = decoded.partition(":")
        return username, password

    def _unauthorized(self) -> None:
        self._send_json(
            401,
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            extra={"WWW-Authenticate": 'Basic realm="ocikit-testbed-token"'},
        )

    def _send_json(
        self, status: int, body: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
