"""Activity counts and the audit log: one row per change, admins read it, per workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import stories
from storage.activity import user_activity
from storage.audit import list_audit
from storage.errors import PermissionDenied, ValidationFailed
from storage.models import GenerationRequest, utcnow


def test_activity_this_week(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    world.story(world.bob, "web")
    last = world.story(world.bob, "web")
    world.story(world.carol, "web")
    with world.db.write() as s:
        for _ in range(3):
            s.add(GenerationRequest(team_id="T1", user_id=world.bob.user_id, request_data={}))
    with world.db.read() as s:
        mine = user_activity(s, world.bob)
        assert (mine.stories_this_week, mine.requests_this_week) == (2, 3)
        assert mine.last_story_created == last.created_at
        assert user_activity(s, world.alice, "UBOB") == mine
        assert user_activity(s, world.eve, "UBOB") == user_activity(s, world.eve, "UNOBODY")
        assert user_activity(s, world.eve, "UBOB").stories_this_week == 0
        later = user_activity(s, world.bob, now=utcnow() + timedelta(days=8))
        assert (later.stories_this_week, later.requests_this_week) == (0, 0)
        assert later.last_story_created == last.created_at


def test_every_change_is_audited_with_details(world) -> None:
    world.project(world.bob, "Web", key="WEB")
    world.story(world.bob, "web", title="One")
    with world.db.write() as s:
        stories.update_story(s, world.carol, "WEB-1", {"title": "Two"})
        stories.move_story(s, world.carol, "WEB-1", "DONE")
        stories.assign_story(s, world.carol, "WEB-1", "UBOB")
        stories.delete_story(s, world.bob, "WEB-1")
    with world.db.read() as s:
        entries = list_audit(s, world.alice, limit=6)
    assert [e.action for e in entries] == [
        "story.delete",
        "story.assign",
        "story.move",
        "story.update",
        "story.create",
        "project.create",
    ]
    update = entries[3]
    assert update.actor_slack_id == "UCAROL" and update.resource_type == "story"
    assert update.details["changes"]["title"] == {"from": "One", "to": "Two"}
    assert entries[2].details == {"key": "WEB-1", "from": "DRAFT", "to": "DONE"}


def test_audit_log_is_for_admins_of_the_workspace(world) -> None:
    world.project(world.bob, "Web")
    with world.db.read() as s:
        with pytest.raises(PermissionDenied):
            list_audit(s, world.bob)
        assert all(e.action.startswith("user.") for e in list_audit(s, world.eve, limit=100))
        with pytest.raises(ValidationFailed):
            list_audit(s, world.alice, limit=0)
