"""App Homes: build and publish one member's Home, and republish those a change touched.

Which Homes a change touches is the domain's rule (storage/homes.py); this module only
republishes them, off the threads Slack's acks wait for, one build per member per burst.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient

from bot import commands
from bot.ui.home import home_view
from storage.db import Database
from storage.errors import DomainError, NotFound
from storage.users import ensure_user, get_actor

log = logging.getLogger("autodevhub.homes")


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


Key = tuple[int, str, str]  # (database, workspace, member)


class HomeRefresher:
    """Republishes App Homes on a few threads of its own, one build per member per burst.

    A refresh is due `delay` seconds after it is asked for (0: at once, for a member looking
    at their Home); asking again before then changes nothing but may bring it forward. A
    member's Home is built by one thread at a time, and a refresh asked for during a build
    waits for it, so the last build always comes after the last change.
    """

    def __init__(self, workers: int = 2, delay: float = 2.0) -> None:
        self.delay = delay
        self._workers = workers
        self._cond = threading.Condition()
        self._due: dict[Key, tuple[float, tuple[Any, ...]]] = {}  # member -> (when, job)
        self._building: set[Key] = set()
        self._flushing = 0
        self._threads: list[threading.Thread] = []

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
        when = time.monotonic() + (self.delay if delay is None else delay)
        with self._cond:
            earlier = self._due.get(key)
            if earlier is None or when < earlier[0]:
                self._due[key] = (when, (db, client, team_id, slack_user_id))
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._work, name=f"home-{i}", daemon=True)
                    for i in range(self._workers)
                ]
                for thread in self._threads:
                    thread.start()
            self._cond.notify_all()

    def refresh_all(
        self,
        db: Database,
        client: WebClient,
        homes: Iterable[tuple[str, str]],
        *,
        now: str | None = None,
    ) -> None:
        """Refresh each (workspace, member) Home; `now`'s at once (they are looking at it)."""
        for team_id, slack_user_id in homes:
            delay = 0.0 if slack_user_id == now else None
            self.refresh(db, client, team_id, slack_user_id, delay=delay)

    def _next(self) -> tuple[Key, tuple[Any, ...]] | float | None:
        """The Home to build now, else how long until one is due (None: nothing waits)."""
        now = time.monotonic()
        soonest = None
        for key, (when, job) in self._due.items():
            if key in self._building:
                continue
            if when <= now or self._flushing:
                del self._due[key]
                return key, job
            soonest = when if soonest is None else min(soonest, when)
        return None if soonest is None else soonest - now

    def _work(self) -> None:
        while True:
            with self._cond:
                found = self._next()
                while not isinstance(found, tuple):
                    self._cond.wait(found)
                    found = self._next()
                key, job = found
                self._building.add(key)
            try:
                publish_home(*job)
            except DomainError as exc:
                log.info("home of %s not refreshed: %s", job[3], exc.message)
            except Exception:
                log.exception("home of %s not refreshed", job[3])
            finally:
                with self._cond:
                    self._building.discard(key)
                    self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Publish every waiting Home now and block until none is left; False on timeout
        (a shutdown, or a test, wants them done rather than delayed)."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._due and not self._building, timeout)
            finally:
                self._flushing -= 1
