"""Drill: live story cards through `kill -9` and two replicas. Whatever dies when, each story
has one card per channel showing its last state, and each change one line in its thread.

The story changes are made in the test process, straight through the storage functions the
listeners call (storage/stories.py: the outbox row in the change's own transaction), on the
database `autodevhub serve` delivers from: so the burst goes on while a server is dead, and
the test knows every change that was committed. Projects and subscriptions are made through
signed requests. The assertions read only what the fake Slack holds.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench.serve_process import ServeProcess, app_env
from storage.db import Database
from storage.live.deliveries import counts
from storage.stories import assign_story, create_story, move_story
from storage.users import Actor, actor_of, get_or_create_user
from tests.drills.conftest import UnreliableSlackAPI, signed_slack
from tests.fakes.slack_api import Call, SignedSlack, answer_of
from tests.handlers.flows import create_project

CARD_EVENT = "autodevhub_story_card"
LINE_EVENT = "autodevhub_card_line"
# A killed server's claims are taken over after 4 s, not the production 60 s; changes of a
# story within 0.3 s make one update, so a burst makes many batches.
CARDS = {"AUTODEVHUB_CARD_LEASE": "4", "AUTODEVHUB_CARD_WINDOW": "0.3"}
STATUSES = ("DRAFT", "READY", "IN_PROGRESS", "DONE")
PEOPLE = tuple(f"U0PEER{i}" for i in range(6))


@dataclass
class Shown:
    """What a story's card should show, and the lines its thread should hold (in order)."""

    status: str
    assignee: str | None
    lines: list[str]


class Burst:
    """Story changes of one project made as its members make them, and what each should show:
    a creation makes a card (no line: the card shows it), a move or an assignment a line."""

    def __init__(self, db: Database, team_id: str, members: list[str], project: str = "WEB"):
        self.db = db
        self.project = project
        with db.write() as s:
            self.actors: list[Actor] = [
                actor_of(get_or_create_user(s, team_id, member)) for member in members
            ]
        self.stories: dict[str, Shown] = {}
        self.made = 0
        self._lock = threading.Lock()

    def create(self, title: str, rng: random.Random) -> str:
        actor = rng.choice(self.actors)
        with self.db.write() as s:
            story = create_story(s, actor, self.project, {"title": title, "description": title})
        with self._lock:
            self.stories[story.key] = Shown(story.status, None, [])
            self.made += 1
        return story.key

    def change(self, key: str, rng: random.Random) -> None:
        """A move or an assignment of `key` that changes it (a no-op records nothing)."""
        actor = rng.choice(self.actors)
        shown = self.stories[key]
        who = f"<@{actor.slack_user_id}>"
        if rng.random() < 0.5:
            status = rng.choice([s for s in STATUSES if s != shown.status])
            with self.db.write() as s:
                move_story(s, actor, key, status)
            done = " :white_check_mark:" if status == "DONE" else ""
            line, shown.status = f"{who} moved *{key}* to {status}{done}", status
        else:
            person = rng.choice([p for p in PEOPLE if p != shown.assignee])
            with self.db.write() as s:
                assign_story(s, actor, key, person)
            line, shown.assignee = f"{who} assigned *{key}* to <@{person}>", person
        with self._lock:
            shown.lines.append(line)
            self.made += 1

    def changes(self, keys: list[str], count: int, *, seed: int, pace: float = 0.0) -> None:
        """`count` changes of `keys` (one writer: no two change a story at once)."""
        rng = random.Random(seed)
        for _ in range(count):
            self.change(rng.choice(keys), rng)
            time.sleep(pace)

    def in_background(self, *runs: Callable[[], Any]) -> list[threading.Thread]:
        threads = [threading.Thread(target=run, daemon=True) for run in runs]
        for thread in threads:
            thread.start()
        return threads


def subscribe(slack: SignedSlack, channel: str, project: str = "WEB") -> None:
    reply, url = slack.command("/project", f"subscribe {project}", channel_id=channel)
    assert reply.status == 200, reply.text
    assert "now follows" in answer_of(slack.fake, reply, url).text_of()


def drained(db: Database, timeout: float = 30.0) -> None:
    """Wait until no change waits to be fanned out and no card update is waiting or claimed
    (every batch delivered and recorded)."""
    deadline = time.monotonic() + timeout
    while True:
        with db.read() as s:
            by_state = counts(s)
        if not any(by_state.get(state) for state in ("unfanned", "pending", "claimed")):
            return
        assert time.monotonic() < deadline, f"card updates still waiting: {by_state}"
        time.sleep(0.2)


def eventually(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """`predicate()` once it is true (the fake answers a released call a moment later)."""
    deadline = time.monotonic() + timeout
    while not (found := predicate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def _event(call: Call) -> str | None:
    return (call.params.get("metadata") or {}).get("event_type")


def card_post(call: Call) -> bool:
    return _event(call) == CARD_EVENT


def line_post(call: Call) -> bool:
    return _event(call) == LINE_EVENT


def kill_in_flight(
    server: ServeProcess, fake: UnreliableSlackAPI, method: str, where: Callable[[Call], bool]
) -> None:
    """`kill -9` the server while Slack has taken a `method` call matching `where` (held) and
    not answered it: Slack then carries it out, and the server never learns it did."""
    fake.wait_for(method, where, timeout=20)
    time.sleep(0.3)  # the other card worker may be in the middle of a call too
    server.kill9()
    fake.release(method)


def assert_each_story_shown_once(fake: UnreliableSlackAPI, channel: str, burst: Burst) -> None:
    """One card per story in `channel`, showing its last state; in its thread, every change's
    line exactly once (a retried batch neither loses nor repeats one)."""
    cards = fake.messages(channel)
    keys = Counter(card["text"].split()[0] for card in cards)
    assert keys == Counter(list(burst.stories)), f"cards in {channel}: {keys}"
    for card in cards:
        key = card["text"].split()[0]
        shown = burst.stories[key]
        assert card["metadata"]["event_type"] == CARD_EVENT
        (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
        assert actions["elements"][0]["initial_option"]["value"] == shown.status, key
        (summary,) = [
            e["text"] for b in card["blocks"] if b["type"] == "context" for e in b["elements"]
        ]
        who = f"assigned to <@{shown.assignee}>" if shown.assignee else "unassigned"
        assert f"{shown.status} · {who}" in summary, (key, summary)
        replies = fake.thread(channel, card["ts"])[1:]
        assert all(r["metadata"]["event_type"] == LINE_EVENT for r in replies)
        got = Counter(line for r in replies for line in r["text"].splitlines())
        wanted = Counter(shown.lines)
        missing, repeated = wanted - got, got - wanted
        assert not missing and not repeated, (
            f"{key} in {channel}: lines missing {dict(missing)}, shown too often {dict(repeated)}"
        )


@pytest.fixture
def start_serve(
    unreliable_slack: UnreliableSlackAPI, tmp_path: Path
) -> Iterator[Callable[..., ServeProcess]]:
    """`start_serve(db_url, **settings)`: `autodevhub serve` as a child process."""
    started: list[ServeProcess] = []

    def start(db_url: str, **settings: str | None) -> ServeProcess:
        env = app_env(db_url, unreliable_slack.api_url, **CARDS, **settings)
        proc = ServeProcess(env, log_path=tmp_path / f"serve-{len(started)}.log")
        started.append(proc)
        return proc.start(timeout=60)

    yield start
    for proc in started:
        proc.stop()


@pytest.mark.timeout(120)  # 15-20 s: five server starts, each kill waits out a 4 s lease
def test_kill_9_mid_burst_then_restart_shows_each_change_once(
    start_serve, unreliable_slack, drill_db_url
):
    fake = unreliable_slack
    channels = ["C0LIVEA", "C0LIVEB"]
    server = start_serve(drill_db_url)
    slack = signed_slack(server, fake)
    create_project(slack, "Web shop", "WEB")
    for channel in channels:
        subscribe(slack, channel)
    db = Database(drill_db_url)
    try:
        burst = Burst(db, slack.team_id, [slack.user_id, "U0MEMBER"])
        # 1. killed while Slack holds the first card posts: posted, never recorded
        fake.reset()
        fake.hold("chat.postMessage")
        rng = random.Random(7)
        keys = [burst.create(f"Story {i}", rng) for i in range(4)]
        burst.changes(keys, 30, seed=1)
        kill_in_flight(server, fake, "chat.postMessage", card_post)
        assert eventually(lambda: any(fake.messages(c) for c in channels)), (
            "no card was posted before the kill"
        )

        # 2. changes while no server runs; the next one finds the cards posted before the kill
        # (and posts the others), then is killed while Slack holds a thread line
        burst.changes(keys, 30, seed=2)
        server = start_serve(drill_db_url)
        drained(db)  # every card is posted: the next posts held are thread lines
        fake.reset()
        fake.hold("chat.postMessage")
        burst.changes(keys, 20, seed=3)
        kill_in_flight(server, fake, "chat.postMessage", line_post)

        # 3. the burst goes on, new stories too; killed while a card update is held
        keys += [burst.create(f"Story {i}", rng) for i in (4, 5)]
        fake.reset()
        fake.hold("chat.update")
        server = start_serve(drill_db_url)
        (writer,) = burst.in_background(lambda: burst.changes(keys, 114, seed=4, pace=0.04))
        kill_in_flight(server, fake, "chat.update", lambda c: True)

        # 4. a plain kill, wherever the delivery is
        fake.reset()
        server = start_serve(drill_db_url)
        fake.wait_for("chat.update", timeout=20)
        time.sleep(random.Random(5).uniform(0.0, 0.3))
        server.kill9()

        # 5. the last server delivers the rest
        start_serve(drill_db_url)
        writer.join(timeout=60)
        assert burst.made == 200 and not writer.is_alive()
        drained(db)
        for channel in channels:
            assert_each_story_shown_once(fake, channel, burst)
    finally:
        db.dispose()


@pytest.fixture
def pg_drill_url(pg_template_url: str) -> str:
    """The run's PostgreSQL database, emptied: both replicas of the drill share it."""
    db = Database(pg_template_url)
    try:
        with db.write() as s:
            tables = s.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).all()
            s.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    finally:
        db.dispose()
    return pg_template_url


@pytest.mark.timeout(120)  # ~15 s: three server starts, a lost replica's 4 s lease
def test_two_replicas_on_postgresql_show_each_change_once(
    start_serve, unreliable_slack, pg_drill_url
):
    fake = unreliable_slack
    channels = ["C0LIVEA", "C0LIVEB"]
    replicas = [start_serve(pg_drill_url), start_serve(pg_drill_url)]
    slack = signed_slack(replicas[0], fake)
    create_project(slack, "Web shop", "WEB")
    subscribe(slack, channels[0])
    subscribe(signed_slack(replicas[1], fake, team=slack.team_id), channels[1])
    db = Database(pg_drill_url)
    try:
        burst = Burst(db, slack.team_id, [slack.user_id, "U0MEMBER"])
        rng = random.Random(11)
        keys = [burst.create(f"Story {i}", rng) for i in range(6)]
        writers = burst.in_background(
            *(
                lambda i=i, n=n: burst.changes(keys[2 * i : 2 * i + 2], n, seed=20 + i, pace=0.05)
                for i, n in enumerate((65, 65, 64))
            )
        )
        # both replicas deliver; one dies while Slack holds posts, the other takes over its
        # cards when their lease runs out; then it comes back and they share the rest
        fake.wait_for("chat.update", count=10, timeout=20)
        fake.reset()
        fake.hold("chat.postMessage")
        kill_in_flight(replicas[1], fake, "chat.postMessage", lambda c: True)
        fake.wait_for("chat.update", count=10, timeout=20)
        replicas[1] = start_serve(pg_drill_url)
        for writer in writers:
            writer.join(timeout=60)
        assert burst.made == 200 and not any(w.is_alive() for w in writers)
        drained(db)
        for channel in channels:
            assert_each_story_shown_once(fake, channel, burst)
    finally:
        db.dispose()
