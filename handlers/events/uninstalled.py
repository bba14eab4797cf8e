"""`app_uninstalled` / `tokens_revoked` in single-workspace mode: noted in the log, kept data."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext

log = logging.getLogger("autodevhub.handlers")


def on_uninstalled(event: dict, context: BoltContext) -> None:
    # The backlog stays: a reinstall finds it again. Only the token stopped working.
    log.warning("Slack says %s for workspace %s", event.get("type"), context.team_id)
