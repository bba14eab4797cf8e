"""A channel following a project: subscribe (or change the filters, or resume), unsubscribe,
list. Any member may subscribe a channel; its subscriber, the project's owner or an admin
may change or remove the subscription. Every change has its audit row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from storage import audit, outbox
from storage.errors import NotFound, PermissionDenied, ValidationFailed
from storage.fields import PRIORITIES, TAG_CHARS, not_one_of, vocabulary_word
from storage.models import LIVE_EVENTS, AuditLog, LiveSubscription, Project, User, utcnow
from storage.projects import find_project
from storage.users import Actor
from storage.validation import check_slack_id

DEFAULT_EVENTS = tuple(e for e in LIVE_EVENTS if e != "deleted")


@dataclass(frozen=True)
class Filters:
    """Which changes of the project's stories a channel sees."""

    events: tuple[str, ...] = DEFAULT_EVENTS
    min_priority: str | None = None  # HIGH: HIGH and CRITICAL
    assignee_slack_id: str | None = None
    tag: str | None = None
    threads: bool = True

    def __post_init__(self) -> None:
        unknown = [e for e in self.events if e not in LIVE_EVENTS]
        if unknown or not self.events:
            raise ValidationFailed(not_one_of("event", (unknown or [""])[0], LIVE_EVENTS))
        if self.min_priority is not None:
            word = vocabulary_word(self.min_priority)
            if word not in PRIORITIES:
                raise ValidationFailed(not_one_of("priority", self.min_priority, PRIORITIES))
            object.__setattr__(self, "min_priority", word)
        if self.assignee_slack_id is not None:
            check_slack_id(self.assignee_slack_id)
        if self.tag is not None:
            tag = self.tag.strip().lstrip("#").lower()
            if not tag or len(tag) > TAG_CHARS:
                raise ValidationFailed(f"A tag is 1 to {TAG_CHARS} characters.")
            object.__setattr__(self, "tag", tag)


@dataclass(frozen=True)
class SubscriptionView:
    id: str
    team_id: str
    project_id: str
    project_key: str
    project_name: str
    channel_id: str
    created_by_slack_id: str | None
    filters: Filters = field(default_factory=Filters)
    thread_ts: str | None = None  # a message's thread following one story
    story_id: str | None = None
    paused_reason: str | None = None
    paused_at: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


Subscriber = aliased(User)


def _views_query():
    return (
        select(LiveSubscription, Project.key, Project.name, Subscriber.slack_user_id)
        .join(Project, Project.id == LiveSubscription.project_id)
        .outerjoin(Subscriber, Subscriber.id == LiveSubscription.created_by)
    )


def _view(row) -> SubscriptionView:
    sub, key, name, subscriber = row
    return SubscriptionView(
        id=sub.id,
        team_id=sub.team_id,
        project_id=sub.project_id,
        project_key=key,
        project_name=name,
        channel_id=sub.channel_id,
        created_by_slack_id=subscriber,
        filters=Filters(
            events=tuple(sub.events or DEFAULT_EVENTS),
            min_priority=sub.min_priority,
            assignee_slack_id=sub.assignee_slack_id,
            tag=sub.tag,
            threads=sub.threads,
        ),
        paused_reason=sub.paused_reason,
        paused_at=sub.paused_at,
        thread_ts=sub.thread_ts or None,
        story_id=sub.story_id,
    )


def subscription_view(s: Session, subscription_id: str) -> SubscriptionView | None:
    row = s.execute(_views_query().where(LiveSubscription.id == subscription_id)).one_or_none()
    return _view(row) if row else None


def _existing(s: Session, project: Project, channel_id: str) -> LiveSubscription | None:
    return s.scalars(
        select(LiveSubscription).where(
            LiveSubscription.project_id == project.id,
            LiveSubscription.channel_id == channel_id,
            LiveSubscription.thread_ts == "",
        )
    ).one_or_none()


def _may_change(actor: Actor, project: Project, sub: LiveSubscription, doing: str) -> None:
    if actor.is_admin or actor.user_id in (sub.created_by, project.owner_id):
        return
    raise PermissionDenied(
        f"Only whoever subscribed this channel, the owner of {project.key} or an admin "
        f"can {doing} this subscription."
    )


def check_channel(
    channel_id: str | None, what: str = "Subscriptions are set up in a channel"
) -> str:
    """The channel a per-channel command was typed in; refused where there is none (the
    console, a DM-less request)."""
    if not channel_id:
        raise ValidationFailed(f"{what}: run this in the channel.")
    check_slack_id(channel_id, "channel id")
    return channel_id


def subscribe(
    s: Session, actor: Actor, project_ref: str, channel_id: str | None, filters: Filters
) -> tuple[SubscriptionView, bool]:
    """Have the channel follow the project with these filters. Subscribing again changes
    the filters and resumes a paused subscription. Returns the view and whether it is new."""
    channel_id = check_channel(channel_id)
    project = find_project(s, actor, project_ref)
    values = {
        "events": list(filters.events),
        "min_priority": filters.min_priority,
        "assignee_slack_id": filters.assignee_slack_id,
        "tag": filters.tag,
        "threads": filters.threads,
    }
    sub = _existing(s, project, channel_id)
    now = utcnow()
    if sub is None:
        sub = LiveSubscription(
            team_id=actor.team_id,
            project_id=project.id,
            channel_id=channel_id,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
            **values,
        )
        s.add(sub)
        s.flush()
        audit.record(
            s, actor, "subscription.create", "subscription", sub.id, _details(project, sub)
        )
        return subscription_view(s, sub.id), True  # type: ignore[return-value]
    _may_change(actor, project, sub, "change")
    resumed = sub.paused_at is not None
    for name, value in values.items():
        setattr(sub, name, value)
    sub.paused_at = None
    sub.paused_reason = None
    sub.updated_at = now
    s.flush()
    details = {**_details(project, sub), "resumed": resumed}
    audit.record(s, actor, "subscription.update", "subscription", sub.id, details)
    return subscription_view(s, sub.id), False  # type: ignore[return-value]


def unsubscribe(
    s: Session, actor: Actor, project_ref: str, channel_id: str | None
) -> SubscriptionView:
    """Stop the channel following the project (its cards stay as they are)."""
    channel_id = check_channel(channel_id)
    project = find_project(s, actor, project_ref)
    sub = _existing(s, project, channel_id)
    if sub is None:
        raise NotFound(f"This channel does not follow {project.key}.")
    _may_change(actor, project, sub, "remove")
    view = subscription_view(s, sub.id)
    s.delete(sub)
    s.flush()
    audit.record(s, actor, "subscription.delete", "subscription", sub.id, _details(project, sub))
    return view  # type: ignore[return-value]


def channel_subscriptions(
    s: Session, actor: Actor, channel_id: str | None
) -> list[SubscriptionView]:
    """What this channel follows, by project key."""
    channel_id = check_channel(channel_id)
    rows = s.execute(
        _views_query()
        .where(
            LiveSubscription.team_id == actor.team_id,
            LiveSubscription.channel_id == channel_id,
            LiveSubscription.thread_ts == "",
        )
        .order_by(Project.key)
    ).all()
    return [_view(row) for row in rows]


THREAD_EVENTS = ("moved", "assigned", "done", "deleted")


def track_thread(
    s: Session, actor: Actor, story: Any, channel_id: str, thread_ts: str
) -> SubscriptionView:
    """Have the thread of the message a story was made from follow that story: its card is
    posted there ("Tracked as WEB-12"), and its moves, assignments and deletion follow."""
    check_slack_id(channel_id, "channel id")
    sub = s.scalars(
        select(LiveSubscription).where(
            LiveSubscription.project_id == story.project_id,
            LiveSubscription.channel_id == channel_id,
            LiveSubscription.thread_ts == thread_ts,
        )
    ).one_or_none()
    if sub is None:
        now = utcnow()
        sub = LiveSubscription(
            team_id=actor.team_id,
            project_id=story.project_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            story_id=story.id,
            created_by=actor.user_id,
            events=list(THREAD_EVENTS),
            created_at=now,
            updated_at=now,
        )
        s.add(sub)
        s.flush()
        details = {"story": story.key, "channel_id": channel_id, "thread_ts": thread_ts}
        audit.record(s, actor, "subscription.thread", "subscription", sub.id, details)
    outbox.queue(s, sub, actor.slack_user_id, story, "created")
    return subscription_view(s, sub.id)  # type: ignore[return-value]


def follows(s: Session, team_id: str, channel_id: str | None, project_id: str) -> bool:
    """Whether the channel shows the project's new stories itself (an active subscription
    to created stories), so an answer there need not post the card again."""
    if not channel_id:
        return False
    events = s.scalars(
        select(LiveSubscription.events).where(
            LiveSubscription.team_id == team_id,
            LiveSubscription.channel_id == channel_id,
            LiveSubscription.project_id == project_id,
            LiveSubscription.thread_ts == "",
            LiveSubscription.paused_at.is_(None),
        )
    ).first()
    return events is not None and "created" in events


def pause(s: Session, subscription_id: str, reason: str, error: str) -> SubscriptionView | None:
    """Stop delivering to a channel Slack refuses (the delivery worker calls this); its
    subscriber is told what to do, and subscribing again resumes it."""
    sub = s.get(LiveSubscription, subscription_id)
    if sub is None or sub.paused_at is not None:
        return None
    now = utcnow()
    sub.paused_at, sub.paused_reason, sub.updated_at = now, reason, now
    s.add(
        AuditLog(
            team_id=sub.team_id,
            user_id=None,  # the app did it
            action="subscription.pause",
            resource_type="subscription",
            resource_id=sub.id,
            details={"error": error, "channel_id": sub.channel_id},
            created_at=now,
        )
    )
    s.flush()
    return subscription_view(s, sub.id)


def _details(project: Project, sub: LiveSubscription) -> dict:
    return {
        "project": project.key,
        "channel_id": sub.channel_id,
        "events": list(sub.events or []),
        "min_priority": sub.min_priority,
        "assignee": sub.assignee_slack_id,
        "tag": sub.tag,
        "threads": sub.threads,
    }
