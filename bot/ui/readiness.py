"""Block Kit for readiness: a move the Definition of Ready holds back until someone confirms
it, and Improve with Claude's side-by-side review."""

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
from bot.ui.text import SECTION_LIMIT, clip, escape, fit
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


# ---- Improve with Claude: the improved story beside the current one -------------------------
FIELD_CHARS = 1900  # a section field holds 2000 characters


def _side(label: str, value: Any) -> MarkdownTextObject:
    if isinstance(value, list):
        value = "\n".join(f"✓ {item}" for item in value)
    shown = fit(value, FIELD_CHARS) if value not in (None, "", []) else "_none_"
    return MarkdownTextObject(text=f"*{label}*\n{shown}")


def _findings_line(findings: list[Finding]) -> str:
    if not findings:
        return ":white_check_mark: ready"
    return f":warning: {things_to_fix(findings).lower()}"


def improvement_message(review: Any) -> dict[str, Any]:
    """The story now and Claude's version side by side, with Replace / Keep current."""
    key = escape(review.key)
    head = f":sparkles: *Claude's version of {key}*, beside the current one. Nothing changes "
    head += "until you press Replace."
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=head))]
    for field, label in (
        ("title", "Title"),
        ("description", "Description"),
        ("acceptance_criteria", "Acceptance criteria"),
        ("story_points", "Points"),
        ("tasks", "Tasks"),  # Replace changes what was shown, and only that (storage/improve)
    ):
        blocks.append(
            SectionBlock(
                fields=[
                    _side(f"{label} now", review.current.get(field)),
                    _side(f"{label} by Claude", review.improved.get(field)),
                ]
            )
        )
    after = review.after
    summary = f"Now: {_findings_line(review.before)} · Claude's: {_findings_line(after)}"
    if after:
        summary += " (" + "; ".join(escape(f.message) for f in after[:3]) + ")"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(summary, 2000))]))
    if review.state == "open":
        blocks.append(
            ActionsBlock(
                block_id="ai_improve",
                elements=[
                    ButtonElement(
                        text="Replace",
                        action_id=ids.AI_IMPROVE_REPLACE,
                        value=review.token,
                        style="primary",
                    ),
                    ButtonElement(
                        text="Keep current", action_id=ids.AI_IMPROVE_KEEP, value=review.token
                    ),
                ],
            )
        )
    else:
        said = "kept as it was" if review.state == "kept" else "replaced"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"{key} was {said}.")]))
    return {
        "text": clip(escape(f"Claude's version of {review.key} to review"), 300),
        "blocks": [b.to_dict() for b in blocks],
    }


def improve_offline(story: Any) -> dict[str, Any]:
    """The Improve button without ANTHROPIC_API_KEY: what it needs, and what to do meanwhile."""
    text = (
        f":electric_plug: Improve with Claude needs Claude, and no ANTHROPIC_API_KEY is set: "
        f"ask an admin to set it. Meanwhile the card of *{escape(story.key)}* lists what to "
        "fix, and Edit changes it by hand."
    )
    return {
        "text": "Improve with Claude needs ANTHROPIC_API_KEY.",
        "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()],
    }
