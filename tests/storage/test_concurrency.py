"""Concurrent story creates: every number handed out once, no gaps, no "database is locked"."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

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


def _write_back_to_back(url: str, seconds: float, started) -> None:
    import time

    db = Database(url)
    with db.write() as s:
        actor = ensure_user(s, "T1", "UBUSY")
    started.set()
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        with db.write() as s:
            data = {"title": f"busy {i}", "description": "d"}
            stories.create_story(s, actor, "WEB", data)
        i += 1
    db.dispose()


def test_a_second_process_writing_meanwhile_waits_its_turn_and_leaves_no_files(
    sqlite_db: Database,
) -> None:
    """The design's one serve process per SQLite file, and a second process (the scheduler, a
    CLI command) writing at the same time: SQLite's busy_timeout lets each write of both wait
    its turn, none fails with "database is locked", numbers never clash, and nothing but the
    database and its WAL files is left beside it (no lock files)."""
    import multiprocessing
    from pathlib import Path

    with sqlite_db.write() as s:
        admin = ensure_user(s, "T1", "U0")
        projects.create_project(s, admin, {"name": "Web", "key": "WEB"})
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    other = ctx.Process(target=_write_back_to_back, args=(sqlite_db.url, 1.5, started))
    other.start()
    try:
        assert started.wait(60)
        for i in range(25):  # this process's threads, while the other process writes
            with sqlite_db.write() as s:
                stories.create_story(s, admin, "WEB", {"title": f"mine {i}", "description": "d"})
    finally:
        other.join(60)
    assert other.exitcode == 0
    with sqlite_db.read() as s:
        numbers = sorted(s.scalars(select(UserStory.number)))
        mine = s.scalar(
            select(func.count()).select_from(UserStory).where(UserStory.title.like("mine %"))
        )
    assert mine == 25
    assert len(numbers) > 25  # the other process wrote too
    assert numbers == list(range(1, len(numbers) + 1))
    database = Path(sqlite_db.url.removeprefix("sqlite:///"))
    beside = {p.name for p in database.parent.iterdir() if p.name.startswith(database.name)}
    assert beside <= {database.name, f"{database.name}-wal", f"{database.name}-shm"}, beside
