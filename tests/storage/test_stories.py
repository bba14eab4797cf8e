"""Stories: validation, KEY-N numbering, edit, move, assign, delete and their permissions."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from storage import projects, stories
from storage.errors import NotFound, PermissionDenied, ValidationFailed
from storage.models import Project, User, UserStory
from storage.stories import StoryInput


def test_create_trims_normalises_and_numbers(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    s1 = world.story(
        world.bob,
        "web",
        title="  Log   in  ",
        description=" As a user ",
        acceptance_criteria=["Given a page", "  ", "When I log in"],
        tags=["#Auth", "auth", "User Management"],
        priority="high",
        story_points="5",
        status="in progress",
    )
    assert (s1.key, s1.number, s1.title, s1.description) == ("WEB-1", 1, "Log in", "As a user")
    assert s1.acceptance_criteria == ["Given a page", "When I log in"]
    assert s1.tags == ["auth", "user-management"]
    assert (s1.priority, s1.story_points, s1.status) == ("HIGH", 5, "IN_PROGRESS")
    assert s1.created_by_slack_id == "UBOB" and s1.assignee_slack_id is None
    assert world.story(world.carol, "WEB").key == "WEB-2"
    assert world.audit_actions()[-1] == "story.create"


def test_a_story_is_created_in_the_project_its_id_key_or_name_names(world) -> None:
    web = world.project(world.alice, "Website Redesign", key="WEB")
    world.project(world.alice, "Web", key="WEBAPP")  # a key that is another project's name
    assert world.story(world.bob, "  website   REDESIGN ").key == "WEB-1"
    assert world.story(world.bob, web.id).key == "WEB-2"
    assert world.story(world.bob, "web").key == "WEB-3"  # a key first, then a name
    assert world.story(world.bob, "webapp").key == "WEBAPP-1"
    with world.db.read() as s:
        numbers = dict(s.execute(select(Project.key, Project.last_story_number)).all())
    assert numbers == {"WEB": 3, "WEBAPP": 1}
    before = world.audit_count()
    with pytest.raises(NotFound, match="Did you mean"), world.db.write() as s:
        stories.create_story(s, world.bob, "Website Redesig", {"title": "t", "description": "d"})
    with world.db.read() as s:  # a project not found hands out no number
        assert dict(s.execute(select(Project.key, Project.last_story_number)).all()) == numbers
    assert world.audit_count() == before


def test_default_priority_comes_from_project_settings(world) -> None:
    world.project(world.alice, "Web", settings={"default_priority": "LOW"})
    assert world.story(world.bob, "web").priority == "LOW"
    assert world.story(world.bob, "web", priority="CRITICAL").priority == "CRITICAL"


BAD_STORIES = [
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"description": ""}, "description"),
    ({"description": None}, "description"),
    ({"story_points": 22}, "story_points"),
    ({"story_points": -1}, "story_points"),
    ({"story_points": "three"}, "story_points"),
    ({"story_points": 2.5}, "story_points"),
    ({"priority": "URGENT"}, "priority"),
    ({"status": "BLOCKED"}, "status"),
    ({"tags": ["x" * 51]}, "tags"),
    ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ({"tasks": ["t"] * 51}, "tasks"),
    ({"acceptance_criteria": ["c" * 501]}, "acceptance_criteria"),
    ({"title": "bad\x00title"}, "title"),
    ({"meta": {"x": "y" * 20_000}}, "meta"),
    ({"number": 7}, "number"),
]


def test_bad_story_input_is_refused_and_changes_nothing(world) -> None:
    world.project(world.alice, "Web")
    before = world.audit_count()
    for fields, field in BAD_STORIES:
        with pytest.raises(ValidationFailed) as exc:
            world.story(world.bob, "web", **fields)
        assert field in exc.value.field_errors, (fields, exc.value.field_errors)
        assert exc.value.message.endswith(".")
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) == 0
        assert projects.find_project(s, world.bob, "web").last_story_number == 0
    assert world.audit_count() == before


def test_input_model_accepts_lines_and_comma_tags() -> None:
    data = StoryInput.model_validate(
        {"title": "t", "description": "d", "tasks": "one\n\ntwo\n", "tags": "API, Web ui"}
    )
    assert data.tasks == ["one", "two"]
    assert data.tags == ["api", "web", "ui"]


def test_get_story_by_key_any_case(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    created = world.story(world.bob, "web")
    with world.db.read() as s:
        assert stories.get_story(s, world.carol, "web-1") == created
        assert stories.get_story(s, world.carol, created.id) == created
        with pytest.raises(NotFound, match="WEB-2"):
            stories.get_story(s, world.carol, "WEB-2")
        with pytest.raises(ValidationFailed, match="WEB-7"):
            stories.get_story(s, world.carol, "nonsense")


def test_numbers_are_never_reused_after_delete(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.story(world.bob, "web")
    second = world.story(world.bob, "web")
    with world.db.write() as s:
        stories.delete_story(s, world.bob, second.key)
    assert world.story(world.bob, "web").key == "WEB-3"


def test_update_validates_like_create_and_audits_the_diff(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.story(world.bob, "web", title="Old")
    with world.db.write() as s:
        updated = stories.update_story(
            s, world.carol, "WEB-1", {"title": " New ", "story_points": 8, "tags": ["A"]}
        )
    assert (updated.title, updated.story_points, updated.tags) == ("New", 8, ["a"])
    assert updated.updated_at >= updated.created_at
    assert world.audit_actions()[-1] == "story.update"
    before = world.audit_count()
    with world.db.write() as s:  # no actual change: no audit row
        stories.update_story(s, world.carol, "WEB-1", {"title": "New"})
    assert world.audit_count() == before
    for changes in [{"title": ""}, {"story_points": 99}, {"project_id": "x"}, {"number": 9}]:
        with pytest.raises(ValidationFailed), world.db.write() as s:
            stories.update_story(s, world.carol, "WEB-1", changes)
    with world.db.read() as s:
        assert stories.get_story(s, world.bob, "WEB-1").title == "New"
    assert world.audit_count() == before


def test_move_story(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.story(world.bob, "web")
    with world.db.write() as s:
        assert stories.move_story(s, world.carol, "WEB-1", "ready").status == "READY"
        assert stories.move_story(s, world.carol, "WEB-1", "In Progress").status == "IN_PROGRESS"
    with pytest.raises(ValidationFailed, match="DONE"), world.db.write() as s:
        stories.move_story(s, world.carol, "WEB-1", "FINISHED")
    assert world.audit_actions()[-2:] == ["story.move", "story.move"]


def test_a_move_keeps_the_story_the_session_holds_in_step(world) -> None:
    """A move writes with a plain update: a story the session already holds as an object
    (created, or read, in the same write) shows the new status, and the move is as read
    back."""
    world.project(world.alice, "Web", key="WEB")
    with world.db.write() as s:
        made = stories.create_story(s, world.bob, "web", {"title": "Log in", "description": "d"})
        held = s.get(UserStory, made.id)
        moved = stories.move_story(s, world.carol, "web-1", "done")
        assert (held.status, held.updated_at) == ("DONE", moved.updated_at)
        assert s.scalars(select(UserStory).where(UserStory.id == made.id)).one().status == "DONE"
    with world.db.read() as s:
        assert stories.get_story(s, world.carol, "WEB-1") == moved
    assert moved.updated_at > made.updated_at and moved.key == "WEB-1"


def test_a_story_deleted_between_its_read_and_its_move_is_not_moved(world) -> None:
    """On PostgreSQL another transaction can delete the story between the move's read and
    its update: the move then changes nothing, and writes no audit row and no change."""
    from storage.models import AuditLog, StoryChange

    world.project(world.alice, "Web", key="WEB")
    world.story(world.bob, "web")
    with pytest.raises(NotFound, match="WEB-1"), world.db.write() as s:
        found = stories.find_story_view(s, world.carol, "WEB-1")
        s.execute(delete(UserStory).where(UserStory.id == found.view.id))
        stories.move_found(s, world.carol, found, "DONE")
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) == 1
        assert s.scalar(select(func.count()).where(AuditLog.action == "story.move")) == 0
        assert s.scalar(select(func.count()).select_from(StoryChange)) == 0


def test_assign_creates_unseen_member_and_unassigns(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.story(world.bob, "web")
    with world.db.write() as s:
        assigned = stories.assign_story(s, world.bob, "WEB-1", "UNEWBIE")
    assert assigned.assignee_slack_id == "UNEWBIE"
    with world.db.read() as s:
        newbie = s.scalars(select(User).where(User.slack_user_id == "UNEWBIE")).one()
        assert (newbie.slack_team_id, newbie.role) == ("T1", "USER")
    with world.db.write() as s:
        assert stories.assign_story(s, world.bob, "WEB-1", None).assignee_slack_id is None
        stories.assign_story(s, world.bob, "WEB-1", "UCAROL")
        assert stories.assign_story(s, world.bob, "WEB-1", "").assignee_slack_id is None
    with pytest.raises(ValidationFailed), world.db.write() as s:
        stories.assign_story(s, world.bob, "WEB-1", "@bob")
    assert world.audit_actions().count("story.assign") == 4


def test_delete_takes_creator_project_owner_or_admin(world) -> None:
    world.project(world.carol, "Web", key="WEB")  # carol owns the project
    for _ in range(3):
        world.story(world.bob, "web")
    with world.db.write() as s:
        bob_view = stories.get_story(s, world.bob, "WEB-1")
    with world.db.write() as s:
        assert stories.delete_story(s, world.bob, "WEB-1") == bob_view  # creator
        stories.delete_story(s, world.carol, "WEB-2")  # project owner
    other = world.story(world.alice, "web")
    before = world.audit_count()
    with pytest.raises(PermissionDenied, match="creator"), world.db.write() as s:
        stories.delete_story(s, world.bob, other.key)
    assert world.audit_count() == before
    with world.db.read() as s:
        assert stories.get_story(s, world.bob, "WEB-4")
    with world.db.write() as s:
        stories.delete_story(s, world.alice, "WEB-3")  # admin
    assert world.audit_actions().count("story.delete") == 3
