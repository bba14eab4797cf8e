"""Scheduler slot claims: (job, scheduled time) is inserted once, so N processes run a slot once."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import SchedulerRun, utcnow

log = logging.getLogger(__name__)

RUN_STATUSES = ("RUNNING", "DONE", "FAILED", "SKIPPED")


def process_name() -> str:
    """Who claims: host and pid, so a stuck claim can be traced to its process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclass(frozen=True)
class RunView:
    job_id: str
    scheduled_for: datetime
    claimed_by: str
    claimed_at: datetime
    finished_at: datetime | None
    status: str
    detail: str | None


def _slot_instant(scheduled_for: datetime) -> datetime:
    if scheduled_for.tzinfo is None:
        raise ValueError("scheduled_for must be timezone-aware")
    # one slot is one instant: microseconds would let clocks that differ slightly both win
    return scheduled_for.replace(microsecond=0)


def claim_slot(
    db: Database,
    job_id: str,
    scheduled_for: datetime,
    *,
    claimed_by: str | None = None,
    stale_after: timedelta | None = None,
) -> bool:
    """Claim (job_id, scheduled_for) in its own transaction; False when another run has it.

    With `stale_after`, a claim still RUNNING that long after it was taken is presumed
    abandoned (its process died) and is taken over, by exactly one claimant.
    """
    slot = _slot_instant(scheduled_for)
    me = claimed_by or process_name()
    try:
        with db.write() as s:
            s.add(
                SchedulerRun(
                    job_id=job_id,
                    scheduled_for=slot,
                    claimed_by=me,
                    claimed_at=utcnow(),
                    status="RUNNING",
                )
            )
    except IntegrityError:
        return stale_after is not None and _take_over(db, job_id, slot, me, stale_after)
    return True


def _take_over(db: Database, job_id: str, slot: datetime, me: str, stale_after: timedelta) -> bool:
    now = utcnow()
    with db.write() as s:
        result = s.execute(
            update(SchedulerRun)
            .where(
                SchedulerRun.job_id == job_id,
                SchedulerRun.scheduled_for == slot,
                SchedulerRun.status == "RUNNING",
                SchedulerRun.claimed_at < now - stale_after,
            )
            .values(claimed_by=me, claimed_at=now, detail="taken over from a stale claim")
        )
        taken = (result.rowcount or 0) == 1
    if taken:
        log.warning("took over the stale claim of %s at %s", job_id, slot.isoformat())
    return taken


def finish_slot(
    db: Database, job_id: str, scheduled_for: datetime, *, status: str, detail: str | None = None
) -> None:
    """Record how a claimed run ended (DONE, FAILED, SKIPPED) and why."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    with db.write() as s:
        s.execute(
            update(SchedulerRun)
            .where(
                SchedulerRun.job_id == job_id,
                SchedulerRun.scheduled_for == _slot_instant(scheduled_for),
            )
            .values(status=status, detail=(detail or None), finished_at=utcnow())
        )


def list_runs(db: Database, job_id: str | None = None, *, limit: int = 50) -> list[RunView]:
    """The latest claimed runs, newest first (for `check`, tests and operators)."""
    stmt = select(SchedulerRun).order_by(SchedulerRun.scheduled_for.desc(), SchedulerRun.id.desc())
    if job_id is not None:
        stmt = stmt.where(SchedulerRun.job_id == job_id)
    with db.read() as s:
        return [
            RunView(
                r.job_id,
                r.scheduled_for,
                r.claimed_by,
                r.claimed_at,
                r.finished_at,
                r.status,
                r.detail,
            )
            for r in s.scalars(stmt.limit(limit))
        ]


def prune_runs(db: Database, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete run claims older than `older_than`; the unique key only matters near the slot."""
    cutoff = (now or utcnow()) - older_than
    with db.write() as s:
        result = s.execute(delete(SchedulerRun).where(SchedulerRun.scheduled_for < cutoff))
        return int(result.rowcount or 0)
