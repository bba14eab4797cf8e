"""Concurrent story creates: every number handed out once, no gaps, no "database is locked"."""

from __future__ import annotations

import threading

from sqlalchemy import select

from storage import projects, stories
from storage.check import run_checks
from storage.db import Database
from storage.models import UserStory
from storage.users import ensure_user

THREADS = 8
CREATES = 200


def _hammer(db: Database, threads: int, creates: int) -> list[int]:
    with db.write() as s:
        actors = [ensure_user(s, "T1", f"U{i}") for i in range(threads)]
        projects.create_project(s, actors[0], {"name": "Web", "key": "WEB"})
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(actor) -> None:
        try:
            start.wait()
            for i in range(creates):
                with db.write() as s:
                    stories.create_story(
                        s, actor, "WEB", {"title": f"{actor.slack_user_id} {i}", "description": "d"}
                    )
        except BaseException as exc:  # surfaced below with the thread's error
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(a,)) for a in actors]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == [], errors[:3]
    with db.read() as s:
        return sorted(s.scalars(select(UserStory.number)))


def test_sqlite_file_8_threads_x_200_creates(sqlite_db: Database) -> None:
    numbers = _hammer(sqlite_db, THREADS, CREATES)
    assert numbers == list(range(1, THREADS * CREATES + 1))
    assert run_checks(sqlite_db) == []


def test_postgresql_concurrent_creates(db: Database) -> None:
    if db.dialect != "postgresql":
        return  # the SQLite file case is the test above
    numbers = _hammer(db, THREADS, 50)
    assert numbers == list(range(1, THREADS * 50 + 1))
    assert run_checks(db) == []
