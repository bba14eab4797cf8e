"""`/autodev digest`: a channel's digest on/off/now, the member's personal digest, or what is set.

Called after the ack, in the /autodev listener's worker thread, as

    handle_digest(*, text: str, body: dict, context: BoltContext, respond: Respond,
              client: WebClient) -> None

`text` is what followed the word ("/autodev digest on daily 09:00" -> "on daily 09:00").
Errors: a storage.errors.DomainError, shown ephemerally by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.scheduler import deliver_digest
from bot.ui import digest as ui
from handlers.listening import acting_member, database, settings_of
from storage.digests.schedule import FREQUENCIES, check_timezone, parse_time_of_day, parse_weekday
from storage.digests.subscriptions import (
    channel_subscriptions,
    find_channel_subscription,
    find_personal_subscription,
    personal_subscription,
    set_personal_digest,
    subscribe_channel,
    unsubscribe_channel,
)
from storage.errors import ValidationFailed

USAGE = (
    "Usage: `/autodev digest` (what this channel gets) · "
    "`/autodev digest on [daily|weekly] [MONDAY] [HH:MM] [PROJECT] [Area/City]` · "
    "`/autodev digest off [PROJECT]` · `/autodev digest now [PROJECT]` · "
    "`/autodev digest me on|off|now [daily|weekly] [HH:MM]`"
)


@dataclass
class DigestRequest:
    """The words of `/autodev digest ...`, sorted into what they mean."""

    verb: str = "show"  # show, on, off, now, help
    personal: bool = False
    frequency: str | None = None
    time_of_day: str | None = None
    weekday: int | None = None
    timezone: str | None = None
    project: list[str] = field(default_factory=list)


def parse(text: str) -> DigestRequest:
    words = text.split()
    request = DigestRequest()
    if words and words[0].lower() == "me":
        request.personal = True
        words = words[1:]
    if words:
        verb = words[0].lower()
        if verb not in ("on", "off", "now", "help"):
            raise ValidationFailed(f"'{words[0][:20]}' is not a digest command. {USAGE}")
        request.verb, words = verb, words[1:]
    for word in words:
        lower = word.lower()
        if request.verb != "on":
            request.project.append(word)
        elif lower in FREQUENCIES:
            request.frequency = lower
        elif re.fullmatch(r"\d{1,2}(:\d\d)?", word):
            request.time_of_day = parse_time_of_day(word)
        elif "/" in word or word.upper() == "UTC":
            request.timezone = check_timezone("UTC" if word.upper() == "UTC" else word)
        elif parse_weekday(word) is not None and not request.project:
            request.weekday = parse_weekday(word)
            request.frequency = request.frequency or "weekly"
        else:
            request.project.append(word)
    if request.personal and request.project:
        raise ValidationFailed(f"Your personal digest covers all your stories. {USAGE}")
    return request


def handle_digest(
    *, text: str, body: dict, context: BoltContext, respond: Respond, client: WebClient
) -> None:
    request = parse(text)
    if request.verb == "help":
        respond(response_type="ephemeral", text=USAGE)
        return
    db, settings = database(context), settings_of(context)
    channel_id = body.get("channel_id") or ""
    project = " ".join(request.project) or None
    schedule = {
        "frequency": request.frequency,
        "time_of_day": request.time_of_day,
        "weekday": request.weekday,
        "timezone": request.timezone or settings.timezone,
    }
    with db.write() as s:
        actor = acting_member(s, context)
        if request.verb == "now":
            view = (
                find_personal_subscription(s, actor)
                if request.personal
                else find_channel_subscription(s, actor, channel_id, project)
            )
        elif request.personal and request.verb in ("on", "off"):
            view = set_personal_digest(s, actor, request.verb == "on", **schedule)
            message = ui.subscribed(view) if view else ui.unsubscribed([], personal=True)
        elif request.verb == "on":
            message = ui.subscribed(
                subscribe_channel(s, actor, channel_id, project_ref=project, **schedule)
            )
        elif request.verb == "off":
            message = ui.unsubscribed(
                unsubscribe_channel(s, actor, channel_id, project_ref=project)
            )
        else:
            message = ui.subscriptions_shown(
                [] if request.personal else channel_subscriptions(s, actor, channel_id),
                personal_subscription(s, actor),
            )
    if request.verb == "now":
        delivery = deliver_digest(db, client, view.id)
        message = (
            ui.digest_sent(view) if delivery.outcome == "posted" else ui.not_sent(delivery.detail)
        )
    respond(response_type="ephemeral", **message)
