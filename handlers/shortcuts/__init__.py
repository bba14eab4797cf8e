"""Shortcut listeners: story from a message, new story anywhere, generate from a message."""

from __future__ import annotations

from slack_bolt import App

from bot.ui import ids
from handlers.listening import acks_then
from handlers.shortcuts import generate_from_message, new_story, story_from_message


def register(app: App) -> None:
    app.shortcut(ids.CREATE_STORY_FROM_MESSAGE)(acks_then(story_from_message.open_prefilled))
    app.shortcut(ids.NEW_STORY_SHORTCUT)(acks_then(new_story.open_new))
    app.shortcut(ids.GENERATE_FROM_MESSAGE)(acks_then(generate_from_message.generate))
