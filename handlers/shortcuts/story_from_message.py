"""Message shortcut "Create story from message": the story form prefilled with it and its link."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import commands
from bot.ui.modals import modal_for
from bot.ui.text import clip
from handlers.listening import Request
from storage.fields import DESCRIPTION_MAX, TITLE_MAX

log = logging.getLogger("autodevhub.handlers")
TITLE_FROM_MESSAGE = min(120, TITLE_MAX)


def open_prefilled(req: Request) -> None:
    message = req.body.get("message") or {}
    text = (message.get("text") or "").strip()
    channel = req.origin.channel_id
    link = permalink(req.client, channel, message.get("ts"))
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
    with req.write() as s:
        actor = req.actor(s)
        form = commands.new_story_form(
            s,
            actor,
            None,
            channel,
            note=note,
            title=title or None,
            description=description or None,
        )
        # the story follows the message's thread (its card there, then its changes)
        thread = {"channel": channel, "ts": message.get("thread_ts") or message.get("ts")}
        token = req.remember(s, actor, form="story", target=None, thread=thread)
    req.open_modal(modal_for(form, metadata=token))


def permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    """The message's permalink, or None when Slack will not give one (the form opens anyway)."""
    if not channel or not ts:
        return None
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as exc:
        log.info("no permalink for a shortcut message: %s", exc.response.get("error"))
        return None
