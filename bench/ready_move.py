"""How long a card's move to READY or IN_PROGRESS holds SQLite's writer, with the Definition
of Ready's check (its look-alike query) inside the write, or read after it (issue 14).

    .venv/bin/python -m bench.ready_move

One thread, a fresh SQLite file with one project (`warn`, the default) of 2,000 stories
whose titles share most words (the look-alike query's worst case); every move is a real
one, between READY and IN_PROGRESS. Prints the median write-transaction time and the median
time of the whole move (the write, then the findings read after it), 2,000 moves a side,
twice, alternating.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from storage import projects, readiness, stories
from storage.db import Database
from storage.users import Actor, ensure_user

STORIES = 2_000


def setup() -> tuple[Database, Actor, list[str]]:
    db = Database(f"sqlite:///{tempfile.mkdtemp()}/ready_move.db")
    db.upgrade()
    with db.write() as s:
        ana = ensure_user(s, "T0BENCH", "U0ANA")
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
        keys = [
            stories.create_story(
                s, ana, "WEB",
                {"title": f"Export the backlog as CSV number {i}",
                 "description": "As a user, I want the export, so that I can report."},
            ).key
            for i in range(STORIES)
        ]  # fmt: skip
    return db, ana, keys


def moves(db: Database, ana: Actor, keys: list[str], state: dict[str, str], *, later: bool):
    """(median ms of the write, median ms of the whole move)."""

    held, whole = [], []
    for key in keys:
        target = "IN_PROGRESS" if state[key] == "READY" else "READY"
        state[key] = target
        started = time.perf_counter()
        with db.write() as s:
            moved = readiness.move_story(s, ana, key, target, warn_later=later)
        written = time.perf_counter()
        if later:
            with db.read() as s:
                readiness.story_readiness(s, ana, moved.story)
        held.append(written - started)
        whole.append(time.perf_counter() - started)
    return statistics.median(held) * 1000, statistics.median(whole) * 1000


def main() -> int:
    db, ana, keys = setup()
    state = dict.fromkeys(keys, "DRAFT")
    moves(db, ana, keys[:300], state, later=False)  # warm-up
    print("| check | write transaction p50 ms | whole move p50 ms |")
    print("|---|---|---|")
    for _ in range(2):
        for later in (False, True):
            held, whole = moves(db, ana, keys, state, later=later)
            where = "read after the write" if later else "inside the write"
            print(f"| {where} | {held:.2f} | {whole:.2f} |")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
