"""Message shortcut "Generate stories from message": the generation form, the message as the
feature."""

from __future__ import annotations

from bot.commands import GenerateAsked
from handlers.commands.generate import open_generate_form
from handlers.listening import Request


def generate(req: Request) -> None:
    text = ((req.body.get("message") or {}).get("text") or "").strip()
    open_generate_form(req, GenerateAsked(text))
