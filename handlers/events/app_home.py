"""`app_home_opened`: publish the member's Home tab."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient


def on_home_opened(event: dict, context: BoltContext, client: WebClient) -> None:
    """Acked when this returns; the Home is built and published on the Home threads after."""
    team_id = context.team_id or context.enterprise_id
    if event.get("tab", "home") != "home" or not team_id:
        return
    context["homes"].refresh(context["db"], client, team_id, event["user"], delay=0)
