"""Answers after the ack: to the message a request came from, as a DM, or in App Home."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
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
    db: Database,
    client: WebClient,
    team_id: str,
    slack_user_ids: Iterable[str | None],
    *,
    acting: str | None = None,
) -> None:
    """Have the Home of everyone a change touched republished, off the listener threads:
    the `acting` member's at once (they may be looking at it), the others' after a short
    delay that gathers a burst of changes into one build."""
    for slack_user_id in dict.fromkeys(u for u in slack_user_ids if u):
        delay = 0.0 if slack_user_id == acting else None
        HOMES.refresh(db, client, team_id, slack_user_id, delay=delay)


def looking(origin: dict[str, Any], context: Any) -> str | None:
    """The acting member when the request came from their App Home (they are looking at it,
    so it is refreshed at once), else None."""
    return context.user_id if origin.get("in_view") else None


class HomeRefresher:
    """Republishes App Homes on a small pool of its own, coalesced per member.

    Building a Home is the costliest part of a change (two lists, Block Kit, views.publish),
    so it runs after the answer and off the threads that Slack's acks wait for. A refresh
    waits `delay` seconds first (unless told otherwise), and every refresh of the same member
    meanwhile joins it: a burst of changes costs one build per member, not one each. A
    member's Home is built by one thread at a time and always after the change that asked
    for it: a change during a build runs the build once more, after the delay.
    """

    def __init__(self, workers: int = 2, delay: float = 2.0) -> None:
        self.delay = delay
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="home")
        self._cond = threading.Condition()
        # waiting (for its time) | queued (on the pool) | running | rerun | rerun now
        self._state: dict[tuple[int, str, str], str] = {}
        self._due: list[tuple[float, int, tuple[int, str, str], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._flushing = 0
        self._timer: threading.Thread | None = None

    def refresh(
        self,
        db: Database,
        client: WebClient,
        team_id: str,
        slack_user_id: str,
        *,
        delay: float | None = None,
    ) -> None:
        key = (id(db), team_id, slack_user_id)
        job = (db, client, team_id, slack_user_id)
        wait = self.delay if delay is None else delay
        with self._cond:
            state = self._state.get(key)
            if state in ("running", "rerun"):
                self._state[key] = "rerun" if wait > 0 and state == "running" else "rerun now"
            elif state == "rerun now":
                pass
            elif state == "waiting" and wait <= 0:
                self._start(key, job)  # someone is looking: no more waiting
            if state is not None:
                return
            if wait <= 0:
                self._start(key, job)
            else:
                self._wait(key, job, wait)

    def _wait(self, key: tuple[int, str, str], job: tuple[Any, ...], delay: float) -> None:
        self._state[key] = "waiting"
        heapq.heappush(self._due, (time.monotonic() + delay, next(self._seq), key, job))
        if self._timer is None:
            self._timer = threading.Thread(target=self._release_due, name="home-timer", daemon=True)
            self._timer.start()
        self._cond.notify_all()

    def _start(self, key: tuple[int, str, str], job: tuple[Any, ...]) -> None:
        self._state[key] = "queued"
        self._pool.submit(self._build, key, *job)

    def _release_due(self) -> None:
        """The timer thread: hands each waiting refresh to the pool when its time comes."""
        with self._cond:
            while True:
                while self._due and (self._flushing or self._due[0][0] <= time.monotonic()):
                    _, _, key, job = heapq.heappop(self._due)
                    if self._state.get(key) == "waiting":
                        self._start(key, job)
                timeout = self._due[0][0] - time.monotonic() if self._due else None
                self._cond.wait(timeout)

    def _build(
        self, key: tuple[int, str, str], db: Database, client: WebClient, team: str, user: str
    ) -> None:
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
                self._wait(key, (db, client, team, user), self.delay)
                return
            if self._state[key] == "rerun now":
                self._start(key, (db, client, team, user))
                return
            del self._state[key]
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Publish every waiting Home now and block until none is left; False on timeout
        (a shutdown, or a test, wants them done rather than delayed)."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._state, timeout)
            finally:
                self._flushing -= 1


HOMES = HomeRefresher()
