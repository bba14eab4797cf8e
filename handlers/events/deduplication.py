"""Global middleware: an event id already handled is acknowledged and not handled again."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse

from storage.events import first_delivery

log = logging.getLogger("autodevhub.handlers")


def skip_seen_events(
    body: dict,
    context: BoltContext,
    next: Callable[[], None],
) -> BoltResponse | None:
    """Slack retries an event it got no 2xx for in 3 s; the retry must not act twice."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if not event_id:
        next()
        return None
    with context["db"].write() as s:
        first = first_delivery(s, str(event_id), body.get("team_id"))
    if not first:
        log.info("event %s already handled; acknowledging the retry", event_id)
        return BoltResponse(status=200, body="")
    next()
    return None
