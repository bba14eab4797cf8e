"""The story form submitted: inline errors that save nothing, or the story saved and shown."""

from __future__ import annotations

from sqlalchemy import select

from bot.ui import ids
from storage.models import UserStory
from tests.handlers.flows import (
    create_project,
    create_story,
    open_form,
    submit,
)


def _stories(db, team):
    with db.read() as s:
        return list(
            s.scalars(select(UserStory).where(UserStory.team_id == team).order_by(UserStory.number))
        )


def test_a_story_made_in_the_form_gets_its_projects_default_priority(slack, slack_db):
    create_project(slack, "Web shop", "WEB", default_priority="CRITICAL")
    view = open_form(slack, "/story", "new WEB")
    priority = next(b for b in view["blocks"] if b["block_id"] == "priority")
    assert "initial_option" not in priority["element"] and priority["optional"] is True
    assert "project's default" in priority["hint"]["text"]
    card = create_story(slack, "WEB", "Checkout is down")  # priority left as the form has it
    assert "CRITICAL" in card.text_of()
    chosen = create_story(slack, "WEB", "Typo in footer", priority="LOW")
    assert "LOW" in chosen.text_of()
    assert [s.priority for s in _stories(slack_db, slack.team_id)] == ["CRITICAL", "LOW"]


def test_invalid_story_gets_inline_errors_and_nothing_is_written(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    view = open_form(slack, "/story", "new WEB")
    reply = submit(slack, view, title="   ", description="", story_points="22")
    assert reply.json["response_action"] == "errors"
    assert {"title", "description", "story_points"} <= set(reply.json["errors"])
    assert _stories(slack_db, slack.team_id) == []


def test_create_posts_the_card_in_channel_with_every_field(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    card = create_story(
        slack,
        "WEB",
        "Reset password",
        description="As a user, I want a reset link.",
        acceptance_criteria="Given I forgot it\nWhen I ask\n\nThen I get a mail",
        priority="HIGH",
        story_points="5",
        tags="auth, mail",
        assignee="U0BOB",
    )
    assert card.params["response_type"] == "in_channel"
    text = card.text_of()
    for expected in ("WEB-1", "Reset password", "HIGH", "5 points", "<@U0BOB>", "✓ When I ask"):
        assert expected in text
    (story,) = _stories(slack_db, slack.team_id)
    assert story.acceptance_criteria == ["Given I forgot it", "When I ask", "Then I get a mail"]
    assert story.tags == ["auth", "mail"]
    assert story.story_points == 5
    actions = next(b for b in card.params["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        ids.STORY_STATUS,
        ids.STORY_ASSIGN,
        ids.STORY_EDIT,
        ids.STORY_DELETE,
        ids.STORY_IMPROVE,
    ]
    assert actions["elements"][3]["confirm"]["title"]["text"] == "Delete this story?"
