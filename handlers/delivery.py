"""Answers after the ack: to the message a request came from, as a DM, or in App Home."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import commands
from bot.ui.home import home_view
from storage.db import Database
from storage.errors import DomainError, NotFound
from storage.users import ensure_user, get_actor

log = logging.getLogger("autodevhub.handlers")
RESPONSE_URL_TIMEOUT = 10  # seconds


def answer(
    client: WebClient,
    user_id: str,
    origin: dict[str, Any],
    message: dict[str, Any],
    *,
    replace: bool = False,
    public: bool = False,
) -> None:
    """Post `message` where the request came from: its response_url, else a DM to the user."""
    url = origin.get("response_url")
    if url:
        try:
            response = WebhookClient(url, timeout=RESPONSE_URL_TIMEOUT).send(
                text=message.get("text"),
                blocks=message.get("blocks"),
                replace_original=replace,
                response_type="in_channel" if public else "ephemeral",
            )
            if response.status_code < 300:
                return
            log.warning(
                "response_url refused the answer (HTTP %s); DM instead", response.status_code
            )
        except Exception as exc:  # a timeout or a dropped connection: the change is made anyway
            log.warning("response_url unreachable (%s); DM instead", type(exc).__name__)
    client.chat_postMessage(channel=user_id, text=message.get("text"), blocks=message.get("blocks"))


def publish_home(db: Database, client: WebClient, team_id: str, slack_user_id: str) -> None:
    """Build and publish one member's App Home (a write only for a member seen first here)."""
    with db.read() as s:
        try:
            home = commands.home_of(s, get_actor(s, team_id, slack_user_id))
        except NotFound:
            home = None
    if home is None:
        with db.write() as s:
            home = commands.home_of(s, ensure_user(s, team_id, slack_user_id))
    client.views_publish(user_id=slack_user_id, view=home_view(home))


def refresh_homes(
    db: Database, client: WebClient, team_id: str, slack_user_ids: Iterable[str | None]
) -> None:
    """Have the Home of everyone a change touched republished, off the listener threads."""
    for slack_user_id in dict.fromkeys(u for u in slack_user_ids if u):
        HOMES.refresh(db, client, team_id, slack_user_id)


class HomeRefresher:
    """Republishes App Homes on a small pool of its own, coalesced per member.

    Building a Home is the costliest part of a change (two lists, Block Kit, views.publish),
    so it runs after the answer and off the listener threads that Slack's acks wait for.
    A member's Home is built by one thread at a time and always after the change that asked
    for it: a change during a build runs the build once more; a change while one is queued
    joins it. A burst of changes therefore costs one or two builds per member, not one each.
    """

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="home")
        self._cond = threading.Condition()
        self._state: dict[tuple[int, str, str], str] = {}  # queued | running | rerun

    def refresh(self, db: Database, client: WebClient, team_id: str, slack_user_id: str) -> None:
        key = (id(db), team_id, slack_user_id)
        with self._cond:
            state = self._state.get(key)
            if state == "running":
                self._state[key] = "rerun"
            if state is not None:
                return
            self._state[key] = "queued"
        self._pool.submit(self._build, key, db, client, team_id, slack_user_id)

    def _build(
        self, key: tuple[int, str, str], db: Database, client: WebClient, team: str, user: str
    ) -> None:
        while True:
            with self._cond:
                self._state[key] = "running"
            try:
                publish_home(db, client, team, user)
            except DomainError as exc:
                log.info("home of %s not refreshed: %s", user, exc.message)
            except Exception:
                log.exception("home of %s not refreshed", user)
            with self._cond:
                if self._state[key] == "rerun":
                    continue
                del self._state[key]
                self._cond.notify_all()
                return

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no Home is queued or being built; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._state, timeout)


HOMES = HomeRefresher()
