"""Query plans of `/story list` and `/story show`: each read of user_stories walks the index
named for it, on SQLite and on PostgreSQL.

The statements are the ones the domain calls send (captured as they go out), explained with
their parameters on the database under test: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (FORMAT
JSON) on PostgreSQL — there also as a generic plan, which a statement psycopg has prepared
(after 5 runs on a connection) may switch to. A full scan of user_stories fails, and so
does a walk of another index than the one named below: a dropped or shadowed index shows
here before it shows as a slow list. The plan reader is bench/indexes.py's, the benchmark
(BENCHMARKS.md, 7) that times these queries with our indexes against the seed's.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from bench.indexes import FULL_SCAN, Plan, Sent, explain, statements_sent
from storage import projects, stories
from storage.db import Database
from storage.models import Project, UserStory
from storage.users import Actor, ensure_user

# 25 projects of 200 stories: each project is a small share of the table, as in a real
# workspace (and in the benchmarks' 50 projects), so PostgreSQL's planner weighs the
# indexes as it does at 100,000 stories; with 4 projects it walks created_at instead.
TEAM = "T1"
PROJECTS = ("WEB", *(f"P{chr(65 + i)}" for i in range(24)))
STORIES_PER_PROJECT = 200
MEMBERS = 8
PRIORITIES = ("CRITICAL",) * 5 + ("HIGH",) * 20 + ("MEDIUM",) * 50 + ("LOW",) * 25
STATUSES = ("DRAFT",) * 30 + ("READY",) * 25 + ("IN_PROGRESS",) * 20 + ("DONE",) * 25
DEEP_PAGES = 10  # pages of 10 walked before the deep page (3 with a status)


@dataclass
class Backlog:
    actor: Actor
    member: Actor  # assigned about one story in 16
    deep_cursor: str  # WEB's 11th page
    deep_status_cursor: str  # WEB status:READY, 4th page
    all_deep_cursor: str  # all projects' 11th page


def load(db: Database) -> Backlog:
    """5,000 stories across projects, statuses, priorities and assignees; then ANALYZE."""
    with db.write() as s:
        members = [ensure_user(s, TEAM, f"UMEMBER{i:02d}") for i in range(MEMBERS)]
        ids = [projects.create_project(s, members[0], {"name": key, "key": key}).id
               for key in PROJECTS]  # fmt: skip
    rng = random.Random(15)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(STORIES_PER_PROJECT * len(PROJECTS)):
        at = start + timedelta(minutes=17 * n)
        rows.append(
            {
                "id": f"{n:08x}{rng.getrandbits(96):024x}",
                "team_id": TEAM,
                "project_id": ids[n % len(PROJECTS)],
                "number": n // len(PROJECTS) + 1,
                "created_by": rng.choice(members).user_id,
                "assignee_id": rng.choice(members).user_id if rng.random() < 0.5 else None,
                "title": f"As a member I want story {n}",
                "description": "So that the plans of the list queries can be read.",
                "acceptance_criteria": [],
                "priority": rng.choice(PRIORITIES),
                "story_points": rng.choice((0, 1, 2, 3, 5, 8)),
                "tasks": [],
                "tags": [],
                "status": rng.choice(STATUSES),
                "meta": {},
                "created_at": at,
                "updated_at": at,
            }
        )
    with db.write() as s:
        s.execute(insert(UserStory.__table__), rows)
        s.execute(update(Project).values(last_story_number=STORIES_PER_PROJECT))
        s.execute(text("ANALYZE"))
    actor = members[0]
    return Backlog(
        actor,
        members[3],
        _cursor_after(db, actor, DEEP_PAGES),
        _cursor_after(db, actor, 3, status="READY"),
        _cursor_after(db, actor, DEEP_PAGES, project=None),
    )


def _cursor_after(
    db: Database, actor: Actor, pages: int, project: str | None = "WEB", **filters: Any
) -> str:
    cursor = None
    with db.read() as s:
        for _ in range(pages):
            page = stories.list_stories(s, actor, project, limit=10, cursor=cursor, **filters)
            cursor = page.next_cursor
            assert cursor, "the project is too small for a deep page"
    return cursor


# What each command asks, as the bot asks it (bot/commands.py: pages of 10).
Case = Callable[[Session, Backlog], object]
CASES: dict[str, Case] = {
    "list first page": lambda s, b: stories.list_stories(s, b.actor, "WEB", limit=10),
    "list deep page": lambda s, b: stories.list_stories(
        s, b.actor, "WEB", limit=10, cursor=b.deep_cursor
    ),
    "list status:READY": lambda s, b: stories.list_stories(
        s, b.actor, "WEB", limit=10, status="READY"
    ),
    "list status:READY deep page": lambda s, b: stories.list_stories(
        s, b.actor, "WEB", limit=10, status="READY", cursor=b.deep_status_cursor
    ),
    "list priority:HIGH": lambda s, b: stories.list_stories(
        s, b.actor, "WEB", limit=10, priority="HIGH"
    ),
    "list mine": lambda s, b: stories.list_stories(
        s, b.member, "WEB", limit=10, assignee_slack_id=b.member.slack_user_id
    ),
    "list all projects": lambda s, b: stories.list_stories(s, b.actor, None, limit=10),
    "list all projects deep page": lambda s, b: stories.list_stories(
        s, b.actor, None, limit=10, cursor=b.all_deep_cursor
    ),
    "list all projects status:READY": lambda s, b: stories.list_stories(
        s, b.actor, None, limit=10, status="READY"
    ),
    "list all projects priority:HIGH": lambda s, b: stories.list_stories(
        s, b.actor, None, limit=10, priority="HIGH"
    ),
    "show KEY-N": lambda s, b: stories.get_story(s, b.actor, "WEB-100"),
}

# The indexes each case's statements walk. A list of one project is one query per priority rank,
# each a backward walk of idx_stories_page (idx_stories_page_status with a status) in the list's
# order; a list of all the workspace's projects walks idx_stories_team_page the same way
# (alembic 0006: without it SQLite walked idx_stories_page project by project and sorted every
# story of the rank, BENCHMARKS.md 7). `/story show KEY-N` finds the story through the
# (project_id, number) unique constraint, then reads it again by id for its view. "list mine":
# SQLite walks the page index and skips others' stories; PostgreSQL ANDs two bitmaps (the
# member's stories, the project's, idx_stories_project_id) and sorts the few left. Recorded
# here, not endorsed: all projects with status:READY, SQLite walks idx_stories_page_status
# project by project and sorts the matches (once ANALYZE has seen that the workspace is the
# whole table; 1.6 ms at 100,000 stories against 0.04 ms on idx_stories_team_page); on
# PostgreSQL, all projects with priority:HIGH, and every generic plan of all projects, walk
# created_at backwards, filtered (GENERIC). Changing an index, or a list query, changes this
# table: it is the record of what each query walks.
# `/story show KEY-N` is one query (issue 14): the story by its project and number, with its
# project and members joined by their primary keys
SHOW = {"sqlite": {"sqlite_autoindex_user_stories_2"},
        "postgresql": {"uq_user_stories_project_id_number"}}  # fmt: skip
EXPECTED: dict[str, dict[str, set[str]]] = {
    dialect: {
        "list first page": {"idx_stories_page"},
        "list deep page": {"idx_stories_page"},
        "list status:READY": {"idx_stories_page_status"},
        "list status:READY deep page": {"idx_stories_page_status"},
        "list priority:HIGH": {"idx_stories_page"},
        "list all projects": {"idx_stories_team_page"},
        "list all projects deep page": {"idx_stories_team_page"},
        "list all projects status:READY": {"idx_stories_team_page"},
        "list all projects priority:HIGH": {"idx_stories_team_page"},
        "show KEY-N": SHOW[dialect],
    }
    for dialect in ("sqlite", "postgresql")
}
EXPECTED["sqlite"] |= {
    "list mine": {"idx_stories_page"},
    "list all projects status:READY": {"idx_stories_page_status"},
}
EXPECTED["postgresql"] |= {
    "list mine": {"idx_stories_assignee_page", "idx_stories_project_id"},
    "list all projects priority:HIGH": {"idx_stories_created_at"},
}
# PostgreSQL's generic plan, where it walks another index than the custom plan
ALL_PROJECTS = [name for name in EXPECTED["postgresql"] if name.startswith("list all projects")]
GENERIC = {name: {"idx_stories_created_at"} for name in ALL_PROJECTS}


def sent_by(db: Database, case: Case, backlog: Backlog) -> list[Sent]:
    """The statements on user_stories that one case sends, with their parameters."""
    sent = statements_sent(db, lambda s: case(s, backlog))
    assert sent, "the call sent no statement on user_stories"
    return sent


def plans_of(
    db: Database, backlog: Backlog, *, dropped: Iterable[str] = ()
) -> dict[str, list[Plan]]:
    """Each case's statements explained, in a transaction rolled back afterwards.

    `dropped` indexes are dropped first in that transaction (DDL is transactional on both
    databases): what a lost index does, without losing it."""
    sent = {name: sent_by(db, case, backlog) for name, case in CASES.items()}
    with db.write_engine.connect() as conn, conn.begin() as transaction:
        for index in dropped:
            conn.exec_driver_sql(f"DROP INDEX {index}")
        found = {
            name: [plan for statement, params in statements
                   for plan in explain(conn, statement, params)]
            for name, statements in sent.items()
        }  # fmt: skip
        transaction.rollback()
    return found


def deviations(found: dict[str, list[Plan]], dialect: str) -> list[str]:
    """What is wrong with the plans: full scans, and walks of other indexes than named."""
    problems = []
    for name, plans in found.items():
        for plan in plans:
            if not plan.reads or FULL_SCAN in plan.reads:
                problems.append(f"{name}: a full scan of user_stories ({plan.kind}): {plan.shown}")
        for kind in sorted({plan.kind for plan in plans}):
            used = {index for plan in plans if plan.kind == kind for index in plan.reads}
            expected = EXPECTED[dialect][name]
            if kind == "generic plan":
                expected = GENERIC.get(name, expected)
            if used != expected:
                shown = " ;; ".join(plan.shown for plan in plans if plan.kind == kind)
                problems.append(
                    f"{name}: walks {sorted(used)} ({kind}), expected {sorted(expected)}: {shown}"
                )
    return problems


def test_list_and_show_walk_the_named_indexes(db: Database) -> None:
    backlog = load(db)
    found = plans_of(db, backlog)
    assert set(found) == set(EXPECTED[db.dialect])
    problems = deviations(found, db.dialect)
    assert not problems, "\n".join(problems)


def test_a_lost_index_or_a_full_scan_is_caught(db: Database) -> None:
    """The check can fail: without the page indexes every list of a project walks another
    index (the seed's, or created_at) and is reported, and so does the list of all projects
    without the workspace's; a read that no index serves is seen as a full scan."""
    backlog = load(db)
    found = plans_of(db, backlog, dropped=("idx_stories_page", "idx_stories_page_status"))
    problems = deviations(found, db.dialect)
    for name in ("list first page", "list deep page", "list status:READY"):
        assert any(p.startswith(f"{name}:") for p in problems), (name, problems)
    assert not any(p.startswith("show KEY-N:") for p in problems), problems
    # without the workspace's page index, the first page of all projects walks another
    found = plans_of(db, backlog, dropped=("idx_stories_team_page",))
    problems = deviations(found, db.dialect)
    assert any(p.startswith("list all projects:") for p in problems), problems
    with db.write_engine.connect() as conn, conn.begin():
        unindexed = "SELECT id FROM user_stories WHERE description = 'x'"
        assert all(FULL_SCAN in plan.reads for plan in explain(conn, unindexed, {}))
