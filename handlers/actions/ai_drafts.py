"""Buttons on generated drafts: Save, Edit, Discard, Split, Save all, Regenerate, Retry."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.ai.delivery import reply_target, show_generating
from bot.ui.generation import drafts_message, edit_draft_modal, feedback_modal, parse_draft_value
from handlers.listening import (
    acting_member,
    after_ack,
    database,
    remember_modal,
    settings_of,
    shows_errors,
)
from storage.generation.drafts import (
    discard_draft,
    draft_for_edit,
    load_drafts,
    save_drafts,
    split_draft,
)
from storage.generation.queue import retry_request


def _value(body: dict) -> str:
    return ((body.get("actions") or [{}])[0].get("value")) or ""


def _replace(respond: Respond, review: Any) -> None:
    respond(replace_original=True, response_type="ephemeral", **drafts_message(review))


def on_save(ack: Any, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    after_ack(context, save, body=body, context=context, respond=respond)


@shows_errors
def save(body: dict, context: BoltContext, respond: Respond) -> None:
    token, index = parse_draft_value(_value(body))
    with database(context).write() as s:
        review = save_drafts(s, acting_member(s, context), token, [index])
    _replace(respond, review)


def on_save_all(ack: Any, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    after_ack(context, save_all, body=body, context=context, respond=respond)


@shows_errors
def save_all(body: dict, context: BoltContext, respond: Respond) -> None:
    with database(context).write() as s:
        review = save_drafts(s, acting_member(s, context), _value(body), None)
    _replace(respond, review)


def on_discard(ack: Any, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    after_ack(context, discard, body=body, context=context, respond=respond)


@shows_errors
def discard(body: dict, context: BoltContext, respond: Respond) -> None:
    token, index = parse_draft_value(_value(body))
    with database(context).write() as s:
        review = discard_draft(s, acting_member(s, context), token, index)
    _replace(respond, review)


def on_edit(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, edit, body=body, context=context, client=client, respond=respond)


@shows_errors
def edit(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    token, index = parse_draft_value(_value(body))
    with database(context).write() as s:
        actor = acting_member(s, context)
        draft = draft_for_edit(s, actor, token, index)
        meta = {"drafts": token, "index": index, "reply": reply_target(body)}
        modal_token = remember_modal(s, actor, meta)
    client.views_open(
        trigger_id=body["trigger_id"], view=edit_draft_modal(draft, metadata=modal_token)
    )


def on_regenerate(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, regenerate, body=body, context=context, client=client, respond=respond)


@shows_errors
def regenerate(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    token = _value(body)
    with database(context).write() as s:
        actor = acting_member(s, context)
        load_drafts(s, actor, token)  # still there, and this member's
        modal_token = remember_modal(s, actor, {"drafts": token, "reply": reply_target(body)})
    client.views_open(trigger_id=body["trigger_id"], view=feedback_modal(metadata=modal_token))


def on_split(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, split, body=body, context=context, client=client, respond=respond)


@shows_errors
def split(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    token, index = parse_draft_value(_value(body))
    with database(context).write() as s:
        request = split_draft(
            s,
            acting_member(s, context),
            token,
            index,
            rate_limit_per_minute=settings_of(context).ai_rate_limit_per_minute,
        )
    show_generating(database(context), client, request, reply_target(body))


def on_retry(ack: Any, body: dict, context: BoltContext, client: WebClient, respond: Respond):
    ack()
    after_ack(context, retry, body=body, context=context, client=client, respond=respond)


@shows_errors
def retry(body: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    with database(context).write() as s:
        request = retry_request(
            s,
            acting_member(s, context),
            _value(body),
            rate_limit_per_minute=settings_of(context).ai_rate_limit_per_minute,
        )
    show_generating(database(context), client, request, reply_target(body))
