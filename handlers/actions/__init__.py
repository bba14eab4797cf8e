"""Block action listeners: the story card, list paging, App Home buttons, deletes, drafts."""

from __future__ import annotations

from slack_bolt import App

from bot.ui import ids
from handlers.actions import (
    ai_drafts,
    home_buttons,
    improve,
    paging,
    project_delete,
    story_card,
)
from handlers.listening import acks_then
from handlers.shortcuts import new_story


def register(app: App) -> None:
    for action_id, work in (
        (ids.STORY_STATUS, story_card.move),
        (ids.STORY_ASSIGN, story_card.open_assign),
        (ids.STORY_EDIT, story_card.open_edit),
        (ids.STORY_DELETE, story_card.delete),
        (ids.STORY_MOVE_ANYWAY, story_card.move_anyway),
        (ids.STORY_MOVE_CANCEL, story_card.move_cancel),
        (ids.PAGE_NEXT, paging.turn_next),
        (ids.PAGE_PREVIOUS, paging.turn_previous),
        (ids.PROJECT_DELETE, project_delete.delete),
        (ids.HOME_NEW_STORY, new_story.open_new),
        (ids.HOME_NEW_PROJECT, home_buttons.new_project),
        (ids.AI_DRAFT_SAVE, ai_drafts.save),
        (ids.AI_DRAFT_EDIT, ai_drafts.edit),
        (ids.AI_DRAFT_DISCARD, ai_drafts.discard),
        (ids.AI_DRAFT_SPLIT, ai_drafts.split),
        (ids.AI_SAVE_ALL, ai_drafts.save_all),
        (ids.AI_REGENERATE, ai_drafts.regenerate),
        (ids.AI_RETRY, ai_drafts.retry),
        (ids.STORY_IMPROVE, improve.ask),
        (ids.AI_IMPROVE_REPLACE, improve.replace),
        (ids.AI_IMPROVE_KEEP, improve.keep),
    ):
        app.action(action_id)(acks_then(work))
