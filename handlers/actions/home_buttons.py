"""App Home buttons: New story and New project open their forms."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot import commands
from bot.forms import project_initial
from handlers.commands.slash import open_form
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    origin_of,
    remember_modal,
    shows_errors,
)


def on_new_story(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(
        context, open_new, body=body, context=context, client=client, respond=respond, form="story"
    )


def on_new_project(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(
        context,
        open_new,
        body=body,
        context=context,
        client=client,
        respond=respond,
        form="project",
    )


@shows_errors
def open_new(
    body: dict, context: BoltContext, client: WebClient, respond: Respond, form: str
) -> None:
    with database(context).write() as s:
        actor = acting_member(s, context)
        if form == "story":
            reply = commands.new_story_form(s, actor, None, None)
        else:
            reply = commands.OpenForm("project", project_initial())
        token = remember_modal(s, actor, {"form": form, "target": None, **origin_of(body)})
    open_form(client, body["trigger_id"], reply, token)
