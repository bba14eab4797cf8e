"""Buttons on generated drafts: Save, Edit, Discard, Split, Save all, Regenerate, Retry."""

from __future__ import annotations

from typing import Any

from bot.ai.delivery import show_generating
from bot.ui.generation import drafts_message, edit_draft_modal, feedback_modal, parse_draft_value
from handlers.listening import Request
from storage.generation.drafts import (
    discard_draft,
    draft_for_edit,
    load_drafts,
    save_drafts,
    split_draft,
)
from storage.generation.queue import retry_request


def _value(req: Request) -> str:
    return ((req.body.get("actions") or [{}])[0].get("value")) or ""


def _redraw(req: Request, review: Any) -> None:
    req.answer(drafts_message(review), replace=True)


def save(req: Request) -> None:
    token, index = parse_draft_value(_value(req))
    with req.write() as s:
        review = save_drafts(s, req.actor(s), token, [index])
    _redraw(req, review)


def save_all(req: Request) -> None:
    with req.write() as s:
        review = save_drafts(s, req.actor(s), _value(req), None)
    _redraw(req, review)


def discard(req: Request) -> None:
    token, index = parse_draft_value(_value(req))
    with req.write() as s:
        review = discard_draft(s, req.actor(s), token, index)
    _redraw(req, review)


def edit(req: Request) -> None:
    token, index = parse_draft_value(_value(req))
    with req.write() as s:
        actor = req.actor(s)
        draft = draft_for_edit(s, actor, token, index)
        modal_token = req.remember(s, actor, drafts=token, index=index)
    req.open_modal(edit_draft_modal(draft, metadata=modal_token))


def regenerate(req: Request) -> None:
    token = _value(req)
    with req.write() as s:
        actor = req.actor(s)
        load_drafts(s, actor, token)  # still there, and this member's
        modal_token = req.remember(s, actor, drafts=token)
    req.open_modal(feedback_modal(metadata=modal_token))


def split(req: Request) -> None:
    token, index = parse_draft_value(_value(req))
    with req.write() as s:
        request = split_draft(
            s,
            req.actor(s),
            token,
            index,
            rate_limit_per_minute=req.settings.ai_rate_limit_per_minute,
        )
    show_generating(req.db, req.client, request, req.origin)


def retry(req: Request) -> None:
    with req.write() as s:
        request = retry_request(
            s,
            req.actor(s),
            _value(req),
            rate_limit_per_minute=req.settings.ai_rate_limit_per_minute,
        )
    show_generating(req.db, req.client, request, req.origin)
