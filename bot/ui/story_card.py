"""The story card: one place that renders a story, with buttons that act on it in place."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from slack_sdk.models.blocks import ConfirmObject, Option, PlainTextObject, StaticSelectElement

from bot.ui import ids
from bot.ui.text import SECTION_LIMIT, clip, escape, escaped_pieces, mention
from storage.fields import STATUSES
from storage.readiness import Finding, check_story, things_to_fix

STATUS_EMOJI = {"DRAFT": ":memo:", "READY": ":white_circle:", "IN_PROGRESS": ":large_blue_circle:"}
STATUS_EMOJI["DONE"] = ":white_check_mark:"
PRIORITY_EMOJI = {"CRITICAL": ":red_circle:", "HIGH": ":large_orange_circle:"}
CRITERIA_SHOWN = 10
DESCRIPTION_SECTIONS = 4  # 12,000 characters of escaped text; a card stays short


def story_block_id(story_id: str, list_token: str | None = None) -> str:
    """block_id of a story's interactive block: the story id and, in a list, the list's token."""
    return f"story:{story_id}" + (f":{list_token}" if list_token else "")


def parse_story_block_id(block_id: str) -> tuple[str, str | None]:
    """(story id, list token or None) from a block_id made by `story_block_id`."""
    parts = (block_id or "").split(":", 2)
    if len(parts) < 2 or parts[0] != "story":
        return "", None
    return parts[1], (parts[2] if len(parts) == 3 else None)


def summary_line(story: Any) -> str:
    """`HIGH · 5 points · IN_PROGRESS · @maria` (mrkdwn, safe)."""
    points = f"{story.story_points} point" + ("" if story.story_points == 1 else "s")
    assignee = (
        f"assigned to {mention(story.assignee_slack_id)}"
        if story.assignee_slack_id
        else ("unassigned")
    )
    priority = PRIORITY_EMOJI.get(story.priority, "")
    return " · ".join(
        [
            f"{priority} {escape(story.priority)}".strip(),
            points,
            f"{STATUS_EMOJI.get(story.status, '')} {escape(story.status)}".strip(),
            assignee,
        ]
    )


def status_select(story: Any, action_id: str = ids.STORY_STATUS) -> StaticSelectElement:
    options = [Option(value=status, label=status.replace("_", " ").title()) for status in STATUSES]
    current = next((o for o in options if o.value == story.status), None)
    return StaticSelectElement(
        action_id=action_id,
        placeholder="Status",
        options=options,
        initial_option=current,
    )


def readiness_of(story: Any, findings: list[Finding] | None = None) -> list[Finding] | None:
    """The findings a surface shows for a story: `findings` when the caller has them (with the
    look-alike one, which needs the database), else the pure check; None for a DONE story
    (built already: whether it was ready no longer matters)."""
    if story.status == "DONE":
        return None
    return check_story(story) if findings is None else findings


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _button(text: str, action_id: str, value: str, **more: Any) -> dict[str, Any]:
    """A button as slack_sdk's ButtonElement(text=str, ...) renders it (emoji on)."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
        **more,
    }


def readiness_block(findings: list[Finding]) -> dict[str, Any]:
    """A ready mark, or "2 things to fix" with what to do about each (mrkdwn, safe)."""
    if not findings:
        return _context(":white_check_mark: Ready to build")
    lines = [f"• {escape(f.message)}" for f in findings]
    text = f"*:warning: {things_to_fix(findings)}*\n" + "\n".join(lines)
    return _section(clip(text, SECTION_LIMIT))


def story_card(
    story: Any,
    *,
    note: str | None = None,
    actions: bool = True,
    findings: list[Finding] | None = None,
) -> list[dict]:
    """Blocks of a full story card: title, key, summary, readiness, description, criteria,
    actions. `findings`: the readiness check's, look-alikes included (else the pure check).

    Written as dicts, not slack_sdk models (whose `to_dict` validates every object: most of
    a card's cost): a test holds them equal to what the models build, for stories of every
    shape, and valid Block Kit."""
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append(_context(escape(note)))
    blocks.append(_section(clip(f"*{escape(story.key)}*  {escape(story.title)}", SECTION_LIMIT)))
    project = f"{escape(story.project_name)} ({escape(story.project_key)})"
    blocks.append(_context(summary_line(story) + " · " + project))
    shown = readiness_of(story, findings)
    if shown is not None:
        blocks.append(readiness_block(shown))
    blocks += _description(story.description)
    criteria = list(story.acceptance_criteria or [])
    if criteria:
        lines = [f"✓ {escape(c)}" for c in criteria[:CRITERIA_SHOWN]]
        if len(criteria) > CRITERIA_SHOWN:
            lines.append(f"… and {len(criteria) - CRITERIA_SHOWN} more")
        blocks.append(_section(clip("*Acceptance criteria*\n" + "\n".join(lines), SECTION_LIMIT)))
    tasks = list(story.tasks or [])
    if tasks:
        text = "*Tasks*\n" + "\n".join(f"• {escape(t)}" for t in tasks[:CRITERIA_SHOWN])
        blocks.append(_section(clip(text, SECTION_LIMIT)))
    if story.tags:
        blocks.append(_context(clip(" ".join(f"`{escape(t)}`" for t in story.tags), 2000)))
    if actions:
        blocks.append(card_actions(story))
    return blocks


def _description(description: str | None) -> list[dict[str, Any]]:
    """The description over as many sections as it needs (a section holds 3000 characters),
    up to DESCRIPTION_SECTIONS; past that, what fits and a line that says so."""
    pieces = escaped_pieces(description)
    blocks = [_section(piece) for piece in pieces[:DESCRIPTION_SECTIONS]]
    if len(pieces) > DESCRIPTION_SECTIONS:
        shown = sum(len(p) for p in pieces[:DESCRIPTION_SECTIONS])
        total = sum(len(p) for p in pieces)
        share = shown * 100 // total
        note = f"_The description is longer than a card shows: about {share}% of it is shown._"
        blocks.append(_context(note))
    return blocks


def card_actions(story: Any) -> dict[str, Any]:
    """The card's actions: its status select (shared, read-only) and buttons."""
    label = clip(f"{story.key} {story.title} will be deleted for everyone.", 300)
    confirm = {
        "title": _plain("Delete this story?"),
        "text": _plain(label),
        "confirm": _plain("Delete"),
        "deny": _plain("Cancel"),
        "style": "danger",
    }
    return {
        "type": "actions",
        "block_id": story_block_id(story.id),
        "elements": [
            _status_select(story.status),
            _button("Assign", ids.STORY_ASSIGN, story.id),
            _button("Edit", ids.STORY_EDIT, story.id),
            _button("Delete", ids.STORY_DELETE, story.id, style="danger", confirm=confirm),
            _button("Improve with Claude", ids.STORY_IMPROVE, story.id),
        ],
    }


def delete_confirmation(label: str, kind: str) -> ConfirmObject:
    more = " and all its stories" if kind == "project" else ""
    return ConfirmObject(
        title=PlainTextObject(text=f"Delete this {kind}?"),
        text=PlainTextObject(text=clip(f"{label}{more} will be deleted for everyone.", 300)),
        confirm=PlainTextObject(text="Delete"),
        deny=PlainTextObject(text="Cancel"),
        style="danger",
    )


def story_message(
    story: Any, *, note: str | None = None, findings: list[Finding] | None = None
) -> dict[str, Any]:
    """A whole message holding one card (text is the notification fallback)."""
    fallback = f"{story.key} {story.title}"
    if note:
        fallback = f"{note} {fallback}"
    return {
        "text": clip(escape(fallback), 300),
        "blocks": story_card(story, note=note, findings=findings),
    }


@functools.cache
def _status_select(status: str) -> dict[str, Any]:
    """The status select of a list row or a card, built by slack_sdk once per status and then
    shared: a list or App Home renders dozens of rows per request, and validating the same
    select again for each was most of the cost of a `/story list` (`to_dict` validates every
    object). Treat it as read-only."""
    return status_select(SimpleNamespace(status=status)).to_dict()


def row_mark(story: Any) -> str:
    """A list row's readiness mark: " · :warning: 2 to fix" on a story that is not ready
    (the pure check: a look-alike would cost a query per row, so rows leave it out)."""
    findings = readiness_of(story)
    if not findings:
        return ""
    return f" · :warning: {len(findings)} to fix"


def story_row(story: Any, list_token: str | None = None) -> dict:
    """A story in a list: key, title, summary, and its status select (acts in place).

    The same block as `SectionBlock(block_id=..., text=MarkdownTextObject(...),
    accessory=status_select(story)).to_dict()` (a test holds them equal), written as a dict
    because lists and App Home are the hot path."""
    text = f"*{escape(story.key)}*  {escape(story.title)}\n{summary_line(story)}"
    text += row_mark(story)
    block_id = story_block_id(story.id, list_token)
    if len(block_id) > 255:
        raise ValueError("a story row's block_id is longer than Slack's 255 characters")
    return {
        "type": "section",
        "block_id": block_id,
        "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)},
        "accessory": _status_select(story.status),
    }
