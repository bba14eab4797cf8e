"""App Home buttons: New story and New project open their forms."""

from __future__ import annotations

from bot import commands
from bot.forms import project_initial
from bot.ui.modals import modal_for
from handlers.listening import Request


def new_story(req: Request) -> None:
    with req.write() as s:
        actor = req.actor(s)
        form = commands.new_story_form(s, actor, None, None)
        token = req.remember(s, actor, form="story", target=None)
    req.open_modal(modal_for(form, metadata=token))


def new_project(req: Request) -> None:
    form = commands.OpenForm("project", project_initial())
    with req.write() as s:
        token = req.remember(s, req.actor(s), form="project", target=None)
    req.open_modal(modal_for(form, metadata=token))
