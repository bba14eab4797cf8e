"""Answers after the ack: to the message a request came from, as a DM, or in App Home."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import commands
from bot.ui.home import home_view
from storage.db import Database
from storage.errors import DomainError, NotFound
from storage.users import ensure_user, get_actor

log = logging.getLogger("autodevhub.handlers")
RESPONSE_URL_TIMEOUT = 10  # seconds


def answer(
    client: WebClient,
    user_id: str,
    origin: dict[str, Any],
    message: dict[str, Any],
    *,
    replace: bool = False,
    public: bool = False,
) -> None:
    """Post `message` where the request came from: its response_url, else a DM to the user."""
    url = origin.get("response_url")
    if url:
        try:
            response = WebhookClient(url, timeout=RESPONSE_URL_TIMEOUT).send(
                text=message.get("text"),
                blocks=message.get("blocks"),
                replace_original=replace,
                response_type="in_channel" if public else "ephemeral",
            )
            if response.status_code < 300:
                return
            log.warning(
                "response_url refused the answer (HTTP %s); DM instead", response.status_code
            )
        except Exception as exc:  # a timeout or a dropped connection: the change is made anyway
            log.warning("response_url unreachable (%s); DM instead", type(exc).__name__)
    client.chat_postMessage(channel=user_id, text=message.get("text"), blocks=message.get("blocks"))


def publish_home(db: Database, client: WebClient, team_id: str, slack_user_id: str) -> None:
    """Build and publish one member's App Home (a write only for a member seen first here)."""
    with db.read() as s:
        try:
            home = commands.home_of(s, get_actor(s, team_id, slack_user_id))
        except NotFound:
            home = None
    if home is None:
        with db.write() as s:
            home = commands.home_of(s, ensure_user(s, team_id, slack_user_id))
    client.views_publish(user_id=slack_user_id, view=home_view(home))


def refresh_homes(
    db: Database, client: WebClient, team_id: str, slack_user_ids: Iterable[str | None]
) -> None:
    """Republish the Home of everyone a change touched (errors logged, never raised)."""
    for slack_user_id in dict.fromkeys(u for u in slack_user_ids if u):
        try:
            publish_home(db, client, team_id, slack_user_id)
        except DomainError as exc:
            log.info("home of %s not refreshed: %s", slack_user_id, exc.message)
        except Exception:
            log.exception("home of %s not refreshed", slack_user_id)
