"""Generation modals submitted: the ask, regenerate-with-feedback, and an edited draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot.ai.delivery import show_generating_after_ack
from bot.ai.schemas import GenerationAsk
from bot.forms import story_data
from bot.ui.generation import drafts_message
from bot.ui.modals import submitted_values
from handlers.listening import Request
from storage.generation.drafts import regenerate, save_drafts
from storage.generation.queue import enqueue_generation

ASK_FIELDS = ["project", "feature", "count", "audience", "include_tasks"]
EDIT_FIELDS = ["title", "description", "acceptance_criteria", "priority", "story_points", "tags"]


def _generating(queued: Any, *, replace: bool = True) -> Callable[[Request], None]:
    """After the ack (the modal closes now; Claude runs in the AI worker pool): "Generating…"
    where the modal was opened."""

    def show_generating(req: Request) -> None:
        show_generating_after_ack(req.db, req.client, queued, req.origin, replace=replace)

    return show_generating


def ask(req: Request, s: Session) -> Callable[[Request], None]:
    values = submitted_values(req.body["view"])
    asked = GenerationAsk(
        project_ref=values.get("project") or "",
        feature=values.get("feature") or "",
        count=values.get("count") or 3,
        audience=values.get("audience"),
        include_tasks=bool(values.get("include_tasks")),
    )
    actor = req.actor(s)
    kept = req.recall(s, actor)
    from_message = {k: kept[k] for k in ("conversation", "thread") if kept.get(k)}
    request = enqueue_generation(
        s,
        actor,
        asked.project_ref,
        {**asked.model_dump(exclude={"project_ref", "feedback"}), **from_message},
        rate_limit_per_minute=req.settings.ai_rate_limit_per_minute,
    )
    return _generating(request, replace=False)


def feedback(req: Request, s: Session) -> Callable[[Request], None]:
    actor = req.actor(s)
    kept = req.recall(s, actor)
    request = regenerate(
        s,
        actor,
        kept.get("drafts") or "",
        submitted_values(req.body["view"]).get("feedback") or "",
        rate_limit_per_minute=req.settings.ai_rate_limit_per_minute,
    )
    return _generating(request)


def edited(req: Request, s: Session) -> Callable[[Request], None]:
    actor = req.actor(s)
    kept = req.recall(s, actor)
    review = save_drafts(
        s,
        actor,
        kept.get("drafts") or "",
        [int(kept.get("index", -1))],
        changes=story_data(submitted_values(req.body["view"])),
    )

    def show_drafts(req: Request) -> None:
        req.answer(drafts_message(review), replace=True)

    return show_drafts
