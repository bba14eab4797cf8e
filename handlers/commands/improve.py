"""Improve with Claude, asked: `/story improve KEY-N` and the card's button (after the ack)."""

from __future__ import annotations

from bot.ai.delivery import show_generating
from bot.commands import ImproveAsked
from bot.ui.readiness import improve_offline
from handlers.listening import Request
from storage import improve, stories


def improve_story(req: Request, asked: ImproveAsked) -> None:
    ask_for(req, asked.story_id)


def ask_for(req: Request, ref: str) -> None:
    """Queue Claude's rewrite of story `ref`, and show "Generating…" beside what was clicked;
    without an API key, say what it needs instead (nothing queued)."""
    key = req.settings.anthropic_api_key
    if key is None or not key.get_secret_value():
        with req.write() as s:
            story = stories.get_story(s, req.actor(s), ref)
        req.answer(improve_offline(story))
        return
    with req.write() as s:
        request = improve.ask_improvement(
            s, req.actor(s), ref, rate_limit_per_minute=req.settings.ai_rate_limit_per_minute
        )
    show_generating(req.db, req.client, request, req.origin, replace=False)
