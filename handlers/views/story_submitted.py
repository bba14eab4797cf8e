"""The story form submitted: create or update the story, then show it where it was asked for."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot import commands
from bot.forms import STORY_FORM, story_data
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
from handlers.views.submitting import block_ids, inline_errors
from storage import stories
from storage.errors import ValidationFailed


def on_submit(ack: Any, body: dict, context: BoltContext, view: dict, client: WebClient) -> None:
    values = submitted_values(view)
    shown = block_ids(view) or [f.name for f in STORY_FORM]
    fallback = "project" if "project" in shown else ("title" if "title" in shown else shown[0])
    with (
        inline_errors(ack, STORY_FORM, shown, fallback=fallback) as outcome,
        database(context).write() as s,
    ):
        actor = acting_member(s, context)
        meta = recall_modal(s, actor, view.get("private_metadata") or "")
        data = story_data(values)
        if meta.get("target"):
            story = stories.update_story(s, actor, meta["target"], data)
        else:
            if not values.get("project"):
                raise ValidationFailed("Choose a project.", {"project": "Choose a project."})
            story = stories.create_story(s, actor, values["project"], data)
        if "assignee" in values and values["assignee"] != story.assignee_slack_id:
            story = stories.assign_story(s, actor, story.id, values["assignee"])
        token = meta.get("list_token")
        listed = commands.page_of_token(s, actor, token) if token else None
        forget_modal(s, actor, view.get("private_metadata") or "")
    if not outcome["ok"]:
        return
    ack()
    after_ack(context, show, context=context, client=client, meta=meta, story=story, listed=listed)


@shows_errors
def show(context: BoltContext, client: WebClient, meta: dict, story: Any, listed: Any) -> None:
    edited = bool(meta.get("target"))
    touched = [story.assignee_slack_id, story.created_by_slack_id, context.user_id]
    if not meta.get("in_view"):
        if listed is not None and meta.get("response_url"):
            answer(client, context.user_id, meta, story_list(listed), replace=True)
        elif edited:
            replace = meta.get("came_from") == "message"
            message = story_message(story, note="Updated.")
            answer(client, context.user_id, meta, message, replace=replace)
        else:
            message = story_message(story, note="New story.")
            answer(client, context.user_id, meta, message, public=True)
    refresh_homes(
        database(context), client, workspace_id(context), touched, acting=looking(meta, context)
    )
