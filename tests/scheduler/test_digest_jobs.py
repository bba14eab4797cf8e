"""Digest and backup jobs against the fake Slack Web API: once per slot, DST, refusals, admins."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from bot.clients import workspace_clients
from bot.scheduler import Jobs, Scheduler
from storage.backup.files import list_backups
from storage.db import Database
from storage.digests.subscriptions import channel_subscriptions, subscribe_channel
from storage.models import SchedulerRun
from storage.projects import create_project, link_channel
from storage.stories import create_story
from storage.users import ensure_user, grant_admin
from tests.fakes.slack_api import FakeSlackAPI
from tests.scheduler.conftest import scheduler_settings

BERLIN = "Europe/Berlin"


def _channels(db: Database, n: int, *, at: datetime, tz: str = BERLIN) -> list[str]:
    """n projects, each linked to its channel with a daily 09:00 digest; returns channel ids."""
    channels = []
    with time_machine.travel(at, tick=False), db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        for i in range(n):
            key, channel = f"P{i}X", f"C{i:04d}"
            create_project(s, alice, {"name": f"Project {i}", "key": key})
            link_channel(s, alice, key, channel)
            create_story(s, alice, key, {"title": f"Story of {key}", "description": "d"})
            subscribe_channel(s, alice, channel, timezone=tz)
            channels.append(channel)
    return channels


def _jobs(db: Database, tmp_path: Path, fake: FakeSlackAPI, **overrides: str) -> Jobs:
    settings = scheduler_settings(db, tmp_path, fake, **overrides)
    return Jobs(settings, db, workspace_clients(settings, db))


def _digest_posts(fake: FakeSlackAPI) -> list[str]:
    return [
        c.params["channel"]
        for c in fake.calls_to("chat.postMessage")
        if str(c.params.get("channel", "")).startswith("C")
    ]


@pytest.mark.parametrize(
    ("start", "fires_at"),
    [
        # Saturday, winter time: 09:00 Berlin = 08:00 UTC
        (datetime(2026, 3, 28, 7, 59, 57, tzinfo=UTC), datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
        # Sunday, after the clocks went forward: 09:00 Berlin = 07:00 UTC
        (datetime(2026, 3, 29, 6, 59, 57, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
def test_two_schedulers_on_one_database_post_each_digest_once_at_0900_berlin(
    db: Database, tmp_path: Path, fake_slack: FakeSlackAPI, start: datetime, fires_at: datetime
) -> None:
    fake_slack.reset()
    channels = _channels(db, 3, at=datetime(2026, 3, 27, 10, 0, tzinfo=UTC))
    other = Database(db.url)  # a second process: its own engine and connections
    schedulers = [
        Scheduler(_jobs(d, tmp_path, fake_slack, AUTODEVHUB_TIMEZONE=BERLIN)) for d in (db, other)
    ]
    try:
        with time_machine.travel(start, tick=True):
            for scheduler in schedulers:
                scheduler.start(startup_backup=False)
            time.sleep(1.5)
            assert _digest_posts(fake_slack) == [], "nothing before 09:00 Berlin"
            fake_slack.wait_for("chat.postMessage", count=3, timeout=15)
            time.sleep(1.0)  # give a duplicate every chance to arrive
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
        other.dispose()
    assert sorted(_digest_posts(fake_slack)) == channels
    with db.read() as s:
        slots = s.execute(
            select(SchedulerRun.job_id, SchedulerRun.scheduled_for, SchedulerRun.status).where(
                SchedulerRun.job_id.like("digest:%")
            )
        ).all()
    assert len(slots) == 3
    assert {(slot, status) for _job, slot, status in slots} == {(fires_at, "DONE")}


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_slack_refusals_pause_the_subscription_and_tell_its_creator(
    db: Database, tmp_path: Path, fake_slack: FakeSlackAPI, error: str
) -> None:
    fake_slack.reset()
    [channel] = _channels(db, 1, at=datetime(2026, 3, 27, 10, 0, tzinfo=UTC), tz="UTC")
    jobs = _jobs(db, tmp_path, fake_slack)
    fake_slack.fail("chat.postMessage", error)
    day = datetime(2026, 3, 28, 9, 0, 5, tzinfo=UTC)
    deliveries = jobs.send_due_digests(day)
    assert [(d.outcome, d.detail) for d in deliveries] == [("paused", error)]
    [note] = fake_slack.calls_to("chat.postMessage", lambda c: c.params["channel"] == "UALICE")
    assert "I paused the daily digest of *P0X*" in note.text_of()
    assert f"({error})" in note.text_of() and "/invite" in note.text_of()
    with db.read() as s:
        alice = ensure_user(s, "T1", "UALICE")
        [view] = channel_subscriptions(s, alice, channel)
    why = {
        "channel_not_found": "the channel no longer exists or I cannot see it",
        "not_in_channel": "I am not a member of the channel",
        "is_archived": "the channel is archived",
    }[error]
    assert view.paused_reason == f"Paused 2026-03-28 09:00 UTC: {why} ({error})."
    assert not view.active and why in note.text_of()
    # not retried: the next days post nothing
    fake_slack.reset()
    assert jobs.send_due_digests(day + timedelta(days=1)) == []
    assert jobs.send_due_digests(day + timedelta(days=2)) == []
    assert fake_slack.calls_to("chat.postMessage") == []
    # resuming with `digest on` makes it due again from the next slot
    with time_machine.travel(day + timedelta(days=29), tick=False), db.write() as s:
        subscribe_channel(s, alice, channel)
    assert jobs.send_due_digests(day + timedelta(days=29, minutes=5)) == []
    assert [d.outcome for d in jobs.send_due_digests(day + timedelta(days=30))] == ["posted"]


def test_a_transient_error_keeps_the_subscription_and_the_next_digest_covers_the_gap(
    db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.reset()
    _channels(db, 1, at=datetime(2026, 3, 27, 10, 0, tzinfo=UTC), tz="UTC")
    jobs = _jobs(db, tmp_path, fake_slack)
    fake_slack.fail("chat.postMessage", "internal_error")
    day = datetime(2026, 3, 28, 9, 0, 5, tzinfo=UTC)
    assert [d.outcome for d in jobs.send_due_digests(day)] == ["failed"]
    assert jobs.send_due_digests(day + timedelta(minutes=1)) == []  # the slot stays claimed
    with time_machine.travel(day - timedelta(hours=20), tick=False), db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        create_story(s, alice, "P0X", {"title": "Before the failed post", "description": "d"})
    assert [d.outcome for d in jobs.send_due_digests(day + timedelta(days=1))] == ["posted"]
    posted = fake_slack.calls_to("chat.postMessage")[-1]
    # from the subscription's start: the story of the failed day is not lost
    assert "Since Fri 27 Mar 10:00" in posted.text_of()
    assert "Before the failed post" in posted.text_of()


def test_startup_backup_only_when_the_newest_is_older_than_a_day(
    db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    a = _jobs(db, tmp_path, fake_slack)
    other = Database(db.url)
    b = _jobs(other, tmp_path, fake_slack)
    try:
        with time_machine.travel(datetime(2026, 4, 1, 10, 0, tzinfo=UTC), tick=False):
            assert a.backup_is_stale()
            a.run_startup_backup()
            b.run_startup_backup()  # a second process starting at the same time
            assert len(list_backups(tmp_path / "backups")) == 1
        with time_machine.travel(datetime(2026, 4, 2, 9, 0, tzinfo=UTC), tick=False):
            b.run_startup_backup()  # 23 hours old: fresh enough
            assert len(list_backups(tmp_path / "backups")) == 1
        with time_machine.travel(datetime(2026, 4, 2, 11, 0, tzinfo=UTC), tick=False):
            b.run_startup_backup()
            assert len(list_backups(tmp_path / "backups")) == 2
    finally:
        other.dispose()


def test_a_failed_backup_tells_the_admins_and_leaves_nothing(
    sqlite_db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.reset()
    with sqlite_db.write() as s:
        ensure_user(s, "T1", "UADMIN")  # first member of T1: admin
        ensure_user(s, "T1", "UMEMBER")
        ensure_user(s, "T2", "UADMIN2")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the backup directory should be")
    jobs = _jobs(sqlite_db, tmp_path, fake_slack, AUTODEVHUB_BACKUP_DIR=str(blocked / "b"))
    with time_machine.travel(datetime(2026, 4, 1, 2, 0, 1, tzinfo=UTC), tick=False):
        jobs.run_nightly_backup()
    told = sorted(c.params["channel"] for c in fake_slack.calls_to("chat.postMessage"))
    assert told == ["UADMIN", "UADMIN2"]
    assert "backup failed" in fake_slack.calls_to("chat.postMessage")[0].text_of()
    with sqlite_db.read() as s:
        run = s.scalars(select(SchedulerRun).where(SchedulerRun.job_id == "backup.nightly")).one()
    assert run.status == "FAILED" and run.scheduled_for == datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    assert blocked.read_text().startswith("a file")


def test_a_run_makes_one_web_api_client_per_workspace(
    sqlite_db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.reset()
    channels = _channels(sqlite_db, 3, at=datetime(2026, 3, 27, 10, 0, tzinfo=UTC), tz="UTC")
    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        grant_admin(s, alice, "UBOB")
        ensure_user(s, "T2", "UEVE")  # first member of T2: its admin
    settings = scheduler_settings(sqlite_db, tmp_path, fake_slack)
    clients = workspace_clients(settings, sqlite_db)
    made: list[str] = []

    def counted(team_id: str):
        made.append(team_id)
        return clients(team_id)  # type: ignore[misc]

    jobs = Jobs(settings, sqlite_db, counted)
    posted = jobs.send_due_digests(datetime(2026, 3, 28, 9, 0, 5, tzinfo=UTC))
    assert [d.outcome for d in posted] == ["posted"] * 3
    assert sorted(_digest_posts(fake_slack)) == channels
    assert made == ["T1"]  # three digests, one client
    made.clear()
    assert jobs.tell_admins({"text": "backup failed"}) == 3
    told = sorted(c.params["channel"] for c in fake_slack.calls_to("chat.postMessage"))
    assert [u for u in told if u.startswith("U")] == ["UALICE", "UBOB", "UEVE"]
    assert made == ["T1", "T2"]  # two admins of T1 share a client
