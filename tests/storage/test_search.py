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


def test_vacuum_keeps_search_working(sqlite_db) -> None:
    """VACUUM may renumber the rowids of a table without an INTEGER PRIMARY KEY; the search
    index must not point at them (issue 13: a stable integer key)."""
    import contextlib

    from sqlalchemy import text

    from storage import check, projects, stories
    from storage.search import search_stories
    from storage.users import ensure_user

    with sqlite_db.write() as s:
        ana = ensure_user(s, "T0V", "U0ANA")
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
        made = [
            stories.create_story(
                s, ana, "WEB", {"title": f"Widget {n} alpha{n}", "description": "x"}
            )
            for n in range(60)
        ]
        for story in made[::3]:  # holes in the numbering for VACUUM to close
            stories.delete_story(s, ana, story.key)
    import sqlite3

    sqlite_db.dispose()
    with contextlib.closing(sqlite3.connect(sqlite_db.url.removeprefix("sqlite:///"))) as raw:
        raw.execute("VACUUM")
    kept = [story for n, story in enumerate(made) if n % 3]
    with sqlite_db.read() as s:
        found = {v.key for v in search_stories(s, ana, "widget", limit=100)}
        assert found == {story.key for story in kept}
        for n, story in enumerate(made):
            if n % 3:
                (hit,) = search_stories(s, ana, f"alpha{n}")
                assert hit.key == story.key
    assert check.run_checks(sqlite_db) == []
    with sqlite_db.write() as s:  # and it keeps following changes after the VACUUM
        stories.update_story(s, ana, kept[0].key, {"title": "Renamed gadget"})
        story = stories.create_story(s, ana, "WEB", {"title": "Fresh gizmo", "description": "x"})
    with sqlite_db.read() as s:
        assert [v.key for v in search_stories(s, ana, "gadget")] == [kept[0].key]
        assert [v.key for v in search_stories(s, ana, "gizmo")] == [story.key]
        assert s.execute(text("SELECT count(*) FROM user_stories")).scalar() == len(kept) + 1
