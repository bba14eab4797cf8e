"""The serving process: Bolt behind waitress with /healthz, /metrics and OAuth, or Socket Mode."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from slack_bolt import App, BoltContext, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request.internals import build_context
from sqlalchemy import text

from bot.app import EVENTS_PATH, SettingsError, create_app
from bot.observe import open_database
from bot.settings import Settings
from bot.slack_requests import UnusableBody, check_shape, parse_body, request_kind
from storage.db import Database

log = logging.getLogger("autodevhub.server")

SLACK_REQUESTS = Counter(
    "autodevhub_slack_requests_total",
    "Requests from Slack, by kind (command, block_actions, event, ...) and outcome.",
    ["kind", "outcome"],
)
SLACK_LATENCY = Histogram(
    "autodevhub_slack_request_seconds",
    "Time to answer a request from Slack (the ack), by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0, 10.0),
)

CONNECT_SLACK = """\
No Slack settings found, so this is the local console: the same commands, typed here.

To connect Slack:
  1. api.slack.com/apps -> "Create New App" -> "From an app manifest", paste manifest.yml
     and replace https://YOUR-HOST with this server's public address.
  2. Install the app to your workspace, then set
       SLACK_BOT_TOKEN       (OAuth & Permissions -> Bot User OAuth Token, xoxb-...)
       SLACK_SIGNING_SECRET  (Basic Information -> Signing Secret)
     or SLACK_APP_TOKEN (xapp-..., Socket Mode, no public address needed),
     or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET to install into many workspaces (/slack/install).
  3. Run `autodevhub serve` again.
"""

MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller
SHUTDOWN_GRACE = 10.0  # seconds to finish the work already acked
SIGNATURE_MAX_AGE = 300  # seconds; older requests may be replays
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _outcome(status: str) -> str:
    code = int(status.split(" ", 1)[0])
    if code < 300:
        return "ok"
    if code in (401, 403):
        return "unauthorized"
    if code == 404:
        return "unhandled"
    return "client_error" if code < 500 else "error"


def _plain(start_response: Callable[..., Any], status: str, body: bytes, ctype: str) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def database_ok(db: Database) -> bool:
    try:
        with db.read() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:
        log.exception("health check: database unreachable")
        return False


class Refused(Exception):
    """A POST to /slack/events answered before Bolt sees it: its status, and its kind."""

    def __init__(self, status: str, kind: str = "unknown") -> None:
        super().__init__(status)
        self.status = status
        self.kind = kind


class SlackPost(NamedTuple):
    """A signed, well-formed POST from Slack: what it is, its raw bytes and its parsed body."""

    kind: str
    raw: bytes
    body: dict[str, Any]


def slack_post(environ: dict[str, Any], signing_key: bytes | None) -> SlackPost:
    """Read and check a POST to /slack/events before Bolt sees it; Refused if it is not usable.

    The signature is checked first, so nothing unsigned is parsed. A signed body that cannot
    be parsed or lacks what its kind needs gets 400 and one log line, never a server error.
    """
    raw = _signed_body(environ, signing_key)
    kind = "unknown"
    try:
        body = parse_body(raw, environ.get("CONTENT_TYPE", ""))
        kind = request_kind(body)
        check_shape(kind, body)
    except UnusableBody as exc:
        log.warning("400 for a signed request from Slack (%s): %s", kind, exc)
        raise Refused("400 Bad Request", kind) from None
    return SlackPost(kind, raw, body)


def _signed_body(environ: dict[str, Any], signing_key: bytes | None) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("400 Bad Request") from None
    if length > MAX_BODY_BYTES:  # waitress refuses these before reading them; other servers may not
        raise Refused("413 Payload Too Large")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if signing_key is None:  # Socket Mode: Slack does not post here
        raise Refused("404 Not Found")
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
    if not signed_by_slack(signing_key, body, timestamp, signature):
        raise Refused("401 Unauthorized")
    return body


# Unix seconds in ASCII digits: str.isdigit() also takes "²" and "１２３", which int() refuses
# or reads, and int() refuses strings over 4300 digits.
TIMESTAMP = re.compile(r"[0-9]{1,12}")


def signed_by_slack(
    signing_key: bytes, body: bytes, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """Slack's v0 request signature over the raw bytes, and a timestamp within 5 minutes."""
    if not TIMESTAMP.fullmatch(timestamp) or not signature.startswith("v0="):
        return False
    if not signature.isascii():  # compare_digest raises on non-ASCII str
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_key, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class ParsedRequest(BoltRequest):
    """A BoltRequest carrying the body bot.slack_requests parsed: Bolt's own parse_body takes
    any form body containing "payload" for an interactivity payload (see there)."""

    def __init__(
        self,
        *,
        raw_body: str,
        body: dict[str, Any],
        query: Any,
        headers: dict[str, Any],
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(body="", query=query, headers=headers, context=context)
        self.raw_body = raw_body
        self.body = body
        self.context = build_context(BoltContext(context or {}), body)

    def to_copyable(self) -> BoltRequest:
        # Bolt's own copy (for lazy listeners) would parse raw_body again, bug included.
        return ParsedRequest(
            raw_body=self.raw_body,
            body=self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
        )


def bolt_request(environ: dict[str, Any], post: SlackPost) -> BoltRequest:
    wsgi = WsgiHttpRequest(environ)
    return ParsedRequest(
        raw_body=post.raw.decode("utf-8"),
        body=post.body,
        query=wsgi.query_string,
        headers=wsgi.get_headers(),
    )


def make_wsgi_app(settings: Settings | None, db: Database, app: App | None = None) -> WSGIApp:
    """The whole HTTP surface as one WSGI app (`.bolt_app` is the Bolt app inside)."""
    if app is None and settings is None:
        raise ValueError("make_wsgi_app needs settings or a Bolt app")
    bolt_app = app if app is not None else create_app(settings, db)  # type: ignore[arg-type]
    # Bolt's adapter serves the OAuth pages (GET /slack/install, /slack/oauth_redirect) and
    # 404s other paths; POST /slack/events goes through answer_slack, never through it.
    oauth_pages = SlackRequestHandler(bolt_app, path=EVENTS_PATH)
    secret = settings.slack_signing_secret if settings is not None else None
    signing_key = secret.get_secret_value().encode() if secret is not None else None

    def autodevhub(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if method == "GET" and path == "/healthz":
            if database_ok(db):
                return _plain(start_response, "200 OK", b"ok\n", "text/plain; charset=utf-8")
            return _plain(
                start_response, "503 Service Unavailable", b"database unavailable\n", "text/plain"
            )
        if method == "GET" and path == "/metrics":
            return _plain(start_response, "200 OK", generate_latest(), CONTENT_TYPE_LATEST)
        if method != "POST" or path != EVENTS_PATH:
            return oauth_pages(environ, start_response)

        return answer_slack(environ, start_response)

    def answer_slack(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """POST /slack/events: our checks and parse, then Bolt's dispatch, as WSGI."""
        started = time.perf_counter()
        try:
            post = slack_post(environ, signing_key)
        except Refused as refused:
            SLACK_REQUESTS.labels(refused.kind, _outcome(refused.status)).inc()
            message = json.dumps({"error": refused.status.split(" ", 1)[1].lower()}).encode()
            return _plain(start_response, refused.status, message, "application/json")
        status = "500 Internal Server Error"
        try:
            response = bolt_app.dispatch(bolt_request(environ, post))
            answer = WsgiHttpResponse(response.status, response.headers, response.body)
            status = answer.status
            start_response(status, answer.get_headers())
            return answer.get_body()
        finally:
            SLACK_LATENCY.labels(post.kind).observe(time.perf_counter() - started)
            SLACK_REQUESTS.labels(post.kind, _outcome(status)).inc()

    autodevhub.bolt_app = bolt_app  # type: ignore[attr-defined]
    return autodevhub


@dataclass
class RunningServer:
    """A server started in a background thread (tests, Socket Mode's health endpoint)."""

    url: str
    wsgi_app: WSGIApp
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def bolt_app(self) -> App:
        return self.wsgi_app.bolt_app  # type: ignore[attr-defined]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the work after every ack so far is done (its Web API calls made)."""
        listeners = self.bolt_app.listener_pool.wait_idle(timeout)  # type: ignore[attr-defined]
        return self.bolt_app.homes.wait_idle(timeout) and listeners  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)


# How long a connection may stay silent (no request in progress) before waitress closes it.
IDLE_CONNECTION_SECONDS = 10
WANTED_CONNECTIONS = 1000


def waitress_settings(threads: int) -> dict[str, Any]:
    """waitress's adjustments for Slack's traffic (`autodevhub serve` and start_in_thread).

    Slack opens a connection, sends a whole request at once, and gives up on the ack after
    3 s. waitress's defaults suit slow clients instead: with 100 connections, each idle for up
    to 120 s, 110 sockets sending half a header locked Slack out for minutes.
    """
    return {
        "threads": threads,
        "ident": "autodevhub",
        # Room for idle or slow sockets beside Slack's: past the limit waitress stops
        # accepting, and Slack waits in the listen backlog until a socket times out.
        "connection_limit": connection_limit(),
        # Slack never pauses mid-request, so a connection silent this long is not Slack's
        # (a keep-alive Slack wants again is simply reopened).
        "channel_timeout": IDLE_CONNECTION_SECONDS,
        # How often silent connections are looked for: a full server frees up within
        # channel_timeout + cleanup_interval (12 s) instead of 150 s. A scan is cheap.
        "cleanup_interval": 2,
        # poll() rather than select(), which cannot watch file descriptors above 1023.
        "asyncore_use_poll": True,
        # Refuse bodies over MAX_BODY_BYTES (413) from Content-Length, or as a chunked body
        # grows, before reading them; the default spools up to 1 GiB to temp files first.
        # waitress refuses at >= the setting, hence + 1.
        "max_request_body_size": MAX_BODY_BYTES + 1,
        # Slack's headers are well under 1 KiB; the default (256 KiB) lets each half-sent
        # header hold a quarter MiB. 64 KiB leaves room for a browser's cookies on OAuth pages.
        "max_request_header_size": 64 * 1024,
        # backlog stays waitress's 1024 (the kernel caps it at net.core.somaxconn): it holds a
        # burst of Slack's requests while every connection slot is taken.
    }


def connection_limit(wanted: int = WANTED_CONNECTIONS, spare: int = 100) -> int:
    """`wanted`, or fewer if the process may not open that many files: each connection is one,
    and the database, the Web API clients and the logs need `spare` more."""
    try:
        import resource
    except ImportError:  # not Unix
        return wanted
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(50, min(wanted, soft - spare))


def start_in_thread(
    wsgi_app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8
) -> RunningServer:
    """Serve `wsgi_app` with waitress on host:port (0 = a free port) in a daemon thread."""
    from waitress.server import create_server

    server = create_server(
        wsgi_app,
        host=host,
        port=port,
        **waitress_settings(threads),
        asyncore_loop_timeout=0.1,  # stop() returns within 0.1 s
    )
    thread = threading.Thread(target=_run_quietly, args=(server,), name="waitress", daemon=True)
    thread.start()
    bound = server.effective_port  # type: ignore[union-attr]
    return RunningServer(f"http://{host}:{bound}", wsgi_app, server, thread)


def _run_quietly(server: Any) -> None:
    with contextlib.suppress(OSError, ValueError):  # the socket closed under the loop on stop()
        server.run()


def connect_socket_mode(settings: Settings, app: App) -> Any:
    """Connect to Slack over Socket Mode (SLACK_APP_TOKEN); returns the running handler.

    Bolt's form-parser bug (bot.slack_requests) does not reach Socket Mode: its adapter hands
    Bolt the envelope's payload as a dict (BoltRequest(mode="socket_mode", body=dict)), so
    parse_body never runs. Nor does our shape check: Slack's own socket is the only sender.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    token = settings.slack_app_token.get_secret_value()  # type: ignore[union-attr]
    handler = SocketModeHandler(app, token, web_client=app.client)
    handler.connect()
    return handler


def main(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """`autodevhub serve`: migrate, then HTTP (or Socket Mode); the console without Slack."""
    if not _any_slack_setting(settings):
        print(CONNECT_SLACK)
        from bot.console import main as console_main

        return console_main(settings)

    socket_mode = settings.slack_app_token is not None
    db = open_database(settings, "autodevhub serve")
    try:
        db.upgrade()
        app = create_app(settings, db, socket_mode=socket_mode)
    except SettingsError as exc:
        print(f"autodevhub: {exc}", file=sys.stderr)
        db.dispose()
        return 2
    host = host or settings.host
    port = port or settings.port
    wsgi_app = make_wsgi_app(settings, db, app)
    from bot.scheduler import start_scheduler  # cleanup, backups, digests (if enabled)

    scheduler = start_scheduler(settings, db)
    from bot.ai.worker import start_generation_workers  # the AI generation queue (issue 4)

    generation = start_generation_workers(settings, db)
    from bot.live import start_card_workers  # live story cards in channels (issue 12)

    cards = start_card_workers(settings, db, app.listener_pool.saturated)  # type: ignore[attr-defined]
    if socket_mode:
        connect_socket_mode(settings, app)
        log.info("Socket Mode connected; /healthz and /metrics on %s:%s", host, port)
    else:
        log.info("serving Slack requests on http://%s:%s%s", host, port, EVENTS_PATH)

    from waitress import serve

    # What start-up made (modules, the app, SQLAlchemy's mappers) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it (~90 ms
    # with every thread stopped, a pause each request in flight then waits out)
    gc.freeze()
    try:
        serve(wsgi_app, host=host, port=port, **waitress_settings(settings.http_threads))
    finally:
        app.listener_pool.wait_idle(SHUTDOWN_GRACE)  # type: ignore[attr-defined]
        app.homes.wait_idle(SHUTDOWN_GRACE)  # type: ignore[attr-defined]
        generation.stop()
        if cards is not None:
            cards.stop()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        db.dispose()  # and with it this process's hold on the database
    return 0


def _any_slack_setting(settings: Settings) -> bool:
    return any(
        (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_id,
            settings.slack_client_secret,
        )
    )
