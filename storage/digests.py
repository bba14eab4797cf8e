"""Digest subscriptions (channel and personal), when each is due, and what a digest says."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage import audit
from storage.errors import NotFound, ValidationFailed
from storage.models import AuditLog, DigestSubscription, Project, User, UserStory, utcnow
from storage.projects import find_project, project_for_channel, project_for_request
from storage.users import Actor

FREQUENCIES = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_TIME = "09:00"
# A digest lists at most this many stories per section, then "and N more".
SECTION_ITEMS = 10
# Slack errors that will not go away by retrying: the subscription is paused instead.
REFUSALS = {
    "channel_not_found": "the channel no longer exists or I cannot see it",
    "not_in_channel": "I am not a member of the channel",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "user_not_found": "the user no longer exists",
    "user_disabled": "the user's account is deactivated",
    "cannot_dm_bot": "the recipient is a bot",
    "restricted_action": "the workspace does not allow me to post there",
    "account_inactive": "the app was removed from the workspace",
    "token_revoked": "the app was removed from the workspace",
}


# ---------------------------------------------------------------- views


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


@dataclass(frozen=True)
class DueDigest:
    """A subscription whose scheduled slot has come (and was not sent yet)."""

    subscription_id: str
    team_id: str
    slot: datetime


@dataclass(frozen=True)
class StoryLine:
    key: str
    title: str
    priority: str
    status: str
    points: int
    assignee_slack_id: str | None
    by_slack_id: str | None = None


@dataclass(frozen=True)
class Change:
    """A story moved (from -> to) or, in a personal digest, otherwise changed, and by whom."""

    key: str
    title: str
    action: str  # story.move, story.update, story.assign, story.create
    from_status: str | None
    to_status: str | None
    by_slack_id: str | None
    at: datetime


@dataclass(frozen=True)
class StatusTotal:
    status: str
    count: int
    points: int


@dataclass(frozen=True)
class Digest:
    """Everything a digest message says, for one subscription and period."""

    kind: str
    team_id: str
    channel_id: str
    project_key: str | None
    project_name: str | None
    frequency: str
    since: datetime
    until: datetime
    timezone: str
    created: list[StoryLine] = field(default_factory=list)
    created_total: int = 0
    moved: list[Change] = field(default_factory=list)
    moved_total: int = 0
    finished: list[Change] = field(default_factory=list)
    finished_total: int = 0
    totals: list[StatusTotal] = field(default_factory=list)
    urgent: list[StoryLine] = field(default_factory=list)
    urgent_total: int = 0
    # personal digests: the member's open stories and what others changed on them
    open_stories: list[StoryLine] = field(default_factory=list)
    open_total: int = 0

    @property
    def quiet(self) -> bool:
        return not (self.created_total or self.moved_total or self.finished_total)

    @property
    def open_count(self) -> int:
        return sum(t.count for t in self.totals if t.status != "DONE")

    @property
    def open_points(self) -> int:
        return sum(t.points for t in self.totals if t.status != "DONE")


# ---------------------------------------------------------------- schedule parsing


def parse_time_of_day(value: str) -> str:
    """'9:00', '09:00', '9' -> '09:00'; else ValidationFailed."""
    m = re.fullmatch(r"([01]?\d|2[0-3])(?::([0-5]\d))?", value.strip())
    if not m:
        raise ValidationFailed(
            f"'{value[:20]}' is not a time of day; use 24-hour HH:MM, e.g. 09:00.",
            {"time_of_day": "HH:MM"},
        )
    return f"{int(m.group(1)):02d}:{m.group(2) or '00'}"


def parse_weekday(value: str) -> int | None:
    """'mon', 'Monday' -> 0 ... 6; None when the word is no weekday."""
    word = value.strip().lower()
    if len(word) < 3:
        return None
    for i, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return i
    return None


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"'{value[:40]}' is not a time zone; use an IANA name such as Europe/Berlin.",
            {"timezone": "IANA name"},
        ) from None
    return value


def latest_slot(
    frequency: str, time_of_day: str, weekday: int, timezone: str, now: datetime
) -> datetime:
    """The latest scheduled instant at or before `now` (UTC), in the subscription's zone.

    The wall-clock time is kept across DST: 09:00 Europe/Berlin is 08:00 UTC in winter and
    07:00 UTC in summer. A time that does not exist on a spring-forward day fires at the
    same UTC offset as before the change (02:30 -> 03:30 local); a repeated time fires once.
    """
    tz = ZoneInfo(timezone)
    hh, mm = (int(x) for x in time_of_day.split(":"))
    local_today = now.astimezone(tz).date()
    for back in range(0, 9):
        day: date = local_today - timedelta(days=back)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        candidate = datetime.combine(day, time(hh, mm), tzinfo=tz).astimezone(now.tzinfo)
        if candidate <= now:
            return candidate
    raise AssertionError("a slot exists within 8 days")


def next_slot(
    frequency: str, time_of_day: str, weekday: int, timezone: str, now: datetime
) -> datetime:
    """The first scheduled instant after `now` (UTC)."""
    tz = ZoneInfo(timezone)
    hh, mm = (int(x) for x in time_of_day.split(":"))
    local_today = now.astimezone(tz).date()
    for ahead in range(0, 9):
        day = local_today + timedelta(days=ahead)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        candidate = datetime.combine(day, time(hh, mm), tzinfo=tz).astimezone(now.tzinfo)
        if candidate > now:
            return candidate
    raise AssertionError("a slot exists within 8 days")


def _period(frequency: str) -> timedelta:
    return timedelta(days=7 if frequency == "weekly" else 1)


# ---------------------------------------------------------------- subscribing


def _view(s: Session, sub: DigestSubscription) -> DigestView:
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


def _schedule(
    frequency: str | None, time_of_day: str | None, weekday: int | None, timezone: str
) -> tuple[str, str, int, str]:
    frequency = (frequency or "daily").lower()
    if frequency not in FREQUENCIES:
        raise ValidationFailed(
            f"'{frequency[:20]}' is not a digest frequency; use daily or weekly.",
            {"frequency": "daily|weekly"},
        )
    time_of_day = parse_time_of_day(time_of_day or DEFAULT_TIME)
    if weekday is None:
        weekday = 0
    if not 0 <= weekday <= 6:
        raise ValidationFailed("The weekday must be Monday to Sunday.", {"weekday": "0-6"})
    return frequency, time_of_day, weekday, check_timezone(timezone)


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
    frequency, time_of_day, weekday, timezone = _schedule(frequency, time_of_day, weekday, timezone)
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
    return _view(s, sub)


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
    views = [_view(s, sub) for sub in subs]
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
    return [_view(s, sub) for sub in subs]


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
    return _view(s, sub) if sub else None


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
    frequency, time_of_day, weekday, timezone = _schedule(frequency, time_of_day, weekday, timezone)
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
    return _view(s, sub)


# ---------------------------------------------------------------- the scheduler's side


def due_digests(s: Session, now: datetime | None = None) -> list[DueDigest]:
    """Active subscriptions whose latest slot is after their last digest (or their creation)."""
    now = now or utcnow()
    due = []
    for sub in s.scalars(select(DigestSubscription).where(DigestSubscription.active.is_(True))):
        slot = latest_slot(sub.frequency, sub.time_of_day, sub.weekday, sub.timezone, now)
        if slot > (sub.last_sent_at or sub.created_at):
            due.append(DueDigest(sub.id, sub.team_id, slot))
    return due


def subscription(s: Session, subscription_id: str) -> DigestView | None:
    """One subscription by id (the scheduler's view, across workspaces)."""
    sub = s.get(DigestSubscription, subscription_id)
    return _view(s, sub) if sub else None


def mark_sent(s: Session, subscription_id: str, until: datetime) -> None:
    """The digest covering up to `until` went out: the next one starts there."""
    sub = s.get(DigestSubscription, subscription_id)
    if sub is not None and (sub.last_sent_at is None or until > sub.last_sent_at):
        sub.last_sent_at = until


def pause_subscription(s: Session, subscription_id: str, error: str, now: datetime) -> str:
    """Stop a subscription Slack refuses to deliver; returns the reason as people read it."""
    why = REFUSALS.get(error, f"Slack answered {error}")
    reason = f"Paused {now:%Y-%m-%d %H:%M} UTC: {why} ({error})."
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
    return reason


def compose_digest(s: Session, subscription_id: str, *, until: datetime | None = None) -> Digest:
    """What the subscription's digest says for the period since its last one."""
    sub = s.get(DigestSubscription, subscription_id)
    if sub is None:
        raise NotFound("That digest subscription no longer exists.")
    until = until or utcnow()
    # the first digest looks back one period, or to the subscription's start if that is
    # earlier (a first post that failed leaves no gap in the next one)
    since = sub.last_sent_at or min(sub.created_at, until - _period(sub.frequency))
    if sub.kind == "personal":
        return _personal_digest(s, sub, since, until)
    project = s.get(Project, sub.project_id)
    if project is None:
        raise NotFound("The project of that digest no longer exists.")
    base = dict(
        kind="channel",
        team_id=sub.team_id,
        channel_id=sub.channel_id,
        project_key=project.key,
        project_name=project.name,
        frequency=sub.frequency,
        since=since,
        until=until,
        timezone=sub.timezone,
    )
    in_project = UserStory.project_id == project.id
    created, created_total = _created(s, in_project, since, until)
    moved, moved_total = _changes(s, in_project, since, until, moved_only=True, done=False)
    finished, finished_total = _changes(s, in_project, since, until, moved_only=True, done=True)
    totals = [
        StatusTotal(status, int(count), int(points or 0))
        for status, count, points in s.execute(
            select(UserStory.status, func.count(), func.sum(UserStory.story_points))
            .where(in_project)
            .group_by(UserStory.status)
        )
    ]
    order = ["DRAFT", "READY", "IN_PROGRESS", "DONE"]
    totals.sort(key=lambda t: order.index(t.status))
    urgent_where = and_(
        in_project, UserStory.priority.in_(("CRITICAL", "HIGH")), UserStory.status != "DONE"
    )
    urgent, urgent_total = _stories(s, urgent_where)
    return Digest(
        **base,
        created=created,
        created_total=created_total,
        moved=moved,
        moved_total=moved_total,
        finished=finished,
        finished_total=finished_total,
        totals=totals,
        urgent=urgent,
        urgent_total=urgent_total,
    )


def _personal_digest(s: Session, sub: DigestSubscription, since: datetime, until: datetime):
    mine = and_(
        UserStory.team_id == sub.team_id,
        UserStory.assignee_id == sub.user_id,
        UserStory.status != "DONE",
    )
    open_stories, open_total = _stories(s, mine)
    on_mine = and_(UserStory.team_id == sub.team_id, UserStory.assignee_id == sub.user_id)
    changes, changes_total = _changes(
        s, on_mine, since, until, moved_only=False, done=None, not_by=sub.user_id
    )
    return Digest(
        kind="personal",
        team_id=sub.team_id,
        channel_id=sub.channel_id,
        project_key=None,
        project_name=None,
        frequency=sub.frequency,
        since=since,
        until=until,
        timezone=sub.timezone,
        moved=changes,
        moved_total=changes_total,
        open_stories=open_stories,
        open_total=open_total,
    )


def _key(project_key: str, number: int) -> str:
    return f"{project_key}-{number}"


def _stories(s: Session, where) -> tuple[list[StoryLine], int]:
    assignee = aliased(User)
    rows = s.execute(
        select(UserStory, Project.key, assignee.slack_user_id)
        .join(Project, Project.id == UserStory.project_id)
        .outerjoin(assignee, assignee.id == UserStory.assignee_id)
        .where(where)
        .order_by(UserStory.priority_rank, UserStory.created_at.desc(), UserStory.id)
        .limit(SECTION_ITEMS)
    ).all()
    total = s.scalar(select(func.count()).select_from(UserStory).where(where)) or 0
    return [
        StoryLine(_key(k, st.number), st.title, st.priority, st.status, st.story_points, a)
        for st, k, a in rows
    ], int(total)


def _created(s: Session, where, since: datetime, until: datetime):
    creator, assignee = aliased(User), aliased(User)
    window = and_(where, UserStory.created_at > since, UserStory.created_at <= until)
    rows = s.execute(
        select(UserStory, Project.key, assignee.slack_user_id, creator.slack_user_id)
        .join(Project, Project.id == UserStory.project_id)
        .outerjoin(assignee, assignee.id == UserStory.assignee_id)
        .outerjoin(creator, creator.id == UserStory.created_by)
        .where(window)
        .order_by(UserStory.created_at, UserStory.number)
        .limit(SECTION_ITEMS)
    ).all()
    total = s.scalar(select(func.count()).select_from(UserStory).where(window)) or 0
    return [
        StoryLine(_key(k, st.number), st.title, st.priority, st.status, st.story_points, a, c)
        for st, k, a, c in rows
    ], int(total)


def _changes(
    s: Session,
    where,
    since: datetime,
    until: datetime,
    *,
    moved_only: bool,
    done: bool | None,
    not_by: str | None = None,
) -> tuple[list[Change], int]:
    """Audit rows on the stories matching `where` in (since, until], oldest first."""
    actor = aliased(User)
    conditions = [
        where,
        AuditLog.resource_type == "story",
        AuditLog.team_id == UserStory.team_id,
        AuditLog.created_at > since,
        AuditLog.created_at <= until,
    ]
    if moved_only:
        conditions.append(AuditLog.action == "story.move")
    else:
        conditions.append(AuditLog.action.in_(("story.move", "story.update", "story.assign")))
    if not_by is not None:
        conditions.append(or_(AuditLog.user_id.is_(None), AuditLog.user_id != not_by))
    stmt = (
        select(AuditLog, UserStory.number, UserStory.title, Project.key, actor.slack_user_id)
        .join(UserStory, UserStory.id == AuditLog.resource_id)
        .join(Project, Project.id == UserStory.project_id)
        .outerjoin(actor, actor.id == AuditLog.user_id)
        .where(*conditions)
        .order_by(AuditLog.created_at, AuditLog.id)
    )
    changes = []
    for row, number, title, key, by in s.execute(stmt):
        details = row.details or {}
        to = details.get("to") if row.action == "story.move" else None
        if done is True and to != "DONE":
            continue
        if done is False and to == "DONE":
            continue
        changes.append(
            Change(
                key=_key(key, number),
                title=title,
                action=row.action,
                from_status=details.get("from") if row.action == "story.move" else None,
                to_status=to,
                by_slack_id=by,
                at=row.created_at,
            )
        )
    return changes[:SECTION_ITEMS], len(changes)
