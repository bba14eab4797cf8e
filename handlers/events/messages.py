"""People's messages in channels the app is in: story keys (WEB-7) get the story's compact
card in the message's thread, when the channel has key expansion on.

Never for a bot's message (ours included, so no loops), at most three keys per message, an
edited message only for keys it did not have before, once per key per thread; keys of
another workspace name nothing here."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.ui.live import compact_card
from handlers.listening import after_ack
from storage.db import Database
from storage.live.expansion import expands, keys_in, stories_to_expand

log = logging.getLogger("autodevhub.handlers")


def on_message(event: dict, context: BoltContext, client: WebClient) -> None:
    """Acked when this returns: only the keys are read here; the rest runs after the ack."""
    message, before = event, None
    if event.get("subtype") == "message_changed":
        message, before = event.get("message") or {}, event.get("previous_message") or {}
    elif event.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return  # joins, deletions, topic changes, bot_message: nothing a person wrote now
    if message.get("bot_id") or message.get("app_id") or not message.get("user"):
        return
    if context.bot_user_id and message.get("user") == context.bot_user_id:
        return
    had = set(keys_in((before or {}).get("text")))
    keys = [key for key in keys_in(message.get("text")) if key not in had]
    team = context.team_id or context.enterprise_id
    channel = event.get("channel")
    if not keys or not team or not channel:
        return
    thread_ts = message.get("thread_ts") or message.get("ts")
    after_ack(
        context,
        expand,
        db=context["db"],
        client=client,
        team_id=team,
        channel_id=channel,
        thread_ts=thread_ts,
        keys=keys,
    )


def expand(
    db: Database,
    client: WebClient,
    team_id: str,
    channel_id: str,
    thread_ts: str,
    keys: list[tuple[str, int]],
) -> None:
    try:
        with db.write() as s:
            if not expands(s, team_id, channel_id):
                return
            found = stories_to_expand(s, team_id, channel_id, thread_ts, keys)
        for story in found:
            client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, **compact_card(story))
    except Exception as exc:  # an event has nobody to tell: the log says what went wrong
        log.warning("story keys in %s not expanded: %s", channel_id, _why(exc))


def _why(exc: Exception) -> Any:
    response = getattr(exc, "response", None)
    return response.get("error") if response is not None else type(exc).__name__
