"""Events API deduplication: each Slack event id is handled once, retries included."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ProcessedEvent, utcnow


def first_delivery(s: Session, event_id: str, team_id: str | None = None) -> bool:
    """Record `event_id` as handled; False when it was already (a retry or a duplicate)."""
    if s.scalar(select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == event_id)):
        return False
    try:
        # a savepoint, so a concurrent insert of the same id loses cleanly on both databases
        with s.begin_nested():
            s.add(ProcessedEvent(event_id=event_id[:64], team_id=team_id, received_at=utcnow()))
    except IntegrityError:
        return False
    return True


def forget_events_before(s: Session, cutoff: datetime) -> int:
    """Delete event ids received before `cutoff` (Slack retries for minutes, not days)."""
    result = s.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))
    return result.rowcount or 0
