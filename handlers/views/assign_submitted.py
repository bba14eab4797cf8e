"""The assign picker submitted: assign (or unassign) the story and update what was clicked."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot import commands
from bot.ui.lists import story_list
from bot.ui.modals import submitted_values
from bot.ui.story_card import story_message
from handlers.listening import Request
from storage import stories


def save(req: Request, s: Session) -> Callable[[Request], None]:
    actor = req.actor(s)
    kept = req.recall(s, actor)
    assignee = submitted_values(req.body["view"]).get("assignee")
    story = stories.assign_story(s, actor, kept["target"], assignee)
    list_token = kept.get("list_token")

    def show(req: Request) -> None:
        if req.origin.in_view:
            return
        listed = None
        if list_token:
            with req.write() as s:
                listed = commands.page_of_token(s, req.actor(s), list_token)
        if listed is not None:
            message = story_list(listed)
        else:
            message = story_message(
                story, note="Assigned." if story.assignee_slack_id else "Unassigned."
            )
        req.answer(message, replace=req.origin.came_from == "message")

    return show
