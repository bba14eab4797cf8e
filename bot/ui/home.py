"""App Home: my assigned and my created stories by status, my projects, buttons to create."""

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
from bot.ui.text import SECTION_LIMIT, clip, escape
from storage.fields import STATUSES

MAX_BLOCKS = 100
ROWS_PER_SECTION = 15


def home_view(home: Any) -> dict[str, Any]:
    """The Home tab of `home` (bot.commands.HomeData)."""
    blocks: list[Any] = [
        HeaderBlock(text="AutoDevHub"),
        ActionsBlock(
            block_id="home_actions",
            elements=[
                ButtonElement(
                    text="New story", action_id=ids.HOME_NEW_STORY, value="new", style="primary"
                ),
                ButtonElement(text="New project", action_id=ids.HOME_NEW_PROJECT, value="new"),
            ],
        ),
    ]
    blocks += _section("Assigned to me", home.assigned, "Nothing is assigned to you.")
    # a story is shown once (Slack refuses two blocks with one block_id on a surface)
    assigned = {story.id for story in home.assigned}
    created = [story for story in home.created if story.id not in assigned]
    none_yet = "" if home.created else "You have not created a story yet."
    blocks += _section("Created by me", created, none_yet)
    if len(created) < len(home.created):
        also = len(home.created) - len(created)
        text = f"{also} more you created {'is' if also == 1 else 'are'} assigned to you, above."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=text)]))
    blocks.append(DividerBlock())
    blocks.append(HeaderBlock(text="My projects"))
    if home.projects:
        lines = [f"`{escape(p.key)}`  *{escape(p.name)}*" for p in home.projects[:40]]
        text = clip("\n".join(lines), SECTION_LIMIT)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    else:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="No projects yet: press New project."))
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(text="Commands: /story help · /project help · /autodev help")
            ]
        )
    )
    dicts = [b if isinstance(b, dict) else b.to_dict() for b in blocks]
    # What View(type="home", callback_id="home", blocks=dicts).to_dict() gives (a test holds
    # them equal), without parsing every row back into models and validating it again.
    return {"type": "home", "blocks": dicts[:MAX_BLOCKS], "callback_id": "home"}


def _section(title: str, stories: list[Any], empty: str) -> list[Any]:
    blocks: list[Any] = [DividerBlock(), HeaderBlock(text=title)]
    if not stories and empty:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(empty))))
        return blocks
    for status in STATUSES:
        group = [s for s in stories if s.status == status]
        if not group:
            continue
        label = status.replace("_", " ").title()
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"*{label}* ({len(group)})")]))
        blocks.extend(story_row(story) for story in group[:ROWS_PER_SECTION])
    return blocks
