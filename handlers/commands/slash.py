"""One listener for the three slash commands: reads answer in the ack; changes ack, then run."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot import commands
from bot.forms import FORMS
from bot.ui import messages
from bot.ui.modals import form_modal
from bot.ui.replies import message_for
from handlers.delivery import refresh_homes
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    known_member,
    origin_of,
    remember_modal,
    shows_errors,
    workspace_id,
)
from storage.errors import DomainError

log = logging.getLogger("autodevhub.handlers")


def on_command(ack: Any, body: dict, context: BoltContext, respond: Respond, client: WebClient):
    """Reads answer inside the ack itself, as Slack's immediate response: the user sees the
    answer at once and no second request is made. Changes ack first and answer afterwards,
    so a wait for the database writer never eats into Slack's 3 seconds."""
    message = answer_reading(body, context)
    if message is not None:
        ack(**message)
        return
    ack()
    after_ack(context, run_command, body=body, context=context, respond=respond, client=client)


def answer_reading(body: dict, context: BoltContext) -> dict[str, Any] | None:
    """The answer to a read-only command, from a read transaction (beside writers, never
    behind them); None for a change or a member seen for the first time (written first)."""
    command, text = body["command"], body.get("text") or ""
    if not commands.reads_only(command, text):
        return None
    try:
        with database(context).read() as s:
            actor = known_member(s, context)
            if actor is None:
                return None
            reply = commands.run_reading(s, actor, command, text, channel_id=body.get("channel_id"))
        return message_for(reply)
    except DomainError as exc:
        return {**messages.refusal(exc.message), "response_type": "ephemeral"}
    except Exception:
        log.exception("command %s failed", command)
        return {**messages.failure(), "response_type": "ephemeral"}


@shows_errors
def run_command(body: dict, context: BoltContext, respond: Respond, client: WebClient) -> None:
    command, text = body["command"], body.get("text") or ""
    with database(context).write() as s:
        actor = acting_member(s, context)
        reply = commands.run(s, actor, command, text, channel_id=body.get("channel_id"))
        if isinstance(reply, commands.OpenForm):
            token = remember_modal(
                s, actor, {"form": reply.form, "target": reply.target, **origin_of(body)}
            )
    if isinstance(reply, commands.OpenForm):
        open_form(client, body["trigger_id"], reply, token)
    elif isinstance(reply, commands.Delegated):
        delegate(reply, body=body, context=context, respond=respond, client=client)
    else:
        respond(**message_for(reply))
        if isinstance(reply, commands.StoryShown) and reply.changed:
            story = reply.story
            members = [story.assignee_slack_id, story.created_by_slack_id, *reply.touched]
            refresh_homes(database(context), client, workspace_id(context), members)


def open_form(client: WebClient, trigger_id: str, reply: commands.OpenForm, token: str) -> None:
    editing = None
    if reply.target and reply.form == "project":
        editing = reply.initial.get("key")
    elif reply.target:
        editing = reply.initial.get("key") or "story"
    view = form_modal(
        reply.form,
        FORMS[reply.form],
        reply.initial,
        metadata=token,
        projects=reply.projects,
        editing=editing,
        note=reply.note,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def delegate(reply: commands.Delegated, **kwargs: Any) -> None:
    """`/autodev generate|digest|backup`: handed to the module that owns the word."""
    if reply.word == "generate":
        from handlers.commands.generate import handle_generate

        handle_generate(text=reply.text, **kwargs)
    elif reply.word == "digest":
        from handlers.commands.digest import handle_digest

        handle_digest(text=reply.text, **kwargs)
    else:
        from handlers.commands.backup import handle_backup

        handle_backup(text=reply.text, **kwargs)
