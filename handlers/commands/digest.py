"""`/autodev digest`: channel digests (placeholder until issue 5 lands).

Called after the ack, in the /autodev listener's worker thread, as

    handle_digest(*, text: str, body: dict, context: BoltContext, respond: Respond,
              client: WebClient) -> None

`text` is what followed the word ("/autodev digest on daily 09:00" -> "on daily 09:00").
`body` is Slack's slash-command payload (trigger_id still fresh: views.open works);
`context["db"]` is the Database and `context["settings"]` the Settings
(handlers.listening.database/settings_of/acting_member help). Errors: raise a
storage.errors.DomainError and the caller shows its message ephemerally.
"""

from __future__ import annotations

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient


def handle_digest(
    *, text: str, body: dict, context: BoltContext, respond: Respond, client: WebClient
) -> None:
    respond(
        response_type="ephemeral",
        text="`/autodev digest` is coming soon: channel digests are on their way.",
    )
