"""Slot claims (one winner among processes) and the session cleanup job."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from prometheus_client import REGISTRY
from sqlalchemy import select

from bot.scheduler import Jobs
from storage.db import Database
from storage.models import ProcessedEvent, SchedulerRun, Session, utcnow
from storage.scheduler_runs import claim_slot, finish_slot, list_runs
from storage.sessions import create_session
from storage.users import ensure_user
from tests.scheduler.conftest import scheduler_settings

SLOT = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_one_claimant_wins_a_slot_among_many_processes(db: Database) -> None:
    engines = [Database(db.url) for _ in range(6)]  # separate engines, as separate processes
    barrier = threading.Barrier(len(engines))
    wins: list[bool] = []

    def claim(engine: Database) -> None:
        barrier.wait()
        wins.append(claim_slot(engine, "digest:abc", SLOT))

    threads = [threading.Thread(target=claim, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert sorted(wins) == [False] * 5 + [True]
    # another slot, or another job at the same slot, is a separate claim
    assert claim_slot(db, "digest:abc", SLOT + timedelta(days=1))
    assert claim_slot(db, "digest:xyz", SLOT)
    finish_slot(db, "digest:abc", SLOT, status="DONE", detail="posted")
    runs = list_runs(db, "digest:abc")
    assert [(r.scheduled_for, r.status) for r in runs] == [
        (SLOT + timedelta(days=1), "RUNNING"),
        (SLOT, "DONE"),
    ]


def test_a_stale_running_claim_is_taken_over_once(db: Database) -> None:
    with time_machine.travel(SLOT, tick=False):
        assert claim_slot(db, "digest:abc", SLOT, claimed_by="dead:1")
    with time_machine.travel(SLOT + timedelta(minutes=5), tick=False):
        assert not claim_slot(db, "digest:abc", SLOT, stale_after=timedelta(minutes=10))
    with time_machine.travel(SLOT + timedelta(minutes=11), tick=False):
        assert claim_slot(db, "digest:abc", SLOT, stale_after=timedelta(minutes=10))
        assert not claim_slot(db, "digest:abc", SLOT, stale_after=timedelta(minutes=10))
        assert not claim_slot(db, "digest:abc", SLOT)  # without takeover: never
    finish_slot(db, "digest:abc", SLOT, status="DONE")
    with time_machine.travel(SLOT + timedelta(hours=5), tick=False):
        assert not claim_slot(db, "digest:abc", SLOT, stale_after=timedelta(minutes=10))


def _deleted_metric() -> float:
    return REGISTRY.get_sample_value("autodevhub_sessions_expired_deleted_total") or 0.0


def test_cleanup_deletes_only_expired_sessions(db: Database, tmp_path: Path) -> None:
    # the seed's insert trigger compares with the database's own clock: start at real now
    start = utcnow().replace(microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False), db.write() as s:
        actor = ensure_user(s, "T1", "U1")
        short = [
            create_session(s, actor, "draft", {"n": i}, timedelta(minutes=10)) for i in range(3)
        ]
        long = [create_session(s, actor, "draft", {"n": i}, timedelta(hours=2)) for i in range(2)]
    assert len(short) == 3 and len(long) == 2
    jobs = Jobs(scheduler_settings(db, tmp_path), db)
    before = _deleted_metric()
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        assert jobs.cleanup_sessions() == 0
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        assert jobs.cleanup_sessions() == 3
    with db.read() as s:
        left = s.scalars(select(Session.expires_at)).all()
    assert sorted(left) == [start + timedelta(hours=2)] * 2
    assert _deleted_metric() - before == 3
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        assert jobs.cleanup_sessions() == 2


def test_cleanup_runs_once_per_five_minute_slot_across_processes(
    db: Database, tmp_path: Path
) -> None:
    a = Jobs(scheduler_settings(db, tmp_path), db)
    other = Database(db.url)
    b = Jobs(scheduler_settings(other, tmp_path), other)
    try:
        with time_machine.travel(datetime(2026, 5, 1, 12, 7, 30, tzinfo=UTC), tick=False):
            a.run_cleanup()
            b.run_cleanup()
        with time_machine.travel(datetime(2026, 5, 1, 12, 9, 59, tzinfo=UTC), tick=False):
            b.run_cleanup()  # same slot (12:05) still
        with time_machine.travel(datetime(2026, 5, 1, 12, 10, 1, tzinfo=UTC), tick=False):
            b.run_cleanup()
    finally:
        other.dispose()
    with db.read() as s:
        slots = s.scalars(
            select(SchedulerRun.scheduled_for)
            .where(SchedulerRun.job_id == "sessions.cleanup")
            .order_by(SchedulerRun.scheduled_for)
        ).all()
    assert slots == [
        datetime(2026, 5, 1, 12, 5, tzinfo=UTC),
        datetime(2026, 5, 1, 12, 10, tzinfo=UTC),
    ]


def test_nightly_backup_slot_is_one_per_local_day_across_dst(db: Database, tmp_path: Path) -> None:
    jobs = Jobs(
        scheduler_settings(
            db, tmp_path, AUTODEVHUB_TIMEZONE="Europe/Berlin", AUTODEVHUB_BACKUP_TIME="02:30"
        ),
        db,
    )
    # autumn: APScheduler fires a 02:30 cron twice (CEST, then CET): both are one slot
    first, second = (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )
    assert jobs.backup_slot(first) == jobs.backup_slot(second) == first
    # spring: 02:30 does not exist; APScheduler fires at 01:30 UTC, which is the slot
    spring = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert jobs.backup_slot(spring) == spring
    assert jobs.backup_slot(spring - timedelta(seconds=1)) == datetime(
        2026, 3, 28, 1, 30, tzinfo=UTC
    )


def test_cleanup_forgets_event_ids_older_than_a_day(db: Database, tmp_path: Path) -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    with db.write() as s:
        s.add(ProcessedEvent(event_id="Ev_old", team_id="T1", received_at=now - timedelta(days=2)))
        s.add(ProcessedEvent(event_id="Ev_new", team_id="T1", received_at=now - timedelta(hours=1)))
    jobs = Jobs(scheduler_settings(db, tmp_path), db)
    with time_machine.travel(now, tick=False):
        jobs.cleanup_sessions()
    with db.read() as s:
        assert s.scalars(select(ProcessedEvent.event_id)).all() == ["Ev_new"]
