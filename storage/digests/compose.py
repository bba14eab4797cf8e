"""What a digest says: the stories created, moved and finished in its period, and totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from storage.digests.schedule import period
from storage.errors import NotFound
from storage.fields import STATUSES
from storage.models import AuditLog, DigestSubscription, Project, User, UserStory, utcnow
from storage.readiness import check_story

# A digest lists at most this many stories per section, then "and N more".
SECTION_ITEMS = 10


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
    # channel digests: open stories the readiness check has findings on (look-alikes aside)
    not_ready: int = 0

    @property
    def quiet(self) -> bool:
        return not (self.created_total or self.moved_total or self.finished_total)

    @property
    def open_count(self) -> int:
        return sum(t.count for t in self.totals if t.status != "DONE")

    @property
    def open_points(self) -> int:
        return sum(t.points for t in self.totals if t.status != "DONE")


def compose_digest(s: Session, subscription_id: str, *, until: datetime | None = None) -> Digest:
    """What the subscription's digest says for the period since its last one."""
    sub = s.get(DigestSubscription, subscription_id)
    if sub is None:
        raise NotFound("That digest subscription no longer exists.")
    until = until or utcnow()
    # the first digest looks back one period, or to the subscription's start if that is
    # earlier (a first post that failed leaves no gap in the next one)
    since = sub.last_sent_at or min(sub.created_at, until - period(sub.frequency))
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
    totals.sort(key=lambda t: STATUSES.index(t.status))
    urgent_where = and_(
        in_project, UserStory.priority.in_(("CRITICAL", "HIGH")), UserStory.status != "DONE"
    )
    urgent, urgent_total = _stories(s, urgent_where)
    return Digest(
        not_ready=_not_ready(s, in_project),
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


def _not_ready(s: Session, where) -> int:
    """How many open stories have findings: one query for the fields the pure check reads
    (a look-alike per story would be a query each, so the count leaves it out)."""
    rows = s.execute(
        select(
            UserStory.title,
            UserStory.description,
            UserStory.acceptance_criteria,
            UserStory.story_points,
        ).where(where, UserStory.status != "DONE")
    )
    return sum(1 for row in rows if check_story(row._mapping))


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
    total = _total(s, select(func.count()).select_from(UserStory).where(where), len(rows))
    return [
        StoryLine(_key(k, st.number), st.title, st.priority, st.status, st.story_points, a)
        for st, k, a in rows
    ], total


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
    total = _total(s, select(func.count()).select_from(UserStory).where(window), len(rows))
    return [
        StoryLine(_key(k, st.number), st.title, st.priority, st.status, st.story_points, a, c)
        for st, k, a, c in rows
    ], total


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
    if done is not None:
        to = func.coalesce(AuditLog.details["to"].as_string(), "")
        to_done = and_(AuditLog.action == "story.move", to == "DONE")
        conditions.append(to_done if done else not_(to_done))
    rows = s.execute(
        select(AuditLog, UserStory.number, UserStory.title, Project.key, actor.slack_user_id)
        .join(UserStory, UserStory.id == AuditLog.resource_id)
        .join(Project, Project.id == UserStory.project_id)
        .outerjoin(actor, actor.id == AuditLog.user_id)
        .where(*conditions)
        .order_by(AuditLog.created_at, AuditLog.id)
        .limit(SECTION_ITEMS)
    ).all()
    changes = []
    for row, number, title, key, by in rows:
        details = row.details or {}
        moved = row.action == "story.move"
        changes.append(
            Change(
                key=_key(key, number),
                title=title,
                action=row.action,
                from_status=details.get("from") if moved else None,
                to_status=details.get("to") if moved else None,
                by_slack_id=by,
                at=row.created_at,
            )
        )
    counted = (
        select(func.count())
        .select_from(AuditLog)
        .join(UserStory, UserStory.id == AuditLog.resource_id)
        .where(*conditions)
    )
    return changes, _total(s, counted, len(changes))


def _total(s: Session, counted, shown: int) -> int:
    """How many a section has in all: the rows shown, or (when the list is full) a COUNT."""
    if shown < SECTION_ITEMS:
        return shown
    return int(s.scalar(counted) or 0)
