"""The durable queue of AI story generation requests: ask, claim, renew, finish, requeue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.errors import NotFound, ValidationFailed
from storage.generation.rate_limit import check_rate_limit
from storage.models import GenerationRequest, Project, User, UserStory, utcnow
from storage.projects import effective_settings, find_project_ref
from storage.users import Actor, actor_of

DEFAULT_MAX_ATTEMPTS = 3
# Titles of existing stories the prompt carries; newest first, enough for Claude to avoid them.
MAX_EXISTING_TITLES = 100


@dataclass(frozen=True)
class RequestView:
    """A generation request as callers see it (no ORM object leaves storage)."""

    id: str
    team_id: str
    project_id: str | None
    user_id: str
    slack_user_id: str | None
    request_data: dict[str, Any]
    response_data: dict[str, Any] | None
    status: str
    processing_time: float | None
    ai_model: str | None
    error_message: str | None
    attempts: int
    claimed_by: str | None
    input_tokens: int | None
    output_tokens: int | None
    created_at: datetime
    completed_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "FAILED")

    @property
    def reply(self) -> dict[str, Any] | None:
        """Where the request's Slack message is (response_url, or channel_id + ts), once known."""
        reply = self.request_data.get("reply")
        return reply if isinstance(reply, dict) and reply else None


@dataclass(frozen=True)
class RequeueReport:
    requeued: list[str]
    failed: list[str]


def _view(row: GenerationRequest, slack_user_id: str | None) -> RequestView:
    return RequestView(
        id=row.id,
        team_id=row.team_id,
        project_id=row.project_id,
        user_id=row.user_id,
        slack_user_id=slack_user_id,
        request_data=dict(row.request_data or {}),
        response_data=dict(row.response_data) if row.response_data is not None else None,
        status=row.status,
        processing_time=row.processing_time,
        ai_model=row.ai_model,
        error_message=row.error_message,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def _load(s: Session, request_id: str, *, lock: bool = False) -> RequestView | None:
    stmt = (
        select(GenerationRequest, User.slack_user_id)
        .join(User, User.id == GenerationRequest.user_id)
        .where(GenerationRequest.id == request_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=GenerationRequest)
    row = s.execute(stmt).one_or_none()
    return _view(*row) if row else None


# ---- asking ------------------------------------------------------------------------------


# built once (asking runs while SQLite's writer is held)
_LOCK_MEMBER = select(User.id).where(User.id == bindparam("user_id")).with_for_update()


def enqueue_generation(
    s: Session,
    actor: Actor,
    project_ref: str,
    data: dict[str, Any],
    *,
    rate_limit_per_minute: int,
    now: datetime | None = None,
) -> RequestView:
    """Queue a generation (PENDING) for the actor's project, within the per-user rate limit."""
    project = find_project_ref(s, actor, project_ref)
    # Serialise one user's concurrent asks so two can't both pass the limit (PostgreSQL).
    s.execute(_LOCK_MEMBER, {"user_id": actor.user_id})
    check_rate_limit(s, actor, rate_limit_per_minute, now=now)
    row = GenerationRequest(
        team_id=actor.team_id,
        project_id=project.id,
        user_id=actor.user_id,
        request_data={**data, "project_key": project.key},
        status="PENDING",
        created_at=now or utcnow(),
    )
    s.add(row)
    s.flush()
    audit.record(
        s,
        actor,
        "generation.requested",
        "generation_request",
        row.id,
        {"project": project.key, "count": data.get("count"), "kind": data.get("kind", "new")},
    )
    return _view(row, actor.slack_user_id)


def load_request(s: Session, request_id: str) -> RequestView | None:
    """A request by id, whatever its workspace (for the worker, which acts for the system)."""
    return _load(s, request_id)


def get_request(s: Session, actor: Actor, request_id: str) -> RequestView:
    """A request of the actor's workspace, else NotFound."""
    view = _load(s, request_id) if isinstance(request_id, str) else None
    if view is None or view.team_id != actor.team_id:
        raise NotFound("That generation request no longer exists.")
    return view


def attach_reply(s: Session, request_id: str, reply: dict[str, Any]) -> RequestView:
    """Record where the request's "Generating…" message is; returns the request as it stands.

    The row is locked, so either the worker sees the reply when it finishes and delivers,
    or this call sees the finished request and the caller delivers the result itself.
    """
    view = _load(s, request_id, lock=True)
    if view is None:
        raise NotFound("That generation request no longer exists.")
    data = {**view.request_data, "reply": dict(reply)}
    s.execute(
        update(GenerationRequest)
        .where(GenerationRequest.id == request_id)
        .values(request_data=data)
        .execution_options(synchronize_session=False)
    )
    return _load(s, request_id)  # type: ignore[return-value]


def unshown_requests(
    s: Session, *, older_than: timedelta, within: timedelta = timedelta(hours=6), now=None
) -> list[str]:
    """Ids of requests finished over `older_than` ago whose "Generating…" message was never
    recorded (the listener died after queueing them). A read: cheap when there are none."""
    now = now or utcnow()
    rows = s.execute(
        select(GenerationRequest.id, GenerationRequest.request_data).where(
            GenerationRequest.created_at > now - within,
            GenerationRequest.status.in_(("COMPLETED", "FAILED")),
            GenerationRequest.completed_at < now - older_than,
        )
    ).all()
    return [rid for rid, data in rows if not (data or {}).get("reply")]


def claim_unshown(s: Session, request_id: str) -> RequestView | None:
    """Mark an unshown request to be sent as a direct message; None if it got a reply."""
    view = _load(s, request_id, lock=True)
    if view is None or view.reply is not None:
        return None
    return attach_reply(s, request_id, {"direct_message": True})


def request_context(s: Session, request_id: str) -> dict[str, Any]:
    """What the worker needs to brief Claude: the ask and the project's name, settings, titles."""
    row = s.get(GenerationRequest, request_id)
    if row is None:
        raise NotFound("That generation request no longer exists.")
    project = s.get(Project, row.project_id) if row.project_id else None
    if project is None:
        raise NotFound("The project of this request was deleted.")
    titles = list(
        s.scalars(
            select(UserStory.title)
            .where(UserStory.project_id == project.id)
            .order_by(UserStory.created_at.desc())
            .limit(MAX_EXISTING_TITLES)
        )
    )
    return {
        "request": dict(row.request_data or {}),
        "project": {
            "key": project.key,
            "name": project.name,
            "description": project.description,
            "settings": effective_settings(project.settings),
            "existing_titles": titles,
        },
    }


# ---- the queue ---------------------------------------------------------------------------


def has_pending(s: Session) -> bool:
    """Whether any request waits; a cheap read, so idle workers never take the write lock."""
    return bool(
        s.scalar(select(GenerationRequest.id).where(GenerationRequest.status == "PENDING").limit(1))
    )


def claim_next(s: Session, claimer: str, *, now: datetime | None = None) -> RequestView | None:
    """Atomically take the oldest PENDING request (PROCESSING, attempts + 1), or None.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers take different rows.
    SQLite: a conditional UPDATE inside the writer's BEGIN IMMEDIATE transaction.
    """
    now = now or utcnow()
    pending = and_(GenerationRequest.status == "PENDING")
    oldest = (
        select(GenerationRequest.id)
        .where(pending)
        .order_by(GenerationRequest.created_at, GenerationRequest.id)
        .limit(1)
    )
    if s.get_bind().dialect.name == "postgresql":
        request_id = s.scalar(oldest.with_for_update(skip_locked=True))
        if request_id is None:
            return None
        target = GenerationRequest.id == request_id
    else:
        target = GenerationRequest.id == oldest.scalar_subquery()
    claimed = s.scalar(
        update(GenerationRequest)
        .where(target, pending)
        .values(
            status="PROCESSING",
            claimed_by=claimer,
            claimed_at=now,
            attempts=GenerationRequest.attempts + 1,
        )
        .returning(GenerationRequest.id)
        .execution_options(synchronize_session=False)
    )
    return _load(s, claimed) if claimed else None


def claim_request(
    s: Session, request_id: str, claimer: str, *, now: datetime | None = None
) -> RequestView | None:
    """Take one given request if it is still PENDING (the console runs its own at once)."""
    claimed = s.scalar(
        update(GenerationRequest)
        .where(GenerationRequest.id == request_id, GenerationRequest.status == "PENDING")
        .values(
            status="PROCESSING",
            claimed_by=claimer,
            claimed_at=now or utcnow(),
            attempts=GenerationRequest.attempts + 1,
        )
        .returning(GenerationRequest.id)
        .execution_options(synchronize_session=False)
    )
    return _load(s, claimed) if claimed else None


def _held(request_id: str, claimer: str):
    return and_(
        GenerationRequest.id == request_id,
        GenerationRequest.status == "PROCESSING",
        GenerationRequest.claimed_by == claimer,
    )


def renew_claim(s: Session, request_id: str, claimer: str, *, now: datetime | None = None) -> bool:
    """Heartbeat: push the claim's lease forward; False when the claim was lost."""
    result = s.execute(
        update(GenerationRequest)
        .where(_held(request_id, claimer))
        .values(claimed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_claim(s: Session, request_id: str, claimer: str) -> bool:
    """Hand a claimed request back to the queue (PENDING) on shutdown; False if not held."""
    result = s.execute(
        update(GenerationRequest)
        .where(_held(request_id, claimer))
        .values(status="PENDING", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def complete_request(
    s: Session,
    request_id: str,
    claimer: str,
    *,
    response_data: dict[str, Any],
    processing_time: float,
    ai_model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    now: datetime | None = None,
) -> RequestView | None:
    """COMPLETED with the answer; None (and nothing written) when the claim was lost."""
    return _finish(
        s,
        request_id,
        claimer,
        status="COMPLETED",
        response_data=response_data,
        error_message=None,
        processing_time=processing_time,
        ai_model=ai_model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        completed_at=now or utcnow(),
    )


def fail_request(
    s: Session,
    request_id: str,
    claimer: str,
    *,
    error_message: str,
    processing_time: float | None = None,
    ai_model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    now: datetime | None = None,
) -> RequestView | None:
    """FAILED with a reason a person can read; None when the claim was lost."""
    return _finish(
        s,
        request_id,
        claimer,
        status="FAILED",
        response_data=None,
        error_message=error_message[:2000],
        processing_time=processing_time,
        ai_model=ai_model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        completed_at=now or utcnow(),
    )


def _finish(s: Session, request_id: str, claimer: str, **values: Any) -> RequestView | None:
    """End a request this claimer still holds; None (nothing written) when it lost the claim."""
    result = s.execute(
        update(GenerationRequest)
        .where(_held(request_id, claimer))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _load(s, request_id, lock=True) if result.rowcount == 1 else None


def requeue_stale(
    s: Session,
    *,
    stale_after: timedelta,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    dead: Iterable[str] = (),
    now: datetime | None = None,
) -> RequeueReport:
    """PROCESSING rows whose lease ran out, or whose claimer is known `dead` (a process that
    no longer runs), go back to PENDING, or FAILED after max attempts."""
    now = now or utcnow()
    gone = GenerationRequest.claimed_at < now - stale_after
    dead = list(dead)
    if dead:
        gone = or_(gone, GenerationRequest.claimed_by.in_(dead))
    stale = and_(GenerationRequest.status == "PROCESSING", gone)
    failed = list(
        s.scalars(
            update(GenerationRequest)
            .where(stale, GenerationRequest.attempts >= max_attempts)
            .values(
                status="FAILED",
                error_message=(
                    f"Generation was interrupted {max_attempts} times (the server restarted "
                    "while it ran), so it was stopped. Press Retry to try again."
                ),
                completed_at=now,
            )
            .returning(GenerationRequest.id)
            .execution_options(synchronize_session=False)
        )
    )
    requeued = list(
        s.scalars(
            update(GenerationRequest)
            .where(stale, GenerationRequest.attempts < max_attempts)
            .values(status="PENDING", claimed_by=None, claimed_at=None)
            .returning(GenerationRequest.id)
            .execution_options(synchronize_session=False)
        )
    )
    return RequeueReport(requeued=requeued, failed=failed)


def claimers(s: Session) -> list[str]:
    """Who holds the PROCESSING requests now (`host:pid:...` worker names)."""
    return list(
        s.scalars(
            select(GenerationRequest.claimed_by)
            .where(
                GenerationRequest.status == "PROCESSING", GenerationRequest.claimed_by.is_not(None)
            )
            .distinct()
        )
    )


def queue_counts(s: Session) -> dict[str, int]:
    """How many requests are in each state (for /metrics and the console)."""
    rows = s.execute(
        select(GenerationRequest.status, func.count()).group_by(GenerationRequest.status)
    ).all()
    return {status: count for status, count in rows}


def load_actor(s: Session, request: RequestView) -> Actor:
    """The user who asked, as an Actor (the worker acts on their behalf)."""
    user = s.get(User, request.user_id)
    if user is None:
        raise NotFound("The user who asked for this generation is gone.")
    return actor_of(user)


def retry_request(
    s: Session, actor: Actor, request_id: str, *, rate_limit_per_minute: int
) -> RequestView:
    """Queue a failed request again, as a new request with the same ask."""
    old = get_request(s, actor, request_id)
    if old.user_id != actor.user_id:
        raise NotFound("Only the person who asked can retry this generation.")
    if old.status != "FAILED":
        raise ValidationFailed("Only a failed generation can be retried.")
    if old.project_id is None:
        raise NotFound("The project of this generation was deleted.")
    ask = {k: v for k, v in old.request_data.items() if k != "reply"}
    ask["retry_of"] = old.id
    return enqueue_generation(
        s, actor, old.project_id, ask, rate_limit_per_minute=rate_limit_per_minute
    )
