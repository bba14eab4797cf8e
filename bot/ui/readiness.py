"""Block Kit for the Definition of Ready: a move held back until someone confirms it."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ui import ids
from bot.ui.text import SECTION_LIMIT, clip, escape
from storage.readiness import Finding, things_to_fix


def move_value(story_id: str, status: str) -> str:
    """A held move's button value: the story and where it goes."""
    return f"{story_id}:{status}"


def parse_move_value(value: str) -> tuple[str, str]:
    story_id, _, status = (value or "").partition(":")
    return story_id, status


def move_held(story: Any, status: str, findings: list[Finding]) -> dict[str, Any]:
    """`require`: the move waits for a confirmation that names what is missing."""
    head = (
        f":no_entry: *{escape(story.key)}* {escape(story.title)} is not ready for "
        f"*{escape(status)}*: {things_to_fix(findings).lower()}."
    )
    lines = "\n".join(f"• {escape(f.message)}" for f in findings)
    value = move_value(story.id, status)
    return {
        "text": clip(escape(f"{story.key} is not ready for {status}."), 300),
        "blocks": [
            SectionBlock(text=MarkdownTextObject(text=clip(f"{head}\n{lines}", SECTION_LIMIT))),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="This project's Definition of Ready requires it. Fix the story "
                        "first, or move it anyway: who did is recorded in the audit log."
                    )
                ]
            ),
            ActionsBlock(
                block_id=f"ready_gate:{story.id}",
                elements=[
                    ButtonElement(
                        text="Move anyway",
                        action_id=ids.STORY_MOVE_ANYWAY,
                        value=value,
                        style="danger",
                    ),
                    ButtonElement(text="Cancel", action_id=ids.STORY_MOVE_CANCEL, value=value),
                ],
            ),
        ],
    }
