"""Story changes as card updates, written in the change's own transaction.

Each story operation (storage/stories.py) calls `record`; for every channel following the
story's project whose filters the change matches, or that already shows the story, one
`CardUpdate` row is added. Nothing reaches Slack here: bot/live delivers them, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from storage.fields import PRIORITY_RANK
from storage.models import CardUpdate, LiveSubscription, StoryCard, new_id, utcnow

if TYPE_CHECKING:
    from storage.stories import StoryView


def record(
    s: Session,
    actor_slack_id: str | None,
    story: StoryView,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Queue the change `kind` (created, moved, assigned, done, deleted, edited) of `story`
    (as it is after the change) for the channels that follow its project."""
    # FOR SHARE (PostgreSQL): an unsubscribe committing meanwhile cannot pull a subscription
    # from under the updates written for it; it waits for this change, or is not seen
    subs = s.scalars(
        select(LiveSubscription)
        .where(
            LiveSubscription.project_id == story.project_id,
            LiveSubscription.paused_at.is_(None),
            or_(LiveSubscription.thread_ts == "", LiveSubscription.story_id == story.id),
        )
        .with_for_update(read=True)
    ).all()
    if not subs:
        return
    shown = set(
        s.scalars(
            select(StoryCard.subscription_id).where(
                StoryCard.story_id == story.id,
                StoryCard.subscription_id.in_([sub.id for sub in subs]),
            )
        )
    )
    due = [sub for sub in subs if sub.id in shown or matches(sub, story, kind, details or {})]
    if due:
        # one executemany, not an ORM object per channel: this runs inside every change
        s.execute(
            insert(CardUpdate),
            [_row(sub.id, actor_slack_id, story, kind, details) for sub in due],
        )


def queue(
    s: Session,
    sub: LiveSubscription,
    actor_slack_id: str | None,
    story: StoryView,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    """One change of `story` for one subscription, to be delivered once."""
    s.execute(insert(CardUpdate), [_row(sub.id, actor_slack_id, story, kind, details)])


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


def matches(sub: LiveSubscription, story: StoryView, kind: str, details: dict[str, Any]) -> bool:
    """Whether a channel that does not show the story yet should, for this change."""
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
