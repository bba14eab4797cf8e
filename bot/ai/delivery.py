"""Showing generation in Slack: "Generating…" at once, then the drafts or the failure in place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.clients import workspace_clients
from bot.settings import Settings
from bot.ui import messages
from bot.ui.generation import drafts_message, failed_message, generating_message
from storage.db import Database
from storage.errors import DomainError
from storage.generation import queue
from storage.generation.drafts import open_drafts
from storage.generation.lookalikes import draft_lookalikes
from storage.generation.queue import RequestView

log = logging.getLogger(__name__)

ClientFor = Callable[[str], WebClient | None]


def reply_target(body: dict[str, Any]) -> dict[str, Any]:
    """Where to show a request's progress: its response_url, else the message it came from."""
    if body.get("response_url"):
        return {"response_url": body["response_url"]}
    urls = body.get("response_urls") or []
    if urls and urls[0].get("response_url"):
        return {"response_url": urls[0]["response_url"]}
    container = body.get("container") or {}
    if container.get("type") == "message" and container.get("message_ts"):
        return {"channel_id": container.get("channel_id"), "ts": container["message_ts"]}
    return {}


def send_reply(
    reply: dict[str, Any],
    message: dict[str, Any],
    client: WebClient | None,
    user_id: str | None,
    *,
    replace: bool = True,
) -> dict[str, Any]:
    """Show `message` at `reply` (replacing what is there); returns where it was shown.

    `replace=False` posts a new message instead: the first answer to a slash command or a
    modal has nothing to replace yet.

    An expired or refused response_url falls back to a DM from the bot, whose channel and
    ts are returned so later updates replace that message instead.
    """
    text, blocks = message.get("text"), message.get("blocks")
    url = reply.get("response_url")
    if url:
        webhook = WebhookClient(
            url,
            timeout=10,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=2),
                RateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        response = webhook.send(
            text=text, blocks=blocks, replace_original=replace, response_type="ephemeral"
        )
        if response.status_code < 300:
            return reply
        log.warning(
            "response_url refused the message (HTTP %s); sending a DM", response.status_code
        )
    if client is None:
        log.warning("no Slack client for this workspace; message not shown")
        return reply
    if reply.get("channel_id") and reply.get("ts"):
        client.chat_update(channel=reply["channel_id"], ts=reply["ts"], text=text, blocks=blocks)
        return reply
    if not user_id:
        return reply
    posted = client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
    return {"channel_id": posted["channel"], "ts": posted["ts"]}


def result_message(db: Database, request: RequestView) -> dict[str, Any]:
    """The drafts to review (opening their session) or the failure with a Retry button."""
    if request.status != "COMPLETED":
        return failed_message(request)
    try:
        with db.read() as s:  # full-text lookups outside the write transaction
            actor = queue.load_actor(s, request)
            lookalikes = draft_lookalikes(s, actor, request.id)
        with db.write() as s:
            review = open_drafts(s, actor, request.id, lookalikes=lookalikes)
    except DomainError as exc:
        return messages.refusal(exc.message)
    return drafts_message(review)


def deliver_result(db: Database, client: WebClient | None, request: RequestView) -> None:
    """Replace the request's "Generating…" message with its outcome (the worker calls this)."""
    reply = request.reply
    if reply is None:
        return  # "Generating…" is not shown yet; whoever shows it delivers the outcome
    if reply.get("console"):
        return  # asked in `autodevhub shell`, which shows the outcome itself
    send_reply(reply, result_message(db, request), client, request.slack_user_id)


def show_generating(
    db: Database,
    client: WebClient | None,
    request: RequestView,
    reply: dict[str, Any],
    *,
    replace: bool = True,
) -> None:
    """After the ack: show "Generating…" (replacing the clicked message, unless `replace` is
    False), record where, and wake the workers.

    If the request finished before "Generating…" was recorded, deliver it from here (the
    worker saw no reply to deliver to). The row lock in attach_reply decides which.
    """
    from bot.ai.worker import wake_workers

    wake_workers()
    ask = request.request_data
    project_key = ask.get("project_key") or "your project"
    message = generating_message(
        project_key, int(ask.get("count") or 3), kind=ask.get("kind", "new")
    )
    shown = send_reply(reply, message, client, request.slack_user_id, replace=replace)
    with db.write() as s:
        current = queue.attach_reply(s, request.id, shown)
    if current.finished:
        deliver_result(db, client, current)


def show_generating_after_ack(
    db: Database,
    client: WebClient | None,
    request: RequestView,
    reply: dict[str, Any],
    replace: bool = True,
) -> None:
    """show_generating for a listener's work after its ack: errors are logged, not shown
    (the keeper DMs the outcome of a request whose "Generating…" was never recorded)."""
    try:
        show_generating(db, client, request, reply, replace=replace)
    except Exception:
        log.exception("generation %s: showing Generating… failed", request.id)


def client_factory(settings: Settings, db: Database) -> ClientFor:
    """A Web API client per workspace: the bot token, or the installation's token (OAuth)."""
    return workspace_clients(settings, db) or (lambda _team_id: None)


def slack_delivery(settings: Settings, db: Database) -> Callable[[RequestView], None]:
    """The worker pool's `deliver`: outcomes shown in Slack, each in its own workspace."""
    client_for = client_factory(settings, db)

    def deliver(request: RequestView) -> None:
        deliver_result(db, client_for(request.team_id), request)

    return deliver
