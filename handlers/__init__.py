"""Slack listeners, grouped by kind; `register` wires them all into a Bolt app.

Each listener acks, calls one operation (bot.commands, bot.forms or storage) and answers
through bot.answering; `handlers.listening` holds what they share. Only the app factory
(bot/app.py) imports this package.
"""

from __future__ import annotations

from concurrent.futures import Executor

from slack_bolt import App

from bot.homes import HomeRefresher
from bot.settings import Settings
from storage.db import Database


def register(
    app: App, db: Database, settings: Settings, work: Executor, homes: HomeRefresher
) -> None:
    """Attach the database, settings, work pool and Home refresher to every request, then
    every listener package."""
    from handlers import actions, commands, events, shortcuts, views
    from handlers.listening import attach

    app.use(attach(db, settings, work, homes))
    events.register_deduplication(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    shortcuts.register(app)
    events.register(app)
