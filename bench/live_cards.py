"""Benchmark 6: live story cards — every change shown once in every channel following its
project, how long after the change, and the ack path with and without subscriptions.

    .venv/bin/python -m bench.live_cards [--changes 1000] [--rate 10] [--channels 50]
        [--windows 2 0.2] [--repeat 2] [--database sqlite|postgresql]

Three processes on loopback, as in bench/ack_path.py: this one (the strict fake Slack Web
API, which stores every channel's messages and threads), `autodevhub serve` as a child with
its card workers, and a load generator. The data: a fresh database with one workspace, 20
members and `--projects` projects of `--stories` stories in all; `--channels` channels
subscribe with `/project subscribe KEY` (each follows one project, and the first
`--extra` channels a second one), so each change is due in several channels.

1. Ack path, before and after: the same closed-loop status-change load as benchmark 1
   (`--concurrency` senders clicking the card's status select, every click a real move)
   with no subscription at all, then with every channel subscribed; alternated
   `--repeat` times, each "with" run on freshly subscribed channels that are unsubscribed
   after it (which drops what they still had to show).
2. Delivery: `--changes` story changes at a steady `--rate` (open loop, bench/paced_load.py)
   on `--changed` stories of the subscribed projects: status changes from the card's select
   and with `/story move`, and `/story assign`, each by a member who never made another
   change of that story, so every change has a thread line of its own. Once the outbox
   is drained, the fake's stored channels are read: each changed story must have exactly
   one card in every channel following its project, showing the story as it is in the
   database, and each change exactly one line in that card's thread. Latency is from the
   change's ack to the card's update (chat.update, or its first post) and to the thread
   line reaching the fake; the coalescing window (AUTODEVHUB_CARD_WINDOW) is part of it, so
   the phase runs once per `--windows` value (the server restarted with it), each on its
   own freshly subscribed channels (the previous phase's unsubscribed).

The fake listens with a queue of 128 connections (socketserver's default of 5 overflowed
under the app's bursts of Web API calls: each dropped connection cost a 1 s SYN retry);
the figures count Linux's listen overflows during each phase, which should be 0.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import aliased

from bench import paced_load
from bench.ack_path import answers_of, status_click, wait_quiet
from bench.common import (
    ADMIN_SLACK_ID,
    CACHE_DIR,
    TEAM_ID,
    USER_COUNT,
    load_backlog,
    machine,
    percentile,
    postgres_url,
    print_table,
    save_results,
)
from bench.loadgen import LoadSpec, run_in_subprocess
from bench.serve_process import BOT_TOKEN, SIGNING_SECRET, ServeProcess, app_env
from bot.live import CARD_EVENT, LINE_EVENT
from bot.ui.live import change_line
from bot.ui.story_card import summary_line
from storage.db import Database, normalize_url
from storage.fields import STATUSES
from storage.models import (
    CardUpdate,
    LiveSubscription,
    Project,
    StoryCard,
    StoryChange,
    User,
    UserStory,
)
from tests.fakes import slack_api
from tests.fakes.slack_api import FakeSlackAPI

CLICK_CHANNEL = "C0BENCH01"  # where the status selects are clicked (a card in a DM, say)
# the members bench.common.load_backlog makes (the first is the workspace's admin)
MEMBERS = [ADMIN_SLACK_ID] + [f"U0BENCH{i:02d}" for i in range(1, USER_COUNT)]
P99_RATIO_TARGET = 1.15  # "not slower": within the noise of two runs of the same load
THROUGHPUT_SHARE_TARGET = 0.85
DRAIN_TIMEOUT = 300.0
LISTEN_QUEUE = 128


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_fake() -> FakeSlackAPI:
    """The strict fake Slack, with a listen queue of 128 connections instead of socketserver's
    5: the app opens a connection per Web API call and response_url post, and a burst of
    them overflowed 5 (a dropped connection costs its sender a 1 s SYN retry, which no
    real Slack would add to the figures)."""
    default = ThreadingHTTPServer.request_queue_size
    ThreadingHTTPServer.request_queue_size = LISTEN_QUEUE
    try:
        fake = FakeSlackAPI().start()
    finally:
        ThreadingHTTPServer.request_queue_size = default
    fake.team_for_token[BOT_TOKEN] = TEAM_ID
    return fake


def listen_overflows() -> int:
    """Linux's count of connections dropped by a full listen queue (system-wide; 0 during a
    phase means no request to the fake, nor to the server, waited for a SYN retry)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/net/netstat") as fh:
            head, values = (line.split() for line in fh if line.startswith("TcpExt:"))
        return int(values[head.index("ListenOverflows")])
    return -1


# ---- the workspace ---------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(dialect: str, stories: int, projects: int) -> Iterator[str]:
    """A new migrated database holding the backlog, dropped afterwards."""
    name = f"live_cards_{int(time.time())}"
    if dialect == "sqlite":
        folder = CACHE_DIR / "live_cards"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.db"
        url = f"sqlite:///{path}"
        try:
            load_backlog(url, stories, projects=projects)
            yield url
        finally:
            for suffix in ("", "-wal", "-shm", "-serve.lock"):  # (the lock: serve's, beside it)
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    base = postgres_url()
    dbname = f"autodevhub_bench_{name}"
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = normalize_url(base).rsplit("/", 1)[0] + f"/{dbname}"
    try:
        load_backlog(url, stories, projects=projects)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class StoryState:
    """A story as the load generator knows it: where its changes must leave it."""

    id: str
    key: str
    project_key: str
    status: str
    assignee: str | None
    offset: int  # its changes are made by MEMBERS[offset], MEMBERS[offset + 1], ...
    changes: int = 0
    before: tuple[str | None, str | None] = (None, None)  # the status and assignee before


def read_stories(db: Database, keys: list[str]) -> list[StoryState]:
    """The stories of the projects `keys`, as they are now."""
    assignee = aliased(User)
    columns = (UserStory.id, Project.key, UserStory.number, UserStory.status)
    with db.read() as s:
        rows = s.execute(
            select(*columns, assignee.slack_user_id)
            .join(Project, Project.id == UserStory.project_id)
            .outerjoin(assignee, assignee.id == UserStory.assignee_id)
            .where(Project.key.in_(keys))
            .order_by(Project.key, UserStory.number)
        ).all()
    return [
        StoryState(sid, f"{key}-{number}", key, status, who, offset=i % len(MEMBERS))
        for i, (sid, key, number, status, who) in enumerate(rows)
    ]


def project_keys(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Project.key).order_by(Project.key)))


def subscriptions_plan(channels: int, keys: list[str], extra: int, tag: str) -> dict[str, list]:
    """channel -> the projects it follows: channel i follows project i mod P, and the first
    `extra` channels also the project half-way round."""
    plan: dict[str, list[str]] = {}
    for i in range(channels):
        follows = [keys[i % len(keys)]]
        if i < extra:
            follows.append(keys[(i + len(keys) // 2) % len(keys)])
        plan[f"C0{tag}{i:03d}"] = follows
    return plan


def slash(fake: FakeSlackAPI, user: str, channel: str, command: str, words: str, n: str) -> str:
    return urlencode(
        {
            "token": "deprecated",
            "team_id": TEAM_ID,
            "team_domain": "bench",
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": words,
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": f"{fake.base_url}/response/{n}",
            "trigger_id": f"1000.2000.{n}",
        }
    )


def select_click(fake: FakeSlackAPI, user: str, story_id: str, status: str, n: str) -> str:
    """The story card's status select changed by `user` (bench 1's click, any member)."""
    payload = json.loads(parse_qs(status_click(fake, story_id, status))["payload"][0])
    payload["user"] = {"id": user, "team_id": TEAM_ID, "username": user.lower()}
    payload["response_url"] = f"{fake.base_url}/response/{n}"
    return urlencode({"payload": json.dumps(payload)})


def run_commands(server: ServeProcess, bodies: list[str], concurrency: int = 4) -> int:
    """Send each body once (closed loop); the number answered 2xx."""
    spec = LoadSpec(
        url=server.url + "/slack/events",
        signing_secret=SIGNING_SECRET,
        bodies=bodies,
        concurrency=concurrency,
        warmup=0,
        duration=600,
        max_requests=len(bodies),
    )
    return run_in_subprocess(spec).ok


def count_subscriptions(db: Database, channels: list[str] | None = None) -> int:
    """Subscriptions of these channels (None: of every channel)."""
    query = select(func.count()).select_from(LiveSubscription)
    if channels is not None:
        query = query.where(LiveSubscription.channel_id.in_(channels))
    with db.read() as s:
        return s.scalar(query)


def check_following(db: Database, plan: dict[str, list[str]]) -> None:
    """The channels of `plan`, and no other, follow projects (or the figures are not what
    they say)."""
    wanted = sum(len(keys) for keys in plan.values())
    found = count_subscriptions(db)
    if found != wanted:
        raise RuntimeError(f"{found} subscriptions in the database, {wanted} planned")


def subscribe(
    fake: FakeSlackAPI, server: ServeProcess, db: Database, plan: dict[str, list[str]]
) -> None:
    bodies = [
        slash(fake, ADMIN_SLACK_ID, channel, "/project", f"subscribe {key}", f"sub-{channel}-{key}")
        for channel, keys in plan.items()
        for key in keys
    ]
    run_commands(server, bodies)
    wanted = len(bodies)
    _wait(lambda: count_subscriptions(db, list(plan)) >= wanted, 60, "subscriptions")


def unsubscribe(
    fake: FakeSlackAPI, server: ServeProcess, db: Database, plan: dict[str, list[str]]
) -> None:
    bodies = [
        slash(fake, ADMIN_SLACK_ID, channel, "/project", f"unsubscribe {key}", f"un-{channel}{key}")
        for channel, keys in plan.items()
        for key in keys
    ]
    run_commands(server, bodies)
    _wait(lambda: count_subscriptions(db, list(plan)) == 0, 60, "unsubscriptions")


def _wait(done: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `done()`; raises after `timeout`."""
    t0 = time.monotonic()
    while not done():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{what}: not done within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - t0


def outbox_states(db: Database, channels: list[str] | None = None) -> dict[str, int]:
    """Card updates by state (of the subscriptions of `channels`, else all), and under
    "unfanned" the changes not yet fanned out (of any channel: they are not yet anyone's)."""
    with db.read() as s:
        query = select(CardUpdate.state, func.count()).group_by(CardUpdate.state)
        if channels is not None:
            query = query.join(
                LiveSubscription, LiveSubscription.id == CardUpdate.subscription_id
            ).where(LiveSubscription.channel_id.in_(channels))
        states = dict(s.execute(query).all())
        unfanned = s.scalar(select(func.count()).select_from(StoryChange))
        return {**states, "unfanned": unfanned} if unfanned else states


def waiting(states: dict[str, int]) -> int:
    return states.get("unfanned", 0) + states.get("pending", 0) + states.get("claimed", 0)


# ---- 1. the ack path with and without subscriptions --------------------------------------


@dataclass
class AckRun:
    subscribed: bool
    p50: float
    p99: float
    rps: float
    ok: int
    total: int
    answer_p50: float
    answer_p99: float
    outbox_written: int = 0  # card updates the run's changes queued
    outbox_shown: int = 0  # of them, shown before the run ended
    overflows: int = 0  # listen_overflows() during the run


RUN_NUMBER = 0


def rotation(
    fake: FakeSlackAPI, stories: list[StoryState], rng: random.Random, rounds: int = 3
) -> list[str]:
    """Status-select clicks, every one a real move: each round clicks every story once (in
    the same shuffled order) to a status it is not in after the round before."""
    order = list(stories)
    rng.shuffle(order)
    status = {st.id: st.status for st in order}
    bodies = []
    for _ in range(rounds):
        for st in order:
            status[st.id] = rng.choice([x for x in STATUSES if x != status[st.id]])
            bodies.append(status_click(fake, st.id, status[st.id]))
    return bodies


def ack_run(
    fake: FakeSlackAPI,
    server: ServeProcess,
    db: Database,
    keys: list[str],
    rng: random.Random,
    args: argparse.Namespace,
    plan: dict[str, list[str]],
) -> AckRun:
    subscribed = bool(plan)
    global RUN_NUMBER
    RUN_NUMBER += 1
    fake.reset()
    check_following(db, plan)
    bodies = rotation(fake, read_stories(db, keys), rng)
    before = outbox_states(db)
    overflows = listen_overflows()
    spec = LoadSpec(
        url=server.url + "/slack/events",
        signing_secret=SIGNING_SECRET,
        bodies=bodies,
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        numbered=True,
        first_number=RUN_NUMBER * 10_000_000,
    )
    result = run_in_subprocess(spec)
    after = outbox_states(db)
    if result.warmup_requests + len(result.latencies) > len(bodies):
        log("    more clicks than planned moves: some were no-ops (use more --stories)")
    answer, _count = answers_of(fake, result)
    run = AckRun(
        subscribed,
        percentile(result.latencies, 50) * 1000,
        percentile(result.latencies, 99) * 1000,
        result.throughput,
        result.ok,
        len(result.latencies),
        percentile(answer, 50) * 1000,
        percentile(answer, 99) * 1000,
        outbox_written=sum(after.values()) - sum(before.values()),
        outbox_shown=after.get("done", 0) - before.get("done", 0),
        overflows=listen_overflows() - overflows,
    )
    log(
        f"  {'with' if subscribed else 'none':4} p50 {run.p50:6.1f} ms  p99 {run.p99:6.1f} ms  "
        f"{run.rps:6.1f} req/s  ok {run.ok}/{run.total}  answer p50 {run.answer_p50:.0f} "
        f"p99 {run.answer_p99:.0f} ms  outbox +{run.outbox_written} (shown {run.outbox_shown})  "
        f"listen overflows {run.overflows}"
    )
    return run


def ack_phase(
    fake: FakeSlackAPI,
    server: ServeProcess,
    db: Database,
    keys: list[str],
    rng: random.Random,
    args: argparse.Namespace,
) -> list[AckRun]:
    runs = []
    for r in range(args.repeat):
        # alternate, so drift in machine load hits both sides alike
        for plan in ({}, subscriptions_plan(args.channels, keys, args.extra, f"A{r}")):
            if plan:
                subscribe(fake, server, db, plan)
            wait_quiet(fake)
            runs.append(ack_run(fake, server, db, keys, rng, args, plan))
            if plan:
                unsubscribe(fake, server, db, plan)  # drops what they still had to show
                _wait(lambda: waiting(outbox_states(db)) == 0, 60, "outbox after unsubscribe")
            wait_quiet(fake)
    return runs


# ---- 2. delivery: every change once, and how soon -----------------------------------------


@dataclass
class Change:
    n: int
    story: StoryState
    actor: str
    kind: str  # moved, done, assigned
    to: str
    via: str  # select, move, assign
    line: str  # its line in the card's thread
    body: str = ""


def plan_changes(
    fake: FakeSlackAPI, stories: list[StoryState], count: int, rng: random.Random, tag: str
) -> list[Change]:
    """`count` changes of these stories, each a real change (never to where the story is or
    just was, so two changes of a story applied in either order both change it), each by a
    member who made no other change of that story (so each has a line of its own)."""
    changes = []
    for n in range(count):
        candidates = [st for st in stories if st.changes < len(MEMBERS)]
        st = rng.choice(candidates)
        actor = MEMBERS[(st.offset + st.changes) % len(MEMBERS)]
        st.changes += 1
        via = rng.choices(("select", "move", "assign"), weights=(2, 1, 1))[0]
        ref = f"{tag}-{n}"
        if via == "assign":
            to = rng.choice([m for m in MEMBERS if m not in (st.assignee, st.before[1])])
            st.before, st.assignee = (st.before[0], st.assignee), to
            kind = "assigned"
            body = slash(fake, actor, CLICK_CHANNEL, "/story", f"assign {st.key} <@{to}>", ref)
        else:
            to = rng.choice([x for x in STATUSES if x not in (st.status, st.before[0])])
            st.before, st.status = (st.status, st.before[1]), to
            kind = "done" if to == "DONE" else "moved"
            if via == "select":
                body = select_click(fake, actor, st.id, to, ref)
            else:
                body = slash(fake, actor, CLICK_CHANNEL, "/story", f"move {st.key} {to}", ref)
        line = change_line(SimpleNamespace(kind=kind, actor_slack_id=actor,
                                           details={"key": st.key, "to": to}))  # fmt: skip
        changes.append(Change(n, st, actor, kind, to, via, line, body))
    return changes


@dataclass
class Delivery:
    window: float
    changes: int
    acked_ok: int
    answered: int  # changes whose reply ("Moved to ...") came: committed
    subscriptions: int
    expected: int  # (change, channel following its project) pairs
    outbox_rows: int
    once: int
    missing: int
    doubled: int
    unexpected_lines: int
    cards_expected: int
    cards_one: int
    cards_missing: int
    cards_doubled: int
    cards_stale: int  # not showing the story as the database has it at the end
    other_messages: int
    refusals: int
    outbox_left: dict[str, int]
    drain_seconds: float  # from the last change's ack to the last thread line
    ack_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    card_ms: list[float] = field(default_factory=list)
    line_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)
    coalesced: float = 0.0  # changes per thread line (per card update)
    log_problems: int = 0
    overflows: int = 0  # listen_overflows() from the first change to the last delivery


def _lines_of(message: dict[str, Any]) -> list[str]:
    return (message.get("text") or "").splitlines()


def _texts(node: Any, out: list[str]) -> list[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                _texts(value, out)
    elif isinstance(node, list):
        for item in node:
            _texts(item, out)
    return out


def final_summaries(db: Database, story_ids: set[str]) -> dict[str, str]:
    """story id -> its card's summary line as the database has the story now."""
    assignee = aliased(User)
    columns = (UserStory.id, UserStory.priority, UserStory.story_points, UserStory.status)
    with db.read() as s:
        rows = s.execute(
            select(*columns, assignee.slack_user_id)
            .outerjoin(assignee, assignee.id == UserStory.assignee_id)
            .where(UserStory.id.in_(story_ids))
        ).all()
    return {
        sid: summary_line(
            SimpleNamespace(priority=p, story_points=pts, status=st, assignee_slack_id=who)
        )
        for sid, p, pts, st, who in rows
    }


def cards_of(db: Database, channels: list[str]) -> dict[str, tuple[str, str, str | None]]:
    """card id -> (channel, story id, message ts) for the subscriptions of `channels`."""
    with db.read() as s:
        rows = s.execute(
            select(StoryCard.id, StoryCard.channel_id, StoryCard.story_id, StoryCard.message_ts)
            .join(LiveSubscription, LiveSubscription.id == StoryCard.subscription_id)
            .where(LiveSubscription.channel_id.in_(channels))
        ).all()
    return {cid: (ch, sid, ts) for cid, ch, sid, ts in rows}


def check_delivery(
    fake: FakeSlackAPI,
    db: Database,
    plan: dict[str, list[str]],
    changes: list[Change],
    sent: paced_load.PacedResult,
    window: float,
    refusals: int,
    tag: str,
) -> Delivery:
    channels = list(plan)
    followers: dict[str, list[str]] = collections.defaultdict(list)
    for channel, keys in plan.items():
        for key in keys:
            followers[key].append(channel)
    ok = [c for c in changes if 200 <= sent.statuses[c.n] < 300]
    expected = {(ch, c.line): c for c in ok for ch in followers[c.story.project_key]}
    pairs = {(ch, c.story.id) for c in ok for ch in followers[c.story.project_key]}

    cards = cards_of(db, channels)
    shown = collections.Counter()  # (channel, line) -> times shown in the card's thread
    card_count = collections.Counter()  # (channel, story id) -> card messages
    summaries = final_summaries(db, {sid for _, sid in pairs})
    stale = other = 0
    for channel in channels:
        for message in fake.messages(channel):
            meta = message.get("metadata") or {}
            card_id = (meta.get("event_payload") or {}).get("card")
            if meta.get("event_type") != CARD_EVENT or card_id not in cards:
                other += 1
                continue
            story_id = cards[card_id][1]
            card_count[(channel, story_id)] += 1
            summary = summaries.get(story_id)
            if summary is None or not any(
                t.startswith(summary + " · ") for t in _texts(message.get("blocks"), [])
            ):
                stale += 1
            for reply in fake.thread(channel, message["ts"])[1:]:
                for line in _lines_of(reply):
                    shown[(channel, line)] += 1
    once = sum(1 for k in expected if shown[k] == 1)
    missing = sum(1 for k in expected if shown[k] == 0)
    doubled = sum(1 for k in expected if shown[k] > 1)
    unexpected = sum(n for k, n in shown.items() if k not in expected)

    # times: the thread line's post, and the card update just before it (same batch)
    card_calls: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    line_at: dict[tuple[str, str], float] = {}
    card_shown: dict[tuple[str, str], float] = {}
    ts_of_card = {cid: (ch, ts) for cid, (ch, _sid, ts) in cards.items()}
    lines_per_post = []
    for call in list(fake.calls):
        p = call.params
        if call.method == "chat.update":
            card_calls[(p.get("channel"), str(p.get("ts")))].append(call.at)
        elif call.method == "chat.postMessage" and p.get("channel") in plan:
            event = (p.get("metadata") or {}).get("event_type")
            if event == CARD_EVENT and not p.get("thread_ts"):
                where = ts_of_card.get((p["metadata"].get("event_payload") or {}).get("card"))
                if where is not None:
                    card_calls[where].append(call.at)
            elif event == LINE_EVENT:
                lines = _lines_of(p)
                lines_per_post.append(len(lines))
                card_at = [
                    t for t in card_calls.get((p["channel"], str(p.get("thread_ts"))), [])
                    if t <= call.at
                ]  # fmt: skip
                for line in lines:
                    key = (p["channel"], line)
                    if key in line_at:
                        continue  # (a doubled line: counted above, timed once)
                    line_at[key] = call.at
                    if card_at:
                        card_shown[key] = max(card_at)
    delivery = Delivery(
        window=window,
        changes=len(changes),
        acked_ok=len(ok),
        answered=0,
        subscriptions=sum(len(v) for v in plan.values()),
        expected=len(expected),
        outbox_rows=sum(outbox_states(db, channels).values()),
        once=once,
        missing=missing,
        doubled=doubled,
        unexpected_lines=unexpected,
        cards_expected=len(pairs),
        cards_one=sum(1 for k in pairs if card_count[k] == 1),
        cards_missing=sum(1 for k in pairs if card_count[k] == 0),
        cards_doubled=sum(1 for k in pairs if card_count[k] > 1),
        cards_stale=stale,
        other_messages=other,
        refusals=refusals,
        outbox_left={k: v for k, v in outbox_states(db, channels).items() if k != "done"},
        drain_seconds=(max(line_at.values()) - max(sent.acked)) if line_at else float("nan"),
        coalesced=(statistics.mean(lines_per_post) if lines_per_post else float("nan")),
    )
    for (channel, line), change in expected.items():
        acked = sent.acked[change.n]
        if (channel, line) in line_at:
            delivery.line_ms.append((line_at[(channel, line)] - acked) * 1000)
        if (channel, line) in card_shown:
            delivery.card_ms.append((card_shown[(channel, line)] - acked) * 1000)
    answered = {}
    for call in fake.calls_to("response_url"):
        answered.setdefault(call.path, call.at)
    for c in ok:
        at = answered.get(f"/response/{tag}-{c.n}")
        if at is not None:
            delivery.answer_ms.append((at - sent.acked[c.n]) * 1000)
    delivery.answered = len(delivery.answer_ms)
    delivery.ack_ms = [x * 1000 for x in sent.ack_seconds]
    delivery.late_ms = [x * 1000 for x in sent.late_seconds]
    return delivery


def delivery_phase(
    fake: FakeSlackAPI,
    server: ServeProcess,
    db: Database,
    keys: list[str],
    rng: random.Random,
    args: argparse.Namespace,
    window: float,
    tag: str,
) -> Delivery:
    plan = subscriptions_plan(args.channels, keys, args.extra, tag)
    subscribe(fake, server, db, plan)
    wait_quiet(fake)
    fake.reset()
    refusals_before = len(slack_api.REFUSALS)
    per_project = max(1, args.changed // len(keys))
    everything = read_stories(db, keys)
    chosen = []
    for key in keys:
        mine = [st for st in everything if st.project_key == key]
        chosen += rng.sample(mine, min(per_project, len(mine)))
    changes = plan_changes(fake, chosen, args.changes, rng, tag)
    log(
        f"  window {window:g} s: {len(changes)} changes of {len(chosen)} stories at "
        f"{args.rate:g}/s, {sum(len(v) for v in plan.values())} subscriptions in "
        f"{len(plan)} channels"
    )
    spec = paced_load.PacedSpec(
        url=server.url + "/slack/events",
        signing_secret=SIGNING_SECRET,
        bodies=[c.body for c in changes],
        rate=args.rate,
    )
    check_following(db, plan)
    overflows = listen_overflows()
    sent = paced_load.run_in_subprocess(spec)
    channels = list(plan)
    # a change's card updates are queued with its write, after its ack; its answer (the
    # "Moved to ..." reply) comes after that write: wait for the answers, then the outbox
    acked = sum(1 for status in sent.statuses if 200 <= status < 300)
    mine = f"/response/{tag}-"
    answered = lambda: len(fake.calls_to("response_url", lambda c: c.path.startswith(mine)))  # noqa: E731
    _wait(lambda: answered() >= acked, 60, "the changes' answers")
    _wait(lambda: waiting(outbox_states(db, channels)) == 0, DRAIN_TIMEOUT, "outbox drain")
    wait_quiet(fake, quiet=1.0, timeout=60)
    refusals = len(slack_api.REFUSALS) - refusals_before
    result = check_delivery(fake, db, plan, changes, sent, window, refusals, tag)
    result.log_problems = log_problems(server)
    result.overflows = listen_overflows() - overflows
    unsubscribe(fake, server, db, plan)  # the next phase's changes are due in its channels only
    if sent.errors:
        log(f"    {len(sent.errors)} transport errors, e.g. {sent.errors[0]}")
    log(
        f"    delivered once {result.once}/{result.expected}, missing {result.missing}, "
        f"doubled {result.doubled}, cards {result.cards_one}/{result.cards_expected}; "
        f"line p50 {percentile(result.line_ms, 50):.0f} p99 {percentile(result.line_ms, 99):.0f}"
        f" ms; last line {result.drain_seconds:.1f} s after the last ack; listen overflows "
        f"{result.overflows}"
    )
    return result


def log_problems(server: ServeProcess) -> int:
    """Errors, and the card workers' warnings, in the server's log so far."""
    problem = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) |^\S+ \S+ WARNING autodevhub\.live")
    return sum(1 for line in server.log_tail(10**9).splitlines() if problem.match(line))


# ---- the report ----------------------------------------------------------------------------


def _ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) if values else float("nan")


def _max(values: list[float]) -> float:
    return max(values) if values else float("nan")


def _pair(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{_ms(values, 50):,.0f} / {_ms(values, 99):,.0f}"


def report(
    args: argparse.Namespace, acks: list[AckRun], deliveries: list[Delivery], load: list[str]
) -> list[str]:
    verdicts = []
    loads = " ".join(load)
    if acks:
        med = statistics.median
        sides = {}
        for subscribed in (False, True):
            runs = [r for r in acks if r.subscribed is subscribed]
            sides[subscribed] = SimpleNamespace(
                p50=med(r.p50 for r in runs),
                p99=med(r.p99 for r in runs),
                rps=med(r.rps for r in runs),
                ok=f"{sum(r.ok for r in runs)}/{sum(r.total for r in runs)}",
                answer_p50=med(r.answer_p50 for r in runs),
                answer_p99=med(r.answer_p99 for r in runs),
                queued=f"{sum(r.outbox_written for r in runs):,} / "
                f"{sum(r.outbox_shown for r in runs):,}",
            )
        none, subd = sides[False], sides[True]
        p99_ratio, share = subd.p99 / none.p99, subd.rps / none.rps
        subs = sum(len(v) for v in subscriptions_plan(args.channels, ["K"] * args.projects,
                                                      args.extra, "X").values())  # fmt: skip
        print_table(
            f"Ack path with and without live cards on {args.database}, {args.concurrency} "
            f"senders, status changes, median of {args.repeat} runs of {args.duration:g} s "
            f"each ({loads} load)",
            ["subscriptions", "p50 ms", "p99 ms", "req/s", "p99 vs none", "req/s vs none",
             "2xx", "answer p50 ms", "answer p99 ms", "card updates queued / shown in the runs"],
            [
                ["none", none.p50, none.p99, none.rps, "", "", none.ok, none.answer_p50,
                 none.answer_p99, none.queued],
                [f"{subs} in {args.channels} channels", subd.p50, subd.p99, subd.rps,
                 f"{p99_ratio:.2f}x", f"{share:.0%}", subd.ok, subd.answer_p50,
                 subd.answer_p99, subd.queued],
            ],
        )  # fmt: skip
        verdicts.append(
            f"ack with subscriptions: p99 {subd.p99:.0f} ms = {p99_ratio:.2f}x none (target <= "
            f"{P99_RATIO_TARGET}x) {'MET' if p99_ratio <= P99_RATIO_TARGET else 'MISSED'}; "
            f"throughput {share:.0%} of none (target >= {THROUGHPUT_SHARE_TARGET:.0%}) "
            f"{'MET' if share >= THROUGHPUT_SHARE_TARGET else 'MISSED'}"
        )
    if deliveries:
        names = [f"window {d.window:g} s" for d in deliveries]
        figures: list[tuple[str, Callable[[Delivery], object]]] = [
            ("changes sent (2xx) / answered", lambda d: f"{d.changes:,} ({d.acked_ok:,}) / "
             f"{d.answered:,}"),
            ("subscriptions (channels)", lambda d: f"{d.subscriptions} ({args.channels})"),
            ("deliveries due (change x following channel)", lambda d: f"{d.expected:,}"),
            ("outbox rows written", lambda d: f"{d.outbox_rows:,}"),
            ("thread lines: exactly once / missing / doubled", lambda d:
             f"{d.once:,} / {d.missing:,} / {d.doubled:,}"),
            ("thread lines nobody asked for", lambda d: f"{d.unexpected_lines:,}"),
            ("cards: one per story per channel / none / more", lambda d:
             f"{d.cards_one:,} / {d.cards_missing:,} / {d.cards_doubled:,}"),
            ("cards not showing the story's final state", lambda d: f"{d.cards_stale:,}"),
            ("other messages in the channels", lambda d: f"{d.other_messages:,}"),
            ("Slack refusals (strict fake)", lambda d: f"{d.refusals:,}"),
            ("outbox left undelivered", lambda d: str(d.outbox_left or "none")),
            ("changes per thread line (coalescing)", lambda d: f"{d.coalesced:.2f}"),
            ("change ack p50 / p99 ms", lambda d: _pair(d.ack_ms)),
            ("change ack -> committed (its answer) p50 / p99 ms", lambda d: _pair(d.answer_ms)),
            ("change ack -> card updated p50 / p99 ms", lambda d: _pair(d.card_ms)),
            ("change ack -> thread line p50 / p99 ms", lambda d: _pair(d.line_ms)),
            ("change ack -> thread line max ms", lambda d: f"{_max(d.line_ms):,.0f}"),
            ("last thread line after the last change's ack", lambda d: f"{d.drain_seconds:.1f} s"),
            ("sender late (p99 / max ms)", lambda d: f"{_ms(d.late_ms, 99):.0f} / "
             f"{_max(d.late_ms):.0f}"),
            ("server log: errors, card-worker warnings", lambda d: f"{d.log_problems}"),
            ("TCP listen overflows (system-wide)", lambda d: f"{d.overflows}"),
        ]  # fmt: skip
        print_table(
            f"Live story cards on {args.database}: {args.changes:,} changes at {args.rate:g}/s "
            f"on {args.changed} stories of {args.projects} projects, {args.channels} channels "
            f"({loads} load)",
            ["figure", *names],
            [[label, *(get(d) for d in deliveries)] for label, get in figures],
        )
        for d in deliveries:
            exact = (
                d.once == d.expected
                and d.expected > 0
                and not d.unexpected_lines
                and d.cards_one == d.cards_expected
                and not d.other_messages
            )
            verdicts.append(
                f"window {d.window:g} s: every change shown exactly once in every following "
                f"channel: {d.once:,}/{d.expected:,} lines (missing {d.missing}, doubled "
                f"{d.doubled}, unasked {d.unexpected_lines}), {d.cards_one:,}/"
                f"{d.cards_expected:,} cards one each {'MET' if exact else 'MISSED'}; cards "
                f"show the final state {d.cards_expected - d.cards_stale:,}/{d.cards_expected:,} "
                f"{'MET' if not d.cards_stale else 'MISSED'}; change -> thread line p50 "
                f"{_ms(d.line_ms, 50):,.0f} ms, p99 {_ms(d.line_ms, 99):,.0f} ms (no target: "
                f"the window is {d.window:g} s)"
            )
    print("\n".join(verdicts))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--stories", type=int, default=2_000, help="in the workspace")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--extra", type=int, default=10, help="channels following 2 projects")
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--changed", type=int, default=200, help="stories the changes touch")
    parser.add_argument("--rate", type=float, default=10.0, help="changes per second")
    parser.add_argument(
        "--windows", type=float, nargs="*", default=[2.0, 0.2],
        help="AUTODEVHUB_CARD_WINDOW of each delivery run (none: skip)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=2, help="ack runs, each side")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)

    folder = CACHE_DIR / "live_cards"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    acks: list[AckRun] = []
    deliveries: list[Delivery] = []
    load = []
    started = time.monotonic()
    fake = start_fake()
    try:
        log(f"loading {args.stories:,} stories in {args.projects} projects ({args.database}) ...")
        with fresh_database(args.database, args.stories, args.projects) as url:
            db = Database(url)
            keys = project_keys(db)
            windows = args.windows or [2.0]
            server = None
            try:
                current = windows[0]
                server = start_server(url, fake, current, folder)
                if args.repeat:
                    log(f"ack path, {args.concurrency} senders, with and without subscriptions")
                    acks = ack_phase(fake, server, db, keys, rng, args)
                    load.append(machine()["loadavg"].split()[0])
                for i, window in enumerate(args.windows):
                    if window != current:
                        server.stop()
                        server = start_server(url, fake, window, folder)
                        current = window
                    deliveries.append(
                        delivery_phase(fake, server, db, keys, rng, args, window, f"L{i}")
                    )
                    load.append(machine()["loadavg"].split()[0])
            finally:
                if server is not None:
                    server.stop()
                db.dispose()
    finally:
        fake.stop()
    log(f"done in {time.monotonic() - started:.0f} s")
    verdicts = report(args, acks, deliveries, load)
    save_results(
        "live_cards",
        {
            "args": vars(args),
            "ack_runs": [r.__dict__ for r in acks],
            "deliveries": [d.__dict__ for d in deliveries],
            "load_after_each_phase": load,
            "verdicts": verdicts,
        },
    )
    return 0


def start_server(url: str, fake: FakeSlackAPI, window: float, folder: Path) -> ServeProcess:
    env = app_env(url, fake.api_url, AUTODEVHUB_CARD_WINDOW=str(window))
    path = folder / f"serve-window-{window:g}.log"
    path.unlink(missing_ok=True)  # log_problems reads this run's log only
    return ServeProcess(env, log_path=path).start(timeout=120)


if __name__ == "__main__":
    sys.exit(main())
