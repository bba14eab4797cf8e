"""`/autodev generate [PROJECT] [FEATURE TEXT]` and the message shortcut: open the ask form."""

from __future__ import annotations

from bot.commands import GenerateAsked
from bot.ui.generation import generate_modal
from handlers.listening import Request
from storage.generation.form import generate_form


def open_generate_form(req: Request, asked: GenerateAsked) -> None:
    """The generation form, the project and feature read from what was typed."""
    text = asked.text
    with req.write() as s:
        actor = req.actor(s)
        form = generate_form(
            s,
            actor,
            text,
            channel_id=req.origin.channel_id,
            rate_limit_per_minute=req.settings.ai_rate_limit_per_minute,
        )
        token = req.remember(s, actor)
    req.open_modal(generate_modal(form.projects, form.initial, metadata=token, note=form.note))
