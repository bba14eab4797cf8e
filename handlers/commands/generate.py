"""`/autodev generate [PROJECT] [FEATURE TEXT]` and the message shortcut: open the ask modal.

Called after the ack, in the /autodev listener's worker thread, as

    handle_generate(*, text: str, body: dict, context: BoltContext,
                respond: Respond, client: WebClient) -> None

`text` is what followed the word; the "Generate stories from message" shortcut passes the
message's text and its message_action payload. Errors raise DomainError (shown ephemerally).
"""

from __future__ import annotations

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.ui.generation import generate_help, generate_modal
from handlers.listening import acting_member, database, origin_of, remember_modal, settings_of
from storage.generation.form import generate_form


def handle_generate(
    *, text: str, body: dict, context: BoltContext, respond: Respond, client: WebClient
) -> None:
    if text.strip().lower() in ("help", "?") and body.get("command"):
        respond(response_type="ephemeral", **generate_help())
        return
    channel_id = (body.get("channel") or {}).get("id") or body.get("channel_id")
    with database(context).write() as s:
        actor = acting_member(s, context)
        form = generate_form(
            s,
            actor,
            text,
            channel_id=channel_id,
            rate_limit_per_minute=settings_of(context).ai_rate_limit_per_minute,
        )
        token = remember_modal(s, actor, origin_of(body))
    view = generate_modal(form.projects, form.initial, metadata=token, note=form.note)
    client.views_open(trigger_id=body["trigger_id"], view=view)
