"""Message shortcut "Create story from message": the story form prefilled with it and its link."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import commands
from bot.ui.text import clip
from handlers.commands.slash import open_form
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    origin_of,
    remember_modal,
    shows_errors,
)
from storage.fields import DESCRIPTION_MAX, TITLE_MAX

log = logging.getLogger("autodevhub.handlers")
TITLE_FROM_MESSAGE = min(120, TITLE_MAX)


def on_shortcut(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, open_prefilled, body=body, context=context, client=client, respond=respond)


@shows_errors
def open_prefilled(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    message = body.get("message") or {}
    text = (message.get("text") or "").strip()
    channel = (body.get("channel") or {}).get("id")
    link = permalink(client, channel, message.get("ts"))
    first_line = text.splitlines()[0] if text else ""
    title = first_line[:TITLE_FROM_MESSAGE]
    source = f"\n\nFrom Slack: {link}" if link else ""
    # the description input holds DESCRIPTION_MAX (Slack refuses a longer initial value)
    room = DESCRIPTION_MAX - len(source)
    description = clip(text, room) + source
    note = None
    if len(text) > room:
        note = (
            f"The message is {len(text):,} characters; a story's description holds "
            f"{DESCRIPTION_MAX:,}, so only its start is filled in below."
        )
    with database(context).write() as s:
        actor = acting_member(s, context)
        reply = commands.new_story_form(
            s,
            actor,
            None,
            channel,
            note=note,
            title=title or None,
            description=description or None,
        )
        token = remember_modal(s, actor, {"form": "story", "target": None, **origin_of(body)})
    open_form(client, body["trigger_id"], reply, token)


def permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    """The message's permalink, or None when Slack will not give one (the form opens anyway)."""
    if not channel or not ts:
        return None
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as exc:
        log.info("no permalink for a shortcut message: %s", exc.response.get("error"))
        return None
