"""App Home buttons: New project opens its form (New story is the shortcut's: the story
form, no project preselected)."""

from __future__ import annotations

from bot import commands
from bot.forms import project_initial
from bot.ui.modals import modal_for
from handlers.listening import Request


def new_project(req: Request) -> None:
    form = commands.OpenForm("project", project_initial())
    with req.write() as s:
        token = req.remember(s, req.actor(s), form="project", target=None)
    req.open_modal(modal_for(form, metadata=token))
