"""The scheduler's side of digests: which are due, and recording one as sent or paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.digests.schedule import latest_slot
from storage.models import AuditLog, DigestSubscription, utcnow


@dataclass(frozen=True)
class DueDigest:
    """A subscription whose scheduled slot has come (and was not sent yet)."""

    subscription_id: str
    team_id: str
    slot: datetime


def due_digests(s: Session, now: datetime | None = None) -> list[DueDigest]:
    """Active subscriptions whose latest slot is after their last digest (or their creation)."""
    now = now or utcnow()
    due = []
    for sub in s.scalars(select(DigestSubscription).where(DigestSubscription.active.is_(True))):
        slot = latest_slot(sub.frequency, sub.time_of_day, sub.weekday, sub.timezone, now)
        if slot > (sub.last_sent_at or sub.created_at):
            due.append(DueDigest(sub.id, sub.team_id, slot))
    return due


def mark_sent(s: Session, subscription_id: str, until: datetime) -> None:
    """The digest covering up to `until` went out: the next one starts there."""
    sub = s.get(DigestSubscription, subscription_id)
    if sub is not None and (sub.last_sent_at is None or until > sub.last_sent_at):
        sub.last_sent_at = until


def pause_subscription(
    s: Session, subscription_id: str, reason: str, now: datetime, *, error: str | None = None
) -> None:
    """Stop a subscription that cannot be delivered; `reason` is kept for people to read,
    `error` (the delivery's error code) in the audit trail."""
    sub = s.get(DigestSubscription, subscription_id)
    if sub is not None:
        sub.active, sub.paused_reason = False, reason
        sub.updated_at = now
        s.add(
            AuditLog(
                team_id=sub.team_id,
                user_id=None,
                action="digest.pause",
                resource_type="digest",
                resource_id=sub.id,
                details={"error": error, "channel": sub.channel_id},
                created_at=now,
            )
        )
        s.flush()
