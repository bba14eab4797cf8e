"""One listener for the three slash commands: reads answer in the ack; changes ack, then run.

The grammar is bot.commands' (shared with the console); this module only carries out its
Reply in Slack: a message, a modal, or the few replies that need Slack after the write
(generate's form, a digest sent now, a backup, an export's file).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot import commands
from bot.answering import refusal_of
from bot.ui.modals import modal_for
from bot.ui.replies import message_for
from handlers.commands.backup import back_up
from handlers.commands.digest import send_now
from handlers.commands.export import send_export
from handlers.commands.generate import open_generate_form
from handlers.commands.improve import improve_story
from handlers.listening import Request, after_ack, run_shown


def on_command(ack: Any, body: dict, context: BoltContext, client: WebClient) -> None:
    """Reads answer inside the ack itself, as Slack's immediate response: the user sees the
    answer at once and no second request is made. Changes ack first and answer afterwards,
    so a wait for the database writer never eats into Slack's 3 seconds."""
    request = Request.of(body, context, client)
    message = answer_reading(request)
    if message is not None:
        ack(**message)
        return
    ack()
    after_ack(context, run_shown, work=run_command, request=request)


def answer_reading(req: Request) -> dict[str, Any] | None:
    """The answer to a read-only command, from a read transaction (beside writers, never
    behind them); None for a change or a member seen for the first time (written first)."""
    command, text = req.body["command"], req.body.get("text") or ""
    if not commands.reads_only(command, text):
        return None
    try:
        with req.db.read() as s:
            actor = req.known_actor(s)
            if actor is None:
                return None
            reply = commands.run(s, actor, command, text, channel_id=req.origin.channel_id)
        return message_for(reply)
    except Exception as exc:
        return {**refusal_of(exc, command), "response_type": "ephemeral"}


def run_command(req: Request) -> None:
    """A command that changes something (or a member's first): its Reply, carried out."""
    command, text = req.body["command"], req.body.get("text") or ""
    with req.write() as s:
        actor = req.actor(s)
        reply = commands.run(
            s,
            actor,
            command,
            text,
            channel_id=req.origin.channel_id,
            timezone=req.settings.timezone,
        )
        if isinstance(reply, commands.OpenForm):
            token = req.remember(s, actor, form=reply.form, target=reply.target)
    if isinstance(reply, commands.OpenForm):
        req.open_modal(modal_for(reply, metadata=token))
        return
    carry_out = AFTER_THE_WRITE.get(type(reply))
    if carry_out is not None:
        carry_out(req, reply)
        return
    message = message_for(reply)
    req.answer(message, public=message["response_type"] == "in_channel")


# The replies carried out in Slack after the command's write (a form, a digest, a backup, an
# export's file).
AFTER_THE_WRITE: dict[type, Callable[[Request, Any], None]] = {
    commands.GenerateAsked: open_generate_form,
    commands.DigestNow: send_now,
    commands.BackupAsked: back_up,
    commands.ExportAsked: send_export,
    commands.ImproveAsked: improve_story,
}
