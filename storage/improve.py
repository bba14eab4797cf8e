"""Improve with Claude: ask for a story rewritten against its findings (the generation queue),
review the improved version beside the current one (a session), then replace or keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.errors import Conflict, NotFound, ValidationFailed
from storage.generation.queue import RequestView, enqueue_generation, get_request
from storage.models import GenerationRequest
from storage.readiness import Finding, check_story, story_readiness
from storage.sessions import create_session, load_session, update_session
from storage.stories import StoryView, find_story, get_story, update_story
from storage.users import Actor

IMPROVE_KIND = "improve"
REVIEW_SESSION_KIND = "ai_improve"
REVIEW_TTL = timedelta(days=2)
# What an improvement may change; priority, tags, status and assignee stay the team's.
REPLACED = ("title", "description", "acceptance_criteria", "story_points", "tasks")


@dataclass(frozen=True)
class Improvement:
    """An improved story under review beside the current one; `token` finds it again."""

    token: str
    story_id: str
    key: str
    current: dict[str, Any]
    improved: dict[str, Any]
    before: list[Finding]
    after: list[Finding]
    ai_model: str | None
    state: str  # open | replaced | kept


def _fields(story: Any) -> dict[str, Any]:
    return {f: getattr(story, f) for f in REPLACED}


def _running(s: Session, actor: Actor, story_id: str) -> bool:
    return (
        s.scalar(
            select(GenerationRequest.id)
            .where(
                GenerationRequest.team_id == actor.team_id,
                GenerationRequest.status.in_(("PENDING", "PROCESSING")),
                GenerationRequest.request_data["story_id"].as_string() == story_id,
            )
            .limit(1)
        )
        is not None
    )


def ask_improvement(
    s: Session, actor: Actor, ref: str, *, rate_limit_per_minute: int
) -> RequestView:
    """Queue Claude's rewrite of a story of the actor's workspace, with its findings; refused
    while one for the same story is still running."""
    row, project = find_story(s, actor, ref)
    story = get_story(s, actor, row.id)
    if _running(s, actor, story.id):
        raise ValidationFailed(
            f"Claude is already improving {story.key}; its version will be shown when it is "
            "ready. Nothing new was asked."
        )
    findings = story_readiness(s, actor, story)
    ask = {
        "kind": IMPROVE_KIND,
        "count": 1,
        "feature": story.title,
        "include_tasks": True,
        "story_id": story.id,
        "story_key": story.key,
        "improve_story": _fields(story),
        "findings": [{"name": f.name, "message": f.message} for f in findings],
    }
    return enqueue_generation(
        s, actor, project.id, ask, rate_limit_per_minute=rate_limit_per_minute
    )


def _review(token: str, data: dict[str, Any]) -> Improvement:
    return Improvement(
        token=token,
        story_id=data["story_id"],
        key=data["key"],
        current=data["current"],
        improved=data["improved"],
        before=[Finding(**f) for f in data["before"]],
        after=[Finding(**f) for f in data["after"]],
        ai_model=data.get("ai_model"),
        state=data.get("state", "open"),
    )


def open_improvement(s: Session, actor: Actor, request_id: str) -> Improvement:
    """Put a completed improve request up for review: the story as Claude read it and
    Claude's version, each with its findings."""
    request = get_request(s, actor, request_id)
    if request.user_id != actor.user_id:
        raise NotFound("This improvement belongs to someone else.")
    stories = (request.response_data or {}).get("stories") or []
    if request.status != "COMPLETED" or not stories:
        raise ValidationFailed("Claude gave no improved version to review.")
    ask = request.request_data
    improved = {f: stories[0].get(f) for f in REPLACED}
    data = {
        "story_id": ask["story_id"],
        "key": ask.get("story_key", ""),
        "current": ask["improve_story"],
        "improved": improved,
        "before": ask.get("findings") or [],
        "after": [{"name": f.name, "message": f.message} for f in check_story(improved)],
        "ai_model": request.ai_model,
        "state": "open",
    }
    token = create_session(s, actor, REVIEW_SESSION_KIND, data, REVIEW_TTL)
    return _review(token, data)


def _session(s: Session, actor: Actor, token: str) -> dict[str, Any]:
    try:
        return load_session(s, actor, token, REVIEW_SESSION_KIND)
    except NotFound:
        raise NotFound(
            "That improvement has expired or belongs to someone else; ask Claude again."
        ) from None


def replace_with_improvement(s: Session, actor: Actor, token: str) -> StoryView:
    """Replace the story's text with Claude's version (the domain's edit: the same rules,
    audit row and live cards), unless the story changed since Claude read it."""
    data = _session(s, actor, token)
    if data.get("state", "open") != "open":
        raise ValidationFailed(f"This improvement was already {data['state']}.")
    story = get_story(s, actor, data["story_id"])
    if _fields(story) != data["current"]:
        raise Conflict(
            f"{story.key} was changed since Claude read it, so nothing was replaced. Improve "
            "it again to work from the current version."
        )
    changed = update_story(s, actor, story.id, dict(data["improved"]))
    update_session(s, actor, token, {**data, "state": "replaced"})
    return changed


def keep_current(s: Session, actor: Actor, token: str) -> Improvement:
    """Set Claude's version aside; the story stays as it is."""
    data = _session(s, actor, token)
    if data.get("state", "open") == "open":
        data = {**data, "state": "kept"}
        update_session(s, actor, token, data)
    return _review(token, data)
