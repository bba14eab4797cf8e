"""`app_home_opened`: publish the member's Home tab."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from handlers.delivery import HOMES
from handlers.listening import database, workspace_id


def on_home_opened(event: dict, context: BoltContext, client: WebClient, logger) -> None:
    """Acked when this returns; the Home is built and published on the Home pool after."""
    if event.get("tab", "home") != "home":
        return
    HOMES.refresh(database(context), client, workspace_id(context), event["user"], delay=0)
