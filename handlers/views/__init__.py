"""Modal submission listeners: project form, story form, assign picker, generation modals."""

from __future__ import annotations

from slack_bolt import App

from bot.forms import PROJECT_FORM, STORY_FORM
from bot.ui import ids
from handlers.listening import submits
from handlers.views import assign_submitted, generate_submitted, project_submitted, story_submitted


def register(app: App) -> None:
    story_fields = [f.name for f in STORY_FORM]
    app.view(ids.PROJECT_MODAL)(
        submits(
            project_submitted.save,
            fields=[f.name for f in PROJECT_FORM],
            fallback=("name",),
            form=PROJECT_FORM,
        )
    )
    app.view(ids.STORY_MODAL)(
        submits(
            story_submitted.save,
            fields=story_fields,
            fallback=("project", "title"),
            form=STORY_FORM,
        )
    )
    app.view(ids.ASSIGN_MODAL)(
        submits(assign_submitted.save, fields=["assignee"], fallback=("assignee",), form=STORY_FORM)
    )
    app.view(ids.AI_GENERATE_MODAL)(
        submits(generate_submitted.ask, fields=generate_submitted.ASK_FIELDS, fallback=("feature",))
    )
    app.view(ids.AI_FEEDBACK_MODAL)(
        submits(generate_submitted.feedback, fields=["feedback"], fallback=("feedback",))
    )
    app.view(ids.AI_EDIT_DRAFT_MODAL)(
        submits(
            generate_submitted.edited,
            fields=generate_submitted.EDIT_FIELDS,
            fallback=("title",),
            form=STORY_FORM,
        )
    )
