"""A project's content version (migration 0007): a new stamp with every change to its
stories, in the change's own transaction, whoever writes; reads and other projects' changes
leave it. `/story list` answers from a kept page only while the version is the page's, so
a change that left the version alone would show a stale list (tests/handlers/commands)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, text, update

from storage import projects, stories
from storage.db import Database
from storage.models import Project, ProjectVersion, UserStory
from storage.users import Actor


def version(db: Database, key: str, team: str = "T1") -> int:
    with db.read() as s:
        return (
            s.scalar(
                select(ProjectVersion.version)
                .join(Project, Project.id == ProjectVersion.project_id)
                .where(Project.team_id == team, Project.key == key)
            )
            or 0
        )


@pytest.fixture
def two(world):
    world.project(world.alice, "Web", key="WEB")
    world.project(world.alice, "Api", key="API")
    world.story(world.alice, "WEB", title="Log in")
    return world


def changes_web_only(world, change) -> None:
    """`change(s)` in one write gives WEB a new version and leaves API's."""
    web, api = version(world.db, "WEB"), version(world.db, "API")
    with world.db.write() as s:
        change(s)
    assert version(world.db, "WEB") != web
    assert version(world.db, "API") == api


def test_every_kind_of_story_change_gives_the_project_a_new_version(two) -> None:
    alice: Actor = two.alice
    changes_web_only(two, lambda s: stories.create_story(s, alice, "WEB", {
        "title": "Log out", "description": "As a user I want to leave"}))  # fmt: skip
    changes_web_only(two, lambda s: stories.move_story(s, alice, "WEB-1", "READY"))
    changes_web_only(two, lambda s: stories.update_story(s, alice, "WEB-1", {"title": "Sign in"}))
    changes_web_only(two, lambda s: stories.assign_story(s, alice, "WEB-1", "UBOB"))
    changes_web_only(two, lambda s: stories.delete_story(s, alice, "WEB-2"))


def test_writes_behind_the_domain_change_it_too(two) -> None:
    """An import's executemany, an operator's SQL: the triggers see them all."""
    with two.db.read() as s:
        web = s.scalars(select(Project).where(Project.key == "WEB")).one()
        story = s.scalars(select(UserStory).where(UserStory.project_id == web.id)).one()
    row = {
        c.key: getattr(story, c.key)
        for c in UserStory.__table__.columns
        if c.key != "id" and c.computed is None
    }
    rows = [{**row, "number": n, "title": f"Bulk {n}"} for n in (50, 51)]
    changes_web_only(two, lambda s: s.execute(insert(UserStory), rows))
    changes_web_only(two, lambda s: s.execute(
        update(UserStory).where(UserStory.number == 50).values(status="DONE")))  # fmt: skip
    changes_web_only(two, lambda s: s.execute(delete(UserStory).where(UserStory.number == 51)))
    changes_web_only(two, lambda s: s.execute(
        text("UPDATE user_stories SET story_points = 8 WHERE number = 50")))  # fmt: skip


def test_a_story_moved_to_another_project_changes_both(two) -> None:
    web, api = version(two.db, "WEB"), version(two.db, "API")
    with two.db.write() as s:
        api_id = projects.find_project(s, two.alice, "API").id
        s.execute(update(UserStory).where(UserStory.number == 1).values(project_id=api_id))
    assert version(two.db, "WEB") != web and version(two.db, "API") != api


def test_reads_and_a_rolled_back_change_leave_it(two) -> None:
    web = version(two.db, "WEB")
    with two.db.read() as s:
        stories.list_stories(s, two.alice, "WEB")
        stories.get_story(s, two.alice, "WEB-1")
    assert version(two.db, "WEB") == web
    with pytest.raises(RuntimeError), two.db.write() as s:
        stories.move_story(s, two.alice, "WEB-1", "DONE")
        raise RuntimeError("rolled back")
    assert version(two.db, "WEB") == web


def test_the_version_is_a_new_stamp_not_a_count(two) -> None:
    """A counter would come back to an old value after a restore; stamps are not reused."""
    seen = {version(two.db, "WEB")}
    for status in ("READY", "DRAFT") * 5:
        with two.db.write() as s:
            stories.move_story(s, two.alice, "WEB-1", status)
        seen.add(version(two.db, "WEB"))
    assert len(seen) == 11
