"""Lists: stories with Next/Previous paging, projects, a project card."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ui import ids
from bot.ui.story_card import story_row
from bot.ui.text import SECTION_LIMIT, clip, escape, mention
from storage.projects import effective_settings

MAX_ROWS = 20  # 2 blocks a row + header + nav stays far below Slack's 50 blocks


def story_list(listed: Any) -> dict[str, Any]:
    """A page of stories (`bot.commands.StoryListed`), with paging buttons when there is more."""
    blocks: list[Any] = [HeaderBlock(text=clip(listed.title, 150))]
    if listed.note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(listed.note))]))
    if not listed.stories:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(listed.empty_hint))))
    rows = [story_row(story, listed.paging_token) for story in listed.stories[:MAX_ROWS]]
    blocks.extend(rows)
    nav = []
    if listed.has_previous:
        nav.append(
            ButtonElement(text="Previous", action_id=ids.PAGE_PREVIOUS, value=listed.paging_token)
        )
    if listed.has_next:
        nav.append(ButtonElement(text="Next", action_id=ids.PAGE_NEXT, value=listed.paging_token))
    if listed.paging_token and (listed.has_previous or listed.has_next or listed.page > 1):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Page {listed.page}")]))
    if nav:
        blocks.append(ActionsBlock(block_id="paging", elements=nav))
    count = len(listed.stories)
    text = f"{listed.title}: {count} stor{'y' if count == 1 else 'ies'}"
    return {"text": clip(escape(text), 300), "blocks": [_dict(b) for b in blocks]}


def _dict(block: Any) -> dict:
    return block if isinstance(block, dict) else block.to_dict()


def project_card(project: Any, *, note: str | None = None) -> dict[str, Any]:
    """One project: name, key, description, repository, owner, channel, settings."""
    blocks: list[Any] = []
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(note))]))
    head = f"*{escape(project.name)}*  `{escape(project.key)}`"
    if project.description:
        head += "\n" + escape(project.description)
    blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(head, SECTION_LIMIT))))
    details = [f"owner {mention(project.owner_slack_id)}"]
    if project.channel_id:
        details.append(f"channel <#{escape(project.channel_id)}>")
    if project.repository_url:
        details.append(f"repository {escape(project.repository_url)}")
    settings = effective_settings(project.settings)
    details.append(
        f"default priority {escape(settings['default_priority'])}, "
        f"template {escape(settings['story_template'])}, "
        f"Definition of Ready {escape(settings['ready_check'])}"
    )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(details), 2000))]))
    text = f"{project.name} ({project.key})"
    return {"text": clip(escape(text), 300), "blocks": [b.to_dict() for b in blocks]}


def project_list(projects: list[Any]) -> dict[str, Any]:
    """All projects of the workspace, one line each (paged in text when very many)."""
    if not projects:
        text = "No projects yet. Create one with /project new."
        return {"text": text, "blocks": [SectionBlock(text=text).to_dict()]}
    blocks: list[Any] = [HeaderBlock(text=f"Projects ({len(projects)})")]
    lines = []
    for project in projects:
        line = f"`{escape(project.key)}`  *{escape(project.name)}*"
        if project.channel_id:
            line += f"  <#{escape(project.channel_id)}>"
        lines.append(line)
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_LIMIT - 10:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
        if len(blocks) >= 45:
            break
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    blocks.append(DividerBlock())
    return {"text": f"{len(projects)} projects", "blocks": [b.to_dict() for b in blocks]}
