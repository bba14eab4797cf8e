"""`/autodev generate [PROJECT] [FEATURE TEXT]` and the message shortcut: open the ask form."""

from __future__ import annotations

from bot.commands import GenerateAsked
from bot.ui.generation import generate_modal
from handlers.listening import Request
from storage.generation.form import generate_form


def open_generate_form(
    req: Request,
    asked: GenerateAsked,
    *,
    conversation: list[dict[str, str]] | None = None,
    thread: dict[str, str] | None = None,
) -> None:
    """The generation form, the project and feature read from what was typed. From a
    message: its thread's `conversation` goes to Claude too, and the saved drafts follow
    the message's `thread`."""
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
        token = req.remember(s, actor, conversation=conversation or [], thread=thread)
    note = form.note
    if conversation:
        heard = f"Claude also reads this thread's {len(conversation)} messages."
        note = f"{note} {heard}" if note else heard
    req.open_modal(generate_modal(form.projects, form.initial, metadata=token, note=note))
