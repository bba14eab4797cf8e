"""The durable queue of AI story generation over generation_requests, and its review drafts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.errors import DomainError, NotFound, ValidationFailed
from storage.fields import FEATURE_MAX
from storage.models import GenerationRequest, Project, User, UserStory, utcnow
from storage.projects import effective_settings, find_project
from storage.users import Actor, actor_of

DEFAULT_MAX_ATTEMPTS = 3
# Titles of existing stories the prompt carries; newest first, enough for Claude to avoid them.
MAX_EXISTING_TITLES = 100
DRAFTS_SESSION_KIND = "ai_drafts"
DRAFTS_TTL = timedelta(days=2)
# A draft is flagged "looks like KEY-N" when this share of its title words are in that story.
DUPLICATE_OVERLAP = 0.6


class RateLimited(DomainError):
    """The user asked for too many generations in the last minute."""


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


def check_rate_limit(s: Session, actor: Actor, limit: int, *, now: datetime | None = None) -> None:
    """Refuse with RateLimited when the actor already asked `limit` times in the last minute."""
    now = now or utcnow()
    since = now - timedelta(minutes=1)
    rows = s.execute(
        select(GenerationRequest.created_at)
        .where(
            GenerationRequest.team_id == actor.team_id,
            GenerationRequest.user_id == actor.user_id,
            GenerationRequest.created_at > since,
        )
        .order_by(GenerationRequest.created_at)
    ).all()
    if len(rows) >= limit:
        oldest = rows[len(rows) - limit][0]
        wait = max(1, math.ceil((oldest + timedelta(minutes=1) - now).total_seconds()))
        raise RateLimited(
            f"You have asked for {len(rows)} generations in the last minute; the limit is "
            f"{limit} a minute. Try again in {wait} second{'s' if wait != 1 else ''}."
        )


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
    project = find_project(s, actor, project_ref)
    # Serialise one user's concurrent asks so two can't both pass the limit (PostgreSQL).
    s.execute(select(User.id).where(User.id == actor.user_id).with_for_update())
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
    now: datetime | None = None,
) -> RequeueReport:
    """PROCESSING rows whose lease ran out go back to PENDING, or FAILED after max attempts."""
    now = now or utcnow()
    stale = and_(
        GenerationRequest.status == "PROCESSING", GenerationRequest.claimed_at < now - stale_after
    )
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


# ---- review drafts -----------------------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "to",
        "with",
        "when",
        "then",
        "given",
        "want",
        "user",
        "users",
        "can",
    ]
)


def _title_words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


def similar_stories(
    s: Session, actor: Actor, project_ref: str, title: str, *, limit: int = 3
) -> list[dict[str, str]]:
    """Existing stories whose titles share most words with `title`: [{key, title}]."""
    from storage.search import search_stories

    words = _title_words(title)
    if not words:
        return []
    candidates: dict[str, Any] = {}
    # full-text search per significant word finds candidates; overlap decides the flag
    for word in sorted(words, key=len, reverse=True)[:6]:
        try:
            found = search_stories(s, actor, word, project_ref=project_ref, limit=10)
        except ValidationFailed:
            continue
        for story in found:
            candidates.setdefault(story.key, story)
    scored = []
    for key, story in candidates.items():
        theirs = _title_words(story.title)
        if not theirs:
            continue
        overlap = len(words & theirs) / min(len(words), len(theirs))
        if overlap >= DUPLICATE_OVERLAP:
            scored.append((overlap, key, story.title))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [{"key": key, "title": story_title} for _, key, story_title in scored[:limit]]


@dataclass(frozen=True)
class Draft:
    """One draft under review: the story Claude wrote, and what the reviewer did with it."""

    index: int
    story: dict[str, Any]
    state: str  # open | saved | discarded | splitting
    key: str | None
    similar: list[dict[str, str]]


@dataclass(frozen=True)
class DraftReview:
    """The drafts of one generation, as the reviewer sees them; `token` finds them again."""

    token: str
    request_id: str
    project_key: str
    project_name: str
    ai_model: str | None
    offline: bool
    feature: str
    drafts: list[Draft]

    @property
    def open_drafts(self) -> list[Draft]:
        return [d for d in self.drafts if d.state == "open"]


def _review(token: str, data: dict[str, Any]) -> DraftReview:
    return DraftReview(
        token=token,
        request_id=data["request_id"],
        project_key=data["project_key"],
        project_name=data["project_name"],
        ai_model=data.get("ai_model"),
        offline=bool(data.get("offline")),
        feature=data.get("feature", ""),
        drafts=[
            Draft(
                index=i,
                story=d["story"],
                state=d.get("state", "open"),
                key=d.get("key"),
                similar=d.get("similar", []),
            )
            for i, d in enumerate(data["drafts"])
        ],
    )


def draft_lookalikes(s: Session, actor: Actor, request_id: str) -> list[list[dict[str, str]]]:
    """For each draft of a completed request, the existing stories it looks like (a read;
    run it before open_drafts so the write transaction stays short)."""
    request = get_request(s, actor, request_id)
    if not request.project_id or not request.response_data:
        return []
    return [
        similar_stories(s, actor, request.project_id, story.get("title", ""))
        for story in request.response_data.get("stories", [])
    ]


def open_drafts(
    s: Session,
    actor: Actor,
    request_id: str,
    *,
    lookalikes: list[list[dict[str, str]]] | None = None,
) -> DraftReview:
    """Put a completed request's drafts up for review (a session), each with the existing
    stories it looks like (`lookalikes` from draft_lookalikes, else looked up here).

    Drafts carried over from an earlier review (regenerate keeps the saved ones, split
    keeps the others) come first, as they were.
    """
    request = get_request(s, actor, request_id)
    if request.user_id != actor.user_id:
        raise NotFound("These drafts belong to someone else.")
    if request.status != "COMPLETED" or not request.response_data:
        raise ValidationFailed("This generation has no drafts to review.")
    project = s.get(Project, request.project_id) if request.project_id else None
    if project is None:
        raise NotFound("The project of these drafts was deleted.")
    carried = [dict(d) for d in request.request_data.get("carry", [])]
    stories = request.response_data.get("stories", [])
    if lookalikes is None or len(lookalikes) != len(stories):
        lookalikes = [similar_stories(s, actor, project.id, d.get("title", "")) for d in stories]
    fresh = [
        {"story": story, "state": "open", "key": None, "similar": similar}
        for story, similar in zip(stories, lookalikes, strict=True)
    ]
    data = {
        "request_id": request.id,
        "project_id": project.id,
        "project_key": project.key,
        "project_name": project.name,
        "ai_model": request.ai_model,
        "offline": bool(request.response_data.get("offline")),
        "feature": request.request_data.get("feature", ""),
        "ask": {k: v for k, v in request.request_data.items() if k not in ("reply", "carry")},
        "drafts": carried + fresh,
    }
    from storage.sessions import create_session

    token = create_session(s, actor, DRAFTS_SESSION_KIND, data, DRAFTS_TTL)
    return _review(token, data)


def _session(s: Session, actor: Actor, token: str) -> dict[str, Any]:
    from storage.sessions import load_session

    if not isinstance(token, str) or not token:
        raise NotFound("Those drafts have expired; generate them again.")
    try:
        return load_session(s, actor, token, DRAFTS_SESSION_KIND)
    except NotFound:
        raise NotFound(
            "Those drafts have expired or belong to someone else; generate them again."
        ) from None


def _store(s: Session, actor: Actor, token: str, data: dict[str, Any]) -> DraftReview:
    from storage.sessions import update_session

    update_session(s, actor, token, data)
    return _review(token, data)


def load_drafts(s: Session, actor: Actor, token: str) -> DraftReview:
    return _review(token, _session(s, actor, token))


def _pick(data: dict[str, Any], index: int) -> dict[str, Any]:
    drafts = data["drafts"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(drafts):
        raise NotFound("That draft is not part of this generation.")
    return drafts[index]


def story_metadata(request_id: str, ai_model: str | None, story: dict[str, Any]) -> dict[str, Any]:
    """What a saved story keeps from its generation (the seed's metadata fields)."""
    meta = story.get("metadata") or {}
    return {
        "generation_request_id": request_id,
        "ai_model": ai_model,
        "ai_confidence": meta.get("ai_confidence"),
        "estimated_hours": meta.get("estimated_hours"),
        "complexity": meta.get("complexity"),
        "dependencies": list(meta.get("dependencies") or []),
    }


def save_drafts(
    s: Session,
    actor: Actor,
    token: str,
    indexes: list[int] | None = None,
    *,
    changes: dict[str, Any] | None = None,
) -> DraftReview:
    """Save the chosen open drafts (all open ones when `indexes` is None) as DRAFT stories.

    `changes` (one draft only) are the reviewer's edits from the story form. Each story
    carries metadata.generation_request_id and the AI's estimates. All or nothing.
    """
    from storage.stories import create_story

    data = _session(s, actor, token)
    chosen = (
        [i for i, d in enumerate(data["drafts"]) if d.get("state", "open") == "open"]
        if indexes is None
        else indexes
    )
    if changes is not None and len(chosen) != 1:
        raise ValidationFailed("Edit one draft at a time.")
    for index in chosen:
        draft = _pick(data, index)
        if draft.get("state", "open") != "open":
            what = f"saved as {draft['key']}" if draft.get("key") else draft.get("state")
            raise ValidationFailed(f"That draft was already {what}.")
        story = draft["story"]
        fields = {
            "title": story.get("title"),
            "description": story.get("description"),
            "acceptance_criteria": story.get("acceptance_criteria") or [],
            "priority": story.get("priority"),
            "story_points": story.get("story_points") or 0,
            "tasks": story.get("tasks") or [],
            "tags": story.get("tags") or [],
            **(changes or {}),
            "meta": story_metadata(data["request_id"], data.get("ai_model"), story),
        }
        saved = create_story(s, actor, data["project_id"], fields)
        draft.update(state="saved", key=saved.key)
        if changes:
            draft["story"] = {**story, **{k: v for k, v in changes.items() if k in story}}
    return _store(s, actor, token, data)


def discard_draft(s: Session, actor: Actor, token: str, index: int) -> DraftReview:
    """Set a draft aside (nothing is saved for it)."""
    data = _session(s, actor, token)
    draft = _pick(data, index)
    if draft.get("state", "open") != "open":
        raise ValidationFailed("Only a draft still under review can be discarded.")
    draft["state"] = "discarded"
    return _store(s, actor, token, data)


def draft_for_edit(s: Session, actor: Actor, token: str, index: int) -> dict[str, Any]:
    """The story fields of an open draft, to prefill the story form, plus its project id."""
    data = _session(s, actor, token)
    draft = _pick(data, index)
    if draft.get("state", "open") != "open":
        raise ValidationFailed("Only a draft still under review can be edited.")
    return {**draft["story"], "project": data["project_id"]}


def regenerate(
    s: Session, actor: Actor, token: str, feedback: str, *, rate_limit_per_minute: int
) -> RequestView:
    """Ask again with the reviewer's feedback; drafts already saved stay in the review."""
    data = _session(s, actor, token)
    feedback = (feedback or "").strip()
    if not feedback:
        raise ValidationFailed("Say what to change.", {"feedback": "Say what to change."})
    if len(feedback) > 500:
        raise ValidationFailed(
            f"The feedback is {len(feedback)} characters; keep it under 500.",
            {"feedback": "At most 500 characters."},
        )
    ask = {**data["ask"], "feedback": feedback, "kind": "regenerate", "split_story": None}
    ask["carry"] = [d for d in data["drafts"] if d.get("state") == "saved"]
    return enqueue_generation(
        s, actor, data["project_id"], ask, rate_limit_per_minute=rate_limit_per_minute
    )


def split_draft(
    s: Session, actor: Actor, token: str, index: int, *, rate_limit_per_minute: int
) -> RequestView:
    """Ask for a big draft split into smaller stories; the other drafts stay in the review."""
    data = _session(s, actor, token)
    draft = _pick(data, index)
    if draft.get("state", "open") != "open":
        raise ValidationFailed("Only a draft still under review can be split.")
    story = draft["story"]
    points = int(story.get("story_points") or 0)
    ask = {
        **data["ask"],
        "kind": "split",
        "feedback": None,
        "count": 3 if points > 13 else 2,
        "split_story": {
            k: story.get(k) for k in ("title", "description", "acceptance_criteria", "story_points")
        },
        "carry": [d for i, d in enumerate(data["drafts"]) if i != index],
    }
    request = enqueue_generation(
        s, actor, data["project_id"], ask, rate_limit_per_minute=rate_limit_per_minute
    )
    draft["state"] = "splitting"
    _store(s, actor, token, data)
    return request


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


@dataclass(frozen=True)
class GenerateForm:
    """What the generate modal opens with: the workspace's projects and the prefilled ask."""

    projects: list[Any]
    initial: dict[str, Any]
    note: str | None


def generate_form(
    s: Session, actor: Actor, text: str, *, channel_id: str | None, rate_limit_per_minute: int
) -> GenerateForm:
    """Read `[PROJECT] [FEATURE TEXT]`: a first word naming a project picks it, else the
    channel's linked project; the rest is the feature. Refuses early when rate-limited."""
    from storage.projects import list_projects, project_for_request

    projects = list_projects(s, actor)
    if not projects:
        raise NotFound("There are no projects yet: create one with `/project new` first.")
    check_rate_limit(s, actor, rate_limit_per_minute)
    text = (text or "").strip()
    named = None
    first, _, rest = text.partition(" ")
    if first:
        try:
            named = project_for_request(s, actor, first, channel_id)
            text = rest.strip()
        except (NotFound, ValidationFailed):  # the first word is the feature's, not a project
            named = None
    project = named or project_for_request(s, actor, None, channel_id)
    project_id = project.id if project else None
    if project_id is None and len(projects) == 1:
        project_id = projects[0].id
    chosen = next((p for p in projects if p.id == project_id), None)
    include_tasks = bool((chosen.settings if chosen else {}).get("include_tasks", True))
    note = None
    if len(text) > FEATURE_MAX:
        note = (
            f"The text was {len(text)} characters; a feature description is at most "
            f"{FEATURE_MAX}, so only the start is filled in below. Edit it as you like."
        )
        text = text[:FEATURE_MAX]
    initial = {"project": project_id, "feature": text, "count": 3, "include_tasks": include_tasks}
    return GenerateForm(projects=projects, initial=initial, note=note)
