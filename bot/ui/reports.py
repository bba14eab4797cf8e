"""Small reports: my activity, the audit log, admin granted, delete confirmations."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ui import ids
from bot.ui.story_card import delete_confirmation
from bot.ui.text import SECTION_LIMIT, clip, counted, escape, mention


def activity(report: Any, slack_user_id: str) -> dict[str, Any]:
    """`/autodev me`: stories and generation requests this week, the last story created."""
    lines = [
        f"Stories created this week: *{int(report.stories_this_week)}*",
        f"Generation requests this week: *{int(report.requests_this_week)}*",
    ]
    last = report.last_story_created
    when = last.strftime("%Y-%m-%d %H:%M UTC") if last is not None else "none yet"
    lines.append(f"Last story created: {when}")
    text = f"Activity of {mention(slack_user_id)}\n" + "\n".join(lines)
    return {
        "text": "Your activity this week",
        "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()],
    }


def audit(entries: list[Any]) -> dict[str, Any]:
    """`/autodev audit [N]`: the newest changes first, one line each."""
    if not entries:
        text = "No changes recorded yet."
        return {"text": text, "blocks": [SectionBlock(text=text).to_dict()]}
    blocks: list[Any] = [HeaderBlock(text=f"Latest {counted(len(entries), 'change')}")]
    chunk: list[str] = []
    for entry in entries:
        when = entry.created_at.strftime("%Y-%m-%d %H:%M UTC")
        who = mention(entry.actor_slack_id) if entry.actor_slack_id else "someone"
        what = f"{escape(entry.action)} {escape(entry.subject)}"
        detail = escape(audit_detail(entry))
        line = f"`{when}` {who} {what}" + (f" — {detail}" if detail else "")
        if sum(len(c) + 1 for c in chunk) + len(line) > SECTION_LIMIT - 10:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(clip(line, 500))
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return {
        "text": f"Latest {counted(len(entries), 'change')}",
        "blocks": [b.to_dict() for b in blocks[:50]],
    }


def audit_detail(entry: Any) -> str:
    """A few words after an audit line's subject (unescaped): a title, a name, a move."""
    details = entry.details or {}
    shown = [
        str(details[key])
        for key in ("title", "name", "status")
        if isinstance(details.get(key), str | int) and str(details[key]) != entry.subject
    ]
    if isinstance(details.get("from"), str) and isinstance(details.get("to"), str):
        shown.append(f"{details['from']} → {details['to']}")
    return clip(" ".join(shown[:2]), 80)


def admin_granted(slack_user_id: str) -> dict[str, Any]:
    text = f"{mention(slack_user_id)} is now a workspace admin."
    return {
        "text": "Admin granted.",
        "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()],
    }


def confirm_delete(kind: str, target: str, label: str) -> dict[str, Any]:
    """Ask before deleting: a message with a danger button that confirms once more."""
    action_id = ids.STORY_DELETE if kind == "story" else ids.PROJECT_DELETE
    more = " and all its stories" if kind == "project" else ""
    text = f"Delete {kind} *{escape(label)}*{more}? This cannot be undone."
    return {
        "text": clip(f"Delete {kind} {escape(label)}?", 300),
        "blocks": [
            SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT))).to_dict(),
            ActionsBlock(
                block_id=f"{kind}:{target}",
                elements=[
                    ButtonElement(
                        text=f"Delete {kind}",
                        action_id=action_id,
                        value=target,
                        style="danger",
                        confirm=delete_confirmation(label, kind),
                    )
                ],
            ).to_dict(),
            ContextBlock(elements=[MarkdownTextObject(text="Or just dismiss this.")]).to_dict(),
        ],
    }
