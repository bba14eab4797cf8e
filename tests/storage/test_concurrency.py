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


def test_8_threads_x_200_creates_number_1_to_1600(db: Database) -> None:
    """On a SQLite file (the `db` fixture's SQLite is a file) and on PostgreSQL."""
    numbers = _hammer(db, THREADS, CREATES)
    assert numbers == list(range(1, THREADS * CREATES + 1))
    assert run_checks(db) == []


def test_concurrent_first_members_make_exactly_one_admin(db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def join(i: int):
        with db.write() as s:
            return ensure_user(s, "TNEW", f"U{i % 6}")  # some arrive twice at once

    with ThreadPoolExecutor(8) as pool:
        actors = list(pool.map(join, range(24)))
    assert len({a.user_id for a in actors}) == 6
    assert len({a.user_id for a in actors if a.is_admin}) == 1
