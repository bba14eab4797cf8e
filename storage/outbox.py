"""Story changes as card updates: recorded in the change's own transaction, fanned out after.

Each story operation (storage/stories.py) calls `record`, which writes one `StoryChange`
row. The card workers call `fan_out`: for every channel following the story's project whose
filters the change matches, or that already shows the story, one `CardUpdate` row. Nothing
reaches Slack here: bot/live delivers them, once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, or_, select
from sqlalchemy.orm import Session

from storage.fields import PRIORITY_RANK
from storage.models import CardUpdate, LiveSubscription, StoryCard, StoryChange, new_id, utcnow

if TYPE_CHECKING:
    from storage.stories import StoryView


_CHANGE_COLUMNS = [c for c in StoryChange.__table__.columns if c.name != "team_id"]
# One statement, written only if a channel follows the project (one subscription, found by
# its index, gives the row its workspace): nothing piles up for the workspaces, or the
# console, that follow nothing. Each parameter has its column's type (psycopg's dialect
# casts the JSON ones for PostgreSQL).
_CHANGE = insert(StoryChange).from_select(
    [*(c.name for c in _CHANGE_COLUMNS), "team_id"],
    select(*(bindparam(c.name, type_=c.type) for c in _CHANGE_COLUMNS), LiveSubscription.team_id)
    .where(LiveSubscription.project_id == bindparam("project_id"))
    .limit(1),
)
_QUEUE = CardUpdate.__table__.insert()


def record(
    s: Session,
    actor_slack_id: str | None,
    story: StoryView,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Queue the change `kind` (created, moved, assigned, done, deleted, edited) of `story`
    (as it is after the change): one row if any channel follows its project (`fan_out`
    decides which).

    One statement: this runs inside every story change, and on SQLite's one writer its cost
    is every change's (BENCHMARKS.md section 6)."""
    s.connection().execute(
        _CHANGE,
        {
            "id": new_id(),
            "project_id": story.project_id,
            "story_id": story.id,
            "kind": kind,
            "actor_slack_id": actor_slack_id,
            "details": _details(story, details),
            "priority": story.priority,
            "assignee_slack_id": story.assignee_slack_id,
            "tags": list(story.tags or []),
            "created_at": utcnow(),
        },
    )


def waiting(s: Session) -> bool:
    """Whether any change waits to be fanned out."""
    return s.scalar(select(StoryChange.id).limit(1)) is not None


def fan_out(s: Session, *, limit: int = 500) -> int:
    """Turn up to `limit` waiting changes, oldest first, into a card update for each channel
    that follows the story's project and that the change matches (or that shows the story
    already), and delete them; all in the caller's transaction. Returns how many.

    Rows are locked (PostgreSQL: SKIP LOCKED, so replicas share the work and none fans a
    change out twice) and the subscriptions read FOR SHARE: an unsubscribe committing
    meanwhile waits for this transaction, or is not seen. A card update keeps its change's
    time: the coalescing window and the thread's order count from the change."""
    changes = s.scalars(
        select(StoryChange)
        .order_by(StoryChange.created_at, StoryChange.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not changes:
        return 0
    rows: list[dict[str, Any]] = []
    by_project: dict[str, list[StoryChange]] = {}
    for change in changes:
        by_project.setdefault(change.project_id, []).append(change)
    for project_id, its in by_project.items():
        stories = {c.story_id for c in its}
        subs = s.scalars(
            select(LiveSubscription)
            .where(
                LiveSubscription.project_id == project_id,
                LiveSubscription.paused_at.is_(None),
                or_(LiveSubscription.thread_ts == "", LiveSubscription.story_id.in_(stories)),
            )
            .with_for_update(read=True)
        ).all()
        if not subs:
            continue
        shown = {
            (subscription_id, story_id)
            for subscription_id, story_id in s.execute(
                select(StoryCard.subscription_id, StoryCard.story_id).where(
                    StoryCard.subscription_id.in_([sub.id for sub in subs]),
                    StoryCard.story_id.in_(stories),
                )
            )
        }
        for change in its:
            for sub in subs:
                if change.created_at < sub.created_at:
                    continue  # it follows from its start (a thread gets its first card queued)
                if sub.thread_ts and sub.story_id != change.story_id:
                    continue
                card = (sub.id, change.story_id)
                if card in shown or matches(sub, change, change.kind, change.details):
                    shown.add(card)  # its card will exist: the story's next changes go too
                    rows.append(
                        _card_update(
                            sub.id,
                            change.story_id,
                            change.kind,
                            change.actor_slack_id,
                            change.details,
                            change.created_at,
                        )
                    )
    if rows:
        s.connection().execute(_QUEUE, rows)
    s.execute(
        delete(StoryChange)
        .where(StoryChange.id.in_([c.id for c in changes]))
        .execution_options(synchronize_session=False)
    )
    return len(changes)


def queue(
    s: Session,
    sub: LiveSubscription,
    actor_slack_id: str | None,
    story: StoryView,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    """One change of `story` for one subscription, to be delivered once."""
    update = _card_update(
        sub.id, story.id, kind, actor_slack_id, _details(story, details), utcnow()
    )
    s.connection().execute(_QUEUE, [update])


def _card_update(
    subscription_id: str,
    story_id: str,
    kind: str,
    actor_slack_id: str | None,
    details: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """A `card_updates` row: one change for one subscription, due from the change's time."""
    return {
        "id": new_id(),
        "subscription_id": subscription_id,
        "story_id": story_id,
        "kind": kind,
        "actor_slack_id": actor_slack_id,
        "details": details,
        "state": "pending",
        "attempts": 0,
        "created_at": at,
        "due_at": at,
    }


def _details(story: StoryView, details: dict[str, Any] | None) -> dict[str, Any]:
    """What a thread line and a deleted story's card show: its key and title, and more."""
    return {"key": story.key, "title": story.title, **(details or {})}


def matches(sub: LiveSubscription, story: Any, kind: str, details: dict[str, Any]) -> bool:
    """Whether a channel that does not show the story yet should, for this change (`story`:
    its priority, assignee_slack_id and tags as the change left them)."""
    events = set(sub.events or ())
    if not (kind in events or (kind == "done" and "moved" in events)):
        return False
    if sub.min_priority and PRIORITY_RANK[story.priority] > PRIORITY_RANK[sub.min_priority]:
        return False
    if sub.assignee_slack_id and sub.assignee_slack_id not in (
        story.assignee_slack_id,
        details.get("from"),
    ):
        return False
    return not (sub.tag and sub.tag not in (story.tags or []))
