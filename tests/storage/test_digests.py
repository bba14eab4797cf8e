"""Digest subscriptions, their schedule across DST, and what a digest says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from bot.ui.digest import digest_message
from storage.db import Database
from storage.digests.compose import compose_digest
from storage.digests.due import due_digests, mark_sent, pause_subscription
from storage.digests.schedule import latest_slot, next_slot
from storage.digests.subscriptions import (
    channel_subscriptions,
    personal_subscription,
    set_personal_digest,
    subscribe_channel,
    unsubscribe_channel,
)
from storage.errors import NotFound, ValidationFailed
from storage.models import AuditLog
from storage.projects import create_project, link_channel
from storage.stories import assign_story, create_story, move_story
from storage.users import Actor, ensure_user
from tests.statements import statements

T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def _setup(db: Database) -> tuple[Actor, Actor]:
    with time_machine.travel(T0 - timedelta(days=10), tick=False), db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")  # first member: admin
        bob = ensure_user(s, "T1", "UBOB")
        create_project(s, alice, {"name": "Website", "key": "WEB"})
        create_project(s, alice, {"name": "Mobile", "key": "MOB"})
        link_channel(s, alice, "WEB", "CWEB")
    return alice, bob


def test_subscribe_uses_the_linked_project_or_the_named_one(db: Database) -> None:
    alice, bob = _setup(db)
    with db.write() as s:
        view = subscribe_channel(s, bob, "CWEB", timezone="Europe/Berlin")
        assert (view.project_key, view.frequency, view.time_of_day, view.timezone) == (
            "WEB",
            "daily",
            "09:00",
            "Europe/Berlin",
        )
        weekly = subscribe_channel(
            s, bob, "CWEB", project_ref="mobile", frequency="weekly", time_of_day="8:30"
        )
        assert (weekly.project_key, weekly.weekday_name, weekly.time_of_day) == (
            "MOB",
            "Monday",
            "08:30",
        )
        # subscribing again reschedules the same subscription
        again = subscribe_channel(s, alice, "CWEB", time_of_day="10:15")
        assert again.id == view.id and again.time_of_day == "10:15"
        assert again.created_by_slack_id == "UALICE"
        shown = channel_subscriptions(s, bob, "CWEB")
        assert [v.project_key for v in shown] == ["WEB", "MOB"]
        with pytest.raises(ValidationFailed, match="no linked project"):
            subscribe_channel(s, bob, "COTHER")
        with pytest.raises(ValidationFailed, match="not a time of day"):
            subscribe_channel(s, bob, "CWEB", time_of_day="25:00")
        with pytest.raises(ValidationFailed, match="daily or weekly"):
            subscribe_channel(s, bob, "CWEB", frequency="hourly")
        with pytest.raises(NotFound, match="Did you mean"):
            subscribe_channel(s, bob, "CWEB", project_ref="webb")
    with db.write() as s:
        stopped = unsubscribe_channel(s, bob, "CWEB", project_ref="MOB")
        assert [v.project_key for v in stopped] == ["MOB"]
        assert [v.project_key for v in channel_subscriptions(s, bob, "CWEB")] == ["WEB"]
        unsubscribe_channel(s, bob, "CWEB")
        with pytest.raises(NotFound, match="no digest"):
            unsubscribe_channel(s, bob, "CWEB")


def test_another_workspace_cannot_see_or_stop_a_channel_digest(db: Database) -> None:
    _alice, bob = _setup(db)
    with db.write() as s:
        subscribe_channel(s, bob, "CWEB")
        mallory = ensure_user(s, "T2", "UMAL")
        assert channel_subscriptions(s, mallory, "CWEB") == []
        with pytest.raises(NotFound):
            unsubscribe_channel(s, mallory, "CWEB")
        with pytest.raises(NotFound):
            subscribe_channel(s, mallory, "CWEB", project_ref="WEB")


def test_personal_digest_is_opt_in_per_user(db: Database) -> None:
    _alice, bob = _setup(db)
    with db.write() as s:
        assert personal_subscription(s, bob) is None
        view = set_personal_digest(s, bob, True, time_of_day="07:45")
        assert (view.kind, view.channel_id, view.time_of_day) == ("personal", "UBOB", "07:45")
        assert set_personal_digest(s, bob, True).id == view.id
        assert set_personal_digest(s, bob, False) is None
        with pytest.raises(NotFound, match="no personal digest"):
            set_personal_digest(s, bob, False)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # winter time (CET, UTC+1): 09:00 Berlin is 08:00 UTC
        (datetime(2026, 3, 28, 8, 0, tzinfo=UTC), datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 28, 7, 59, tzinfo=UTC), datetime(2026, 3, 27, 8, 0, tzinfo=UTC)),
        # the clocks go forward on Sunday 29 March: 09:00 Berlin is now 07:00 UTC
        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 6, 59, tzinfo=UTC), datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 7, 59, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        # and back on Sunday 25 October: 08:00 UTC again
        (datetime(2026, 10, 25, 7, 30, tzinfo=UTC), datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 8, 0, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    ],
)
def test_daily_0900_berlin_across_dst(now: datetime, expected: datetime) -> None:
    assert latest_slot("daily", "09:00", 0, "Europe/Berlin", now) == expected


def test_weekly_slots_fall_on_the_weekday_and_next_slot_follows() -> None:
    wed = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)  # a Wednesday
    monday = latest_slot("weekly", "09:00", 0, "Europe/Berlin", wed)
    assert monday == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    friday = next_slot("weekly", "17:30", 4, "America/New_York", wed)
    assert friday == datetime(2026, 4, 3, 21, 30, tzinfo=UTC)
    # a wall-clock time skipped by spring-forward still fires once that day
    gap = latest_slot("daily", "02:30", 0, "Europe/Berlin", datetime(2026, 3, 29, 3, 0, tzinfo=UTC))
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_due_digests_once_per_slot_and_not_before_creation(db: Database) -> None:
    _alice, bob = _setup(db)
    with time_machine.travel(datetime(2026, 3, 27, 8, 30, tzinfo=UTC), tick=False):
        with db.write() as s:
            sub = subscribe_channel(s, bob, "CWEB", timezone="Europe/Berlin")
        with db.read() as s:
            assert due_digests(s) == []  # today's 09:00 (08:00 UTC) was before it
    at = datetime(2026, 3, 28, 8, 0, 30, tzinfo=UTC)
    with db.read() as s:
        due = due_digests(s, at)
    assert [(d.subscription_id, d.slot) for d in due] == [
        (sub.id, datetime(2026, 3, 28, 8, 0, tzinfo=UTC))
    ]
    with db.write() as s:
        mark_sent(s, sub.id, at)
    with db.read() as s:
        assert due_digests(s, at + timedelta(hours=5)) == []
        assert len(due_digests(s, datetime(2026, 3, 29, 7, 0, tzinfo=UTC))) == 1
    with db.write() as s:
        pause_subscription(s, sub.id, "Paused: the channel is gone.", at, error="gone")
    with db.read() as s:
        assert due_digests(s, datetime(2026, 3, 30, 7, 0, tzinfo=UTC)) == []
        paused = channel_subscriptions(s, bob, "CWEB")[0]
        [record] = s.scalars(select(AuditLog).where(AuditLog.action == "digest.pause"))
    assert not paused.active and paused.paused_reason == "Paused: the channel is gone."
    assert record.details == {"error": "gone", "channel": "CWEB"} and record.user_id is None


def test_digest_lists_created_moved_finished_totals_and_urgent(db: Database) -> None:
    alice, bob = _setup(db)
    before = T0 - timedelta(days=2)
    with time_machine.travel(before, tick=False), db.write() as s:
        old = create_story(
            s,
            alice,
            "WEB",
            {"title": "Old login", "description": "d", "priority": "HIGH", "story_points": 5},
        )
        create_story(s, alice, "MOB", {"title": "Other project", "description": "d"})
        sub = subscribe_channel(s, bob, "CWEB")
    with time_machine.travel(T0 - timedelta(hours=20), tick=False), db.write() as s:
        mark_sent(s, sub.id, T0 - timedelta(hours=20))
    with time_machine.travel(T0 - timedelta(hours=3), tick=False), db.write() as s:
        new = create_story(
            s,
            bob,
            "WEB",
            {
                "title": "<!channel> Checkout",
                "description": "d",
                "priority": "CRITICAL",
                "story_points": 8,
            },
        )
        create_story(
            s,
            alice,
            "WEB",
            {"title": "Footer", "description": "d", "priority": "LOW", "story_points": 1},
        )
        move_story(s, bob, old.key, "IN_PROGRESS")
        assign_story(s, alice, new.key, "UBOB")
    with time_machine.travel(T0 - timedelta(hours=1), tick=False), db.write() as s:
        move_story(s, bob, old.key, "DONE")
        create_story(s, alice, "MOB", {"title": "Not in WEB", "description": "d"})
    with db.read() as s:
        d = compose_digest(s, sub.id, until=T0)
    assert d.since == T0 - timedelta(hours=20)
    assert [c.title for c in d.created] == ["<!channel> Checkout", "Footer"]
    assert d.created[0].by_slack_id == "UBOB" and d.created[0].assignee_slack_id == "UBOB"
    assert [(c.key, c.from_status, c.to_status, c.by_slack_id) for c in d.moved] == [
        (old.key, "DRAFT", "IN_PROGRESS", "UBOB")
    ]
    assert [(c.key, c.by_slack_id) for c in d.finished] == [(old.key, "UBOB")]
    assert {t.status: (t.count, t.points) for t in d.totals} == {"DRAFT": (2, 9), "DONE": (1, 5)}
    assert [u.key for u in d.urgent] == [new.key]  # the HIGH one is done now
    assert (d.open_count, d.open_points, d.quiet) == (2, 9, False)

    message = digest_message(d)
    text = str(message["blocks"])
    assert "&lt;!channel&gt; Checkout" in text and "<!channel>" not in text
    assert "<@UBOB>" in text and "Finished (1)" in text and len(message["blocks"]) <= 50


def test_a_long_period_lists_the_first_ten_of_each_section_and_counts_the_rest(
    db: Database,
) -> None:
    alice, bob = _setup(db)
    with time_machine.travel(T0 - timedelta(days=2), tick=False), db.write() as s:
        keys = [
            create_story(s, alice, "WEB", {"title": f"Story {i:02d}", "description": "d"}).key
            for i in range(16)
        ]
        sub = subscribe_channel(s, bob, "CWEB")
        mark_sent(s, sub.id, T0 - timedelta(days=1))
    for i, key in enumerate(keys):  # one move a minute; every fourth story is finished
        at = T0 - timedelta(hours=5) + timedelta(minutes=i)
        with time_machine.travel(at, tick=False), db.write() as s:
            move_story(s, bob, key, "DONE" if i % 4 == 3 else "IN_PROGRESS")
    with statements(db) as sent, db.read() as s:
        d = compose_digest(s, sub.id, until=T0)
    moved = [k for i, k in enumerate(keys) if i % 4 != 3]
    finished = [k for i, k in enumerate(keys) if i % 4 == 3]
    assert [c.key for c in d.moved] == moved[:10] and d.moved_total == 12
    assert [c.to_status for c in d.moved] == ["IN_PROGRESS"] * 10
    assert [c.key for c in d.finished] == finished and d.finished_total == 4
    assert d.created_total == 0
    assert "…and 2 more" in str(digest_message(d)["blocks"])
    # the audit rows are limited in SQL, and counted there: none is read to be dropped
    audit_reads = [q for q in sent if "audit_logs" in q]
    assert audit_reads and all("LIMIT" in q or "count(" in q for q in audit_reads), audit_reads


def test_a_quiet_period_gets_one_short_line(db: Database) -> None:
    alice, bob = _setup(db)
    with time_machine.travel(T0 - timedelta(days=3), tick=False), db.write() as s:
        create_story(s, alice, "WEB", {"title": "Idle", "description": "d", "story_points": 3})
        sub = subscribe_channel(s, bob, "CWEB", frequency="weekly")
    with db.read() as s:
        d = compose_digest(s, sub.id, until=T0 + timedelta(days=7))
    assert d.quiet
    message = digest_message(d)
    assert len(message["blocks"]) == 1
    assert "Quiet week on *WEB — Website*" in message["blocks"][0]["text"]["text"]
    assert "1 open story (3 pts)" in message["blocks"][0]["text"]["text"]


def test_personal_digest_lists_my_open_stories_and_what_others_changed(db: Database) -> None:
    alice, bob = _setup(db)
    with time_machine.travel(T0 - timedelta(days=2), tick=False), db.write() as s:
        mine = create_story(s, alice, "WEB", {"title": "Mine", "description": "d"})
        assign_story(s, alice, mine.key, "UBOB")
        sub = set_personal_digest(s, bob, True)
        mark_sent(s, sub.id, T0 - timedelta(days=1))
    with time_machine.travel(T0 - timedelta(hours=2), tick=False), db.write() as s:
        move_story(s, alice, mine.key, "READY")
        move_story(s, bob, mine.key, "IN_PROGRESS")  # my own change is not news to me
        other = create_story(s, alice, "MOB", {"title": "Given to me", "description": "d"})
        assign_story(s, alice, other.key, "UBOB")
    with db.read() as s:
        d = compose_digest(s, sub.id, until=T0)
    assert [s.key for s in d.open_stories] == [other.key, mine.key]
    assert [(c.key, c.action, c.by_slack_id) for c in d.moved] == [
        (mine.key, "story.move", "UALICE"),
        (other.key, "story.assign", "UALICE"),
    ]
    text = str(digest_message(d)["blocks"])
    assert "assigned to you" in text and "Your open stories (2)" in text
