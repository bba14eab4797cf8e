"""Improve with Claude: the card's button asks, the review's Replace / Keep current answer."""

from __future__ import annotations

from bot.ui.readiness import improvement_message
from bot.ui.story_card import story_message
from handlers.commands.improve import ask_for
from handlers.listening import Request
from storage import improve


def _value(req: Request) -> str:
    return ((req.body.get("actions") or [{}])[0].get("value")) or ""


def ask(req: Request) -> None:
    """The card's "Improve with Claude" (also `/story improve KEY-N`)."""
    ask_for(req, _value(req))


def replace(req: Request) -> None:
    with req.write() as s:
        story = improve.replace_with_improvement(s, req.actor(s), _value(req))
    req.answer(story_message(story, note="Replaced with Claude's version."), replace=True)


def keep(req: Request) -> None:
    with req.write() as s:
        review = improve.keep_current(s, req.actor(s), _value(req))
    req.answer(improvement_message(review), replace=True)
