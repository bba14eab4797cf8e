"""Slash command listeners: /project, /story and /autodev."""

from __future__ import annotations

from slack_bolt import App

from bot.ui import ids
from handlers.commands.slash import on_command


def register(app: App) -> None:
    for command in ids.COMMANDS:
        app.command(command)(on_command)
