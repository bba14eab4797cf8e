"""The Alembic revisions: up and down on both databases, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config  # noqa: F401  (imported so alembic's env is importable)
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database
from storage.models import Base


def _include(obj, name, type_, reflected, compare_to):
    return not (name and name.startswith(("stories_fts", "search_vector", "idx_stories_search")))


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
    assert db.current_revision() == "0003"


def test_sqlite_pragmas_on_every_connection(sqlite_db: Database) -> None:
    for engine in (sqlite_db.write_engine, sqlite_db.read_engine):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
