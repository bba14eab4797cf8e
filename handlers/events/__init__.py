"""Events API listeners (App Home, story keys in messages) and the deduplication of Slack's
retries."""

from __future__ import annotations

from slack_bolt import App

from handlers.events import app_home, deduplication, messages, uninstalled


def register(app: App) -> None:
    app.event("app_home_opened")(app_home.on_home_opened)
    app.event("message")(messages.on_message)
    # with OAuth, Bolt's own listeners (registered first) delete the installation instead
    app.event("app_uninstalled")(uninstalled.on_uninstalled)
    app.event("tokens_revoked")(uninstalled.on_uninstalled)


def register_deduplication(app: App) -> None:
    app.use(deduplication.skip_seen_events)
