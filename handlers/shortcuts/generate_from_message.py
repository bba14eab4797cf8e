"""Message shortcut "Generate stories from message": handed to /autodev generate (issue 4)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from handlers.listening import after_ack, shows_errors


def on_shortcut(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, generate, body=body, context=context, client=client, respond=respond)


@shows_errors
def generate(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    from handlers.commands.generate import handle_generate

    text = ((body.get("message") or {}).get("text") or "").strip()
    handle_generate(text=text, body=body, context=context, respond=respond, client=client)
