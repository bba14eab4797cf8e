"""A project's cumulative flow: how many of its stories were in each status, day by day.

Rebuilt from what is stored: each story's creation time and current status, and the audit
trail of its status changes (`story.move`, and `story.update` when an edit changed the
status). Walking back from today, every change after a day's end is undone, so a day's
count is the stories that existed then, in the status they had then.

Where history is missing the chart stays honest about what it knows: a story whose moves
were never recorded (imported, or older than the audit trail) counts in its current status
from its creation on, and a deleted story is gone from every day (its rows no longer say
which project it was in). A change recorded with a `from` that disagrees with the status
known at the time is taken at its word: the audit trail is the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.fields import STATUSES
from storage.models import AuditLog, DigestSubscription, UserStory

# The weekly digest's chart covers the last four weeks.
FLOW_DAYS = 28


@dataclass(frozen=True)
class CumulativeFlow:
    """Stories per status at the end of each day (the last day: at `until`), oldest first."""

    days: tuple[date, ...]
    counts: dict[str, tuple[int, ...]]  # status -> one count per day, in STATUSES order

    def total(self, i: int) -> int:
        """All stories on day `i` (the scope)."""
        return sum(series[i] for series in self.counts.values())

    def on(self, day: date) -> dict[str, int]:
        """Stories per status at the end of `day`."""
        i = self.days.index(day)
        return {status: series[i] for status, series in self.counts.items()}

    @property
    def empty(self) -> bool:
        return not self.days or self.total(len(self.days) - 1) == 0


def _status_change(action: str, details: dict | None) -> tuple[str | None, str | None] | None:
    """(from, to) of a status change recorded in an audit row; None when it changed no status."""
    details = details or {}
    if action == "story.update":
        details = (details.get("changes") or {}).get("status") or {}
    if "to" not in details:
        return None
    return details.get("from"), details.get("to")


def cumulative_flow(
    s: Session,
    project_id: str,
    *,
    until: datetime,
    timezone: str = "UTC",
    days: int = FLOW_DAYS,
) -> CumulativeFlow:
    """The project's stories per status at the end of each of the last `days` local days
    (the subscription's zone); the first day is the first on which a story existed, when
    that is later. The last day is counted at `until`."""
    tz = ZoneInfo(timezone)
    last_day = until.astimezone(tz).date()
    all_days = [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]

    def day_end(day: date) -> datetime:
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(until.tzinfo)
        return min(end, until)

    stories = s.execute(
        select(UserStory.id, UserStory.created_at, UserStory.status).where(
            UserStory.project_id == project_id, UserStory.created_at <= until
        )
    ).all()
    if not stories:
        return CumulativeFlow((), {status: () for status in STATUSES})
    first = min(created for _id, created, _status in stories).astimezone(tz).date()
    shown_days = [d for d in all_days if d >= first] or all_days[-1:]
    start = day_end(shown_days[0])
    # newest first: the walk back undoes them in this order
    changes = s.execute(
        select(AuditLog.resource_id, AuditLog.created_at, AuditLog.action, AuditLog.details)
        .join(UserStory, UserStory.id == AuditLog.resource_id)
        .where(
            UserStory.project_id == project_id,
            AuditLog.team_id == UserStory.team_id,
            AuditLog.resource_type == "story",
            AuditLog.action.in_(("story.move", "story.update")),
            AuditLog.created_at > start,
        )
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    ).all()
    status = {story_id: current for story_id, _created, current in stories}
    created = {story_id: at for story_id, at, _current in stories}
    counts: dict[str, list[int]] = {name: [] for name in STATUSES}
    pending = iter(changes)
    change = next(pending, None)
    for day in reversed(shown_days):
        end = day_end(day)
        while change is not None and change.created_at > end:
            moved = _status_change(change.action, change.details)
            if moved is not None and moved[0] in STATUSES and change.resource_id in status:
                status[change.resource_id] = moved[0]
            change = next(pending, None)
        tally = dict.fromkeys(STATUSES, 0)
        for story_id, at in created.items():
            if at <= end:
                tally[status[story_id]] += 1
        for name in STATUSES:
            counts[name].append(tally[name])
    return CumulativeFlow(
        tuple(shown_days), {name: tuple(reversed(series)) for name, series in counts.items()}
    )


def digest_flow(
    s: Session, subscription_id: str, *, until: datetime, days: int = FLOW_DAYS
) -> CumulativeFlow | None:
    """The flow a channel digest's chart shows: its project's, days in its zone (None for a
    personal digest or a subscription that is gone)."""
    sub = s.get(DigestSubscription, subscription_id)
    if sub is None or sub.project_id is None:
        return None
    return cumulative_flow(s, sub.project_id, until=until, timezone=sub.timezone, days=days)
