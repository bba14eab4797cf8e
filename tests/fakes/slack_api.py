"""A fake Slack Web API on loopback that records calls, plus a client that signs requests.

Two halves, both used by tests that drive the real server the way Slack does:

* `FakeSlackAPI` — an http.server on 127.0.0.1. `api_url` goes into
  AUTODEVHUB_SLACK_API_URL; every Web API call the app makes lands here and is recorded as
  a `Call(method, params, token)` (form and JSON bodies both parsed; `blocks`/`view` JSON
  strings decoded). It answers `ok: true` like Slack for the methods the app uses and
  `{"ok": true}` for any other. `fail(method, "error_code")` makes the next call(s) answer
  `ok: false`; `rate_limit(method, retry_after=1)` answers HTTP 429 with Retry-After.
  `response_url()` hands out URLs on the same server; posts to them are recorded with
  method "response_url" (the payload Bolt's `respond()` sent is `call.params`).
  Waiting: `wait_for(method, where=..., timeout=...)` blocks until a matching call arrives
  (listeners run after the ack, so their Web API calls come a moment later).
  Strict like Slack: every message, view and response_url post is held to Slack's Block Kit
  limits (tests/fakes/block_kit.py) and argument shapes, and refused as Slack refuses it
  (`invalid_blocks` for chat.*, `invalid_arguments` with `response_metadata.messages` for
  views.*, HTTP 400 for a response_url). Each refusal is also recorded in `REFUSALS`, and
  the autouse fixture in tests/conftest.py fails the test that caused it; a test that
  provokes one on purpose takes it with `take_refusals()`.
  Channels remember (`SlackChannels`): every chat.postMessage is stored in its channel (a
  reply in its thread), chat.update edits it in place, and conversations.history and
  conversations.replies read them back (pagination, oldest/latest, include_all_metadata)
  as Slack does, so a test can restart the app and watch it find what it posted.
  `messages(channel)`, `thread(channel, ts)` and `message(channel, ts)` read the store;
  `refuse_channel(channel, "not_in_channel")` makes one channel refuse posts until
  `allow_channel(channel)`. `reset()` forgets calls and scripts, not the messages.
  Message metadata is checked as Slack checks it (invalid_metadata_format / _schema); what
  Slack answers `ok` to but loses (metadata whose event_type it drops, a reply to a thread
  that does not exist) is answered `ok` and recorded as a refusal all the same.
  Files (`fake.files`, tests/fakes/slack_files.py, the rules): files_upload_v2's three
  steps, in Slack's order: files.getUploadURLExternal (filename and a whole, non-zero length
  required) hands out a file id and an upload URL on this same server; the bytes are POSTed
  there (recorded as "upload_url"); then files.completeUploadExternal shares the file in
  `channel_id` when given, or keeps it private to the app. An unknown or completed file id,
  or one whose bytes never reached its upload URL, is refused; bytes that differ from the
  announced length are refused and recorded. Image blocks must show a completed image the
  app uploaded. `uploaded(channel)` reads what was shared; conversations.open gives each
  user one DM channel (`dm_channel(user)`).

* `SignedSlack` — sends signed, form-encoded (or JSON, for events) requests to the app's
  `/slack/events`: `command`, `block_action`, `view_submission`, `shortcut`,
  `message_action`, `event`, or `post` for a raw body. Each returns a `Reply`
  (status, headers, body, json). `as_workspace(team, user)` gives a sender for another
  workspace or user; requests carry team/user ids exactly where Slack puts them. The app's
  answers in the HTTP response (a command's immediate reply, a modal's `response_action`)
  are held to the same limits: a violation raises `SlackRefused` in the test at once.

Pytest fixtures (module-scoped server, per-test workspace) live at the bottom; reuse them
from another test package with
`from tests.fakes.slack_api import fake_slack, slack_db, slack_server, slack  # noqa: F401`
in its conftest.py, or build your own server with `slack_server_for(settings_overrides)`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode
from urllib.request import Request, urlopen

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.fakes.block_kit import check_message, check_view, check_view_errors
from tests.fakes.slack_files import (
    FILE_METHODS,
    UPLOAD_METHOD,
    UPLOAD_PATH,
    SlackFiles,
    UploadedFile,
)

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
JSON_FIELDS = ("blocks", "view", "attachments", "metadata")


@dataclass
class Call:
    """One request the app made to the fake: a Web API method or a response_url post."""

    method: str
    params: dict[str, Any]
    token: str | None = None
    path: str = ""
    at: float = field(default_factory=time.monotonic)

    def text_of(self) -> str:
        """Everything readable in the call: `text` plus every text in its blocks or view."""
        parts: list[str] = []
        _collect_text(self.params, parts)
        return "\n".join(parts)


def _collect_text(node: Any, parts: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                parts.append(value)
            else:
                _collect_text(value, parts)
    elif isinstance(node, list):
        for item in node:
            _collect_text(item, parts)


class SlackRefused(AssertionError):
    """The app sent Slack something Slack refuses (a Block Kit limit, a malformed argument)."""


@dataclass(frozen=True)
class Refusal:
    """One payload the strict fake refused, as Slack would have: where it went and why."""

    method: str
    error: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method}: {self.error}: " + "; ".join(self.problems)


# Every refusal of every fake in this process; tests/conftest.py fails a test that adds one.
REFUSALS: list[Refusal] = []
_REFUSALS_LOCK = threading.Lock()


def take_refusals() -> list[Refusal]:
    """Take (and forget) the refusals so far: for tests that provoke them on purpose."""
    with _REFUSALS_LOCK:
        taken = list(REFUSALS)
        REFUSALS.clear()
    return taken


def _refuse(refusal: Refusal) -> None:
    with _REFUSALS_LOCK:
        REFUSALS.append(refusal)


# The methods that take message metadata (a JSON object, or a JSON string in a form body).
METADATA_METHODS = ("chat.postMessage", "chat.update", "chat.scheduleMessage")
# Slack's words for an event_type: "alphanumeric and underscore characters" (the metadata
# design guide's property basics). Slack takes a message whose event_type has others, but
# drops its metadata (slackapi/bolt-python#863).
EVENT_TYPE = re.compile(r"[A-Za-z0-9_]+")
# Not Slack's error codes: Slack answers `ok` to these, but what the app sent is lost. The
# fake answers `ok` too and records the loss as a refusal, so the test that caused it fails.
METADATA_DROPPED = "metadata_dropped"
REPLY_LOST = "reply_lost"


def metadata_problem(value: Any) -> tuple[str, str] | None:
    """What Slack does with this `metadata` argument: None when it keeps it (or there is
    none; `{}` clears it on chat.update), else (error, why): `invalid_metadata_format`
    (not a JSON object), `invalid_metadata_schema` (no string event_type, or an
    event_payload that is no object) or `METADATA_DROPPED` (Slack posts, without it)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return "invalid_metadata_format", "metadata is not JSON"
    if not isinstance(value, dict):
        return "invalid_metadata_format", "metadata must be a JSON object"
    if not value or ("entities" in value and "event_type" not in value):
        return None  # cleared, or Work Object entities only
    event_type = value.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        return "invalid_metadata_schema", "metadata.event_type must be a non-empty string"
    if not isinstance(value.get("event_payload"), dict):
        return "invalid_metadata_schema", "metadata.event_payload must be a JSON object"
    if not EVENT_TYPE.fullmatch(event_type):
        return METADATA_DROPPED, (
            f"metadata.event_type {event_type!r} has characters other than letters, digits "
            "and _: Slack posts the message but drops its metadata"
        )
    return None


MESSAGE_METHODS = {
    # method: the arguments Slack requires besides the message itself
    "chat.postMessage": ("channel",),
    "chat.postEphemeral": ("channel", "user"),
    "chat.update": ("channel", "ts"),
    "chat.scheduleMessage": ("channel", "post_at"),
}
VIEW_METHODS = {
    "views.open": ("trigger_id", "view"),
    "views.push": ("trigger_id", "view"),
    "views.update": ("view",),
    "views.publish": ("user_id", "view"),
}


def refusal_of(method: str, params: dict[str, Any]) -> Refusal | None:
    """How Slack would refuse this call of `method` (None: Slack takes it)."""
    if method in MESSAGE_METHODS or method == "response_url":
        missing = [a for a in MESSAGE_METHODS.get(method, ()) if not params.get(a)]
        if missing:
            return Refusal(method, "invalid_arguments", tuple(f"missing {a}" for a in missing))
        found = check_message(params)
        if not found:
            metadata = params.get("metadata") if method in METADATA_METHODS else None
            problem = metadata_problem(metadata)
            if problem is None or problem[0] == METADATA_DROPPED:
                return None  # a dropped metadata is answered `ok` (see SlackChannels.post)
            return Refusal(method, problem[0], (problem[1],))
        problems = tuple(str(v) for v in found)
        if any(v.message == "no_text" for v in found):
            return Refusal(method, "no_text", problems)
        if any(v.pointer == "/text" and "characters" in v.message for v in found):
            return Refusal(method, "msg_too_long", problems)
        return Refusal(method, "invalid_blocks", problems)
    if method in VIEW_METHODS:
        missing = [a for a in VIEW_METHODS[method] if not params.get(a)]
        if method == "views.update" and not (params.get("view_id") or params.get("external_id")):
            missing.append("view_id or external_id")
        view = params.get("view")
        if not missing and not isinstance(view, dict):
            missing.append("view as a JSON object")
        if missing:
            return Refusal(method, "invalid_arguments", tuple(f"missing {a}" for a in missing))
        found = check_view(view)
        wanted = "home" if method == "views.publish" else "modal"
        if view.get("type") != wanted:
            return Refusal(method, "invalid_arguments", (f"view type must be {wanted}",))
        if found:
            return Refusal(method, "invalid_arguments", tuple(str(v) for v in found))
    return None


def _refused_answer(refusal: Refusal) -> tuple[int, dict[str, Any]]:
    """Slack's answer to a refused call: HTTP status and JSON body."""
    messages = [f"[ERROR] {p}" for p in refusal.problems]
    body: dict[str, Any] = {"ok": False, "error": refusal.error}
    if refusal.error == "invalid_blocks":
        body["errors"] = list(refusal.problems)
    body["response_metadata"] = {"messages": messages}
    return 200, body


@dataclass
class _Scripted:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str]
    times: int


APP_ID = "A0001"
# A conversation id (public channel, private channel, DM); conversations.* answer
# channel_not_found for anything else. chat.postMessage also takes a user id (its DM).
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")
# (default, maximum) of `limit`, from the methods' reference pages on docs.slack.dev.
# conversations.history: 100 and 999 for internal and Marketplace apps; both are 15 for a
# commercially distributed non-Marketplace app (set `FakeSlackAPI.history_limits`).
HISTORY_LIMITS = (100, 999)
REPLIES_LIMITS = (1000, 1000)


class _Listening(ThreadingHTTPServer):
    """Slack takes every connection: a listen queue of 5 (socketserver's default) drops the
    app's bursts, and each dropped connection costs a 1 s SYN retry (BENCHMARKS.md #18)."""

    request_queue_size = 128


@dataclass
class StoredMessage:
    """One message as Slack keeps it in a channel: posted by the app's bot user."""

    ts: str
    text: str
    blocks: list[Any] | None
    metadata: dict[str, Any] | None
    team: str
    thread_ts: str | None = None  # a reply: its parent's ts
    broadcast: bool = False  # a reply also shown in the channel (reply_broadcast)
    edited_ts: str | None = None
    user: str | None = None  # a person's message (a test's `said`); None: the app's bot

    @property
    def in_channel(self) -> bool:
        """Shown in the channel itself (conversations.history): top-level or broadcast."""
        return self.thread_ts is None or self.broadcast

    def as_slack(
        self, *, all_metadata: bool = True, replies: list[StoredMessage] | None = None
    ) -> dict[str, Any]:
        """The message object Slack answers. Without `all_metadata` (include_all_metadata)
        Slack keeps the metadata's event_type and strips its event_payload
        (slackapi/python-slack-sdk#1501)."""
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team,
            "ts": self.ts,
            "text": self.text,
        }
        if self.user is not None:  # a person's message carries no bot or app id
            message = {k: v for k, v in message.items() if k not in ("bot_id", "app_id")}
            message["user"] = self.user
        if self.blocks is not None:
            message["blocks"] = self.blocks
        if self.metadata and "event_type" in self.metadata:
            shown = self.metadata if all_metadata else {"event_type": self.metadata["event_type"]}
            message["metadata"] = shown
        if self.thread_ts is not None:
            message["thread_ts"] = self.thread_ts
            message["parent_user_id"] = BOT_USER_ID
            if self.broadcast:
                message["subtype"] = "thread_broadcast"
        if replies:
            message["thread_ts"] = self.ts
            message["reply_count"] = len(replies)
            message["reply_users"] = [BOT_USER_ID]
            message["reply_users_count"] = 1
            message["latest_reply"] = replies[-1].ts
        if self.edited_ts is not None:
            message["edited"] = {"user": BOT_USER_ID, "ts": self.edited_ts}
        return message


class SlackChannels:
    """What Slack keeps of each channel: the messages posted there with their threads, and
    whether it takes posts. Answers chat.postMessage / chat.update / conversations.history /
    conversations.replies as Slack does (FakeSlackAPI checks the payload itself first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, dict[str, StoredMessage]] = {}  # channel: ts: message
        self._refused: dict[str, str] = {}  # channel: error

    # -- test controls -------------------------------------------------------------------
    def refuse(self, channel: str, error: str) -> None:
        with self._lock:
            self._refused[channel] = error

    def allow(self, channel: str) -> None:
        with self._lock:
            self._refused.pop(channel, None)

    def allow_all(self) -> None:
        with self._lock:
            self._refused.clear()

    # -- reading the store ---------------------------------------------------------------
    def messages(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            shown = [m for m in self._in(channel) if m.in_channel]
            return [m.as_slack(replies=self._replies_to(channel, m.ts)) for m in shown]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._messages.get(channel, {}).get(ts)
            parent_ts = found.thread_ts if found is not None and found.thread_ts else ts
            parent = self._messages.get(channel, {}).get(parent_ts)
            replies = self._replies_to(channel, parent_ts)
            head = [parent.as_slack(replies=replies)] if parent is not None else []
            return head + [r.as_slack() for r in replies]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._messages.get(channel, {}).get(ts)
            if found is None:
                return None
            return found.as_slack(replies=self._replies_to(channel, ts))

    def said(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        ts: str,
        team: str,
        thread_ts: str | None = None,
    ) -> None:
        """A person's message in the channel (what a message shortcut or a thread is on),
        or in a thread (`thread_ts`)."""
        with self._lock:
            kept = self._messages.setdefault(channel, {})
            if ts not in kept:
                kept[ts] = StoredMessage(ts, text, None, None, team, thread_ts, user=user)

    def _in(self, channel: str) -> list[StoredMessage]:
        return list(self._messages.get(channel, {}).values())  # oldest first

    def _replies_to(self, channel: str, ts: str) -> list[StoredMessage]:
        return [m for m in self._in(channel) if m.thread_ts == ts]

    # -- Web API methods -----------------------------------------------------------------
    def post(self, p: dict[str, Any], *, ts: str, team: str) -> dict[str, Any]:
        """chat.postMessage. A thread_ts naming no message of the channel is answered `ok`
        (no error is documented; Slack files the reply under a thread nobody sees:
        slackapi/python-slack-sdk#840), so it is stored but recorded as REPLY_LOST."""
        channel = p["channel"]
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        with self._lock:
            if channel in self._refused:
                return {"ok": False, "error": self._refused[channel]}
            lost: list[Refusal] = []
            if thread_ts is not None:
                parent = self._messages.get(channel, {}).get(thread_ts)
                if parent is None:
                    lost.append(
                        Refusal(
                            "chat.postMessage",
                            REPLY_LOST,
                            (
                                f"thread_ts {thread_ts!r} names no message in {channel}: Slack "
                                "answers ok, but the reply shows nowhere",
                            ),
                        )
                    )
                elif parent.thread_ts is not None:
                    thread_ts = parent.thread_ts  # a reply's ts: Slack threads under its parent
            message = StoredMessage(
                ts=ts,
                text=p.get("text") or "",
                blocks=p.get("blocks") if isinstance(p.get("blocks"), list) else None,
                metadata=self._kept_metadata("chat.postMessage", p, lost),
                team=team,
                thread_ts=thread_ts,
                broadcast=thread_ts is not None and _truthy(p.get("reply_broadcast")),
            )
            self._messages.setdefault(channel, {})[ts] = message
        for refusal in lost:
            _refuse(refusal)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": message.as_slack(all_metadata=False),
        }

    def update(self, p: dict[str, Any], *, edited_ts: str) -> dict[str, Any]:
        """chat.update: text, and blocks and metadata when given, replace the message's
        (metadata `{}` clears it; without `metadata` Slack keeps the old one)."""
        channel, ts = p["channel"], str(p["ts"])
        with self._lock:
            if channel in self._refused:
                error = self._refused[channel]
                # chat.update's reference: is_inactive for "a frozen, archived or deleted channel"
                return {"ok": False, "error": "is_inactive" if error == "is_archived" else error}
            message = self._messages.get(channel, {}).get(ts)
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            lost: list[Refusal] = []
            if "text" in p:
                message.text = p.get("text") or ""
            if "blocks" in p:
                message.blocks = p["blocks"] if isinstance(p["blocks"], list) else None
            if p.get("metadata") not in (None, ""):
                kept = self._kept_metadata("chat.update", p, lost)
                if kept is not None or not lost:
                    message.metadata = kept
            message.edited_ts = edited_ts
            shown = message.as_slack(all_metadata=False)
        for refusal in lost:
            _refuse(refusal)
        return {"ok": True, "channel": channel, "ts": ts, "text": message.text, "message": shown}

    @staticmethod
    def _kept_metadata(method: str, p: dict[str, Any], lost: list[Refusal]) -> dict | None:
        """The metadata Slack keeps of a payload refusal_of took (None: none, or dropped)."""
        value = p.get("metadata")
        if value in (None, ""):
            return None
        problem = metadata_problem(value)
        if problem is not None:  # only METADATA_DROPPED gets this far
            lost.append(Refusal(method, problem[0], (problem[1],)))
            return None
        value = json.loads(value) if isinstance(value, str) else value
        return value or None

    def history(self, p: dict[str, Any], *, limits: tuple[int, int]) -> dict[str, Any]:
        """conversations.history: the channel's own messages (no thread replies), newest
        first, between `oldest` and `latest` (exclusive unless `inclusive`), a page of
        `limit` at a time."""
        channel = str(p.get("channel") or "")
        with self._lock:
            error = self._read_refusal(channel)
            if error is None:
                try:
                    shown = [m for m in self._in(channel) if m.in_channel]
                    window = _time_window(shown, p)
                except ValueError as exc:
                    error = str(exc)
            if error is not None:
                return {"ok": False, "error": error}
            window.reverse()  # newest first
            page, next_ts, error = _page(window, p, limits, newest_first=True)
            if error is not None:
                return {"ok": False, "error": error}
            all_metadata = _truthy(p.get("include_all_metadata"))
            answer: dict[str, Any] = {
                "ok": True,
                "messages": [
                    m.as_slack(all_metadata=all_metadata, replies=self._replies_to(channel, m.ts))
                    for m in page
                ],
                "has_more": next_ts is not None,
                "pin_count": 0,
                "channel_actions_ts": None,
                "channel_actions_count": 0,
            }
        if next_ts is not None:
            answer["response_metadata"] = {"next_cursor": _cursor(next_ts)}
        return answer

    def replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """conversations.replies: the thread's parent, then its replies oldest first. `ts`
        may name the parent or any reply; a message without replies comes alone."""
        channel, ts = str(p.get("channel") or ""), str(p.get("ts") or "")
        with self._lock:
            error = self._read_refusal(channel)
            if error is not None:
                return {"ok": False, "error": error}
            found = self._messages.get(channel, {}).get(ts)
            if found is not None and found.thread_ts is not None:
                found = self._messages.get(channel, {}).get(found.thread_ts)
            if found is None:
                return {"ok": False, "error": "thread_not_found"}
            replies = self._replies_to(channel, found.ts)
            try:
                thread = [found, *_time_window(replies, p)]
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
            page, next_ts, error = _page(thread, p, REPLIES_LIMITS, newest_first=False)
            if error is not None:
                return {"ok": False, "error": error}
            all_metadata = _truthy(p.get("include_all_metadata"))
            messages = [
                m.as_slack(all_metadata=all_metadata, replies=replies if m is found else None)
                for m in page
            ]
        answer: dict[str, Any] = {"ok": True, "messages": messages, "has_more": next_ts is not None}
        if next_ts is not None:
            answer["response_metadata"] = {"next_cursor": _cursor(next_ts)}
        return answer

    def share_refusal(self, channel: str) -> str | None:
        """Sharing a file in `channel`: channel_not_found for what is no conversation id,
        else the error the channel was set to refuse posts with, if any."""
        if not CHANNEL_ID.fullmatch(channel):
            return "channel_not_found"
        with self._lock:
            return self._refused.get(channel)

    def _read_refusal(self, channel: str) -> str | None:
        """Reading a channel: channel_not_found for what is no conversation id or a channel
        refused so; not_in_channel when the bot is not in it (is_archived: still readable)."""
        if not CHANNEL_ID.fullmatch(channel) and channel not in self._messages:
            return "channel_not_found"
        error = self._refused.get(channel)
        return error if error in ("channel_not_found", "not_in_channel") else None


def _truthy(value: Any) -> bool:
    """A boolean argument as Slack reads it: true, 1, "1" or "true" (slack_sdk sends "1")."""
    return value is True or str(value).lower() in ("1", "true")


def _ts_value(ts: str) -> Decimal:
    return Decimal(str(ts))


def _time_window(messages: list[StoredMessage], p: dict[str, Any]) -> list[StoredMessage]:
    """The messages between `oldest` and `latest`: excluded unless `inclusive`. Raises
    ValueError(invalid_ts_oldest / invalid_ts_latest) for a value that is no timestamp."""
    bounds: dict[str, Decimal | None] = {}
    for name in ("oldest", "latest"):
        value = p.get(name)
        try:
            bounds[name] = None if value in (None, "") else _ts_value(value)
        except InvalidOperation:
            raise ValueError(f"invalid_ts_{name}") from None
    oldest, latest = bounds["oldest"], bounds["latest"]
    inclusive = _truthy(p.get("inclusive"))

    def inside(m: StoredMessage) -> bool:
        at = _ts_value(m.ts)
        after = oldest is None or at > oldest or (inclusive and at == oldest)
        before = latest is None or at < latest or (inclusive and at == latest)
        return after and before

    return [m for m in messages if inside(m)]


def _cursor(ts: str) -> str:
    """An opaque next_cursor, shaped like Slack's (base64 of "next_ts:<ts>")."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _page(
    messages: list[StoredMessage], p: dict[str, Any], limits: tuple[int, int], *, newest_first: bool
) -> tuple[list[StoredMessage], str | None, str | None]:
    """(this page, the ts the next page starts at or None, error): `cursor` from an earlier
    page's next_cursor (invalid_cursor otherwise), `limit` up to the maximum."""
    default, most = limits
    try:
        limit = int(p.get("limit") or default)
    except (TypeError, ValueError):
        limit = default
    limit = min(max(limit, 1), most)
    cursor = p.get("cursor")
    if cursor:
        try:
            start = _ts_value(base64.b64decode(str(cursor)).decode().removeprefix("next_ts:"))
        except (ValueError, InvalidOperation, UnicodeDecodeError):
            return [], None, "invalid_cursor"
        if newest_first:
            messages = [m for m in messages if _ts_value(m.ts) <= start]
        else:
            messages = [m for m in messages if _ts_value(m.ts) >= start]
    page = messages[:limit]
    next_ts = messages[limit].ts if len(messages) > limit else None
    return page, next_ts, None


class FakeSlackAPI:
    """The fake Web API server. Start with `start()` (or use as a context manager)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        # Every message posted here, by channel: chat.update of any other is refused, as
        # Slack refuses it (an ephemeral message, or one the app never posted)
        self._channels = SlackChannels()
        # files_upload_v2's three steps, shared files and image blocks: slack_files.py
        self.files = SlackFiles(share_refusal=self._channels.share_refusal)
        self.history_limits = HISTORY_LIMITS  # (default, maximum) of conversations.history
        self._cond = threading.Condition()
        self._scripts: dict[str, list[_Scripted]] = {}
        self._ts = itertools.count(1)
        self.team_for_token: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._held: dict[str, threading.Event] = {}
        self._dms: dict[str, str] = {}  # user id: their DM channel with the app

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeSlackAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self._server = _Listening(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The value for AUTODEVHUB_SLACK_API_URL."""
        return self.base_url + "/api/"

    def response_url(self) -> str:
        """A fresh response_url on this server (posts to it are recorded)."""
        return f"{self.base_url}/response/{uuid.uuid4().hex}"

    # -- scripting -----------------------------------------------------------------------
    def fail(self, method: str, error: str = "internal_error", *, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        self._script(method, _Scripted(200, {"ok": False, "error": error}, {}, times))

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with Retry-After."""
        payload = {"ok": False, "error": "ratelimited"}
        self._script(method, _Scripted(429, payload, {"Retry-After": str(retry_after)}, times))

    def answer(self, method: str, payload: dict[str, Any], *, times: int = 1) -> None:
        """The next `times` calls of `method` answer `payload` (HTTP 200)."""
        self._script(method, _Scripted(200, payload, {}, times))

    def hold(self, method: str) -> None:
        """Calls of `method` are recorded at once but answered only after `release(method)`."""
        with self._cond:
            self._held[method] = threading.Event()

    def release(self, method: str) -> None:
        with self._cond:
            held = self._held.pop(method, None)
        if held is not None:
            held.set()

    def _script(self, method: str, scripted: _Scripted) -> None:
        with self._cond:
            self._scripts.setdefault(method, []).append(scripted)

    def refuse_channel(self, channel: str, error: str = "not_in_channel") -> None:
        """Until `allow_channel(channel)` (or `reset()`), chat.postMessage and chat.update to
        `channel` answer `{"ok": false, "error": error}`: "not_in_channel", "is_archived"
        (chat.update answers "is_inactive" then) or "channel_not_found". Reading it
        (conversations.history/replies) answers channel_not_found / not_in_channel too."""
        self._channels.refuse(channel, error)

    def allow_channel(self, channel: str) -> None:
        self._channels.allow(channel)

    def reset(self) -> None:
        """Forget recorded calls, scripted answers and refused channels. The messages posted
        stay: they are still in Slack (`messages`, conversations.history)."""
        with self._cond:
            self.calls.clear()
            self._scripts.clear()
        self._channels.allow_all()

    # -- inspection ----------------------------------------------------------------------
    def said(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U0042",
        ts: str | None = None,
        team: str = "T0001",
        thread_ts: str | None = None,
    ) -> str:
        """A person's message in `channel` (what a shortcut or a thread starts from), or a
        reply in the thread `thread_ts`; its ts."""
        ts = ts or f"{int(time.time())}.{next(self._ts):06d}"
        self._channels.said(channel, text, user=user, ts=ts, team=team, thread_ts=thread_ts)
        return ts

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages as Slack holds them (thread replies not included unless
        broadcast), oldest first, each with its full metadata."""
        return self._channels.messages(channel)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread of message `ts` (the parent or any reply): the parent, then its replies
        oldest first; [] when there is no such message."""
        return self._channels.thread(channel, ts)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One stored message (top-level or reply) as Slack holds it, None if there is none."""
        return self._channels.message(channel, ts)

    def uploaded(self, channel: str | None = None) -> list[UploadedFile]:
        """The files completed, oldest first; those shared in `channel` only, when given
        (`fake.files` has every file announced, private ones too)."""
        return self.files.uploaded(channel)

    def dm_channel(self, user_id: str) -> str:
        """The id of `user_id`'s DM with the app (what conversations.open answers)."""
        with self._cond:
            return self._dms.setdefault(
                user_id, "D" + hashlib.sha256(user_id.encode()).hexdigest()[:10].upper()
            )

    def calls_to(self, method: str, where: Callable[[Call], bool] | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

    def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> Call:
        """Block until `count` matching calls have arrived; return the last of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c for c in self.calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(
                        f"no {method} call (x{count}) within {timeout}s; calls seen: {seen}"
                    )
                self._cond.wait(left)

    def settle(self, quiet: float = 0.2, timeout: float = 5.0) -> None:
        """Wait until no call has arrived for `quiet` seconds (the app's after-ack work is done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                last = self.calls[-1].at if self.calls else 0.0
            idle = time.monotonic() - last
            if idle >= quiet:
                return
            time.sleep(quiet - idle)

    def responses(self, response_url: str) -> list[Call]:
        path = response_url.split("//", 1)[-1].split("/", 1)[-1]
        return self.calls_to("response_url", lambda c: c.path == "/" + path)

    def wait_response(self, response_url: str, *, count: int = 1, timeout: float = 5.0) -> Call:
        """Block until `count` posts to `response_url` arrived; return the last."""
        path = "/" + response_url.split("//", 1)[-1].split("/", 1)[-1]
        return self.wait_for("response_url", lambda c: c.path == path, count=count, timeout=timeout)

    # -- serving -------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        if len(raw) < length:
            # the sender died mid-request (a drill's kill -9): Slack sees a broken connection,
            # not a payload, so nothing is recorded or refused; the connection just closes
            req.close_connection = True
            return
        ctype = req.headers.get("Content-Type", "")
        path, _, query = req.path.partition("?")
        if path.startswith(UPLOAD_PATH):  # a file's bytes (tests/fakes/slack_files.py)
            self._receive_upload(req, path, raw)
            return
        params = {k: v[0] for k, v in parse_qs(query).items()} | _parse_body(raw, ctype)
        auth = req.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else params.get("token")
        if path.startswith("/response/"):
            method = "response_url"
        elif path.startswith("/api/"):
            method = path[len("/api/") :]
        else:
            method = path
        call = Call(method=method, params=params, token=token, path=path)
        refusal = refusal_of(method, params) or self._file_refusal(method, params, token)
        with self._cond:
            self.calls.append(call)
            scripted = self._next_script(method) if refusal is None else None
            held = self._held.get(method)
            self._cond.notify_all()
        if held is not None:
            held.wait(timeout=30)
        if refusal is not None:
            _refuse(refusal)
            if method == "response_url":
                self._send_text(req, 400, refusal.error)
            else:
                status, body = _refused_answer(refusal)
                self._send(req, status, body, {})
        elif scripted is not None:
            self._send(req, scripted.status, scripted.payload, scripted.headers)
        elif method == "response_url":
            self._send_text(req, 200, "ok")
        else:
            self._send(req, 200, self._ok(method, params, token), {})

    # -- files (the rules are in tests/fakes/slack_files.py) -------------------------------
    def _file_refusal(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> Refusal | None:
        team = self.team_for_token.get(token or "", "T0001")
        found = self.files.refusal_of(method, params, team)
        return Refusal(method, found.error, found.problems) if found else None

    def _receive_upload(self, req: BaseHTTPRequestHandler, path: str, raw: bytes) -> None:
        """A POST of a file's bytes to an upload URL, recorded as method "upload_url"
        (`params`: `file_id`, None for an unknown URL, and `bytes`)."""
        status, body, file_id, refused = self.files.receive_upload(
            path.removeprefix(UPLOAD_PATH), raw
        )
        with self._cond:
            self.calls.append(
                Call(UPLOAD_METHOD, {"file_id": file_id, "bytes": len(raw)}, path=path)
            )
            self._cond.notify_all()
        if refused is not None:
            _refuse(Refusal(UPLOAD_METHOD, refused.error, refused.problems))
        self._send_text(req, status, body)

    def _open_conversation(self, p: dict[str, Any]) -> dict[str, Any]:
        """conversations.open with one user: their DM with the app (the same each time)."""
        users = [u for u in str(p.get("users") or "").split(",") if u.strip()]
        if p.get("channel"):
            return {"ok": True, "channel": {"id": p["channel"]}}
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 8:
            return {"ok": False, "error": "too_many_users"}
        if len(users) > 1:
            return {"ok": True, "channel": {"id": "G" + uuid.uuid4().hex[:10].upper()}}
        return {"ok": True, "channel": {"id": self.dm_channel(users[0].strip()), "is_im": True}}

    def _next_script(self, method: str) -> _Scripted | None:
        queue = self._scripts.get(method)
        if not queue:
            return None
        scripted = queue[0]
        scripted.times -= 1
        if scripted.times <= 0:
            queue.pop(0)
        return scripted

    def _ok(self, method: str, p: dict[str, Any], token: str | None) -> dict[str, Any]:
        team = self.team_for_token.get(token or "", "T0001")
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        channel = p.get("channel", "C0001")
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake",
                "user": "autodevhub",
                "team_id": team,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method in FILE_METHODS:  # tests/fakes/slack_files.py
            return self.files.answer(method, p, team=team, base_url=self.base_url)
        if method == "chat.postMessage":
            return self._channels.post(p, ts=ts, team=team)
        if method == "chat.update":
            return self._channels.update(p, edited_ts=ts)
        if method == "conversations.history":
            return self._channels.history(p, limits=self.history_limits)
        if method == "conversations.replies":
            return self._channels.replies(p)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            view = p.get("view") if isinstance(p.get("view"), dict) else {}
            return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:10].upper(), **view}}
        if method == "users.info":
            user_id = p.get("user", "U0001")
            user = self.users.get(user_id) or {
                "id": user_id,
                "team_id": team,
                "name": user_id.lower(),
                "real_name": f"User {user_id}",
                "profile": {"display_name": user_id.lower(), "real_name": f"User {user_id}"},
            }
            return {"ok": True, "user": user}
        if method == "chat.getPermalink":
            mts = str(p.get("message_ts", ts)).replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://fake.slack.test/archives/{channel}/p{mts}",
            }
        if method == "conversations.open":
            return self._open_conversation(p)
        if method == "conversations.info":
            return {
                "ok": True,
                "channel": {"id": channel, "name": "general", "is_member": True},
            }
        if method == "oauth.v2.access":
            return {
                "ok": True,
                "access_token": "xoxb-installed-" + uuid.uuid4().hex[:8],
                "token_type": "bot",
                "scope": "commands,chat:write",
                "bot_user_id": BOT_USER_ID,
                "app_id": APP_ID,
                "team": {"id": team, "name": "Fake"},
                "enterprise": None,
                "authed_user": {"id": "U0001"},
                "is_enterprise_install": False,
            }
        return {"ok": True}

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler, status: int, payload: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = json.dumps(payload).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(body)

    @staticmethod
    def _send_text(req: BaseHTTPRequestHandler, status: int, text: str) -> None:
        body = text.encode()
        req.send_response(status)
        req.send_header("Content-Type", "text/plain; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


def _parse_body(raw: bytes, ctype: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in ctype:
        try:
            data = json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}
        return data if isinstance(data, dict) else {"_json": data}
    params: dict[str, Any] = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


# ------------------------------------------------------------------------------------------
# The signed-request client


@dataclass
class Reply:
    """The app's HTTP answer to one request from "Slack"."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def message(self) -> Call | None:
        """The message in this HTTP answer (a slash command's immediate response), if any."""
        ctype = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        if not self.body or not ctype.startswith("application/json"):
            return None
        data = self.json
        if not isinstance(data, dict) or not ("text" in data or "blocks" in data):
            return None
        return Call("ack", data, path="(immediate response)")


def answer_of(fake: FakeSlackAPI, reply: Reply, response_url: str, timeout: float = 5.0) -> Call:
    """What the user sees for a slash command: its immediate response (in the ack's body),
    else the first message posted to its response_url."""
    return reply.message() or fake.wait_response(response_url, timeout=timeout)


class SignedSlack:
    """Plays Slack: sends signed requests to the app as one workspace member."""

    def __init__(
        self,
        app_url: str,
        fake: FakeSlackAPI,
        *,
        team_id: str = "T0001",
        user_id: str = "U0001",
        channel_id: str = "C0001",
        signing_secret: str = SIGNING_SECRET,
    ) -> None:
        self.app_url = app_url.rstrip("/")
        self.fake = fake
        self.team_id = team_id
        self.user_id = user_id
        self.channel_id = channel_id
        self.verifier = SignatureVerifier(signing_secret)

    def as_workspace(
        self, team_id: str | None = None, user_id: str | None = None, channel_id: str | None = None
    ) -> SignedSlack:
        """The same sender for another workspace, member or channel."""
        return SignedSlack(
            self.app_url,
            self.fake,
            team_id=team_id or self.team_id,
            user_id=user_id or self.user_id,
            channel_id=channel_id or self.channel_id,
            signing_secret=self.verifier.signing_secret,
        )

    def as_user(self, user_id: str) -> SignedSlack:
        return self.as_workspace(user_id=user_id)

    # -- raw -----------------------------------------------------------------------------
    def post(
        self,
        body: str | bytes,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/slack/events",
    ) -> Reply:
        """POST `body` signed like Slack (override `timestamp`/`signature` to test refusals)."""
        data = body.encode() if isinstance(body, str) else body
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or sign_request(self.verifier.signing_secret, ts, data)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig or "",
            **(headers or {}),
        }
        return http_request("POST", self.app_url + path, data, all_headers)

    def post_form(self, form: dict[str, str], **kwargs: Any) -> Reply:
        return self.post(urlencode(form), **kwargs)

    def post_payload(self, payload: dict[str, Any], **kwargs: Any) -> Reply:
        """An interactivity request: `payload=<json>`, form-encoded."""
        return self.post_form({"payload": json.dumps(payload)}, **kwargs)

    # -- what Slack sends ----------------------------------------------------------------
    def command(
        self, command: str, text: str = "", *, channel_id: str | None = None
    ) -> tuple[Reply, str]:
        """A slash command; returns (HTTP reply, its response_url on the fake)."""
        response_url = self.fake.response_url()
        form = {
            "token": "deprecated-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_id.lower(),
            "channel_id": channel_id or self.channel_id,
            "channel_name": "general",
            "user_id": self.user_id,
            "user_name": self.user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.trigger_id(),
        }
        reply = self.post_form(form)
        check_command_ack(reply)
        return reply, response_url

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        selected_option: str | None = None,
        block_id: str = "block",
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        channel_id: str | None = None,
    ) -> tuple[Reply, str]:
        """A click in a message (default) or in a view (`view=` given: App Home or modal).

        Returns (HTTP reply, the response_url sent along; messages only, else "")."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if selected_option is not None:
            action["type"] = "static_select"
            action["selected_option"] = {
                "text": {"type": "plain_text", "text": selected_option},
                "value": selected_option,
            }
        else:
            action["type"] = "button"
            action["value"] = value or ""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": self.team_id.lower()},
            "user": {"id": self.user_id, "team_id": self.team_id, "username": self.user_id},
            "api_app_id": "A0001",
            "token": "deprecated-verification-token",
            "trigger_id": self.trigger_id(),
            "actions": [action],
            "is_enterprise_install": False,
        }
        response_url = ""
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
            payload["view"] = {"id": "V1", "team_id": self.team_id, **view}
        else:
            response_url = self.fake.response_url()
            channel = channel_id or self.channel_id
            msg = {"type": "message", "ts": "1700000000.000100", "blocks": [], **(message or {})}
            payload["container"] = {
                "type": "message",
                "message_ts": msg["ts"],
                "channel_id": channel,
                "is_ephemeral": True,
            }
            payload["channel"] = {"id": channel, "name": "general"}
            payload["message"] = msg
            payload["response_url"] = response_url
        return self.post_payload(payload), response_url

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        private_metadata: str = "",
        view_id: str = "V1",
        blocks: list[dict[str, Any]] | None = None,
    ) -> Reply:
        """A modal submitted. `values` is {block_id: {action_id: element_state}} as Slack
        sends it; `field_value(...)`, `select_value(...)` etc. build element states.
        `blocks` are the view's blocks (Slack sends them back; pass the opened view's)."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_id.lower()},
            "user": {"id": self.user_id, "team_id": self.team_id, "username": self.user_id},
            "api_app_id": "A0001",
            "token": "deprecated-verification-token",
            "trigger_id": self.trigger_id(),
            "view": {
                "id": view_id,
                "team_id": self.team_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "blocks": blocks or [],
                "state": {"values": values},
                "hash": "h" + uuid.uuid4().hex[:8],
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }
        reply = self.post_payload(payload)
        check_view_submission_ack(reply, blocks)
        return reply

    def shortcut(self, callback_id: str) -> Reply:
        """A global shortcut."""
        payload = {
            "type": "shortcut",
            "callback_id": callback_id,
            "team": {"id": self.team_id, "domain": self.team_id.lower()},
            "user": {"id": self.user_id, "team_id": self.team_id, "username": self.user_id},
            "api_app_id": "A0001",
            "token": "deprecated-verification-token",
            "trigger_id": self.trigger_id(),
            "action_ts": f"{time.time():.6f}",
            "is_enterprise_install": False,
        }
        return self.post_payload(payload)

    def message_action(
        self,
        callback_id: str,
        message_text: str,
        *,
        message_ts: str = "1700000000.000200",
        author: str = "U0042",
        channel_id: str | None = None,
        **message: Any,
    ) -> tuple[Reply, str]:
        """A message shortcut on a message (`message`: more of its fields, e.g.
        reply_count); returns (HTTP reply, its response_url)."""
        response_url = self.fake.response_url()
        channel = channel_id or self.channel_id
        self.fake.said(channel, message_text, user=author, ts=message_ts, team=self.team_id)
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": self.team_id, "domain": self.team_id.lower()},
            "user": {"id": self.user_id, "team_id": self.team_id, "username": self.user_id},
            "channel": {"id": channel, "name": "general"},
            "message": {
                "type": "message",
                "user": author,
                "ts": message_ts,
                "text": message_text,
                **message,
            },
            "message_ts": message_ts,
            "response_url": response_url,
            "trigger_id": self.trigger_id(),
            "action_ts": f"{time.time():.6f}",
            "api_app_id": "A0001",
            "token": "deprecated-verification-token",
            "is_enterprise_install": False,
        }
        return self.post_payload(payload), response_url

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> Reply:
        """An Events API `event_callback` (JSON). Give the same `event_id` to send a retry."""
        body = {
            "token": "deprecated-verification-token",
            "team_id": self.team_id,
            "api_app_id": "A0001",
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": BOT_USER_ID, "is_bot": True}],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(body), content_type="application/json", headers=headers)

    def app_home_opened(self, **kwargs: Any) -> Reply:
        return self.event(
            {"type": "app_home_opened", "user": self.user_id, "channel": "D0001", "tab": "home"},
            **kwargs,
        )

    @staticmethod
    def trigger_id() -> str:
        return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"


def _ack_json(reply: Reply) -> dict[str, Any] | None:
    """The JSON object in a 200 ack, None for an empty one (anything else is refused)."""
    if reply.status != 200 or not reply.body.strip():
        return None
    try:
        data = json.loads(reply.body)
    except ValueError:
        return None  # a plain-text ack is shown as text
    if not isinstance(data, dict):
        raise SlackRefused(f"an ack's JSON body must be an object, not {type(data).__name__}")
    return data


def check_command_ack(reply: Reply) -> None:
    """A slash command's immediate response (over HTTP), held to a message's limits."""
    data = _ack_json(reply)
    if data is not None:
        check_command_answer(data)


def check_view_submission_ack(reply: Reply, blocks: list[dict[str, Any]] | None) -> None:
    """A modal submission's ack (over HTTP); see `check_view_answer`."""
    data = _ack_json(reply)
    if data is not None:
        check_view_answer(data, blocks)


def check_command_answer(data: dict[str, Any]) -> None:
    """A slash command's answer in its ack (HTTP or Socket Mode): a message Slack takes."""
    problems = [str(v) for v in check_message(data)]
    if data.get("response_type") not in (None, "ephemeral", "in_channel"):
        problems.append(f"response_type {data.get('response_type')!r} is not one Slack knows")
    if problems:
        _refuse(Refusal("ack", "invalid_blocks", tuple(problems)))
        raise SlackRefused("Slack refuses this immediate response: " + "; ".join(problems))


def check_view_answer(data: dict[str, Any], blocks: list[dict[str, Any]] | None) -> None:
    """A modal submission's answer in its ack: `response_action` errors (keyed by the view's
    input blocks when they are known), update or push (a valid modal), or clear."""
    action = data.get("response_action")
    if action == "errors":
        found = check_view_errors(data.get("errors"), blocks or None)
    elif action in ("update", "push"):
        view = data.get("view")
        found = check_view(view) if isinstance(view, dict) else []
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise SlackRefused(f"response_action {action} needs a modal view")
    elif action == "clear":
        found = []
    else:
        raise SlackRefused(f"response_action {action!r} is not one Slack knows")
    if found:
        problems = tuple(str(v) for v in found)
        _refuse(Refusal("ack", "invalid_arguments", problems))
        raise SlackRefused("Slack refuses this view_submission ack: " + "; ".join(problems))


def sign_request(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature over the raw bytes (SignatureVerifier's, without decoding)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


# Element states as Slack puts them in view.state.values[block_id][action_id]
def field_value(text: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": text}


def select_value(value: str | None) -> dict[str, Any]:
    option = (
        None if value is None else {"value": value, "text": {"type": "plain_text", "text": value}}
    )
    return {"type": "static_select", "selected_option": option}


def user_value(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def checkbox_values(*values: str) -> dict[str, Any]:
    return {
        "type": "checkboxes",
        "selected_options": [
            {"value": v, "text": {"type": "plain_text", "text": v}} for v in values
        ],
    }


def http_request(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """A plain HTTP request (no redirects followed on error statuses); never raises on 4xx/5xx."""
    req = Request(url, data=data, method=method, headers=headers or {})
    try:
        with urlopen(req, timeout=15) as resp:
            return Reply(resp.status, dict(resp.headers.items()), resp.read())
    except HTTPError as err:
        return Reply(err.code, dict(err.headers.items()), err.read())


# ------------------------------------------------------------------------------------------
# Pytest fixtures: one fake and one server per test module, a fresh workspace per test.


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlackAPI]:
    """The fake Slack Web API, shared by a module's tests (reset before each test)."""
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture(scope="module")
def slack_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A migrated database shared by a module's tests (they use distinct workspaces).

    SQLite; PostgreSQL instead when AUTODEVHUB_SLACK_TESTS_ON_POSTGRES=1 and
    AUTODEVHUB_TEST_DATABASE_URL are set (run tests/slack alone then: the `db` fixture of
    other tests truncates the same PostgreSQL database)."""
    from storage.db import Database

    if os.environ.get("AUTODEVHUB_SLACK_TESTS_ON_POSTGRES") == "1":
        db = Database(request.getfixturevalue("pg_template_url"))
    else:
        path = tmp_path_factory.mktemp("slack") / "autodevhub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


def slack_settings(fake: FakeSlackAPI, db: Any, **overrides: Any) -> Any:
    """Settings for a token-mode app talking to `fake` on `db` (overrides by env name)."""
    from bot.settings import Settings

    values = {
        "DATABASE_URL": db.url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "AUTODEVHUB_SLACK_API_URL": fake.api_url,
        "SLACK_APP_TOKEN": None,
        "SLACK_CLIENT_ID": None,
        "SLACK_CLIENT_SECRET": None,
        "AUTODEVHUB_SCHEDULER": False,
        "AUTODEVHUB_HOME_DELAY": 0.2,  # delayed like in production, but briefly
        "AUTODEVHUB_BACKUP_DIR": _backup_dir_beside(db.url),
        **overrides,
    }
    return Settings(_env_file=None, **values)


def _backup_dir_beside(url: str) -> str:
    """Backups a test takes go beside its own database file, never into the work tree."""
    import tempfile
    from pathlib import Path

    if url.startswith("sqlite:///"):
        return str(Path(url.removeprefix("sqlite:///")).parent / "backups")
    return tempfile.mkdtemp(prefix="autodevhub-test-backups-")


@contextlib.contextmanager
def slack_server_for(fake: FakeSlackAPI, db: Any, **overrides: Any) -> Iterator[Any]:
    """Run the real server (bot.server.make_wsgi_app on waitress) on a free loopback port."""
    from bot.server import make_wsgi_app, start_in_thread

    settings = slack_settings(fake, db, **overrides)
    running = start_in_thread(make_wsgi_app(settings, db))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def slack_server(fake_slack: FakeSlackAPI, slack_db: Any) -> Iterator[Any]:
    """The app, serving HTTP on 127.0.0.1 in this process: `.url`, `.bolt_app`."""
    with slack_server_for(fake_slack, slack_db) as running:
        yield running


@pytest.fixture
def slack(slack_server: Any, fake_slack: FakeSlackAPI) -> Iterator[SignedSlack]:
    """A signed-request sender as a member of a brand-new workspace (first member = admin).

    The fake is reset before the test, and the server's after-ack work is waited for after
    it, so a test sees only the calls its own requests caused."""
    fake_slack.reset()
    team = "T" + uuid.uuid4().hex[:8].upper()
    yield SignedSlack(slack_server.url, fake_slack, team_id=team, user_id="U" + team[1:])
    slack_server.wait_idle()
