"""The serving process: Bolt behind waitress with /healthz, /metrics and OAuth, or Socket Mode."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot.app import EVENTS_PATH, SettingsError, create_app
from bot.settings import Settings
from handlers.delivery import HOMES
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


def request_kind(body: bytes, content_type: str) -> str:
    """What Slack sent (command, block_actions, view_submission, event, ...): a metrics label."""
    try:
        if "json" in content_type:
            data = json.loads(body or b"{}")
            return "event" if data.get("type") == "event_callback" else str(data.get("type"))[:32]
        form = parse_qs(body.decode("utf-8", "replace"))
        if "command" in form:
            return "command"
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            return str(payload.get("type", "unknown"))[:32]
        if "ssl_check" in form:
            return "ssl_check"
    except (ValueError, UnicodeDecodeError, AttributeError):
        pass
    return "unknown"


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


def _refusal(environ: dict[str, Any], signing_key: bytes | None) -> tuple[str, str] | None:
    """Check a POST to /slack/events before Bolt sees it: (status, kind) to refuse, else None.

    The signature is checked first, so nothing unsigned is parsed; a signed body Bolt could
    not parse gets 400 rather than a server error. The body is left in `wsgi.input`.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "400 Bad Request", "unknown"
    if length > MAX_BODY_BYTES:
        return "413 Payload Too Large", "unknown"
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    if signing_key is None:  # Socket Mode: Slack does not post here
        return "404 Not Found", "unknown"
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
    if not signed_by_slack(signing_key, body, timestamp, signature):
        return "401 Unauthorized", "unknown"
    if not _parseable(body, environ.get("CONTENT_TYPE", "")):
        return "400 Bad Request", "unknown"
    return None


def signed_by_slack(
    signing_key: bytes, body: bytes, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """Slack's v0 request signature over the raw bytes, and a timestamp within 5 minutes."""
    if not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_key, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _parseable(body: bytes, content_type: str) -> bool:
    """Whether Bolt can read this body: UTF-8, and a JSON object where JSON is expected."""
    try:
        text = body.decode("utf-8")
        if "json" in content_type:
            return isinstance(json.loads(text or "null"), dict)
        form = parse_qs(text, strict_parsing=False)
        if "payload" in form:
            return isinstance(json.loads(form["payload"][0]), dict)
        return True
    except (UnicodeDecodeError, ValueError):
        return False


def make_wsgi_app(settings: Settings | None, db: Database, app: App | None = None) -> WSGIApp:
    """The whole HTTP surface as one WSGI app (`.bolt_app` is the Bolt app inside)."""
    if app is None and settings is None:
        raise ValueError("make_wsgi_app needs settings or a Bolt app")
    bolt_app = app if app is not None else create_app(settings, db)  # type: ignore[arg-type]
    bolt = SlackRequestHandler(bolt_app, path=EVENTS_PATH)
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
            return bolt(environ, start_response)  # OAuth install/redirect, or Bolt's 404

        started = time.perf_counter()
        refused = _refusal(environ, signing_key)
        if refused is not None:
            status, kind = refused
            SLACK_REQUESTS.labels(kind, _outcome(status)).inc()
            message = json.dumps({"error": status.split(" ", 1)[1].lower()}).encode()
            return _plain(start_response, status, message, "application/json")
        body = environ["wsgi.input"].getvalue()
        kind = request_kind(body, environ.get("CONTENT_TYPE", ""))
        seen: dict[str, str] = {}

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = status
            return start_response(status, headers, exc_info)

        try:
            return bolt(environ, recording_start_response)
        finally:
            SLACK_LATENCY.labels(kind).observe(time.perf_counter() - started)
            SLACK_REQUESTS.labels(kind, _outcome(seen.get("status", "500"))).inc()

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
        return HOMES.wait_idle(timeout) and listeners

    def stop(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)


def start_in_thread(
    wsgi_app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8
) -> RunningServer:
    """Serve `wsgi_app` with waitress on host:port (0 = a free port) in a daemon thread."""
    from waitress.server import create_server

    server = create_server(
        wsgi_app,
        host=host,
        port=port,
        threads=threads,
        ident="autodevhub",
        asyncore_loop_timeout=0.1,
    )
    thread = threading.Thread(target=_run_quietly, args=(server,), name="waitress", daemon=True)
    thread.start()
    bound = server.effective_port  # type: ignore[union-attr]
    return RunningServer(f"http://{host}:{bound}", wsgi_app, server, thread)


def _run_quietly(server: Any) -> None:
    with contextlib.suppress(OSError, ValueError):  # the socket closed under the loop on stop()
        server.run()


def connect_socket_mode(settings: Settings, app: App) -> Any:
    """Connect to Slack over Socket Mode (SLACK_APP_TOKEN); returns the running handler."""
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
    db = Database(settings.database_url)
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
    from bot.scheduler import start_services  # holds the database, runs the scheduler

    services = start_services(settings, db)
    from bot.ai.worker import start_generation_workers  # the AI generation queue (issue 4)

    generation = start_generation_workers(settings, db)
    if socket_mode:
        connect_socket_mode(settings, app)
        log.info("Socket Mode connected; /healthz and /metrics on %s:%s", host, port)
    else:
        log.info("serving Slack requests on http://%s:%s%s", host, port, EVENTS_PATH)

    from waitress import serve

    try:
        serve(wsgi_app, host=host, port=port, threads=settings.http_threads, ident="autodevhub")
    finally:
        app.listener_pool.wait_idle(SHUTDOWN_GRACE)  # type: ignore[attr-defined]
        HOMES.wait_idle(SHUTDOWN_GRACE)
        generation.stop()
        services.stop()
        db.dispose()
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
