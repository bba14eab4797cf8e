"""The project form submitted: create or update the project, then show it to the user."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.forms import save_project
from bot.ui.lists import project_card
from bot.ui.modals import submitted_values
from handlers.listening import Request


def save(req: Request, s: Session) -> Callable[[Request], None]:
    actor = req.actor(s)
    kept = req.recall(s, actor)
    project = save_project(s, actor, kept.get("target"), submitted_values(req.body["view"]))
    note = "Project updated." if kept.get("target") else "Project created."

    def show_project(req: Request) -> None:
        if not req.origin.in_view:  # App Home redraws itself
            req.answer(project_card(project, note=note))

    return show_project
