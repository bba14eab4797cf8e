"""The project form submitted: create or update the project, then show it to the user."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.forms import PROJECT_FORM, project_data
from bot.ui.lists import project_card
from bot.ui.modals import submitted_values
from handlers.delivery import answer, looking, refresh_homes
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    forget_modal,
    recall_modal,
    shows_errors,
    workspace_id,
)
from handlers.views.submitting import block_ids, inline_errors
from storage import projects


def on_submit(ack: Any, body: dict, context: BoltContext, view: dict, client: WebClient) -> None:
    values = submitted_values(view)
    shown = block_ids(view) or [f.name for f in PROJECT_FORM]
    with (
        inline_errors(ack, PROJECT_FORM, shown, fallback="name") as outcome,
        database(context).write() as s,
    ):
        actor = acting_member(s, context)
        meta = recall_modal(s, actor, view.get("private_metadata") or "")
        data = project_data(values)
        if meta.get("target"):
            project = projects.update_project(s, actor, meta["target"], data)
        else:
            project = projects.create_project(s, actor, data)
        forget_modal(s, actor, view.get("private_metadata") or "")
    if not outcome["ok"]:
        return
    ack()
    after_ack(context, show, context=context, client=client, meta=meta, project=project)


@shows_errors
def show(context: BoltContext, client: WebClient, meta: dict, project: Any) -> None:
    if not meta.get("in_view"):
        note = "Project updated." if meta.get("target") else "Project created."
        answer(client, context.user_id, meta, project_card(project, note=note))
    refresh_homes(
        database(context),
        client,
        workspace_id(context),
        [context.user_id],
        acting=looking(meta, context),
    )
