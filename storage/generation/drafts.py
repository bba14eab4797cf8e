"""Reviewing a generation's drafts (a session): save, edit, discard, split, regenerate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from storage.errors import NotFound, ValidationFailed
from storage.generation.queue import RequestView, enqueue_generation, get_request
from storage.live.subscriptions import track_thread
from storage.models import Project
from storage.sessions import create_session, load_session, update_session
from storage.stories import create_story
from storage.users import Actor

DRAFTS_SESSION_KIND = "ai_drafts"
DRAFTS_TTL = timedelta(days=2)


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


def open_drafts(
    s: Session,
    actor: Actor,
    request_id: str,
    *,
    lookalikes: list[list[dict[str, str]]],
) -> DraftReview:
    """Put a completed request's drafts up for review (a session), each with the existing
    stories it looks like (`lookalikes`: draft_lookalikes, read before this write).

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
    token = create_session(s, actor, DRAFTS_SESSION_KIND, data, DRAFTS_TTL)
    return _review(token, data)


def _session(s: Session, actor: Actor, token: str) -> dict[str, Any]:
    if not isinstance(token, str) or not token:
        raise NotFound("Those drafts have expired; generate them again.")
    try:
        return load_session(s, actor, token, DRAFTS_SESSION_KIND)
    except NotFound:
        raise NotFound(
            "Those drafts have expired or belong to someone else; generate them again."
        ) from None


def _store(s: Session, actor: Actor, token: str, data: dict[str, Any]) -> DraftReview:
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
        thread = (data.get("ask") or {}).get("thread")
        if thread:  # asked from a message: the story follows its thread
            track_thread(s, actor, saved, thread["channel"], thread["ts"])
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
