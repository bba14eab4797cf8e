"""Search: ranked, scoped to the workspace and project, user text never parsed as syntax."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy import text as sql

from storage import check, projects, stories
from storage.check import run_checks
from storage.models import UserStory, new_id
from storage.search import match_query, search_stories
from storage.users import ensure_user


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


def _renumber_rowids(path: str) -> dict[str, tuple[int, int]]:
    """Give every story a new implicit rowid, as VACUUM may for a table without an INTEGER
    PRIMARY KEY (and as a copy-and-move migration or a `.dump` reload does): the rows are
    copied back in reverse order, the table's triggers not firing. Returns, for each story
    id, its rowid before and after.

    This SQLite keeps the rowids of a table with any index through VACUUM (its copy carries
    them when the copy has indexes), and user_stories always has its primary key's index, so
    a real VACUUM alone cannot show the renumbering here."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        before = dict(raw.execute("SELECT id, rowid FROM user_stories"))
        triggers = raw.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = 'user_stories'"
        ).fetchall()
        # table_info leaves out priority_rank (generated): every column that is stored
        cols = ", ".join(f'"{r[1]}"' for r in raw.execute("PRAGMA table_info(user_stories)"))
        raw.execute("BEGIN")
        for name, _trigger_sql in triggers:
            raw.execute(f'DROP TRIGGER "{name}"')
        raw.execute(f"CREATE TEMP TABLE copied AS SELECT {cols} FROM user_stories")
        raw.execute("DELETE FROM user_stories")
        raw.execute(
            f"INSERT INTO user_stories ({cols}) SELECT {cols} FROM copied ORDER BY rowid DESC"
        )
        for _name, trigger_sql in triggers:
            raw.execute(trigger_sql)
        raw.execute("COMMIT")
        after = dict(raw.execute("SELECT id, rowid FROM user_stories"))
    return {story_id: (before[story_id], after[story_id]) for story_id in before}


def _sqlite_file(db) -> str:
    return db.url.removeprefix("sqlite:///")


def test_vacuum_keeps_search_working(sqlite_db) -> None:
    """VACUUM may renumber the rowids of a table without an INTEGER PRIMARY KEY; the search
    index must not point at them (issue 13: a stable integer key). The rowids are renumbered
    for certain (see _renumber_rowids), then a real VACUUM runs, then every story is found
    by its own word, `check` finds nothing wrong, and stories added later never collide."""
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
    with sqlite_db.read() as s:
        rowid_keys = set(s.scalars(sql("SELECT rowid FROM user_stories")))
    sqlite_db.dispose()
    moved = _renumber_rowids(_sqlite_file(sqlite_db))
    with contextlib.closing(sqlite3.connect(_sqlite_file(sqlite_db))) as raw:
        raw.execute("VACUUM")
    # the control: the implicit rowids did change, for almost every story
    assert sum(old != new for old, new in moved.values()) >= len(moved) - 1 == 39
    kept = [story for n, story in enumerate(made) if n % 3]
    with sqlite_db.read() as s:
        found = {v.key for v in search_stories(s, ana, "widget", limit=100)}
        assert found == {story.key for story in kept}
        for n, story in enumerate(made):
            if n % 3:
                (hit,) = search_stories(s, ana, f"alpha{n}")
                assert hit.key == story.key
        keys_before = set(s.scalars(sql("SELECT search_key FROM user_stories")))
        rowids_now = set(s.scalars(sql("SELECT rowid FROM user_stories")))
    assert check.run_checks(sqlite_db) == []
    assert keys_before == rowid_keys  # each story kept the key it had
    # a key taken from the rowid would now collide: the next rowid is a key in use
    assert max(rowids_now) + 1 in keys_before
    with sqlite_db.write() as s:  # and it keeps following changes after the VACUUM
        stories.update_story(s, ana, kept[0].key, {"title": "Renamed gadget"})
        fresh = [
            stories.create_story(s, ana, "WEB", {"title": f"Fresh gizmo{n}", "description": "x"})
            for n in range(3)
        ]
    with sqlite_db.read() as s:
        assert [v.key for v in search_stories(s, ana, "gadget")] == [kept[0].key]
        for n, story in enumerate(fresh):
            assert [v.key for v in search_stories(s, ana, f"gizmo{n}")] == [story.key]
        assert s.execute(sql("SELECT count(*) FROM user_stories")).scalar() == len(kept) + 3
        new_keys = list(
            s.scalars(
                sql("SELECT search_key FROM user_stories WHERE title LIKE 'Fresh%' ORDER BY 1")
            )
        )
    assert new_keys == [max(keys_before) + 1, max(keys_before) + 2, max(keys_before) + 3]
    assert check.run_checks(sqlite_db) == []


def _story_rows(project_id: str, team_id: str, first: int, count: int, word: str) -> list[dict]:
    return [
        {
            "id": new_id(),
            "team_id": team_id,
            "project_id": project_id,
            "number": number,
            "title": f"Bulk {word} story{number}",
            "description": "x",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
            "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
        for number in range(first, first + count)
    ]


def test_bulk_inserts_give_each_story_its_own_key(sqlite_db) -> None:
    """One executemany (as an import writes), one multi-row INSERT (SQLAlchemy's
    insertmanyvalues) and one INSERT … SELECT: every row gets a distinct key and is found."""
    with sqlite_db.write() as s:
        ana = ensure_user(s, "T0B", "U0ANA")
        project = projects.create_project(s, ana, {"name": "Bulk", "key": "BLK"})
        table = UserStory.__table__
        s.execute(table.insert(), _story_rows(project.id, ana.team_id, 1, 1500, "many"))
        multi = s.execute(
            insert(UserStory).returning(UserStory.id),
            _story_rows(project.id, ana.team_id, 1501, 300, "values"),
        )
        assert len(multi.all()) == 300
        s.execute(
            sql(
                "INSERT INTO user_stories (id, team_id, project_id, number, title, description,"
                " acceptance_criteria, tasks, tags, metadata, created_at, updated_at)"
                " SELECT lower(hex(randomblob(16))), team_id, project_id, number + 2000,"
                " 'Bulk selected story' || (number + 2000), description, '[]', '[]', '[]', '{}',"
                " created_at, updated_at FROM user_stories WHERE title LIKE 'Bulk values%'"
            )
        )
        s.execute(sql("UPDATE projects SET last_story_number = 3800"))
    with sqlite_db.read() as s:
        total, distinct, lowest, highest = s.execute(
            sql(
                "SELECT count(*), count(DISTINCT search_key), min(search_key), max(search_key)"
                " FROM user_stories"
            )
        ).one()
        assert (total, distinct, lowest, highest) == (2100, 2100, 1, 2100)
        for number in (1, 750, 1500, 1501, 1800, 3501, 3800):
            (hit,) = search_stories(s, ana, f"story{number}")
            assert hit.key == f"BLK-{number}"
    assert check.run_checks(sqlite_db) == []
