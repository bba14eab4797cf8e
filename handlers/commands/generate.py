"""`/autodev generate`: draft stories with Claude (placeholder until issue 4 lands).

Called after the ack, in the /autodev listener's worker thread, as

    handle_generate(*, text: str, body: dict, context: BoltContext,
                respond: Respond, client: WebClient) -> None

`text` is what followed the word
("/autodev generate web Password reset by email" -> "web Password reset by email").
`body` is Slack's slash-command payload (trigger_id still fresh: views.open works);
`context["db"]` is the Database and `context["settings"]` the Settings
(handlers.listening.database/settings_of/acting_member help). Errors: raise a
storage.errors.DomainError and the caller shows its message ephemerally.
The "Generate stories from message" shortcut calls it too, with `text` = the message's
text and `body` = the message_action payload (it has trigger_id, channel, message,
response_url; no "command").
"""

from __future__ import annotations

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient


def handle_generate(
    *, text: str, body: dict, context: BoltContext, respond: Respond, client: WebClient
) -> None:
    respond(
        response_type="ephemeral",
        text="`/autodev generate` is coming soon: drafting stories with Claude is on its way.",
    )
