"""Next / Previous on a story list: the paging state lives in a session behind the token."""

from __future__ import annotations

from bot import commands
from bot.ui.lists import story_list
from handlers.listening import Request


def turn_next(req: Request) -> None:
    turn(req, 1)


def turn_previous(req: Request) -> None:
    turn(req, -1)


def turn(req: Request, step: int) -> None:
    token = req.body["actions"][0].get("value") or ""
    with req.write() as s:
        listed = commands.turn_page(s, req.actor(s), token, step)
    req.answer(story_list(listed), replace=True)
