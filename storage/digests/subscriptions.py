"""Digest subscriptions: a channel's digest of a project, or a member's personal digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.digests.schedule import WEEKDAYS, check_schedule
from storage.errors import NotFound, ValidationFailed
from storage.models import DigestSubscription, Project, User, utcnow
from storage.projects import find_project, project_for_channel, project_for_request
from storage.users import Actor


@dataclass(frozen=True)
class DigestView:
    """A subscription as the user sees it."""

    id: str
    kind: str  # "channel" or "personal"
    channel_id: str
    project_key: str | None
    project_name: str | None
    frequency: str
    time_of_day: str
    weekday: int
    timezone: str
    active: bool
    paused_reason: str | None
    last_sent_at: datetime | None
    created_by_slack_id: str | None

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday].capitalize()


def view_of(s: Session, sub: DigestSubscription) -> DigestView:
    """The subscription as the user sees it (its project's key and name, its creator)."""
    project = s.get(Project, sub.project_id) if sub.project_id else None
    creator = s.get(User, sub.created_by) if sub.created_by else None
    return DigestView(
        id=sub.id,
        kind=sub.kind,
        channel_id=sub.channel_id,
        project_key=project.key if project else None,
        project_name=project.name if project else None,
        frequency=sub.frequency,
        time_of_day=sub.time_of_day,
        weekday=sub.weekday,
        timezone=sub.timezone,
        active=sub.active,
        paused_reason=sub.paused_reason,
        last_sent_at=sub.last_sent_at,
        created_by_slack_id=creator.slack_user_id if creator else None,
    )


def subscribe_channel(
    s: Session,
    actor: Actor,
    channel_id: str,
    *,
    project_ref: str | None = None,
    frequency: str | None = None,
    time_of_day: str | None = None,
    weekday: int | None = None,
    timezone: str = "UTC",
) -> DigestView:
    """Subscribe a channel to a project's digest (its linked project by default), or reschedule
    and resume an existing subscription."""
    if not channel_id:
        raise ValidationFailed("Digests are set up in a channel.", {"channel": "required"})
    frequency, time_of_day, weekday, timezone = check_schedule(
        frequency, time_of_day, weekday, timezone
    )
    project = project_for_request(
        s, actor, project_ref, channel_id, required_usage="/autodev digest on daily 09:00 WEB"
    )
    sub = s.scalar(
        select(DigestSubscription).where(
            DigestSubscription.team_id == actor.team_id,
            DigestSubscription.channel_id == channel_id,
            DigestSubscription.project_id == project.id,
            DigestSubscription.kind == "channel",
        )
    )
    if sub is None:
        sub = DigestSubscription(
            team_id=actor.team_id,
            kind="channel",
            channel_id=channel_id,
            project_id=project.id,
            created_by=actor.user_id,
            created_at=utcnow(),
            active=True,
        )
        s.add(sub)
    sub.frequency, sub.time_of_day, sub.weekday, sub.timezone = (
        frequency,
        time_of_day,
        weekday,
        timezone,
    )
    if not sub.active:  # resuming: start afresh rather than replay the paused weeks
        sub.last_sent_at = utcnow()
    sub.active, sub.paused_reason = True, None
    sub.created_by = actor.user_id  # the latest to set it up hears about problems
    sub.updated_at = utcnow()
    s.flush()
    audit.record(
        s,
        actor,
        "digest.subscribe",
        "digest",
        sub.id,
        {
            "channel": channel_id,
            "project": project.key,
            "frequency": frequency,
            "time": time_of_day,
            "weekday": weekday,
            "timezone": timezone,
        },
    )
    return view_of(s, sub)


def unsubscribe_channel(
    s: Session, actor: Actor, channel_id: str, *, project_ref: str | None = None
) -> list[DigestView]:
    """Stop a channel's digests (of one named project, or all of them). Returns what stopped."""
    stmt = select(DigestSubscription).where(
        DigestSubscription.team_id == actor.team_id,
        DigestSubscription.channel_id == channel_id,
        DigestSubscription.kind == "channel",
    )
    if project_ref:
        stmt = stmt.where(DigestSubscription.project_id == find_project(s, actor, project_ref).id)
    subs = list(s.scalars(stmt))
    if not subs:
        raise NotFound(
            "This channel gets no digest"
            + (f" of {project_ref[:40]}." if project_ref else ".")
            + " Start one with `/autodev digest on`."
        )
    views = [view_of(s, sub) for sub in subs]
    for sub, view in zip(subs, views, strict=True):
        s.delete(sub)
        audit.record(
            s,
            actor,
            "digest.unsubscribe",
            "digest",
            sub.id,
            {"channel": channel_id, "project": view.project_key},
        )
    s.flush()
    return views


def channel_subscriptions(s: Session, actor: Actor, channel_id: str) -> list[DigestView]:
    """The digests this channel gets (active or paused)."""
    subs = s.scalars(
        select(DigestSubscription)
        .where(
            DigestSubscription.team_id == actor.team_id,
            DigestSubscription.channel_id == channel_id,
            DigestSubscription.kind == "channel",
        )
        .order_by(DigestSubscription.created_at)
    )
    return [view_of(s, sub) for sub in subs]


def find_channel_subscription(
    s: Session, actor: Actor, channel_id: str, project_ref: str | None = None
) -> DigestView:
    """The channel's subscription to send now: the named project's, else the only one or the
    linked project's."""
    subs = channel_subscriptions(s, actor, channel_id)
    if project_ref:
        project = find_project(s, actor, project_ref)
        subs = [v for v in subs if v.project_key == project.key]
    elif len(subs) > 1:
        linked = project_for_channel(s, actor, channel_id)
        subs = [v for v in subs if linked and v.project_key == linked.key] or subs[:1]
    if not subs:
        raise NotFound("This channel gets no digest yet. Start one with `/autodev digest on`.")
    return _sendable(subs[0], "`/autodev digest on`")


def find_personal_subscription(s: Session, actor: Actor) -> DigestView:
    """The member's personal digest, to send now; NotFound when they have none."""
    view = personal_subscription(s, actor)
    if view is None:
        raise NotFound("You get no personal digest yet. Start one with `/autodev digest me on`.")
    return _sendable(view, "`/autodev digest me on`")


def _sendable(view: DigestView, resume: str) -> DigestView:
    if not view.active:
        raise ValidationFailed(
            f"That digest is paused. {view.paused_reason} Resume it with {resume}."
        )
    return view


def personal_subscription(s: Session, actor: Actor) -> DigestView | None:
    sub = _personal(s, actor)
    return view_of(s, sub) if sub else None


def _personal(s: Session, actor: Actor) -> DigestSubscription | None:
    return s.scalar(
        select(DigestSubscription).where(
            DigestSubscription.team_id == actor.team_id,
            DigestSubscription.kind == "personal",
            DigestSubscription.user_id == actor.user_id,
        )
    )


def set_personal_digest(
    s: Session,
    actor: Actor,
    on: bool,
    *,
    frequency: str | None = None,
    time_of_day: str | None = None,
    weekday: int | None = None,
    timezone: str = "UTC",
) -> DigestView | None:
    """Opt in to (or out of) a personal digest by DM: my open stories, what changed on them."""
    sub = _personal(s, actor)
    if not on:
        if sub is None:
            raise NotFound("You get no personal digest. Start one with `/autodev digest me on`.")
        s.delete(sub)
        audit.record(s, actor, "digest.unsubscribe", "digest", sub.id, {"personal": True})
        s.flush()
        return None
    frequency, time_of_day, weekday, timezone = check_schedule(
        frequency, time_of_day, weekday, timezone
    )
    if sub is None:
        sub = DigestSubscription(
            team_id=actor.team_id,
            kind="personal",
            channel_id=actor.slack_user_id,  # chat.postMessage to a user id lands in the DM
            project_id=None,
            user_id=actor.user_id,
            created_by=actor.user_id,
            created_at=utcnow(),
        )
        s.add(sub)
    sub.frequency, sub.time_of_day, sub.weekday, sub.timezone = (
        frequency,
        time_of_day,
        weekday,
        timezone,
    )
    sub.active, sub.paused_reason = True, None
    sub.updated_at = utcnow()
    s.flush()
    audit.record(
        s,
        actor,
        "digest.subscribe",
        "digest",
        sub.id,
        {"personal": True, "frequency": frequency, "time": time_of_day},
    )
    return view_of(s, sub)


def subscription(s: Session, subscription_id: str) -> DigestView | None:
    """One subscription by id (the scheduler's view, across workspaces)."""
    sub = s.get(DigestSubscription, subscription_id)
    return view_of(s, sub) if sub else None
