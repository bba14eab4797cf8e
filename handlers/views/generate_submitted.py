"""Generation modals submitted: the ask, regenerate-with-feedback, and an edited draft."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.ai.delivery import send_reply, show_generating_after_ack
from bot.ai.schemas import GenerationAsk
from bot.forms import story_data
from bot.ui.generation import drafts_message
from bot.ui.modals import submitted_values
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    forget_modal,
    recall_modal,
    settings_of,
    shows_errors,
)
from storage.errors import DomainError, ValidationFailed
from storage.generation.drafts import regenerate, save_drafts
from storage.generation.queue import enqueue_generation

log = logging.getLogger(__name__)
SORRY = "Sorry, something went wrong on our side; nothing was saved."


def _refuse(ack: Any, exc: Exception, fields: list[str], fallback: str) -> None:
    """Ack with inline errors: the field a refusal names, else `fallback`."""
    if isinstance(exc, ValidationError):
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str((err.get("loc") or (fallback,))[0])
            field = {"project_ref": "project"}.get(field, field)
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            errors.setdefault(field if field in fields else fallback, message[:2000])
        ack(response_action="errors", errors=errors)
    elif isinstance(exc, ValidationFailed) and exc.field_errors:
        errors = {k if k in fields else fallback: v for k, v in exc.field_errors.items()}
        ack(response_action="errors", errors={k: v[:2000] for k, v in errors.items()})
    elif isinstance(exc, DomainError):
        ack(response_action="errors", errors={fallback: exc.message[:2000]})
    else:
        log.error("generation modal submission failed", exc_info=exc)
        ack(response_action="errors", errors={fallback: SORRY})


ASK_FIELDS = ["project", "feature", "count", "audience", "include_tasks"]


def on_generate(ack: Any, body: dict, context: BoltContext, view: dict, client: WebClient):
    values = submitted_values(view)
    db = database(context)
    try:
        ask = GenerationAsk(
            project_ref=values.get("project") or "",
            feature=values.get("feature") or "",
            count=values.get("count") or 3,
            audience=values.get("audience"),
            include_tasks=bool(values.get("include_tasks")),
        )
        with db.write() as s:
            actor = acting_member(s, context)
            origin = recall_modal(s, actor, view.get("private_metadata") or "")
            request = enqueue_generation(
                s,
                actor,
                ask.project_ref,
                ask.model_dump(exclude={"project_ref", "feedback"}),
                rate_limit_per_minute=settings_of(context).ai_rate_limit_per_minute,
            )
            forget_modal(s, actor, view.get("private_metadata") or "")
    except Exception as exc:
        _refuse(ack, exc, ASK_FIELDS, "feature")
        return
    ack()  # the modal closes now; Claude runs in the AI worker pool
    after_ack(
        context,
        show_generating_after_ack,
        db=db,
        client=client,
        request=request,
        reply=_reply_of(origin),
        replace=False,
    )


def _reply_of(origin: dict[str, Any]) -> dict[str, Any]:
    if origin.get("response_url"):
        return {"response_url": origin["response_url"]}
    return {}


def on_feedback(ack: Any, body: dict, context: BoltContext, view: dict, client: WebClient):
    values = submitted_values(view)
    db = database(context)
    try:
        with db.write() as s:
            actor = acting_member(s, context)
            meta = recall_modal(s, actor, view.get("private_metadata") or "")
            request = regenerate(
                s,
                actor,
                meta.get("drafts") or "",
                values.get("feedback") or "",
                rate_limit_per_minute=settings_of(context).ai_rate_limit_per_minute,
            )
            forget_modal(s, actor, view.get("private_metadata") or "")
    except Exception as exc:
        _refuse(ack, exc, ["feedback"], "feedback")
        return
    ack()
    after_ack(
        context,
        show_generating_after_ack,
        db=db,
        client=client,
        request=request,
        reply=meta.get("reply") or {},
    )


EDIT_FIELDS = ["title", "description", "acceptance_criteria", "priority", "story_points", "tags"]


def on_edit(ack: Any, body: dict, context: BoltContext, view: dict, client: WebClient):
    values = submitted_values(view)
    db = database(context)
    try:
        with db.write() as s:
            actor = acting_member(s, context)
            meta = recall_modal(s, actor, view.get("private_metadata") or "")
            review = save_drafts(
                s,
                actor,
                meta.get("drafts") or "",
                [int(meta.get("index", -1))],
                changes=story_data(values),
            )
            forget_modal(s, actor, view.get("private_metadata") or "")
    except Exception as exc:
        _refuse(ack, exc, EDIT_FIELDS, "title")
        return
    ack()
    after_ack(
        context,
        _refresh,
        context=context,
        client=client,
        reply=meta.get("reply") or {},
        review=review,
    )


@shows_errors
def _refresh(context: BoltContext, client: WebClient, reply: dict[str, Any], review: Any) -> None:
    send_reply(reply, drafts_message(review), client, context.user_id)
