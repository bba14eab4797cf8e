"""Fixtures for AI generation tests: the fake Messages API, settings pointing at it, data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.settings import Settings
from storage.db import Database
from storage.projects import create_project
from storage.users import Actor, ensure_user
from tests.fakes.anthropic_api import FakeAnthropic

TEST_KEY = "sk-ant-test-SECRET-do-not-log"


@pytest.fixture
def fake_claude(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A running fake Anthropic API; ANTHROPIC_BASE_URL points the SDK at it."""
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


def make_settings(database_url: str = "sqlite://", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "ANTHROPIC_API_KEY": TEST_KEY,
        "AUTODEVHUB_AI_TIMEOUT": 30,
        "AUTODEVHUB_AI_MAX_RETRIES": 0,
        "AUTODEVHUB_AI_MODEL": "claude-test-model",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def ai_settings(fake_claude: FakeAnthropic) -> Settings:
    return make_settings()


def seed_project(db: Database, *, name: str = "Web", key: str = "WEB") -> Actor:
    """A workspace member who owns project WEB; returns the member."""
    with db.write() as s:
        actor = ensure_user(s, "T1", "U1")
        create_project(s, actor, {"name": name, "key": key, "description": "Our customer web app"})
    return actor
