"""Modal submission listeners: project form, story form, assign picker."""

from __future__ import annotations

from slack_bolt import App

from bot.ui import ids
from handlers.views import assign_submitted, generate_submitted, project_submitted, story_submitted


def register(app: App) -> None:
    app.view(ids.PROJECT_MODAL)(project_submitted.on_submit)
    app.view(ids.STORY_MODAL)(story_submitted.on_submit)
    app.view(ids.ASSIGN_MODAL)(assign_submitted.on_submit)
    app.view(ids.AI_GENERATE_MODAL)(generate_submitted.on_generate)
    app.view(ids.AI_FEEDBACK_MODAL)(generate_submitted.on_feedback)
    app.view(ids.AI_EDIT_DRAFT_MODAL)(generate_submitted.on_edit)
