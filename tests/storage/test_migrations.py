"""The Alembic revisions: up and down on both databases, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config  # noqa: F401  (imported so alembic's env is importable)
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage import check, projects, stories
from storage.db import Database
from storage.models import SEARCH_OBJECTS, Base
from storage.search import search_stories
from storage.users import ensure_user


def _include(obj, name, type_, reflected, compare_to):
    return not (name and name.startswith(SEARCH_OBJECTS))


def test_models_and_migrations_agree(db: Database) -> None:
    with db.write_engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": _include, "compare_type": True}
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(db: Database) -> None:
    db.downgrade("base")
    tables = set(inspect(db.write_engine).get_table_names())
    assert tables <= {"alembic_version"}
    db.upgrade()
    tables = set(inspect(db.write_engine).get_table_names())
    assert {
        "users",
        "projects",
        "user_stories",
        "generation_requests",
        "sessions",
        "audit_logs",
        "digest_subscriptions",
        "scheduler_runs",
    } <= tables
    assert db.current_revision() == "0007"


def test_sqlite_pragmas_on_every_connection(sqlite_db: Database) -> None:
    for engine in (sqlite_db.write_engine, sqlite_db.read_engine):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def _contents(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table but the search index's own (and user_stories' search key and
    the projects' content versions, which revisions 0005 and 0007 add), in a stable order."""
    tables = sorted(
        t
        for t in inspect(db.write_engine).get_table_names()
        if not t.startswith("stories_fts") and t not in ("alembic_version", "project_versions")
    )
    found = {}
    with db.read() as s:
        for table in tables:
            result = s.execute(text(f'SELECT * FROM "{table}"'))
            keep = [i for i, name in enumerate(result.keys()) if name != "search_key"]
            found[table] = sorted((tuple(row[i] for i in keep) for row in result), key=repr)
    return found


def test_upgrade_to_the_search_key_keeps_every_story_its_number_and_search(db: Database) -> None:
    """0004 -> 0005 on a populated database: the same rows and story numbers, each story keyed
    by the rowid the index already used (SQLite), the same search results, `check` clean.
    The rows are written at head and taken down to 0004 (the models are head's), and
    searched at head (later revisions leave search alone)."""
    try:
        with db.write() as s:
            ana = ensure_user(s, "T0M", "U0ANA")
            projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
            made = [
                stories.create_story(
                    s, ana, "WEB", {"title": f"Widget {n} alpha{n}", "description": "words"}
                )
                for n in range(30)
            ]
            for story in made[::4]:  # holes, as a real backlog has
                stories.delete_story(s, ana, story.key)
            stories.update_story(s, ana, made[1].key, {"title": "Renamed gadget"})
        kept = [story for n, story in enumerate(made) if n % 4]
        db.downgrade("0004")
        before = _contents(db)
        rowids = {}
        if db.dialect == "sqlite":
            with db.read() as s:
                rowids = dict(s.execute(text("SELECT id, rowid FROM user_stories")).all())
        db.upgrade("0005")
        assert db.current_revision() == "0005"
        assert _contents(db) == before
        columns = {c["name"] for c in inspect(db.write_engine).get_columns("user_stories")}
        if db.dialect == "sqlite":
            with db.read() as s:
                keys = dict(s.execute(text("SELECT id, search_key FROM user_stories")).all())
            assert keys == rowids
        else:  # PostgreSQL searches its tsvector column: nothing to key
            assert "search_key" not in columns
        db.upgrade()
        with db.read() as s:
            assert {v.key for v in search_stories(s, ana, "widget", limit=100)} == {
                story.key for story in kept[1:]
            }
            for n, story in enumerate(made):
                hits = [v.key for v in search_stories(s, ana, f"alpha{n}")]
                assert hits == ([story.key] if n % 4 and n != 1 else []), n
            assert [v.key for v in search_stories(s, ana, "gadget")] == [made[1].key]
        assert check.run_checks(db) == []
        with db.write() as s:
            fresh = stories.create_story(
                s, ana, "WEB", {"title": "Fresh gizmo", "description": "x"}
            )
        with db.read() as s:
            assert [v.key for v in search_stories(s, ana, "gizmo")] == [fresh.key] == ["WEB-31"]
        assert check.run_checks(db) == []
        after = _contents(db)
        db.downgrade("0004")  # and back: the rows stay, the rowid index is rebuilt
        assert _contents(db) == after
        if db.dialect == "sqlite":
            with db.read() as s:
                found = s.scalars(
                    text(
                        "SELECT us.number FROM stories_fts "
                        "JOIN user_stories AS us ON us.rowid = stories_fts.rowid "
                        "WHERE stories_fts MATCH 'gizmo OR gadget' ORDER BY us.number"
                    )
                ).all()
            assert found == [2, 31]
    finally:
        db.upgrade()
