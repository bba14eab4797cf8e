"""Test data for scheduler, backup and digest tests, written straight through the models."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.models import AuditLog, Project, User, UserStory, new_id, utcnow


def make_user(
    db: Database,
    team: str = "T1",
    slack_user_id: str = "U1",
    *,
    role: str = "USER",
    name: str | None = None,
) -> str:
    with db.write() as s:
        user = User(
            slack_team_id=team,
            slack_user_id=slack_user_id,
            role=role,
            display_name=name or slack_user_id,
        )
        s.add(user)
        s.flush()
        return user.id


def make_project(
    db: Database,
    owner_id: str,
    *,
    team: str = "T1",
    key: str = "WEB",
    name: str | None = None,
    channel_id: str | None = None,
) -> str:
    with db.write() as s:
        project = Project(
            team_id=team,
            key=key,
            name=name or key.lower(),
            name_folded=(name or key.lower()).casefold(),
            owner_id=owner_id,
            channel_id=channel_id,
        )
        s.add(project)
        s.flush()
        return project.id


def make_story(
    db: Database,
    project_id: str,
    *,
    title: str = "A story",
    team: str = "T1",
    created_by: str | None = None,
    assignee_id: str | None = None,
    priority: str = "MEDIUM",
    status: str = "DRAFT",
    points: int = 1,
    at: datetime | None = None,
) -> str:
    """Insert a story with the project's next number (as the domain layer would)."""
    when = at or utcnow()
    with db.write() as s:
        project = s.get(Project, project_id)
        project.last_story_number += 1
        story = UserStory(
            id=new_id(),
            team_id=team,
            project_id=project_id,
            number=project.last_story_number,
            title=title,
            description=title,
            created_by=created_by,
            assignee_id=assignee_id,
            priority=priority,
            status=status,
            story_points=points,
            created_at=when,
            updated_at=when,
        )
        s.add(story)
        s.add(
            AuditLog(
                team_id=team,
                user_id=created_by,
                action="story.create",
                resource_type="story",
                resource_id=story.id,
                details={"key": f"{project.key}-{story.number}"},
                created_at=when,
            )
        )
        return story.id


def move(
    db: Database,
    story_id: str,
    status: str,
    *,
    by: str | None,
    team: str = "T1",
    at: datetime | None = None,
) -> None:
    """Move a story and write the audit row the way storage.stories.move_story does."""
    when = at or utcnow()
    with db.write() as s:
        story = s.get(UserStory, story_id)
        before = story.status
        story.status = status
        story.updated_at = when
        s.add(
            AuditLog(
                team_id=team,
                user_id=by,
                action="story.move",
                resource_type="story",
                resource_id=story_id,
                details={"from": before, "to": status},
                created_at=when,
            )
        )
