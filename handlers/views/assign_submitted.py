"""The assign picker submitted: assign (or unassign) the story and update what was clicked."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot import commands
from bot.forms import STORY_FORM
from bot.ui.lists import story_list
from bot.ui.modals import submitted_values
from bot.ui.story_card import story_message
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
from handlers.views.submitting import inline_errors
from storage import stories


def on_submit(ack: Any, body: dict, context: BoltContext, view: dict, client: WebClient) -> None:
    assignee = submitted_values(view).get("assignee")
    before: str | None = None
    with (
        inline_errors(ack, STORY_FORM, ["assignee"], fallback="assignee") as outcome,
        database(context).write() as s,
    ):
        actor = acting_member(s, context)
        meta = recall_modal(s, actor, view.get("private_metadata") or "")
        before = stories.get_story(s, actor, meta["target"]).assignee_slack_id
        story = stories.assign_story(s, actor, meta["target"], assignee)
        token = meta.get("list_token")
        listed = commands.page_of_token(s, actor, token) if token else None
        forget_modal(s, actor, view.get("private_metadata") or "")
    if not outcome["ok"]:
        return
    ack()
    after_ack(
        context,
        show,
        context=context,
        client=client,
        meta=meta,
        story=story,
        listed=listed,
        before=before,
    )


@shows_errors
def show(
    context: BoltContext, client: WebClient, meta: dict, story: Any, listed: Any, before: Any
) -> None:
    if not meta.get("in_view"):
        if listed is not None:
            message = story_list(listed)
        else:
            message = story_message(
                story, note="Assigned." if story.assignee_slack_id else ("Unassigned.")
            )
        answer(client, context.user_id, meta, message, replace=meta.get("came_from") == "message")
    touched = [context.user_id, story.assignee_slack_id, before, story.created_by_slack_id]
    refresh_homes(
        database(context), client, workspace_id(context), touched, acting=looking(meta, context)
    )
