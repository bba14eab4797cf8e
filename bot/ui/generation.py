"""Block Kit for AI generation: the ask modal, "Generating…", drafts to review, failures."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.forms import STORY_FORM
from bot.ui import ids
from bot.ui.modals import FLAG_ON, form_modal
from bot.ui.text import SECTION_LIMIT, clip, counted, escape
from storage.fields import AUDIENCE_MAX, FEATURE_MAX, FEEDBACK_MAX, MAX_STORIES, SPLIT_ABOVE_POINTS

MAX_PROJECT_OPTIONS = 100
MAX_BLOCKS = 50  # Slack's limit per message
CRITERIA_SHOWN = 6
TASKS_SHOWN = 8
EDITABLE = ("title", "description", "acceptance_criteria", "priority", "story_points", "tags")


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, SECTION_LIMIT))


# ---- the ask -----------------------------------------------------------------------------


def generate_modal(
    projects: list[Any], initial: dict[str, Any], *, metadata: str, note: str | None = None
) -> dict[str, Any]:
    """Project, feature description, how many stories, audience, include tasks."""
    options = [
        Option(value=p.id, label=clip(f"{p.name} ({p.key})", 75))
        for p in projects[:MAX_PROJECT_OPTIONS]
    ]
    count_options = [Option(value=str(n), label=str(n)) for n in range(1, MAX_STORIES + 1)]
    tasks_option = Option(value=FLAG_ON, label="Include implementation tasks")
    blocks: list[Any] = []
    if note:
        blocks.append(ContextBlock(elements=[_md(note)]))
    blocks += [
        InputBlock(
            block_id="project",
            label="Project",
            element=StaticSelectElement(
                action_id="project",
                placeholder="Choose a project",
                options=options,
                initial_option=next(
                    (o for o in options if o.value == initial.get("project")), None
                ),
            ),
        ),
        InputBlock(
            block_id="feature",
            label="Feature description",
            element=PlainTextInputElement(
                action_id="feature",
                multiline=True,
                max_length=FEATURE_MAX,
                placeholder="Users reset their password by email",
                initial_value=initial.get("feature") or None,
            ),
            hint=f"One or two sentences is plenty (at most {FEATURE_MAX} characters).",
        ),
        InputBlock(
            block_id="count",
            label="How many stories",
            element=StaticSelectElement(
                action_id="count",
                options=count_options,
                initial_option=count_options[_count(initial.get("count")) - 1],
            ),
        ),
        InputBlock(
            block_id="audience",
            label="Audience",
            optional=True,
            element=PlainTextInputElement(
                action_id="audience",
                max_length=AUDIENCE_MAX,
                placeholder="e.g. shop admin, new customer",
                initial_value=initial.get("audience") or None,
            ),
        ),
        InputBlock(
            block_id="include_tasks",
            label="Options",
            optional=True,
            element=CheckboxesElement(
                action_id="include_tasks",
                options=[tasks_option],
                initial_options=[tasks_option] if initial.get("include_tasks", True) else None,
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.AI_GENERATE_MODAL,
        title=PlainTextObject(text="Generate stories"),
        submit=PlainTextObject(text="Generate"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=blocks,
    ).to_dict()


def _count(value: Any) -> int:
    """How many stories to preselect: the number given when it is one of the options, else 3."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_STORIES else 3


def feedback_modal(*, metadata: str) -> dict[str, Any]:
    """ "Regenerate with feedback": what should change in the next drafts."""
    return View(
        type="modal",
        callback_id=ids.AI_FEEDBACK_MODAL,
        title=PlainTextObject(text="Regenerate"),
        submit=PlainTextObject(text="Regenerate"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[
            InputBlock(
                block_id="feedback",
                label="What should change?",
                element=PlainTextInputElement(
                    action_id="feedback",
                    multiline=True,
                    max_length=FEEDBACK_MAX,
                    placeholder="Smaller stories; focus on mobile; no admin screens",
                ),
            )
        ],
    ).to_dict()


def edit_draft_modal(draft: dict[str, Any], *, metadata: str) -> dict[str, Any]:
    """The story form, prefilled from a draft; saving it saves the draft as edited."""
    fields = tuple(f for f in STORY_FORM if f.name in EDITABLE)
    initial = {
        **draft,
        "acceptance_criteria": "\n".join(draft.get("acceptance_criteria") or []),
        "tags": ", ".join(draft.get("tags") or []),
        "story_points": str(draft.get("story_points", 0)),
    }
    view = form_modal("story", fields, initial, metadata=metadata, editing="draft")
    view["callback_id"] = ids.AI_EDIT_DRAFT_MODAL
    view["title"] = {"type": "plain_text", "text": "Edit draft"}
    view["submit"] = {"type": "plain_text", "text": "Save story"}
    return view


# ---- messages ----------------------------------------------------------------------------


def generate_help() -> dict[str, Any]:
    text = (
        "*/autodev generate [PROJECT] [FEATURE TEXT]* opens a form to have Claude draft user "
        "stories: pick the project, describe the feature in a sentence or two, choose how "
        "many stories (1 to 10), the audience, and whether to include tasks.\n"
        "You review every draft before it is saved: Save, Edit, Discard, Split big ones, "
        "or Regenerate with feedback. Drafts that look like an existing story are flagged.\n"
        "Also: the message shortcut *Generate stories from message*."
    )
    return {
        "text": "/autodev generate [PROJECT] [FEATURE TEXT]",
        "blocks": [SectionBlock(text=_md(text)).to_dict()],
    }


def generating_message(project_key: str, count: int, *, kind: str = "new") -> dict[str, Any]:
    what = {
        "split": "Splitting the story",
        "regenerate": "Regenerating the drafts",
        "improve": "Claude is improving the story",
    }.get(kind, f"Writing {counted(count, 'story', 'stories')}")
    text = f":hourglass_flowing_sand: Generating… {what} for {escape(project_key)}."
    return {
        "text": f"Generating… {what} for {project_key}.",
        "blocks": [
            SectionBlock(text=_md(text)).to_dict(),
            ContextBlock(
                elements=[_md("This message is replaced by the drafts when they are ready.")]
            ).to_dict(),
        ],
    }


def failed_message(request: Any) -> dict[str, Any]:
    reason = request.error_message or "The generation failed."
    return {
        "text": f"Generation failed: {reason}",
        "blocks": [
            SectionBlock(text=_md(":x: *Generation failed.* " + escape(reason))).to_dict(),
            ContextBlock(elements=[_md("Nothing was saved.")]).to_dict(),
            ActionsBlock(
                block_id="ai_failed",
                elements=[
                    ButtonElement(
                        text="Retry", action_id=ids.AI_RETRY, value=request.id, style="primary"
                    )
                ],
            ).to_dict(),
        ],
    }


def _bullets(items: list[str], limit: int, prefix: str) -> str:
    lines = [f"{prefix} {escape(item)}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"_…and {len(items) - limit} more_")
    return "\n".join(lines)


def _draft_text(story: dict[str, Any]) -> str:
    points = int(story.get("story_points") or 0)
    head = (
        f"*{escape(story.get('title'))}*\n"
        f"{escape(story.get('priority'))} · {points} point{'' if points == 1 else 's'}\n"
        f"{escape(story.get('description'))}"
    )
    parts = [head]
    criteria = story.get("acceptance_criteria") or []
    if criteria:
        parts.append(_bullets(criteria, CRITERIA_SHOWN, "✓"))
    tasks = story.get("tasks") or []
    if tasks:
        parts.append("*Tasks*\n" + _bullets(tasks, TASKS_SHOWN, "•"))
    return "\n".join(parts)


def _draft_context(draft: Any) -> str:
    story, meta = draft.story, draft.story.get("metadata") or {}
    bits = []
    if story.get("tags"):
        bits.append(" ".join(f"`{escape(t)}`" for t in story["tags"][:8]))
    if meta.get("complexity"):
        bits.append(f"complexity {escape(meta['complexity'])}")
    if meta.get("estimated_hours"):
        bits.append(f"~{escape(meta['estimated_hours'])} h")
    if meta.get("ai_confidence") is not None and meta.get("ai_confidence"):
        bits.append(f"confidence {float(meta['ai_confidence']):.0%}")
    if draft.similar:
        looks = ", ".join(
            f"*{escape(s['key'])}* ({escape(clip(s['title'], 60))})" for s in draft.similar
        )
        bits.append(f":warning: looks like {looks}")
    return " · ".join(bits)


def _draft_value(token: str, index: int) -> str:
    return f"{token}:{index}"


def parse_draft_value(value: str) -> tuple[str, int]:
    """(drafts token, draft index) from a draft button's value."""
    token, _, index = (value or "").rpartition(":")
    return token, int(index) if index.isdigit() else -1


def _draft_blocks(review: Any, draft: Any) -> list[Any]:
    if draft.state == "saved":
        return [
            ContextBlock(
                elements=[
                    _md(
                        f":white_check_mark: Saved as *{escape(draft.key)}*: "
                        f"{escape(draft.story.get('title'))}"
                    )
                ]
            )
        ]
    if draft.state == "discarded":
        return [
            ContextBlock(
                elements=[_md(f"~{escape(clip(draft.story.get('title') or '', 150))}~ discarded")]
            )
        ]
    if draft.state == "splitting":
        return [
            ContextBlock(
                elements=[_md(f":scissors: Splitting {escape(draft.story.get('title'))}…")]
            )
        ]
    value = _draft_value(review.token, draft.index)
    buttons = [
        ButtonElement(text="Save", action_id=ids.AI_DRAFT_SAVE, value=value, style="primary"),
        ButtonElement(text="Edit", action_id=ids.AI_DRAFT_EDIT, value=value),
        ButtonElement(text="Discard", action_id=ids.AI_DRAFT_DISCARD, value=value),
    ]
    if int(draft.story.get("story_points") or 0) > SPLIT_ABOVE_POINTS:
        buttons.append(ButtonElement(text="Split", action_id=ids.AI_DRAFT_SPLIT, value=value))
    context = _draft_context(draft)
    return [
        SectionBlock(text=_md(_draft_text(draft.story))),
        *([ContextBlock(elements=[_md(context)])] if context else []),
        ActionsBlock(block_id=f"ai_draft:{draft.index}", elements=buttons),
        DividerBlock(),
    ]


def drafts_message(review: Any) -> dict[str, Any]:
    """The drafts to review: each with Save / Edit / Discard (Split when big), then Save all."""
    count = len(review.drafts)
    head = (
        f"*{counted(count, 'draft story', 'draft stories')} for "
        f"{escape(review.project_name)} ({escape(review.project_key)})* from "
        f"_{escape(clip(review.feature, 200))}_"
    )
    source = (
        ":electric_plug: Made offline (no Claude API key is set): skeletons for you to finish."
        if review.offline
        else f"Written by {escape(review.ai_model or 'Claude')}. Review before saving."
    )
    blocks: list[Any] = [SectionBlock(text=_md(head)), ContextBlock(elements=[_md(source)])]
    for draft in review.drafts:
        blocks += _draft_blocks(review, draft)
    footer = [
        ButtonElement(
            text="Regenerate with feedback", action_id=ids.AI_REGENERATE, value=review.token
        )
    ]
    if review.open_drafts:
        footer.insert(
            0,
            ButtonElement(
                text=f"Save all {len(review.open_drafts)}",
                action_id=ids.AI_SAVE_ALL,
                value=review.token,
                style="primary",
            ),
        )
    if len(blocks) >= MAX_BLOCKS:  # many carried drafts: drop the dividers, then the tail
        blocks = [b for b in blocks if not isinstance(b, DividerBlock)]
    if len(blocks) >= MAX_BLOCKS:
        blocks = blocks[: MAX_BLOCKS - 2]
        blocks.append(ContextBlock(elements=[_md("_More drafts than one message can show._")]))
    blocks.append(ActionsBlock(block_id="ai_drafts", elements=footer))
    prefix = "Offline drafts" if review.offline else "Drafts"
    return {
        "text": f"{prefix}: {count} for {review.project_key}",
        "blocks": [b.to_dict() for b in blocks],
    }
