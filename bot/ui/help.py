"""Help for each command: its words, what they do, and what was wrong with what was typed."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.commands import USAGE
from bot.ui.text import escape


def usage_lines(command: str) -> list[str]:
    return [f"{command} {words}  —  {what}" for words, what in USAGE.get(command, [])]


def usage(command: str, problem: str | None = None) -> dict[str, Any]:
    """The help of `command`, led by the problem (escaped) when there was one."""
    lines = [
        f"`{escape(command)} {escape(words)}`  {escape(what)}" for words, what in USAGE[command]
    ]
    blocks: list[Any] = []
    if problem:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=":warning: " + escape(problem))))
    blocks.append(
        SectionBlock(text=MarkdownTextObject(text=f"*{escape(command)}*\n" + "\n".join(lines)))
    )
    if command == "/story":
        tip = "Stories are named KEY-N, e.g. WEB-7. Statuses: DRAFT, READY, IN_PROGRESS, DONE."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tip)]))
    text = (problem + " " if problem else "") + f"Usage: {command} help"
    return {"text": escape(text), "blocks": [b.to_dict() for b in blocks]}
