"""Showing generation in Slack: "Generating…" at once, then the drafts or the failure in place."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.answering import Origin, answer
from bot.clients import workspace_clients
from bot.settings import Settings
from bot.ui import messages
from bot.ui.generation import drafts_message, failed_message, generating_message
from bot.ui.readiness import improvement_message
from storage.db import Database
from storage.errors import DomainError
from storage.generation import queue
from storage.generation.drafts import open_drafts
from storage.generation.lookalikes import draft_lookalikes
from storage.generation.queue import RequestView
from storage.improve import IMPROVE_KIND, open_improvement

log = logging.getLogger(__name__)

ClientFor = Callable[[str], WebClient | None]


def _with_member(origin: Origin, request: RequestView) -> Origin:
    """`origin`, with the request's member to DM when it has nowhere else to show things."""
    return origin if origin.user_id else dataclasses.replace(origin, user_id=request.slack_user_id)


def result_message(db: Database, request: RequestView) -> dict[str, Any]:
    """The drafts to review (opening their session) or the failure with a Retry button."""
    if request.status != "COMPLETED":
        return failed_message(request)
    if request.request_data.get("kind") == IMPROVE_KIND:
        try:
            with db.write() as s:
                review = open_improvement(s, queue.load_actor(s, request), request.id)
        except DomainError as exc:
            return messages.refusal(exc.message)
        return improvement_message(review)
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
    if request.reply is None:
        return  # "Generating…" is not shown yet; whoever shows it delivers the outcome
    origin = _with_member(Origin.from_kept(request.reply), request)
    if origin.console:
        return  # asked in `autodevhub shell`, which shows the outcome itself
    answer(client, origin, result_message(db, request), replace=True)


def show_generating(
    db: Database,
    client: WebClient | None,
    request: RequestView,
    origin: Origin,
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
    shown = answer(client, _with_member(origin, request), message, replace=replace)
    with db.write() as s:
        current = queue.attach_reply(s, request.id, shown.kept())
    if current.finished:
        deliver_result(db, client, current)


def show_generating_after_ack(
    db: Database,
    client: WebClient | None,
    request: RequestView,
    origin: Origin,
    replace: bool = True,
) -> None:
    """show_generating for a listener's work after its ack: errors are logged, not shown
    (the keeper DMs the outcome of a request whose "Generating…" was never recorded)."""
    try:
        show_generating(db, client, request, origin, replace=replace)
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
