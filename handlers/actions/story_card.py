"""The story card's controls: status select, Assign, Edit, Delete — acting in place.

A card is shown alone (a message) or as a row of a paged list (its block id carries the
list's token): a change redraws what was clicked, the list's page or the card. In App Home
the Home itself is redrawn (the change touched it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot import commands
from bot.ui.lists import story_list
from bot.ui.messages import note
from bot.ui.modals import assign_modal, modal_for
from bot.ui.readiness import move_held, parse_move_value
from bot.ui.story_card import parse_story_block_id, story_message
from bot.ui.text import escape
from handlers.listening import Request
from storage import readiness, stories


def _clicked(req: Request) -> tuple[str, str | None, dict[str, Any]]:
    """The story clicked, the token of the list it is a row of (None: a card alone), the
    action."""
    action = req.body["actions"][0]
    story_id, list_token = parse_story_block_id(action.get("block_id", ""))
    return (action.get("value") or story_id), list_token, action


def move(req: Request) -> None:
    """The status select: the story moves, held to its project's Definition of Ready (held:
    a confirmation that names what is missing, beside what was clicked)."""
    story_id, list_token, action = _clicked(req)
    status = (action.get("selected_option") or {}).get("value")
    _move(req, story_id, status, list_token=list_token, override=False)


def move_anyway(req: Request) -> None:
    """ "Move anyway" on a held move: moved, the override recorded; the confirmation is
    replaced by the story's card."""
    story_id, status = parse_move_value(_clicked(req)[2].get("value") or "")
    _move(req, story_id, status, list_token=None, override=True)


def move_cancel(req: Request) -> None:
    """ "Cancel" on a held move: nothing moves; the confirmation says so."""
    story_id, status = parse_move_value(_clicked(req)[2].get("value") or "")
    with req.write() as s:
        story = stories.get_story(s, req.actor(s), story_id)
    req.answer(
        note(f"{story.key} was not moved to {status}; it stays {story.status}."), replace=True
    )


def _move(req: Request, story_id: str, status: Any, *, list_token: str | None, override: bool):
    try:
        with req.write() as s:
            actor = req.actor(s)
            moved = readiness.move_story(
                s, actor, story_id, status, override=override, warn_later=True
            )
    except readiness.NotReady as held:
        req.answer(move_held(held.story, held.status, held.findings))
        return
    with req.db.read() as s:  # after the commit: what the answer shows holds no writer's lock
        if moved.gated and moved.mode == "warn":
            moved = replace(moved, findings=readiness.story_readiness(s, actor, moved.story))
        listed = commands.page_of_token(s, actor, list_token) if list_token else None
    said = commands.moved_note(moved) if moved.findings else f"Moved to {moved.story.status}."
    card = story_message(moved.story, note=said, findings=moved.findings or None)
    if override:
        req.answer(card, replace=True)
        return
    redraw(req, listed, card)


def delete(req: Request) -> None:
    story_id, list_token, _ = _clicked(req)
    with req.write() as s:
        actor = req.actor(s)
        story = stories.delete_story(s, actor, story_id)
        listed = commands.page_of_token(s, actor, list_token) if list_token else None
    label = f"{story.key} {story.title}"
    gone = note(f"{label} deleted.", mrkdwn=f":wastebasket: ~{escape(label)}~ deleted.")
    redraw(req, listed, gone)


def redraw(req: Request, listed: Any | None, message: dict[str, Any]) -> None:
    """Replace what was clicked: the list's page, else the card (App Home redraws itself)."""
    if req.origin.in_view:
        return
    req.answer(story_list(listed) if listed is not None else message, replace=True)


def open_assign(req: Request) -> None:
    story_id, list_token, _ = _clicked(req)
    with req.write() as s:
        actor = req.actor(s)
        story = stories.get_story(s, actor, story_id)
        token = req.remember(s, actor, target=story.id, list_token=list_token)
    req.open_modal(assign_modal(story, metadata=token))


def open_edit(req: Request) -> None:
    story_id, list_token, _ = _clicked(req)
    with req.write() as s:
        actor = req.actor(s)
        form = commands.edit_story_form(stories.get_story(s, actor, story_id))
        token = req.remember(s, actor, form="story", target=form.target, list_token=list_token)
    req.open_modal(modal_for(form, metadata=token))
