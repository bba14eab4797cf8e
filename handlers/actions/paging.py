"""Next / Previous on a story list: the paging state lives in a session behind the token."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond

from bot import commands
from bot.ui.lists import story_list
from handlers.listening import acting_member, after_ack, database, shows_errors


def on_next(ack: Any, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    after_ack(context, turn, body=body, context=context, respond=respond, step=1)


def on_previous(ack: Any, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    after_ack(context, turn, body=body, context=context, respond=respond, step=-1)


@shows_errors
def turn(body: dict, context: BoltContext, respond: Respond, step: int) -> None:
    token = body["actions"][0].get("value") or ""
    with database(context).write() as s:
        actor = acting_member(s, context)
        listed = commands.turn_page(s, actor, token, step)
    respond(replace_original=True, **story_list(listed))
