"""Search: ranked, scoped to the workspace and project, user text never parsed as syntax."""

from __future__ import annotations

import pytest

from storage import stories
from storage.check import run_checks
from storage.search import match_query, search_stories


def _keys(world, actor, text, **kw):
    with world.db.read() as s:
        return [v.key for v in search_stories(s, actor, text, **kw)]


@pytest.fixture
def backlog(world):
    world.project(world.alice, "Web", key="WEB")
    world.project(world.alice, "Api", key="API")
    world.project(world.eve, "Secret", key="SEC")
    world.story(
        world.bob,
        "web",
        title="Password reset",
        description="Users reset a forgotten password by email",
    )
    world.story(world.bob, "web", title="Login page", description="A login form with password")
    world.story(world.bob, "api", title="Rate limits", description="Throttle login attempts")
    world.story(world.eve, "sec", title="Password vault", description="Secret password login")
    return world


def test_ranked_title_matches_first(backlog) -> None:
    assert _keys(backlog, backlog.bob, "password")[:1] == ["WEB-1"]
    assert set(_keys(backlog, backlog.bob, "password")) == {"WEB-1", "WEB-2"}
    assert _keys(backlog, backlog.bob, "login") == ["WEB-2", "API-1"]


def test_all_words_required_and_stemming(backlog) -> None:
    assert _keys(backlog, backlog.bob, "login form") == ["WEB-2"]
    assert _keys(backlog, backlog.bob, "resetting passwords") == ["WEB-1"]


def test_scoped_to_workspace_and_project(backlog) -> None:
    assert "SEC-1" not in _keys(backlog, backlog.bob, "vault password login")
    assert _keys(backlog, backlog.eve, "password") == ["SEC-1"]
    assert _keys(backlog, backlog.bob, "login", project_ref="api") == ["API-1"]
    with backlog.db.read() as s:
        assert len(search_stories(s, backlog.bob, text="password", limit=1)) == 1


def test_syntax_is_plain_words(backlog) -> None:
    syntax = [
        '"unbalanced',
        "AND",
        "*",
        "NEAR(",
        "login OR",
        "title:login",
        "^",
        "'",
        "(",
        ")",
        "password AND NOT",
        '""',
        "a\x00b",
        "   ",
        "NEAR(login password, 2)",
        "{title}: x",
    ]
    for text in syntax:
        _keys(backlog, backlog.bob, text)  # never raises
    login = _keys(backlog, backlog.bob, "login")
    for text in ['"login', "-login", "login*", "(login)", "login:", "^login"]:
        assert _keys(backlog, backlog.bob, text) == login, text


def test_operators_are_words() -> None:
    assert match_query(["NEAR", "AND"]) == '"NEAR" "AND"'


def test_empty_text_finds_nothing(backlog) -> None:
    assert _keys(backlog, backlog.bob, "") == []
    assert _keys(backlog, backlog.bob, "!!! ???") == []


def test_index_follows_edits_and_deletes(backlog) -> None:
    with backlog.db.write() as s:
        stories.update_story(
            s, backlog.bob, "WEB-2", {"title": "Sign-in screen", "description": "A form"}
        )
        stories.delete_story(s, backlog.alice, "WEB-1")
    assert _keys(backlog, backlog.bob, "password") == []
    assert _keys(backlog, backlog.bob, "screen") == ["WEB-2"]
    assert run_checks(backlog.db) == []
