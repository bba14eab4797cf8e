"""Answering a request: where it came from, and the one way to show something there.

Every answer after an ack goes through `answer` (listeners, the AI deliveries): to the
request's response_url, else the message it came from updated in place, else a DM from the
bot. A refusal or a crash becomes `refusal_of` (the domain's words, or the one apology);
in a modal's ack, `inline_errors` turns it into errors under the fields.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.forms import FormField, field_errors_for
from bot.ui import messages
from storage.errors import DomainError, ValidationFailed

log = logging.getLogger("autodevhub.answering")
RESPONSE_URL_TIMEOUT = 10  # seconds
INLINE_ERROR_MAX = 2000  # Slack's limit for one inline error of a modal
SCHEMA_FIELDS = {"project_ref": "project"}  # a schema's field -> the modal's input


@dataclass(frozen=True)
class Origin:
    """Where a request came from, so its answers land there. Kept as a dict (`kept`) with a
    modal's session or a generation request, and read back with `from_kept`."""

    user_id: str | None = None
    channel_id: str | None = None
    response_url: str | None = None
    ts: str | None = None  # the message an answer may replace, when there is no response_url
    came_from: str = "other"  # command, message (a button on it), view (App Home), shortcut…
    console: bool = False  # asked in `autodevhub shell`, which shows its answers itself

    @property
    def in_view(self) -> bool:
        """The request came from the member's App Home (they are looking at it)."""
        return self.came_from == "view"

    @classmethod
    def of(cls, body: dict[str, Any]) -> Origin:
        """Where a Slack request came from: its response_url, channel, message, surface."""
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        url = body.get("response_url")
        urls = body.get("response_urls") or []
        if not url and urls:
            url = urls[0].get("response_url")
        if body.get("command"):
            came_from = "command"
        elif container.get("type") in ("message", "view"):
            came_from = container["type"]
        else:
            came_from = body.get("type", "other")
        # the message clicked, to update in place; an ephemeral one cannot be (chat.update
        # refuses it), only through its response_url
        in_message = container.get("type") == "message" and not container.get("is_ephemeral")
        ts = container.get("message_ts") if in_message else None
        return cls(
            user_id=(body.get("user") or {}).get("id") or body.get("user_id"),
            channel_id=container.get("channel_id") or channel,
            response_url=url,
            ts=ts,
            came_from=came_from,
        )

    def kept(self) -> dict[str, Any]:
        """As a dict to keep with a modal's session or a generation request (JSON)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}

    @classmethod
    def from_kept(cls, data: dict[str, Any] | None) -> Origin:
        """An origin kept by `kept` (or by older code, under the same key names)."""
        data = data or {}
        came_from = data.get("came_from") or ("view" if data.get("in_view") else "other")
        return cls(
            user_id=data.get("user_id"),
            channel_id=data.get("channel_id"),
            response_url=data.get("response_url"),
            ts=data.get("ts"),
            came_from=came_from,
            console=bool(data.get("console")),
        )


def answer(
    client: WebClient | None,
    origin: Origin,
    message: dict[str, Any],
    *,
    replace: bool = False,
    public: bool = False,
) -> Origin:
    """Show `message` where the request came from; returns where it is now shown.

    Through the response_url (replacing the message clicked when `replace`, posting in the
    channel for everyone when `public`); else, when `replace` and the message is known, that
    message updated in place; else (no response_url, or it expired or was refused) a DM from
    the bot, whose place is returned so a later answer replaces it.
    """
    text, blocks = message.get("text"), message.get("blocks")
    if origin.response_url:
        try:
            response = WebhookClient(
                origin.response_url,
                timeout=RESPONSE_URL_TIMEOUT,
                retry_handlers=[
                    ConnectionErrorRetryHandler(max_retry_count=2),
                    RateLimitErrorRetryHandler(max_retry_count=3),
                ],
            ).send(
                text=text,
                blocks=blocks,
                replace_original=replace,
                response_type="in_channel" if public else "ephemeral",
            )
            if response.status_code < 300:
                return origin
            log.warning(
                "response_url refused the answer (HTTP %s); DM instead", response.status_code
            )
        except Exception as exc:  # a timeout or a dropped connection: the change is made anyway
            log.warning("response_url unreachable (%s); DM instead", type(exc).__name__)
    if client is None:
        log.warning("no Slack client for this workspace; answer not shown")
        return origin
    if replace and origin.channel_id and origin.ts:
        try:
            client.chat_update(channel=origin.channel_id, ts=origin.ts, text=text, blocks=blocks)
            return origin
        except SlackApiError as exc:  # deleted meanwhile, or not ours to update: DM instead
            log.warning("chat.update refused (%s); DM instead", exc.response.get("error"))
    if not origin.user_id:
        log.warning("an answer with nowhere to go (no response_url, message or user)")
        return origin
    posted = client.chat_postMessage(channel=origin.user_id, text=text, blocks=blocks)
    return _posted_at(origin, channel_id=posted["channel"], ts=posted["ts"])


def _posted_at(origin: Origin, *, channel_id: str, ts: str) -> Origin:
    """The origin of later answers once one was posted as a new message: that message."""
    return dataclasses.replace(
        origin, channel_id=channel_id, ts=ts, response_url=None, came_from="message"
    )


def refusal_of(exc: Exception, what: str = "request") -> dict[str, Any]:
    """What the member sees when their request failed: the domain's words for a refusal;
    for anything else the one apology, with the traceback in the log (never the payload,
    which may hold tokens)."""
    if isinstance(exc, DomainError):
        return messages.refusal(exc.message)
    log.error("%s failed", what, exc_info=exc)
    return messages.failure()


def tell_failure(client: WebClient | None, origin: Origin, exc: Exception, what: str) -> None:
    """Show why a request failed where it came from (never raises)."""
    try:
        answer(client, origin, refusal_of(exc, what))
    except Exception:
        log.exception("could not tell the member that %s failed", what)


# -- a modal's ack ------------------------------------------------------------------------------
def modal_errors(
    exc: Exception,
    fields: list[str],
    fallback: str,
    form: tuple[FormField, ...] | None = None,
) -> dict[str, str]:
    """A refused submission as inline errors: each under the field it names, when that field
    is in the modal (`fields`), else under `fallback`. Nothing internal is shown."""
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):  # a schema of the modal itself (bot/ai/schemas.py)
        for err in exc.errors():
            field = str((err.get("loc") or (fallback,))[0])
            field = SCHEMA_FIELDS.get(field, field)
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            errors.setdefault(field if field in fields else fallback, message)
    elif isinstance(exc, ValidationFailed) and exc.field_errors:
        named = field_errors_for(form, exc.field_errors) if form else exc.field_errors
        for field, message in named.items():
            field = SCHEMA_FIELDS.get(field, field)
            under = field if field in fields else fallback
            if under != field and not form:
                message = f"{field.replace('_', ' ').capitalize()}: {message}"
            errors[under] = f"{errors[under]} {message}" if under in errors else message
    elif isinstance(exc, DomainError):
        errors[fallback] = exc.message
    else:
        log.error("a modal submission failed", exc_info=exc)
        errors[fallback] = messages.SORRY_NOTHING_SAVED
    return {field: _clip(message) for field, message in errors.items()}


@contextlib.contextmanager
def inline_errors(
    ack: Callable[..., Any],
    fields: list[str],
    fallback: str,
    form: tuple[FormField, ...] | None = None,
) -> Iterator[dict[str, bool]]:
    """Run a submission's write; on refusal ack with `response_action: errors` (nothing is
    saved, the modal stays open). The yielded dict's "ok" says whether the write went through
    (then the caller acks)."""
    outcome = {"ok": False}
    try:
        yield outcome
        outcome["ok"] = True
    except Exception as exc:
        ack(response_action="errors", errors=modal_errors(exc, fields, fallback, form))


def _clip(message: str) -> str:
    return message if len(message) <= INLINE_ERROR_MAX else message[: INLINE_ERROR_MAX - 1] + "…"
