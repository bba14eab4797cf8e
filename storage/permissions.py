"""The one place that decides who may do what: admins, project owners, story creators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.errors import PermissionDenied

if TYPE_CHECKING:
    from storage.models import Project, UserStory
    from storage.users import Actor


def can_edit_project(actor: Actor, project: Project) -> bool:
    """Editing, linking or deleting a project takes its owner or a workspace admin."""
    return actor.is_admin or project.owner_id == actor.user_id


def can_delete_story(actor: Actor, story: UserStory, project: Project) -> bool:
    """Deleting a story takes its creator, the project's owner or a workspace admin."""
    return (
        actor.is_admin
        or (story.created_by is not None and story.created_by == actor.user_id)
        or project.owner_id == actor.user_id
    )


def can_edit_story(actor: Actor, story: UserStory) -> bool:
    """Anyone in the workspace creates and edits stories."""
    return story.team_id == actor.team_id


def require_admin(actor: Actor, doing: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"Only a workspace admin can {doing}.")


def require_project_editor(actor: Actor, project: Project, doing: str = "edit") -> None:
    if not can_edit_project(actor, project):
        raise PermissionDenied(
            f"Only the owner of project '{project.name}' or a workspace admin can {doing} it."
        )


def require_story_deleter(actor: Actor, story: UserStory, project: Project) -> None:
    if not can_delete_story(actor, story, project):
        raise PermissionDenied(
            f"Only the story's creator, the owner of project '{project.name}' or a workspace "
            f"admin can delete {project.key}-{story.number}."
        )
