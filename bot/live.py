"""Live story cards: the workers that show each story change in the channels following its
project, once.

A worker claims one card with its waiting changes (storage/live/deliveries.py), posts the
card (first time) or updates it in place, adds one line per change in its thread, and
records that it did. Crash-safe: before a first post the card is marked "posting", and a
worker that finds that mark (its predecessor died before recording the message) looks for
the message by its metadata in the channel before posting again; a retried batch looks for
its thread line the same way. Slack refusing the channel pauses the subscription and tells
its subscriber what to do; a 429 waits (slack_sdk's retry handler, then the batch's due
time); anything else is retried a few times.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clients import workspace_clients
from bot.settings import Settings
from bot.ui import live as ui
from storage import outbox
from storage.db import Database
from storage.live import deliveries
from storage.live.deliveries import Batch
from storage.live.subscriptions import pause

log = logging.getLogger("autodevhub.live")

CARD_EVENT = "autodevhub_story_card"
LINE_EVENT = "autodevhub_card_line"
LEASE = timedelta(seconds=60)
HISTORY_SLACK = timedelta(seconds=10)  # how far before "posting" began to look for a post
YIELD_FACTOR = 3.0  # while members wait: pause 3x each delivery's time (a quarter of the pace)
YIELD_MAX = 1.0  # seconds

ClientFor = Callable[[str], WebClient | None]


class CardWorkers:
    """`size` threads delivering card updates from the database's outbox."""

    def __init__(
        self,
        db: Database,
        client_for: ClientFor,
        *,
        size: int = 2,
        window: float = 2.0,
        poll: float = 0.25,
        lease: float = LEASE.total_seconds(),
        name: str | None = None,
        members_waiting: Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        self.client_for = client_for
        self.size = size
        self.window = timedelta(seconds=window)
        self.poll = poll
        self.lease = timedelta(seconds=lease)
        self.members_waiting = members_waiting or (lambda: False)
        host = socket.gethostname()[:40]
        self.name = name or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> CardWorkers:
        for i in range(self.size):
            thread = threading.Thread(
                target=self._work, args=(f"{self.name}:c{i}",), name=f"cards-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _work(self, claimer: str) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                handled = self.run_once(claimer)
            except Exception:  # a database hiccup must not kill the worker
                log.exception("card worker %s failed", claimer)
                handled = False
            if not handled:
                self._stop.wait(self.poll)
            elif self.members_waiting():
                # Members first: while their clicks queue for a thread, a delivery's CPU and
                # its turns at SQLite's one writer come out of their answers. Cards are
                # informational and coalesce while they wait (a burst of changes becomes one
                # update), so the workers give way: a quarter of their pace, never stopped.
                self._stop.wait(min(YIELD_FACTOR * (time.monotonic() - started), YIELD_MAX))

    def run_once(self, claimer: str | None = None) -> bool:
        """Claim and deliver one card's waiting changes; False when nothing was due."""
        claimer = claimer or f"{self.name}:once"
        with self.db.read() as s:
            changes = outbox.waiting(s)
        if changes:  # then a delivery: under a steady stream both go on, in turn
            with self.db.write() as s:
                outbox.fan_out(s)
        with self.db.read() as s:  # looked for outside the write: see deliveries.claim
            due = deliveries.due_cards(s, window=self.window, lease=self.lease)
        if not due:
            return changes
        with self.db.write() as s:
            batch = deliveries.take(s, claimer, due, lease=self.lease)
        if batch is None:
            return True  # other workers took them: look again at once
        client = self.client_for(batch.subscription.team_id)
        if client is None:
            log.warning(
                "no Slack client for workspace %s; card update dropped", batch.subscription.team_id
            )
            with self.db.write() as s:
                deliveries.finish(s, batch, claimer, state="skipped")
            return True
        try:
            deliver(self.db, client, batch, claimer, self.lease)
        except SlackApiError as exc:
            self._refused(batch, claimer, client, exc)
        except Exception:
            log.exception("card %s: delivery failed; it will be retried", batch.card_id)
            with self.db.write() as s:
                deliveries.release(s, batch, claimer, retry_in=timedelta(seconds=5))
        return True

    def _refused(self, batch: Batch, claimer: str, client: WebClient, exc: SlackApiError) -> None:
        error = str(exc.response.get("error") or "")
        sub = batch.subscription
        if error in ui.PAUSING:
            reason, notice = ui.paused_notice(sub, error)
            with self.db.write() as s:
                paused = pause(s, sub.id, reason, error)
                deliveries.finish(s, batch, claimer, state="skipped")
                deliveries.skip_paused(s, sub.id)
            log.warning("subscription %s paused: %s", sub.id, error)
            if paused is not None and sub.created_by_slack_id:
                try:
                    client.chat_postMessage(channel=sub.created_by_slack_id, **notice)
                except SlackApiError as dm_exc:
                    log.warning("could not tell the subscriber: %s", dm_exc.response.get("error"))
            return
        retry_after = exc.response.headers.get("Retry-After") if error == "ratelimited" else None
        wait = timedelta(seconds=float(retry_after or 5))
        log.warning("card %s: Slack said %s; retrying in %s", batch.card_id, error, wait)
        with self.db.write() as s:
            deliveries.release(s, batch, claimer, retry_in=wait)


def deliver(
    db: Database, client: WebClient, batch: Batch, claimer: str, lease: timedelta = LEASE
) -> None:
    """Post or update the card, add its thread line, record it (Slack errors raise)."""
    sub = batch.subscription
    deleted = next((c for c in batch.changes if c.kind == "deleted"), None)
    gone = {
        **(deleted.details if deleted else {}),
        "by": deleted.actor_slack_id if deleted else None,
    }
    message = ui.card(
        batch.story, gone if batch.story is None else None, tracked=bool(sub.thread_ts)
    )
    ts = batch.message_ts
    new_ts = None  # the card's message if this batch posts it, recorded when it finishes
    if ts is None and batch.posting_since is not None:
        ts = new_ts = _find_card(client, sub.channel_id, batch)
    if ts is not None:
        try:
            client.chat_update(channel=sub.channel_id, ts=ts, **message)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise
            ts = None  # deleted in Slack: post the card again
    if ts is None:
        if batch.story is None:  # a story never shown here, deleted: nothing to show
            with db.write() as s:
                deliveries.finish(s, batch, claimer)
            return
        if not (batch.marked and deliveries.surely_held(batch, lease)):
            with db.write() as s:
                if batch.marked:
                    held = deliveries.still_held(s, batch, claimer)
                else:  # the message was deleted in Slack: mark before posting it again
                    held = deliveries.start_posting(s, batch.card_id, claimer)
            if not held:
                return  # the claim was lost: the worker holding it delivers the batch
        posted = client.chat_postMessage(
            channel=sub.channel_id,
            thread_ts=sub.thread_ts,  # a message's thread following its story, else top level
            metadata={"event_type": CARD_EVENT, "event_payload": {"card": batch.card_id}},
            **message,
        )
        ts = new_ts = posted["ts"]
    lines = _lines(batch)
    if (
        sub.filters.threads
        and lines
        and not (
            batch.retry and _line_posted(client, sub.channel_id, sub.thread_ts or ts, batch.id)
        )
    ):
        client.chat_postMessage(
            channel=sub.channel_id,
            thread_ts=sub.thread_ts or ts,
            metadata={"event_type": LINE_EVENT, "event_payload": {"batch": batch.id}},
            **ui.thread_message(lines),
        )
    with db.write() as s:
        deliveries.finish(s, batch, claimer, posted_ts=new_ts)


def _lines(batch: Batch) -> list[str]:
    """A line per change the channel asked to see; none for the creation: the card shows it.

    A creation is its card's first change, so the batch holding it is the one that posts the
    card, on a retry too. Asking "did this run post the card?" instead put a "created" line
    under a card when the batch was retried after a crash that followed the post (the card
    found by its metadata, or its ts recorded): tests/drills/test_live_cards.py."""
    events = set(batch.subscription.filters.events)
    return [
        ui.change_line(c)
        for c in batch.changes
        if c.kind != "created" and (c.kind in events or (c.kind == "done" and "moved" in events))
    ]


def _find_card(client: WebClient, channel: str, batch: Batch) -> str | None:
    """The card's message if a worker posted it before dying, found by its metadata: in the
    thread it was posted in, or in the channel's history since the post began."""
    thread = batch.subscription.thread_ts
    if thread:
        return _find(_replies(client, channel, thread), CARD_EVENT, "card", batch.card_id)
    since = (batch.posting_since - HISTORY_SLACK).timestamp()  # type: ignore[operator]

    def history(cursor: str | None) -> Any:
        return client.conversations_history(
            channel=channel,
            oldest=f"{since:.6f}",
            include_all_metadata=True,
            limit=200,
            cursor=cursor,
        )

    return _find(history, CARD_EVENT, "card", batch.card_id)


def _line_posted(client: WebClient, channel: str, thread_ts: str, batch_id: str) -> bool:
    """Whether a retried batch's thread line is already there (posted before a crash)."""
    return _find(_replies(client, channel, thread_ts), LINE_EVENT, "batch", batch_id) is not None


def _replies(client: WebClient, channel: str, thread_ts: str) -> Callable[[str | None], Any]:
    def replies(cursor: str | None) -> Any:
        return client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, cursor=cursor
        )

    return replies


def _find(page_at: Callable[[str | None], Any], event: str, key: str, value: str) -> str | None:
    """The ts of the message whose metadata is `event` with `key` = `value`, reading the
    pages `page_at(cursor)` gives (conversations.history or .replies); None if none."""
    cursor = None
    for _page in range(20):
        page = page_at(cursor)
        for message in page.get("messages") or []:
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == event
                and (meta.get("event_payload") or {}).get(key) == value
            ):
                return message.get("ts")
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def start_card_workers(
    settings: Settings, db: Database, members_waiting: Callable[[], bool] | None = None
) -> CardWorkers | None:
    """What `serve` calls: started workers when a Slack client is configured, giving way
    while `members_waiting()` (the app's listener pool is saturated)."""
    client_for = workspace_clients(settings, db)
    if client_for is None:
        return None
    return CardWorkers(
        db,
        client_for,
        size=settings.card_workers,
        window=settings.card_window,
        lease=settings.card_lease_seconds,
        members_waiting=members_waiting,
    ).start()
