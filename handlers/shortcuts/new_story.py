"""Global shortcut "New story": the story form, from anywhere in Slack."""

from __future__ import annotations

from bot import commands
from bot.ui.modals import modal_for
from handlers.listening import Request


def open_new(req: Request) -> None:
    with req.write() as s:
        actor = req.actor(s)
        form = commands.new_story_form(s, actor, None, None)
        token = req.remember(s, actor, form="story", target=None)
    req.open_modal(modal_for(form, metadata=token))
