"""The story form submitted: create or update the story, then show it where it was asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot import commands
from bot.forms import save_story
from bot.ui.lists import story_list
from bot.ui.messages import note
from bot.ui.modals import submitted_values
from bot.ui.story_card import story_message
from handlers.listening import Request
from storage.live import subscriptions as live
from storage.readiness import Finding, story_readiness, things_to_fix


def save(req: Request, s: Session) -> Callable[[Request], None]:
    actor = req.actor(s)
    kept = req.recall(s, actor)
    story = save_story(s, actor, kept.get("target"), submitted_values(req.body["view"]))
    edited, list_token = bool(kept.get("target")), kept.get("list_token")
    thread = kept.get("thread") or {}
    tracked = not edited and bool(thread.get("channel") and thread.get("ts"))
    if tracked:
        live.track_thread(s, actor, story, thread["channel"], thread["ts"])

    def show_story(req: Request) -> None:
        fed = False
        if not (edited or tracked):  # after the ack: does the channel show new stories itself?
            with req.db.read() as s:
                fed = live.follows(s, req.team_id, req.origin.channel_id, story.project_id)
        with req.db.read() as s:  # the readiness check, look-alikes included (one query)
            findings = story_readiness(s, actor, story)
        if tracked or fed:  # the card is posted there by the card workers
            where = "the message's thread" if tracked else "this channel"
            ready = "" if not findings else f" {things_to_fix(findings)}: see the card."
            req.answer(note(f"{story.key} created; its card follows in {where}.{ready}"))
            return
        show(req, story, edited=edited, list_token=list_token, findings=findings)

    return show_story


def show(
    req: Request,
    story: Any,
    *,
    edited: bool,
    list_token: str | None,
    findings: list[Finding] | None = None,
) -> None:
    """The story where the form was opened: the list it was edited from, redrawn; the card
    it was edited from, replaced; a new story posted in the channel. App Home redraws
    itself."""
    origin = req.origin
    if origin.in_view:
        return
    if list_token and origin.response_url:
        with req.write() as s:
            listed = commands.page_of_token(s, req.actor(s), list_token)
        if listed is not None:
            req.answer(story_list(listed), replace=True)
            return
    if edited:
        message = story_message(story, note="Updated.", findings=findings)
        req.answer(message, replace=origin.came_from == "message")
    else:
        req.answer(story_message(story, note="New story.", findings=findings), public=True)
