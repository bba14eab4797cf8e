"""Tenant isolation: a member of another workspace cannot see or change rows, even by id."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import projects, search, stories
from storage.errors import NotFound, ValidationFailed
from storage.models import AuditLog, Project, UserStory


def _snapshot(db):
    with db.read() as s:
        return (
            [
                tuple(r)
                for r in s.execute(
                    select(
                        Project.id,
                        Project.name,
                        Project.key,
                        Project.channel_id,
                        Project.last_story_number,
                    )
                )
            ],
            [
                tuple(r)
                for r in s.execute(
                    select(UserStory.id, UserStory.title, UserStory.status, UserStory.assignee_id)
                )
            ],
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.team_id == "T1")),
        )


def test_other_workspace_cannot_reach_rows_by_id_key_or_name(world) -> None:
    p = world.project(world.alice, "Web", key="WEB")
    story = world.story(world.bob, "web")
    before = _snapshot(world.db)
    eve = world.eve
    attempts = [
        lambda s: projects.get_project(s, eve, p.id),
        lambda s: projects.get_project(s, eve, "WEB"),
        lambda s: projects.get_project(s, eve, "Web"),
        lambda s: projects.update_project(s, eve, p.id, {"name": "Mine"}),
        lambda s: projects.delete_project(s, eve, p.id),
        lambda s: projects.link_channel(s, eve, p.id, "C9"),
        lambda s: stories.create_story(s, eve, p.id, {"title": "t", "description": "d"}),
        lambda s: stories.create_story(s, eve, "WEB", {"title": "t", "description": "d"}),
        lambda s: stories.create_story(s, eve, "Web", {"title": "t", "description": "d"}),
        lambda s: stories.get_story(s, eve, story.id),
        lambda s: stories.get_story(s, eve, "WEB-1"),
        lambda s: stories.update_story(s, eve, story.id, {"title": "Mine"}),
        lambda s: stories.move_story(s, eve, story.id, "DONE"),
        lambda s: stories.assign_story(s, eve, story.id, "UEVE"),
        lambda s: stories.delete_story(s, eve, story.id),
        lambda s: stories.list_stories(s, eve, p.id),
        lambda s: search.search_stories(s, eve, "story", project_ref=p.id),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound), world.db.write() as s:
            attempt(s)
    with world.db.read() as s:
        assert stories.list_stories(s, eve).items == []
        assert search.search_stories(s, eve, "story user") == []
        assert projects.list_projects(s, eve) == []
        assert projects.project_for_channel(s, eve, "C1") is None
    assert _snapshot(world.db) == before


def test_same_key_in_two_workspaces_are_separate(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.project(world.eve, "Web", key="WEB")
    mine = world.story(world.bob, "WEB", title="ours")
    theirs = world.story(world.eve, "WEB", title="theirs")
    assert mine.key == theirs.key == "WEB-1"
    with world.db.read() as s:
        assert stories.get_story(s, world.bob, "WEB-1").title == "ours"
        assert stories.get_story(s, world.eve, "WEB-1").title == "theirs"


def test_cursor_from_another_workspace_shows_nothing_of_theirs(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    for _ in range(3):
        world.story(world.bob, "web")
    with world.db.read() as s:
        cursor = stories.list_stories(s, world.bob, limit=1).next_cursor
        assert cursor
        assert stories.list_stories(s, world.eve, cursor=cursor).items == []
        with pytest.raises(ValidationFailed):
            stories.list_stories(s, world.eve, cursor=cursor + "x")
