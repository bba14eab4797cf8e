"""Slack listeners, grouped by kind; `register` wires them all into a Bolt app."""

from __future__ import annotations

from concurrent.futures import Executor

from slack_bolt import App

from bot.settings import Settings
from storage.db import Database


def register(app: App, db: Database, settings: Settings, work: Executor) -> None:
    """Attach the database, settings and work pool to every request, then every listener
    package."""
    from handlers import actions, commands, events, shortcuts, views
    from handlers.listening import attach

    app.use(attach(db, settings, work))
    events.register_deduplication(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    shortcuts.register(app)
    events.register(app)
