"""`/autodev backup`: backups from Slack (placeholder until issue 5 lands).

Called after the ack, in the /autodev listener's worker thread, as

    handle_backup(*, text: str, body: dict, context: BoltContext,
                respond: Respond, client: WebClient) -> None

`text` is what followed the word ("/autodev backup" -> "").
`body` is Slack's slash-command payload (trigger_id still fresh: views.open works);
`context["db"]` is the Database and `context["settings"]` the Settings
(handlers.listening.database/settings_of/acting_member help). Errors: raise a
storage.errors.DomainError and the caller shows its message ephemerally.
"""

from __future__ import annotations

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient


def handle_backup(
    *, text: str, body: dict, context: BoltContext, respond: Respond, client: WebClient
) -> None:
    respond(
        response_type="ephemeral",
        text="`/autodev backup` is coming soon: backups from Slack are on their way.",
    )
