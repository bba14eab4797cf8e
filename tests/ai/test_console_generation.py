"""`/autodev generate` in the terminal: the same queue and review, typed instead of clicked."""

from __future__ import annotations

from sqlalchemy import select

from bot.ai.console import generate_in_console
from storage.db import Database
from storage.models import GenerationRequest, UserStory
from tests.ai.conftest import make_settings, seed_project
from tests.fakes.anthropic_api import FakeAnthropic


def run(db: Database, settings, actor, text: str, answers: list[str]) -> list[str]:
    said: list[str] = []
    queue = list(answers)
    generate_in_console(
        db, settings, actor, text, ask=lambda _prompt: queue.pop(0), say=said.append
    )
    return said


def test_console_generates_with_claude_and_saves_the_chosen(
    db: Database, fake_claude: FakeAnthropic
) -> None:
    actor = seed_project(db)
    said = run(db, make_settings(), actor, "web Shoppers keep a wishlist", ["2", "", "y", "2"])
    text = "\n".join(said)
    assert "1. Story 1: Shoppers keep a wishlist" in text
    assert "Written by claude-test-model" in text
    assert said[-1] == "Saved WEB-1."
    with db.read() as s:
        (story,) = s.scalars(select(UserStory)).all()
        (request,) = s.scalars(select(GenerationRequest)).all()
    assert story.title == "Story 2: Shoppers keep a wishlist"
    assert story.meta["generation_request_id"] == request.id
    assert request.status == "COMPLETED" and request.ai_model == "claude-test-model"


def test_console_offline_and_failure(sqlite_db: Database, fake_claude: FakeAnthropic) -> None:
    actor = seed_project(sqlite_db)
    said = run(
        sqlite_db,
        make_settings(ANTHROPIC_API_KEY=None),
        actor,
        "web Export reports and share them",
        ["", "", "n", "all"],
    )
    assert any("Made offline" in line for line in said)
    assert said[-1].startswith("Saved WEB-1, WEB-2")

    fake_claude.then("status", status=500)
    said = run(sqlite_db, make_settings(), actor, "web Something", ["1", "", "", ""])
    assert "Generation failed" in said[-1] and "Nothing was saved" in said[-1]


def test_console_asks_a_refused_answer_again(sqlite_db: Database, fake_claude: FakeAnthropic):
    """A bad count, a "maybe" or a draft number out of range is asked again, not fatal."""
    actor = seed_project(sqlite_db)
    answers = ["11", "2", "", "maybe", "n", "7", "none"]
    said = run(sqlite_db, make_settings(), actor, "web Other", answers)
    assert "Say how many as a number from 1 to 10." in said
    assert "'maybe' is not a yes or no: answer y or n." in said
    assert "Choose drafts by number, 1 to 2." in said
    assert said[-1] == "Nothing saved."
    with sqlite_db.read() as s:
        assert s.scalars(select(UserStory)).all() == []
        (request,) = s.scalars(select(GenerationRequest)).all()
    assert request.request_data["count"] == 2 and request.request_data["include_tasks"] is False


def test_a_command_typed_at_the_feature_question_is_asked_again(
    sqlite_db: Database, fake_claude: FakeAnthropic
) -> None:
    """`/autodev generate WEB` asks for the feature: a command typed there is not a feature."""
    actor = seed_project(sqlite_db)
    answers = ["/autodev generate", "Shoppers keep a wishlist", "1", "", "", "none"]
    said = run(sqlite_db, make_settings(), actor, "web", answers)
    assert "That looks like a command. Describe the feature, or press Ctrl-C to cancel." in said
    with sqlite_db.read() as s:
        (request,) = s.scalars(select(GenerationRequest)).all()
    assert request.request_data["feature"] == "Shoppers keep a wishlist"
