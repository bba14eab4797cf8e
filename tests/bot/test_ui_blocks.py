"""The hot-path renderers (list rows, App Home) build dicts by hand for speed; they must be
exactly what slack_sdk's models build, validation included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.commands import HomeData
from bot.ui.home import home_view
from bot.ui.story_card import status_select, story_block_id, story_row
from bot.ui.text import SECTION_LIMIT, clip
from storage.fields import STATUSES
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
