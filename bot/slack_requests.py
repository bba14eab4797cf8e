"""What Slack posts to /slack/events, read as Slack means it: the body parsed, its shape checked.

We parse the body ourselves instead of letting slack_bolt do it: Bolt's `parse_body`
(slack_bolt/request/internals.py, 1.30) takes any form body that contains the substring
"payload" for an interactivity payload, so `/story search payload` or any command from a
channel named `payload-team` reached no listener (404, "dispatch_failed" in Slack), and it
parses a form body that starts with `{` as JSON. The shape check then refuses, with one
message safe to log, what Bolt's routing or our listeners would crash on (a 500).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class UnusableBody(ValueError):
    """A signed body we cannot act on; the message says what is wrong, never what it holds."""


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body as Slack means it: JSON (Events API), an interactivity payload, or form fields."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnusableBody("the body is not UTF-8") from None
    if media_type(content_type) == "application/json":
        return _json_object(text, "the JSON body")
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return _json_object(form["payload"], "the payload")
    if "command" in form or "ssl_check" in form:
        return form
    raise UnusableBody("a form with neither a command nor a payload")


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        raise UnusableBody(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise UnusableBody(f"{what} is not a JSON object")
    return value


# The kinds we count in the metrics; any other `type` is counted as "other".
KNOWN_KINDS = {
    "command",
    "ssl_check",
    "event",
    "url_verification",
    "app_rate_limited",
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
}


def request_kind(body: dict[str, Any]) -> str:
    """What Slack sent (command, block_actions, view_submission, event, ...): a metrics label."""
    if "command" in body and "type" not in body:
        return "command"
    if "ssl_check" in body and "type" not in body:
        return "ssl_check"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return kind if kind in KNOWN_KINDS else "other"


# -- the shapes ------------------------------------------------------------------------------------
class Lenient(BaseModel):
    """Only the fields named are checked; whatever else Slack sends goes through untouched."""

    model_config = ConfigDict(extra="allow")


class Ref(Lenient):
    """A team, user, channel or enterprise sent as an object."""

    id: str | None = None


# Bolt reads these as either an id or an object with one ("id" in x, then x.get("id")).
RefOrId = str | Ref | None


class Authorization(Lenient):
    team_id: str | None = None
    enterprise_id: str | None = None
    user_id: str | None = None


class ResponseUrl(Lenient):
    response_url: str


class ViewRef(Lenient):
    """A view as Bolt reads it to find the workspace."""

    team_id: str | None = None
    app_installed_team_id: str | None = None


class Routed(Lenient):
    """What Bolt reads from every body (and from its event or message) to build the context:
    workspace, user, channel and response_url."""

    team: RefOrId = None
    user: RefOrId = None
    channel: RefOrId = None
    enterprise: RefOrId = None
    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    enterprise_id: str | None = None
    authorizations: list[Authorization] | None = None
    response_url: str | None = None
    response_urls: list[ResponseUrl] | None = None
    message: Routed | None = None
    previous_message: Routed | None = None
    item: Routed | None = None
    view: ViewRef | None = None


class Option(Lenient):
    value: str


class Action(Lenient):
    """One element in `actions`: Bolt matches its action_id; listeners read value/option."""

    action_id: str
    block_id: str | None = None
    value: str | None = None
    selected_option: Option | None = None


class ElementState(Lenient):
    """One input's state in `view.state.values[block_id][action_id]` (bot.ui.modals reads it)."""

    type: str | None = None
    value: str | None = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None
    selected_user: str | None = None


class ViewState(Lenient):
    values: dict[str, dict[str, ElementState]] = {}


class Block(Lenient):
    type: str | None = None
    block_id: str | None = None


class SubmittedView(ViewRef):
    callback_id: str
    private_metadata: str = ""
    blocks: list[Block] = []
    state: ViewState = ViewState()


class SlashCommand(Routed):
    command: str
    team_id: str
    user_id: str
    text: str = ""


class Member(Lenient):
    """The member who acted, as interactivity payloads send them."""

    id: str


class Interaction(Routed):
    type: str
    user: Member


class BlockActions(Interaction):
    actions: list[Action] = Field(min_length=1)


class ViewSubmission(Interaction):
    view: SubmittedView


class Shortcut(Interaction):
    callback_id: str
    trigger_id: str


class MessageShortcut(Shortcut):
    message: Routed
    channel: Ref


class Event(Routed):
    type: str


class AppHomeOpened(Event):
    user: str


class EventCallback(Routed):
    type: str
    event: Event


class UrlVerification(Lenient):
    type: str
    challenge: str


class Typed(Routed):
    """Any other JSON body or payload: a `type` is all Bolt needs to route it."""

    type: str


SHAPES: dict[str, type[BaseModel]] = {
    "command": SlashCommand,
    "ssl_check": Routed,
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewSubmission,
    "shortcut": Shortcut,
    "message_action": MessageShortcut,
    "url_verification": UrlVerification,
    "event": EventCallback,
}
EVENT_SHAPES: dict[str, type[BaseModel]] = {"app_home_opened": AppHomeOpened}


def check_shape(kind: str, body: dict[str, Any]) -> None:
    """Refuse (UnusableBody) a body missing what its kind needs; the body is not changed."""
    _validate(SHAPES.get(kind, Typed), body, "")
    if kind == "event":
        event = body["event"]
        shape = EVENT_SHAPES.get(event["type"])
        if shape is not None:
            _validate(shape, event, "event.")


def _validate(shape: type[BaseModel], data: dict[str, Any], prefix: str) -> None:
    try:
        shape.model_validate(data)
    except ValidationError as exc:
        raise UnusableBody(_problems(exc, prefix)) from None
    except RecursionError:
        raise UnusableBody("nested too deep") from None


def _problems(exc: ValidationError, prefix: str) -> str:
    """Where and what, for the log: field paths and pydantic's messages, never the values."""
    found: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        where = prefix + ".".join(str(part)[:40] for part in error["loc"])
        problem = f"{where or 'body'}: {error['msg']}"
        if problem not in found:
            found.append(problem)
    more = f" (and {len(found) - 2} more)" if len(found) > 2 else ""
    return "; ".join(found[:2]) + more
