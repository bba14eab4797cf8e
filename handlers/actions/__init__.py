"""Block action listeners: the story card, list paging, App Home buttons, deletes."""

from __future__ import annotations

from slack_bolt import App

from bot.ui import ids
from handlers.actions import ai_drafts, home_buttons, paging, project_delete, story_card


def register(app: App) -> None:
    app.action(ids.STORY_STATUS)(story_card.on_status)
    app.action(ids.STORY_ASSIGN)(story_card.on_assign)
    app.action(ids.STORY_EDIT)(story_card.on_edit)
    app.action(ids.STORY_DELETE)(story_card.on_delete)
    app.action(ids.PAGE_NEXT)(paging.on_next)
    app.action(ids.PAGE_PREVIOUS)(paging.on_previous)
    app.action(ids.PROJECT_DELETE)(project_delete.on_delete)
    app.action(ids.HOME_NEW_STORY)(home_buttons.on_new_story)
    app.action(ids.HOME_NEW_PROJECT)(home_buttons.on_new_project)
    # AI generation (issue 4)
    app.action(ids.AI_DRAFT_SAVE)(ai_drafts.on_save)
    app.action(ids.AI_DRAFT_EDIT)(ai_drafts.on_edit)
    app.action(ids.AI_DRAFT_DISCARD)(ai_drafts.on_discard)
    app.action(ids.AI_DRAFT_SPLIT)(ai_drafts.on_split)
    app.action(ids.AI_SAVE_ALL)(ai_drafts.on_save_all)
    app.action(ids.AI_REGENERATE)(ai_drafts.on_regenerate)
    app.action(ids.AI_RETRY)(ai_drafts.on_retry)
