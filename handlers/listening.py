"""What every listener shares: the database, the acting member, errors shown as replies."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import BoltContext
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.ui import messages
from storage.db import Database
from storage.errors import DomainError, NotFound
from storage.users import Actor, ensure_user, get_actor

log = logging.getLogger("autodevhub.handlers")


def attach(db: Database, settings: Settings, work: Executor) -> Callable[..., Any]:
    """Global middleware: put the database, settings and work pool into every request's
    context."""

    def attach_database(context: BoltContext, next: Callable[[], None]) -> None:
        context["db"] = db
        context["settings"] = settings
        context["work"] = work
        next()

    return attach_database


def after_ack(context: BoltContext, work: Callable[..., Any], /, **kwargs: Any) -> None:
    """Run `work(**kwargs)` on the work pool once this listener has returned.

    Listeners run on the HTTP thread and Slack gets their ack when they return, so whatever
    follows the ack (a write, a Web API call, an answer on response_url) goes through here.
    Only listeners call this, never work already on the pool (a full pool would wait on
    itself)."""
    context["work"].submit(work, **kwargs)


def database(context: BoltContext) -> Database:
    return context["db"]


def settings_of(context: BoltContext) -> Settings:
    return context["settings"]


def workspace_id(context: BoltContext) -> str:
    """The workspace every operation of this request is scoped to."""
    team = context.team_id or context.enterprise_id
    if not team:
        raise DomainError("This request carries no workspace, so nothing can be done with it.")
    return team


def acting_member(s: Session, context: BoltContext) -> Actor:
    """The member sending this request (created on first sight; a workspace's first is ADMIN)."""
    if not context.user_id:
        raise DomainError("This request carries no user, so nothing can be done with it.")
    return ensure_user(s, workspace_id(context), context.user_id)


def known_member(s: Session, context: BoltContext) -> Actor | None:
    """The member sending this request if already known (reads only), else None."""
    if not context.user_id:
        raise DomainError("This request carries no user, so nothing can be done with it.")
    try:
        return get_actor(s, workspace_id(context), context.user_id)
    except NotFound:
        return None


def shows_errors(listener: Callable[..., Any]) -> Callable[..., Any]:
    """Run a listener (after its ack); a refusal or a crash becomes an ephemeral reply.

    DomainError messages are written for people and shown as they are (escaped). Anything
    else is logged with its traceback (never the payload, which may hold tokens) and the
    user gets a short apology instead of a stack trace.
    """

    @functools.wraps(listener)
    def run(**kwargs: Any) -> Any:
        try:
            return listener(**kwargs)
        except DomainError as exc:
            _tell(kwargs, messages.refusal(exc.message))
        except Exception:
            log.exception("listener %s failed", listener.__name__)
            _tell(kwargs, messages.failure())
        return None

    return run


def _tell(kwargs: dict[str, Any], reply: dict[str, Any]) -> None:
    """Show `reply` ephemerally: through response_url when there is one, else as a DM."""
    respond = kwargs.get("respond")
    body = kwargs.get("body") or {}
    try:
        if respond is not None and (body.get("response_url") or body.get("response_urls")):
            respond(response_type="ephemeral", replace_original=False, **reply)
            return
        client = kwargs.get("client")
        context = kwargs.get("context")
        if client is not None and context is not None and context.user_id:
            channel = (body.get("channel") or {}).get("id") if isinstance(body, dict) else None
            if channel:
                client.chat_postEphemeral(channel=channel, user=context.user_id, **reply)
            else:
                client.chat_postMessage(channel=context.user_id, **reply)
    except Exception:
        log.exception("could not tell the user about an error")


MODAL_KIND = "modal"
MODAL_TTL_HOURS = 12


def remember_modal(s: Session, actor: Actor, data: dict[str, Any]) -> str:
    """Keep what a modal's submission needs (target, where to answer) behind a token."""
    from datetime import timedelta

    from storage.sessions import create_session

    return create_session(s, actor, MODAL_KIND, data, timedelta(hours=MODAL_TTL_HOURS))


def recall_modal(s: Session, actor: Actor, token: str) -> dict[str, Any]:
    from storage.sessions import load_session

    return load_session(s, actor, token, MODAL_KIND)


def forget_modal(s: Session, actor: Actor, token: str) -> None:
    from storage.sessions import delete_session

    delete_session(s, actor, token)


def origin_of(body: dict[str, Any]) -> dict[str, Any]:
    """Where a request came from, so a later answer lands there (message, view, channel)."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if body.get("command"):
        came_from = "command"
    elif container.get("type") in ("message", "view"):
        came_from = container["type"]
    else:
        came_from = body.get("type", "other")
    return {
        "response_url": body.get("response_url"),
        "channel_id": channel,
        "in_view": container.get("type") == "view",
        "came_from": came_from,
    }
