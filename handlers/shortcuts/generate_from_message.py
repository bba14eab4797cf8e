"""Message shortcut "Generate stories from message": the generation form, the message as the
feature; on a message with replies, Claude reads the whole thread too (as data), and the
drafts, once saved, follow the message's thread."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands import GenerateAsked
from handlers.commands.generate import open_generate_form
from handlers.listening import Request

log = logging.getLogger("autodevhub.handlers")

# What of a thread goes to Claude: enough for a real discussion, bounded in size.
THREAD_MESSAGES = 100
THREAD_CHARS = 12_000
MESSAGE_CHARS = 2_000
THREAD_PAGES = 5


def generate(req: Request) -> None:
    message = req.body.get("message") or {}
    text = (message.get("text") or "").strip()
    channel = req.origin.channel_id
    root = message.get("thread_ts") or message.get("ts")
    conversation: list[dict[str, str]] = []
    if channel and root and (message.get("reply_count") or message.get("thread_ts")):
        conversation = read_thread(req.client, channel, root)
    thread = {"channel": channel, "ts": root} if channel and root else None
    open_generate_form(req, GenerateAsked(text), conversation=conversation, thread=thread)


def read_thread(client: WebClient, channel: str, root: str) -> list[dict[str, str]]:
    """The thread's messages by people, oldest first, capped (THREAD_MESSAGES, THREAD_CHARS);
    [] when Slack will not give it (the form opens anyway, with the message alone)."""
    kept: list[dict[str, str]] = []
    size, cursor = 0, None
    try:
        for _page in range(THREAD_PAGES):
            page: Any = client.conversations_replies(
                channel=channel, ts=root, limit=200, cursor=cursor
            )
            for message in page.get("messages") or []:
                if message.get("bot_id") or not message.get("user"):
                    continue
                text = (message.get("text") or "")[:MESSAGE_CHARS]
                if len(kept) == THREAD_MESSAGES or size + len(text) > THREAD_CHARS:
                    return kept
                kept.append({"user": message["user"], "text": text})
                size += len(text)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except SlackApiError as exc:
        log.info("thread not read for generation: %s", exc.response.get("error"))
        return []
    return kept
