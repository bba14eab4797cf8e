"""Story lists: the seed's order, filters, and keyset pages through an opaque cursor."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import time_machine

from storage import stories
from storage.errors import NotFound, ValidationFailed


def _all_pages(world, actor, project=None, limit=3, **filters):
    keys, cursor, pages = [], None, 0
    while True:
        with world.db.read() as s:
            page = stories.list_stories(s, actor, project, limit=limit, cursor=cursor, **filters)
        keys += [story.key for story in page.items]
        pages += 1
        assert len(page.items) <= limit
        cursor = page.next_cursor
        if cursor is None:
            return keys, pages
        assert len(cursor) < 100


def test_order_is_critical_first_then_newest_and_pages_cover_all(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    rng = random.Random(7)
    made = []
    for i in range(17):
        made.append(
            world.story(
                world.bob,
                "web",
                priority=rng.choice(["LOW", "HIGH", "CRITICAL", "MEDIUM"]),
                title=f"s{i}",
            )
        )
    rank = {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "LOW": 4}
    expected = [
        v.key
        for v in sorted(made, key=lambda v: (rank[v.priority], -v.created_at.timestamp(), v.id))
    ]
    with world.db.read() as s:
        everything = stories.list_stories(s, world.carol, "web", limit=100)
    assert [v.key for v in everything.items] == expected
    assert everything.next_cursor is None
    keys, pages = _all_pages(world, world.carol, "web", limit=4)
    assert keys == expected and pages == 5


def test_same_timestamp_ties_are_broken_by_id(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        made = [world.story(world.bob, "web") for _ in range(7)]
    assert len({v.created_at for v in made}) == 1
    keys, _ = _all_pages(world, world.bob, "web", limit=2)
    assert sorted(keys) == sorted(v.key for v in made) and len(set(keys)) == 7


def test_filters(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.project(world.alice, "Api", key="API")
    world.story(world.bob, "web", priority="HIGH")
    world.story(world.carol, "web", status="READY")
    world.story(world.bob, "api", priority="HIGH", status="READY")
    with world.db.write() as s:
        stories.assign_story(s, world.bob, "WEB-2", "UBOB")
    with world.db.read() as s:

        def keys(project=None, **f):
            return [v.key for v in stories.list_stories(s, world.bob, project, limit=50, **f).items]

        assert sorted(keys()) == ["API-1", "WEB-1", "WEB-2"]
        assert keys("web", status="ready") == ["WEB-2"]
        assert sorted(keys(priority="HIGH")) == ["API-1", "WEB-1"]
        assert keys(assignee_slack_id="UBOB") == ["WEB-2"]
        assert sorted(keys(created_by_slack_id="UBOB")) == ["API-1", "WEB-1"]
        assert keys(status="READY", priority="HIGH") == ["API-1"]
        assert keys(created_by_slack_id="UNOBODY") == []


def test_filtered_pages_cover_all(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    for i in range(9):
        world.story(
            world.bob,
            "web",
            status="READY" if i % 2 else "DRAFT",
            priority="LOW" if i % 3 else "HIGH",
        )
    keys, _ = _all_pages(world, world.bob, "web", limit=2, status="DRAFT")
    assert len(keys) == len(set(keys)) == 5


def test_bad_list_arguments_are_refused(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    bad = [
        {"status": "BLOCKED"},
        {"priority": "URGENT"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "garbage!"},
        {"cursor": "MS4yLnh5eg"},
    ]
    for kwargs in bad:
        with pytest.raises(ValidationFailed), world.db.read() as s:
            stories.list_stories(s, world.bob, "web", **kwargs)


def test_unknown_project_is_not_found(world) -> None:
    with pytest.raises(NotFound), world.db.read() as s:
        stories.list_stories(s, world.bob, "nope")


def test_pages_walk_the_page_index_without_sorting(sqlite_db) -> None:
    """Every list query of a project is an index walk: no temp B-tree sort, no scan."""
    from sqlalchemy import event

    from storage import projects
    from storage.users import ensure_user

    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        projects.create_project(s, alice, {"name": "Web", "key": "WEB"})
        for i in range(12):
            data = {"title": f"s{i}", "description": "d", "priority": ["LOW", "HIGH"][i % 2]}
            stories.create_story(s, alice, "WEB", data)
    statements: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM user_stories" in statement:
            statements.append((statement, parameters))

    event.listen(sqlite_db.read_engine, "before_cursor_execute", capture)
    try:
        with sqlite_db.read() as s:
            page = stories.list_stories(s, alice, "WEB", limit=4)
            stories.list_stories(s, alice, "WEB", limit=4, cursor=page.next_cursor)
            stories.list_stories(s, alice, "WEB", limit=4, status="DRAFT")
    finally:
        event.remove(sqlite_db.read_engine, "before_cursor_execute", capture)
    assert statements
    with sqlite_db.read() as s:
        for statement, parameters in statements:
            plan = " | ".join(
                row[3]
                for row in s.connection().exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )
            )
            assert "TEMP B-TREE" not in plan and "SCAN user_stories" not in plan, plan
            assert "idx_stories_page" in plan, plan
