"""Workspace members: get-or-create from a Slack identity, roles, granting ADMIN."""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.orm import Session

from storage import audit
from storage.errors import NotFound, ValidationFailed
from storage.models import User, utcnow
from storage.permissions import require_admin
from storage.validation import check_slack_id

PROFILE_FIELDS = ("email", "first_name", "last_name", "display_name")
MAX_PROFILE_LENGTH = {"email": 320, "first_name": 255, "last_name": 255, "display_name": 255}


@dataclass(frozen=True)
class Actor:
    """The acting workspace member: every domain operation is scoped to `team_id`."""

    user_id: str
    team_id: str
    slack_user_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "ADMIN"


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        team_id=user.slack_team_id,
        slack_user_id=user.slack_user_id,
        role=user.role,
    )


# built once: building a statement's expressions costs more than running it on a hot path
_SLACK_ID = (
    User.slack_team_id == bindparam("team_id"),
    User.slack_user_id == bindparam("slack_user_id"),
)
_BY_SLACK_ID = select(User).where(*_SLACK_ID)
# the acting member as one Core row (no ORM entity): every write looks its member up first
_ACTOR_BY_SLACK_ID = select(User.id, User.slack_team_id, User.slack_user_id, User.role).where(
    *_SLACK_ID
)


def _find_actor(s: Session, team_id: str, slack_user_id: str) -> Actor | None:
    row = s.execute(
        _ACTOR_BY_SLACK_ID, {"team_id": team_id, "slack_user_id": slack_user_id}
    ).first()
    return Actor(*row) if row is not None else None


def _find(s: Session, team_id: str, slack_user_id: str) -> User | None:
    return s.scalars(
        _BY_SLACK_ID, {"team_id": team_id, "slack_user_id": slack_user_id}
    ).one_or_none()


def _lock_workspace_users(s: Session, team_id: str) -> None:
    """PostgreSQL: serialise user creation per workspace so exactly one first user is ADMIN.

    SQLite needs nothing: a write transaction already holds the database's write lock.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "users:" + team_id})


def _clean_profile(profile: dict[str, str | None]) -> dict[str, str | None]:
    cleaned: dict[str, str | None] = {}
    for field, value in profile.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValidationFailed(f"The {field.replace('_', ' ')} must be text.", {field: "text"})
        value = "".join(c for c in value if unicodedata.category(c) != "Cc")
        value = value.strip()[: MAX_PROFILE_LENGTH[field]]
        cleaned[field] = value or None
    return cleaned


def get_or_create_user(s: Session, team_id: str, slack_user_id: str, **profile: str | None) -> User:
    """The users row of a Slack identity, created (USER, or ADMIN if first) when unseen."""
    check_slack_id(team_id, "Slack workspace id")
    check_slack_id(slack_user_id)
    cleaned = _clean_profile(profile)
    user = _find(s, team_id, slack_user_id)
    if user is None:
        _lock_workspace_users(s, team_id)
        user = _find(s, team_id, slack_user_id)
    if user is not None:
        changes = {f: v for f, v in cleaned.items() if getattr(user, f) != v}
        if changes.get("email") and _email_taken(s, team_id, changes["email"], user.id):
            changes.pop("email")
        if changes:
            before = {f: getattr(user, f) for f in changes}
            for field, value in changes.items():
                setattr(user, field, value)
            s.flush()
            audit.record(
                s, actor_of(user), "user.update", "user", user.id, {"from": before, "to": changes}
            )
        return user
    if cleaned.get("email") and _email_taken(s, team_id, cleaned["email"], None):
        cleaned.pop("email")
    first = not s.scalar(
        select(func.count()).select_from(User).where(User.slack_team_id == team_id)
    )
    user = User(
        slack_team_id=team_id,
        slack_user_id=slack_user_id,
        role="ADMIN" if first else "USER",
        last_login=utcnow(),
        **cleaned,
    )
    s.add(user)
    s.flush()
    audit.record(
        s,
        actor_of(user),
        "user.create",
        "user",
        user.id,
        {"slack_user_id": slack_user_id, "role": user.role},
    )
    return user


def _email_taken(s: Session, team_id: str, email: str | None, user_id: str | None) -> bool:
    query = select(User.id).where(User.slack_team_id == team_id, User.email == email)
    if user_id:
        query = query.where(User.id != user_id)
    return s.scalar(query.limit(1)) is not None


def ensure_user(
    s: Session,
    team_id: str,
    slack_user_id: str,
    *,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    display_name: str | None = None,
) -> Actor:
    """Get or create the member behind a Slack identity; the workspace's first is ADMIN.

    Profile fields given (not None) refresh the stored ones. Needs a write session.
    """
    if email is first_name is last_name is display_name is None:  # a request's actor
        check_slack_id(team_id, "Slack workspace id")
        check_slack_id(slack_user_id)
        known = _find_actor(s, team_id, slack_user_id)
        if known is not None:
            return known
    user = get_or_create_user(
        s,
        team_id,
        slack_user_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        display_name=display_name,
    )
    return actor_of(user)


def get_actor(s: Session, team_id: str, slack_user_id: str) -> Actor:
    """The existing member behind a Slack identity (read-only; NotFound when unseen)."""
    actor = _find_actor(s, team_id, slack_user_id)
    if actor is None:
        raise NotFound(f"<@{slack_user_id}> has not used AutoDevHub in this workspace yet.")
    return actor


class KnownMembers:
    """Members already seen, for reads: a read answers without looking its member up again
    for `ttl` seconds.

    What can go stale is a role: a member made ADMIN here is forgotten when the grant
    commits (grant_admin), but another process (a replica) treats them as a USER until its
    entry expires, so for at most `ttl` seconds an admin-only read there is refused. The app
    never demotes or deletes a member; a restore may, and a process that had the database
    open then acts on what it knew for at most `ttl` seconds, for reads only. Writes never
    use this: they get-or-create their member in their own transaction (`ensure_user`), so
    a row they point at exists.
    """

    def __init__(
        self, ttl: float = 10.0, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._size = size
        self._seen: dict[tuple[Any, str, str], tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def actor(self, s: Session, team_id: str, slack_user_id: str) -> Actor:
        """get_actor, from memory when seen within `ttl` seconds."""
        key = (s.get_bind().url, team_id, slack_user_id)  # the database too (tests have many)
        seen = self._seen.get(key)
        now = self._clock()
        if seen is not None and now - seen[0] < self.ttl:
            return seen[1]
        actor = get_actor(s, team_id, slack_user_id)
        with self._lock:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen[key] = (now, actor)
        return actor

    def forget(self, team_id: str, slack_user_id: str) -> None:
        """Forget the member, in every database this process knows."""
        with self._lock:
            for key in [k for k in self._seen if k[1:] == (team_id, slack_user_id)]:
                del self._seen[key]

    def forget_when_committed(self, s: Session, team_id: str, slack_user_id: str) -> None:
        """Forget the member now and again once `s` commits: a read in between (which saw
        the old row) may have kept them."""
        self.forget(team_id, slack_user_id)
        event.listen(s, "after_commit", lambda _s: self.forget(team_id, slack_user_id), once=True)


KNOWN_MEMBERS = KnownMembers()


def grant_admin(s: Session, actor: Actor, slack_user_id: str) -> Actor:
    """Make a member of the actor's workspace an ADMIN (admins only; audited)."""
    require_admin(actor, "make someone an admin")
    user = get_or_create_user(s, actor.team_id, slack_user_id)
    if user.role != "ADMIN":
        user.role = "ADMIN"
        s.flush()
        KNOWN_MEMBERS.forget_when_committed(s, actor.team_id, slack_user_id)
        audit.record(
            s,
            actor,
            "user.grant_admin",
            "user",
            user.id,
            {"slack_user_id": slack_user_id, "role": {"from": "USER", "to": "ADMIN"}},
        )
    return actor_of(user)


def workspace_admins(s: Session, team_id: str | None = None) -> dict[str, list[str]]:
    """The admins of a workspace (of every workspace when `team_id` is None): workspace id ->
    their Slack user ids, the longest-standing first. For notices no one asked for."""
    stmt = select(User.slack_team_id, User.slack_user_id).where(User.role == "ADMIN")
    if team_id is not None:
        stmt = stmt.where(User.slack_team_id == team_id)
    admins: dict[str, list[str]] = {}
    for team, slack_user_id in s.execute(
        stmt.order_by(User.slack_team_id, User.created_at, User.id)
    ):
        admins.setdefault(team, []).append(slack_user_id)
    return admins
