"""Issue 16 part 3, Improve with Claude end to end: signed requests to the real server, the
strict fake Slack, the worker pool, and the real anthropic SDK against the fake Messages API."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from bot.ui import ids
from storage.db import Database
from storage.models import AuditLog, GenerationRequest, UserStory
from tests.ai.test_slack_generation import buttons, running_app
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.slack_api import Call, FakeSlackAPI, SignedSlack, fake_slack  # noqa: F401
from tests.handlers.flows import answer_to, create_project, create_story

BAD = {"description": "fix stuff", "acceptance_criteria": "Use JWT", "story_points": "21"}
IMPROVED = {
    "title": "Sign in with a magic link",
    "description": (
        "As a returning customer, I want to sign in with a link sent by email, so that I do "
        "not need to remember a password."
    ),
    "acceptance_criteria": [
        "Given I enter my email, When I ask for a link, Then a sign-in link is emailed to me",
        "Given the link is older than 15 minutes, When I open it, Then I am asked for a new one",
    ],
    "tasks": ["Send the link", "Expire old links"],
    "story_points": 5,
    "priority": "HIGH",
    "tags": ["auth"],
    "metadata": {"ai_confidence": 0.8, "estimated_hours": 16, "complexity": "medium"},
}


@pytest.fixture
def app(fake_slack: FakeSlackAPI, sqlite_db: Database, fake_claude: FakeAnthropic):  # noqa: F811
    with running_app(fake_slack, sqlite_db) as slack:
        create_project(slack, "Web", "WEB")
        yield slack


def _story(db: Database, team: str) -> UserStory:
    with db.read() as s:
        return s.scalars(select(UserStory).where(UserStory.team_id == team)).one()


def _requests(db: Database) -> list[GenerationRequest]:
    with db.read() as s:
        return list(s.scalars(select(GenerationRequest)))


def _improve_button(card: Call) -> str:
    [value] = buttons(card, ids.STORY_IMPROVE)
    return value


def test_improve_shows_claudes_version_beside_the_story_and_replace_edits_it(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    card = create_story(app, "WEB", "fix stuff", **BAD)
    assert "Improve with Claude" in card.text_of()
    hold = threading.Event()
    fake_claude.then("stories", stories=[IMPROVED], hold=hold)
    _, url = app.block_action(ids.STORY_IMPROVE, value=_improve_button(card))
    generating = app.fake.wait_response(url)
    assert not generating.params.get("replace_original")  # beside the card, which stays
    assert "Claude is improving the story for WEB" in generating.text_of()

    # a second ask while the first runs is refused, and nothing more is queued
    _, again = app.block_action(ids.STORY_IMPROVE, value=_improve_button(card))
    assert "Claude is already improving WEB-1" in app.fake.wait_response(again).text_of()
    assert len(_requests(sqlite_db)) == 1

    hold.set()
    review = app.fake.wait_response(url, count=2, timeout=15)
    assert review.params["replace_original"] is True
    text = review.text_of()
    assert "Claude's version of WEB-1" in text and "Nothing changes until you press Replace" in text
    assert (
        "*Title now*\nfix stuff" in text and "*Title by Claude*\nSign in with a magic link" in text
    )
    assert "Now: :warning: 5 things to fix · Claude's: :white_check_mark: ready" in text
    # the tasks Replace would write are shown too: nothing is replaced unseen
    assert "*Tasks by Claude*\n✓ Send the link\n✓ Expire old links" in text

    # Claude was sent the story as data and its findings
    [sent] = fake_claude.requests
    prompt = sent.body["messages"][0]["content"]
    assert (
        "<story_to_improve>\n"
        + json.dumps(
            {
                "title": "fix stuff",
                "description": "fix stuff",
                "acceptance_criteria": ["Use JWT"],
                "story_points": 21,
                "tasks": [],
            }
        )
        in prompt
    )
    assert '"name": "criteria_testable"' in prompt and '"name": "too_big"' in prompt
    assert "<story_to_improve>" in sent.body["system"][0]["text"]  # named as data, not orders
    assert _story(sqlite_db, app.team_id).title == "fix stuff"  # nothing replaced yet

    [token] = buttons(review, ids.AI_IMPROVE_REPLACE)
    _, url2 = app.block_action(ids.AI_IMPROVE_REPLACE, value=token)
    replaced = app.fake.wait_response(url2)
    assert replaced.params["replace_original"] is True
    assert "Replaced with Claude's version." in replaced.text_of()
    assert "Ready to build" in replaced.text_of()
    story = _story(sqlite_db, app.team_id)
    assert (story.title, story.story_points) == ("Sign in with a magic link", 5)
    assert story.acceptance_criteria == IMPROVED["acceptance_criteria"]
    assert story.priority == "MEDIUM" and story.tags == []  # the team's, untouched
    with sqlite_db.read() as s:
        [edit] = s.scalars(select(AuditLog).where(AuditLog.action == "story.update")).all()
    assert set(edit.details["changes"]) == {
        "title",
        "description",
        "acceptance_criteria",
        "story_points",
        "tasks",
    }
    # the same review cannot replace twice
    _, url3 = app.block_action(ids.AI_IMPROVE_REPLACE, value=token)
    assert "already replaced" in app.fake.wait_response(url3).text_of()


def test_slash_improve_keep_current_and_a_story_changed_meanwhile(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    create_story(app, "WEB", "fix stuff", **BAD)
    fake_claude.then("stories", stories=[IMPROVED])
    reply, url = app.command("/story", "improve web-1")
    assert reply.status == 200
    review = app.fake.wait_response(url, count=2, timeout=15)
    [token] = buttons(review, ids.AI_IMPROVE_KEEP)
    _, kept_url = app.block_action(ids.AI_IMPROVE_KEEP, value=token)
    kept = app.fake.wait_response(kept_url)
    assert "WEB-1 was kept as it was." in kept.text_of()
    assert not buttons(kept, ids.AI_IMPROVE_REPLACE)
    assert _story(sqlite_db, app.team_id).title == "fix stuff"

    # a review of a story edited since Claude read it replaces nothing
    fake_claude.then("stories", stories=[IMPROVED])
    _, url = app.command("/story", "improve WEB-1")
    review = app.fake.wait_response(url, count=2, timeout=15)
    answer_to(app, "/story", "move WEB-1 DONE")  # a move changes no text: still replaceable
    answer_to(app, "/story", "assign WEB-1 me")
    with sqlite_db.write() as s:
        s.get(UserStory, _story(sqlite_db, app.team_id).id).title = "fix the sign-in stuff"
    [token] = buttons(review, ids.AI_IMPROVE_REPLACE)
    _, url2 = app.block_action(ids.AI_IMPROVE_REPLACE, value=token)
    assert "was changed since Claude read it" in app.fake.wait_response(url2).text_of()
    assert _story(sqlite_db, app.team_id).title == "fix the sign-in stuff"


def test_bad_asks_get_a_clear_message_and_change_nothing(
    app: SignedSlack, sqlite_db: Database
) -> None:
    assert (
        "No story WEB-9 in this workspace." in answer_to(app, "/story", "improve WEB-9").text_of()
    )
    assert "is not a story key" in answer_to(app, "/story", "improve nine").text_of()
    card = create_story(app, "WEB", "fix stuff", **BAD)
    other = app.as_workspace("T0OTHER", "U0EVE")
    _, url = other.block_action(ids.STORY_IMPROVE, value=_improve_button(card))
    assert "No such story in this workspace." in app.fake.wait_response(url).text_of()
    assert _requests(sqlite_db) == []


def test_offline_the_button_says_it_needs_an_api_key(
    fake_slack: FakeSlackAPI,  # noqa: F811
    sqlite_db: Database,
    fake_claude: FakeAnthropic,
) -> None:
    with running_app(fake_slack, sqlite_db, ANTHROPIC_API_KEY="") as slack:
        create_project(slack, "Web", "WEB")
        card = create_story(slack, "WEB", "fix stuff", **BAD)
        _, url = slack.block_action(ids.STORY_IMPROVE, value=_improve_button(card))
        said = slack.fake.wait_response(url).text_of()
        assert "Improve with Claude needs Claude, and no ANTHROPIC_API_KEY is set" in said
        assert (
            "Improve with Claude needs Claude"
            in answer_to(slack, "/story", "improve WEB-1").text_of()
        )
    assert _requests(sqlite_db) == [] and fake_claude.requests == []
