"""The Bolt app factory: a sync App on our database, Web API base URL and listeners."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.error import URLError

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.clients import installation_store, web_client
from bot.homes import HomeRefresher
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger("autodevhub.app")

# What the app needs from a workspace, and no more (manifest.yml declares the same).
BOT_SCOPES = [
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "files:write",
    "im:write",
]
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
EVENTS_PATH = "/slack/events"


class SettingsError(Exception):
    """A setting is missing or wrong. The message names it and never holds a secret value."""


class ListenerPool(ThreadPoolExecutor):
    """Where the work after each ack runs (`handlers.listening.after_ack`).

    Listeners run on the HTTP thread up to their ack and hand the rest here, so an ack never
    waits for a thread busy with earlier work. Bounded twice: `max_workers` threads, and at
    most `max_pending` tasks queued or running (default: 2 per thread); past that, `submit`
    blocks, so an overloaded server acks more slowly instead of queueing work (and memory)
    without limit. The bound is short on purpose: under overload the acks come no faster
    with a longer queue, only the answers later (benchmark 1: 8 per thread gave status
    changes answered after ~1 s, 2 per thread after ~0.4 s, acks alike). It counts what is
    in flight so a shutdown, or a test, can wait for it to finish.
    """

    def __init__(self, max_workers: int, max_pending: int | None = None) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._busy = 0
        self._idle = threading.Condition()
        self._slots = threading.BoundedSemaphore(max_pending or max_workers * 2)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        self._slots.acquire()
        with self._idle:
            self._busy += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._done()

        try:
            return super().submit(run)
        except BaseException:
            self._done()
            raise

    def _done(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()
        self._slots.release()

    def saturated(self) -> bool:
        """Whether members' work is waiting for a thread: every thread is busy and more is
        queued (background work such as the card workers then gives way)."""
        return self._busy > self._max_workers

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no listener work is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def check_settings(settings: Settings, *, socket_mode: bool = False) -> None:
    """Refuse incomplete or malformed Slack settings with a message naming the setting."""
    bot_token = _secret(settings.slack_bot_token)
    app_token = _secret(settings.slack_app_token)
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'.")
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        missing = "SLACK_CLIENT_SECRET" if settings.slack_client_id else "SLACK_CLIENT_ID"
        raise SettingsError(f"{missing} is not set: OAuth needs SLACK_CLIENT_ID and the secret.")
    if not bot_token and not settings.oauth_enabled:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "to install into many workspaces)."
        )
    if not socket_mode and not _secret(settings.slack_signing_secret):
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests "
            "(or set SLACK_APP_TOKEN for Socket Mode)."
        )
    if not settings.slack_api_url.startswith(("http://", "https://")):
        raise SettingsError("AUTODEVHUB_SLACK_API_URL must be an http(s) URL.")


def create_app(settings: Settings, db: Database, *, socket_mode: bool = False) -> App:
    """The Bolt app: token mode (SLACK_BOT_TOKEN) or OAuth (SLACK_CLIENT_ID/SECRET).

    It does not check request signatures: serve it over HTTP only through
    bot.server.make_wsgi_app, which does."""
    check_settings(settings, socket_mode=socket_mode)
    signing_secret = _secret(settings.slack_signing_secret) or ""
    pool = ListenerPool(settings.work_threads)
    common = {
        "signing_secret": signing_secret,
        # Listeners run on the HTTP thread and their response is sent when they return: each
        # acks first (or answers in the ack) and hands slow work to the pool (after_ack).
        # Bolt's other mode runs every listener on a pool thread and polls for its ack every
        # 10 ms, so each ack waited for a free pool thread and for the next poll.
        "process_before_response": True,
        "name": "autodevhub",
        "listener_executor": pool,
        # One signature check: bot.server's, over the raw bytes, before anything is parsed.
        # Over HTTP this app is only served behind it (bot.server.make_wsgi_app); Socket
        # Mode requests carry no signature (Bolt skips them too).
        "request_verification_enabled": False,
    }
    try:
        if settings.oauth_enabled:
            client_id = settings.slack_client_id or ""
            installations = installation_store(settings, db)
            states = SQLAlchemyOAuthStateStore(
                expiration_seconds=600, engine=db.engine, table_name="slack_oauth_states"
            )
            # Giving the store to App too makes Bolt build the authorizer with our client, so
            # token lookups, auth.test and per-request clients all use AUTODEVHUB_SLACK_API_URL.
            app = App(
                client=web_client(settings),
                installation_store=installations,
                oauth_settings=OAuthSettings(
                    client_id=client_id,
                    client_secret=_secret(settings.slack_client_secret),
                    scopes=BOT_SCOPES,
                    user_scopes=[],  # else Bolt reads SLACK_USER_SCOPES from the environment
                    installation_store=installations,
                    state_store=states,
                    install_path=INSTALL_PATH,
                    redirect_uri_path=REDIRECT_PATH,
                ),
                **common,
            )
        else:
            app = App(client=web_client(settings, _secret(settings.slack_bot_token)), **common)
    except BoltError as exc:
        if "invalid_auth" in str(exc) or "not_authed" in str(exc) or "token" in str(exc):
            raise SettingsError(
                "SLACK_BOT_TOKEN was refused by Slack (auth.test failed): check the token."
            ) from None
        raise SettingsError(f"The Slack settings were refused: {type(exc).__name__}") from None
    except (SlackApiError, SlackRequestError, URLError, OSError) as exc:
        raise SettingsError(
            f"Cannot reach the Slack Web API at AUTODEVHUB_SLACK_API_URL "
            f"({settings.slack_api_url}): {type(exc).__name__}"
        ) from None

    from handlers import register

    homes = HomeRefresher(delay=settings.home_delay)
    register(app, db, settings, pool, homes)
    match_quickly(app)
    app.listener_pool = pool  # type: ignore[attr-defined]
    app.homes = homes  # type: ignore[attr-defined]
    return app


class BodyMatcher(ListenerMatcher):
    """A built-in matcher (`app.command("/story")`, `app.action(...)`, ...) called with the
    request's body, as Bolt calls it, without Bolt's kwargs injection on the way.

    Bolt tries every listener's matcher in turn until one matches, and each try builds the
    full set of a listener's possible arguments (about 25: body, action, view, say, respond,
    ...) only to pass it `body`. With our ~30 listeners that was most of what routing a
    request cost."""

    def __init__(self, func: Callable[..., bool]) -> None:
        self.func = func

    def matches(self, req: Any, resp: Any) -> bool:
        return bool(self.func(body=req.body))


def match_quickly(app: App) -> int:
    """Give every listener's built-in matchers that take only `body` a BodyMatcher; returns
    how many were replaced (the rest, which ask for more, are left as Bolt built them)."""
    replaced = 0
    for listener in app._listeners:  # (no public accessor: tests/bot/test_app.py holds it)
        matchers = getattr(listener, "matchers", None)
        if not isinstance(matchers, list):
            continue
        for i, matcher in enumerate(matchers):
            if type(matcher) is BuiltinListenerMatcher and list(matcher.arg_names) == ["body"]:
                matchers[i] = BodyMatcher(matcher.func)
                replaced += 1
    return replaced
