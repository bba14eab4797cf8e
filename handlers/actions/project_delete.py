"""The confirmed Delete of a project (from `/project delete REF`)."""

from __future__ import annotations

from bot.ui.messages import note
from bot.ui.text import escape
from handlers.listening import Request
from storage import projects


def delete(req: Request) -> None:
    project_id = req.body["actions"][0].get("value") or ""
    with req.write() as s:
        project = projects.delete_project(s, req.actor(s), project_id)
    label = f"{project.name} ({project.key})"
    gone = note(f"{label} deleted.", mrkdwn=f":wastebasket: ~{escape(label)}~ deleted.")
    req.answer(gone, replace=True)
