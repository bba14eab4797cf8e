"""Shared fixtures: a migrated database per test, on SQLite always and PostgreSQL when set."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.db import Database, normalize_url

PG_URL = os.environ.get("AUTODEVHUB_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_template_url(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database of this xdist worker, migrated to head once."""
    if not PG_URL:
        pytest.skip("AUTODEVHUB_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"autodevhub_t_{worker_id}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(PG_URL).rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(db: Database) -> None:
    with db.write() as s:
        tables = [
            r[0]
            for r in s.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        s.execute(
            text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        )


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite file database."""
    path = tmp_path / "autodevhub.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh, migrated database: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_db")
        return
    url = request.getfixturevalue("pg_template_url")
    database = Database(url)
    _truncate_pg(database)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id, or 'master' when the suite runs in one process."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "master"


@pytest.fixture(autouse=True)
def slack_refusals_fail_the_test() -> Iterator[None]:
    """Whatever the app sent that real Slack would refuse (tests/fakes/block_kit.py) fails the
    test that sent it, not as a warning. Set up before, and torn down after, the fixtures
    that wait for the server's after-ack work."""
    from tests.fakes.slack_api import take_refusals

    take_refusals()
    yield
    refused = take_refusals()
    if refused:
        pytest.fail(
            "Slack would refuse what the app sent:\n" + "\n".join(f"- {r}" for r in refused),
            pytrace=False,
        )
