"""Shortcut listeners: story from a message, new story anywhere, generate from a message."""

from __future__ import annotations

from slack_bolt import App

from bot.ui import ids
from handlers.shortcuts import generate_from_message, new_story, story_from_message


def register(app: App) -> None:
    app.shortcut(ids.CREATE_STORY_FROM_MESSAGE)(story_from_message.on_shortcut)
    app.shortcut(ids.NEW_STORY_SHORTCUT)(new_story.on_shortcut)
    app.shortcut(ids.GENERATE_FROM_MESSAGE)(generate_from_message.on_shortcut)
