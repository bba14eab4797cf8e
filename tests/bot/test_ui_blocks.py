"""The hot-path renderers (list rows, App Home, the story card) build dicts by hand for
speed; they must be exactly what slack_sdk's models build, validation included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.commands import HomeData
from bot.ui import ids
from bot.ui.home import home_view
from bot.ui.story_card import (
    delete_confirmation,
    status_select,
    story_block_id,
    story_card,
    story_row,
)
from bot.ui.text import SECTION_LIMIT, clip
from storage.fields import STATUSES
from storage.readiness import LOOKALIKE, Finding
from storage.stories import StoryView


def _story(number: int, status: str, title: str = "Export invoices", **kw) -> StoryView:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    values = {
        "id": f"{number:032x}",
        "key": f"WEB-{number}",
        "project_id": "p" * 32,
        "project_key": "WEB",
        "project_name": "Web shop",
        "number": number,
        "title": title,
        "description": "As a user, I want it.",
        "acceptance_criteria": [],
        "priority": "HIGH",
        "story_points": 3,
        "tasks": [],
        "tags": [],
        "status": status,
        "meta": {},
        "created_by_slack_id": "U1",
        "assignee_slack_id": "U2" if number % 2 else None,
        "created_at": now,
        "updated_at": now,
    }
    return StoryView(**{**values, **kw})


def _model_row(story: StoryView, token: str | None) -> dict:
    from bot.ui.story_card import summary_line
    from bot.ui.text import escape

    text = f"*{escape(story.key)}*  {escape(story.title)}\n{summary_line(story)}"
    return SectionBlock(
        block_id=story_block_id(story.id, token),
        text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)),
        accessory=status_select(story),
    ).to_dict()


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("token", [None, "t0k3n-abcdefghijklmnopqrstuvwx"])
def test_a_list_row_is_what_the_models_build(status, token):
    story = _story(7, status, title="<b>*Bold* & `code`</b> " + "long " * 900)
    row = story_row(story, token)
    assert row == _model_row(story, token)
    assert Block.parse(row).to_dict() == row  # and it parses back as valid Block Kit


def test_each_row_shows_its_own_status():
    first, second = story_row(_story(1, "DONE")), story_row(_story(2, "DRAFT"))
    assert first["accessory"]["initial_option"]["value"] == "DONE"
    assert second["accessory"]["initial_option"]["value"] == "DRAFT"


def test_the_home_view_is_what_view_builds():
    stories = [_story(n, STATUSES[n % len(STATUSES)]) for n in range(1, 41)]
    home = HomeData(assigned=stories[:25], created=stories[10:], projects=[])
    view = home_view(home)
    assert view == View(type="home", callback_id="home", blocks=view["blocks"]).to_dict()
    assert len(view["blocks"]) <= 100


def _model_card(story: StoryView, note=None, actions=True, findings=None) -> list[dict]:
    """The card as slack_sdk's models build it (what story_card built before it was dicts)."""
    from bot.ui.story_card import CRITERIA_SHOWN, DESCRIPTION_SECTIONS, readiness_of, summary_line
    from bot.ui.text import escape, escaped_pieces
    from storage.readiness import things_to_fix

    def context(text):
        return ContextBlock(elements=[MarkdownTextObject(text=text)])

    def section(text):
        return SectionBlock(text=MarkdownTextObject(text=text))

    blocks: list = [context(escape(note))] if note else []
    blocks.append(section(clip(f"*{escape(story.key)}*  {escape(story.title)}", SECTION_LIMIT)))
    project = f"{escape(story.project_name)} ({escape(story.project_key)})"
    blocks.append(context(summary_line(story) + " · " + project))
    shown = readiness_of(story, findings)
    if shown == []:
        blocks.append(context(":white_check_mark: Ready to build"))
    elif shown:
        lines = "\n".join(f"• {escape(f.message)}" for f in shown)
        blocks.append(section(clip(f"*:warning: {things_to_fix(shown)}*\n" + lines, SECTION_LIMIT)))
    pieces = escaped_pieces(story.description)
    blocks += [section(piece) for piece in pieces[:DESCRIPTION_SECTIONS]]
    if len(pieces) > DESCRIPTION_SECTIONS:
        share = sum(map(len, pieces[:DESCRIPTION_SECTIONS])) * 100 // sum(map(len, pieces))
        said = f"about {share}% of it is shown"
        blocks.append(context(f"_The description is longer than a card shows: {said}._"))
    criteria = story.acceptance_criteria
    if criteria:
        lines = [f"✓ {escape(c)}" for c in criteria[:CRITERIA_SHOWN]]
        if len(criteria) > CRITERIA_SHOWN:
            lines.append(f"… and {len(criteria) - CRITERIA_SHOWN} more")
        blocks.append(section(clip("*Acceptance criteria*\n" + "\n".join(lines), SECTION_LIMIT)))
    if story.tasks:
        tasks = "\n".join(f"• {escape(t)}" for t in story.tasks[:CRITERIA_SHOWN])
        blocks.append(section(clip("*Tasks*\n" + tasks, SECTION_LIMIT)))
    if story.tags:
        blocks.append(context(clip(" ".join(f"`{escape(t)}`" for t in story.tags), 2000)))
    if actions:
        button = ButtonElement
        blocks.append(
            ActionsBlock(
                block_id=story_block_id(story.id),
                elements=[
                    status_select(story),
                    button(text="Assign", action_id=ids.STORY_ASSIGN, value=story.id),
                    button(text="Edit", action_id=ids.STORY_EDIT, value=story.id),
                    button(
                        text="Delete",
                        action_id=ids.STORY_DELETE,
                        value=story.id,
                        style="danger",
                        confirm=delete_confirmation(f"{story.key} {story.title}", "story"),
                    ),
                    button(text="Improve with Claude", action_id=ids.STORY_IMPROVE, value=story.id),
                ],
            )
        )
    return [b.to_dict() for b in blocks]


_HARD = "<b>*Bold* & `code`</b> <!channel> <@U1> :tada: ünïcødé 𝔘 "
_CARDS = {
    "plain": {},
    "done": {"status": "DONE"},
    "markup everywhere": {
        "title": _HARD * 4,
        "description": _HARD * 10,
        "acceptance_criteria": [_HARD, "Given a member, when they ask, then it is shown"],
        "tasks": [_HARD, "Build the API"],
        "tags": ["a&b", "<x>", "ok"],
    },
    "long everything": {
        "title": "long " * 40,
        "description": "As a member, I want " + "words & more " * 2_000,
        "acceptance_criteria": [f"criterion {n} & " * 40 for n in range(14)],
        "tasks": [f"task {n} " * 60 for n in range(12)],
        "tags": [f"tag-{n}" * 5 for n in range(40)],
        "story_points": 13,
    },
    "no description": {"description": "", "story_points": 1, "priority": "CRITICAL"},
}
_FINDINGS = {
    "pure check": None,
    "ready": [],
    "look-alike": [Finding(LOOKALIKE, "Looks like WEB-1 “<b>” (and 2 more): merge them.")] * 3,
}


@pytest.mark.parametrize("shape", list(_CARDS))
@pytest.mark.parametrize("findings", list(_FINDINGS))
@pytest.mark.parametrize("note", [None, "Moved to <DONE> & *back*"])
def test_a_story_card_is_what_the_models_build(shape, findings, note):
    fields = {"status": "IN_PROGRESS", **_CARDS[shape]}
    story = _story(7, **fields)
    for actions in (True, False):
        card = story_card(story, note=note, actions=actions, findings=_FINDINGS[findings])
        assert card == _model_card(story, note, actions, _FINDINGS[findings])
        assert [Block.parse(b).to_dict() for b in card] == card  # valid Block Kit


def test_story_cards_share_only_the_read_only_status_select():
    first, second = story_card(_story(1, "DONE")), story_card(_story(2, "DONE"))
    assert first[-1]["elements"][0] is second[-1]["elements"][0]
    assert first[-1]["elements"][1] is not second[-1]["elements"][1]
