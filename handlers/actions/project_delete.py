"""The confirmed Delete of a project (from `/project delete REF`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.ui.messages import note
from bot.ui.text import escape
from handlers.delivery import refresh_homes
from handlers.listening import acting_member, after_ack, database, shows_errors, workspace_id
from storage import projects


def on_delete(ack: Any, body: dict, context: BoltContext, respond: Respond, client: WebClient):
    ack()
    after_ack(context, delete, body=body, context=context, respond=respond, client=client)


@shows_errors
def delete(body: dict, context: BoltContext, respond: Respond, client: WebClient) -> None:
    project_id = body["actions"][0].get("value") or ""
    db = database(context)
    with db.write() as s:
        actor = acting_member(s, context)
        project = projects.delete_project(s, actor, project_id)
    label = f"{project.name} ({project.key})"
    respond(
        replace_original=True,
        **note(f"{label} deleted.", mrkdwn=f":wastebasket: ~{escape(label)}~ deleted."),
    )
    refresh_homes(db, client, workspace_id(context), [context.user_id])
