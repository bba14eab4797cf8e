"""The story card's controls: status select, Assign, Edit, Delete — acting in place."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot import commands
from bot.forms import STORY_FORM, story_initial
from bot.ui.lists import story_list
from bot.ui.messages import note
from bot.ui.modals import assign_modal, form_modal
from bot.ui.story_card import parse_story_block_id, story_message
from handlers.delivery import looking, refresh_homes
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    origin_of,
    remember_modal,
    shows_errors,
    workspace_id,
)
from storage import stories


def _target(body: dict) -> tuple[str, str | None, dict]:
    action = body["actions"][0]
    story_id, list_token = parse_story_block_id(action.get("block_id", ""))
    return (action.get("value") or story_id), list_token, action


def on_status(ack: Any, body: dict, context: BoltContext, respond: Respond, client: WebClient):
    ack()
    after_ack(context, move, body=body, context=context, respond=respond, client=client)


@shows_errors
def move(body: dict, context: BoltContext, respond: Respond, client: WebClient) -> None:
    story_id, list_token, action = _target(body)
    status = (action.get("selected_option") or {}).get("value")
    db = database(context)
    with db.write() as s:
        actor = acting_member(s, context)
        story = stories.move_story(s, actor, story_id, status)
        listed = commands.page_of_token(s, actor, list_token) if list_token else None
    show_change(body, context, respond, client, story, listed, f"Moved to {story.status}.")


def show_change(
    body: dict,
    context: BoltContext,
    respond: Respond,
    client: WebClient,
    story: Any,
    listed: Any | None,
    what: str,
) -> None:
    """Update what the user clicked (App Home, a list or a card), then the homes it touches."""
    db = database(context)
    team = workspace_id(context)
    touched = [story.assignee_slack_id, story.created_by_slack_id]
    if origin_of(body)["in_view"]:
        touched.insert(0, context.user_id)
    elif listed is not None:
        respond(replace_original=True, **story_list(listed))
    else:
        respond(replace_original=True, **story_message(story, note=what))
    refresh_homes(db, client, team, touched, acting=_looking(body, context))


def _looking(body: dict, context: BoltContext) -> str | None:
    return looking(origin_of(body), context)


def _remember_story_form(body: dict, context: BoltContext, form: str) -> tuple[Any, str]:
    """The clicked story, and a token for the modal `form` that will change it."""
    story_id, list_token, _ = _target(body)
    with database(context).write() as s:
        actor = acting_member(s, context)
        story = stories.get_story(s, actor, story_id)
        origin = {"form": form, "target": story.id, "list_token": list_token, **origin_of(body)}
        return story, remember_modal(s, actor, origin)


def on_assign(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, open_assign, body=body, context=context, client=client, respond=respond)


@shows_errors
def open_assign(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    story, token = _remember_story_form(body, context, "assign")
    client.views_open(trigger_id=body["trigger_id"], view=assign_modal(story, metadata=token))


def on_edit(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, open_edit, body=body, context=context, client=client, respond=respond)


@shows_errors
def open_edit(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    story, token = _remember_story_form(body, context, "story")
    view = form_modal("story", STORY_FORM, story_initial(story), metadata=token, editing=story.key)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def on_delete(ack: Any, body: dict, context: BoltContext, respond: Respond, client: WebClient):
    ack()
    after_ack(context, delete, body=body, context=context, respond=respond, client=client)


@shows_errors
def delete(body: dict, context: BoltContext, respond: Respond, client: WebClient) -> None:
    story_id, list_token, _ = _target(body)
    db = database(context)
    with db.write() as s:
        actor = acting_member(s, context)
        story = stories.delete_story(s, actor, story_id)
        listed = commands.page_of_token(s, actor, list_token) if list_token else None
    touched = [story.assignee_slack_id, story.created_by_slack_id]
    if origin_of(body)["in_view"]:
        touched.insert(0, context.user_id)
    elif listed is not None:
        respond(replace_original=True, **story_list(listed))
    else:
        done = f"{story.key} {story.title} deleted."
        respond(replace_original=True, **note(done, mrkdwn=_deleted(story.key, story.title)))
    refresh_homes(db, client, workspace_id(context), touched, acting=_looking(body, context))


def _deleted(key: str, title: str) -> str:
    from bot.ui.text import escape

    return f":wastebasket: ~{escape(key)} {escape(title)}~ deleted."
