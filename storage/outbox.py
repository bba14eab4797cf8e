"""Story changes as card updates, written in the change's own transaction.

Each story operation (storage/stories.py) calls `record`; for every channel following the
story's project whose filters the change matches, or that already shows the story, one
`CardUpdate` row is added. Nothing reaches Slack here: bot/live delivers them, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from storage.fields import PRIORITY_RANK
from storage.models import CardUpdate, LiveSubscription, StoryCard, new_id, utcnow

if TYPE_CHECKING:
    from storage.stories import StoryView


# Built once: this runs inside every story change, where a fresh expression per call and
# ORM objects per subscription cost more than the statements themselves (BENCHMARKS.md 6).
# FOR SHARE (PostgreSQL): an unsubscribe committing meanwhile cannot pull a subscription
# from under the updates written for it; it waits for this change, or is not seen.
_FOLLOWING = (
    select(
        LiveSubscription.id,
        LiveSubscription.events,
        LiveSubscription.min_priority,
        LiveSubscription.assignee_slack_id,
        LiveSubscription.tag,
        StoryCard.id.is_not(None).label("shown"),
    )
    .outerjoin(
        StoryCard,
        and_(
            StoryCard.subscription_id == LiveSubscription.id,
            StoryCard.story_id == bindparam("story_id"),
        ),
    )
    .where(
        LiveSubscription.project_id == bindparam("project_id"),
        LiveSubscription.paused_at.is_(None),
        or_(LiveSubscription.thread_ts == "", LiveSubscription.story_id == bindparam("story_id")),
    )
    .with_for_update(read=True, of=LiveSubscription)
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
    (as it is after the change) for the channels that follow its project: those whose
    filters the change matches, and those that already show the story."""
    s.flush()  # the change first, then the subscriptions: the order every writer locks in
    conn = s.connection()
    following = conn.execute(_FOLLOWING, {"story_id": story.id, "project_id": story.project_id})
    due = [sub.id for sub in following if sub.shown or matches(sub, story, kind, details or {})]
    if due:
        conn.execute(_QUEUE, [_row(sub_id, actor_slack_id, story, kind, details) for sub_id in due])


def queue(
    s: Session,
    sub: LiveSubscription,
    actor_slack_id: str | None,
    story: StoryView,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    """One change of `story` for one subscription, to be delivered once."""
    s.connection().execute(_QUEUE, [_row(sub.id, actor_slack_id, story, kind, details)])


def _row(
    subscription_id: str,
    actor_slack_id: str | None,
    story: StoryView,
    kind: str,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(),
        "subscription_id": subscription_id,
        "story_id": story.id,
        "kind": kind,
        "actor_slack_id": actor_slack_id,
        "details": {"key": story.key, "title": story.title, **(details or {})},
        "state": "pending",
        "attempts": 0,
        "created_at": now,
        "due_at": now,
    }


def matches(sub: Any, story: StoryView, kind: str, details: dict[str, Any]) -> bool:
    """Whether a channel that does not show the story yet should, for this change (`sub`:
    a row with the subscription's events, min_priority, assignee_slack_id and tag)."""
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
