"""Global shortcut "New story": the story form, from anywhere in Slack."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot import commands
from handlers.commands.slash import open_form
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    origin_of,
    remember_modal,
    shows_errors,
)


def on_shortcut(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, open_new, body=body, context=context, client=client, respond=respond)


@shows_errors
def open_new(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    with database(context).write() as s:
        actor = acting_member(s, context)
        reply = commands.new_story_form(s, actor, None, None)
        token = remember_modal(s, actor, {"form": "story", "target": None, **origin_of(body)})
    open_form(client, body["trigger_id"], reply, token)
