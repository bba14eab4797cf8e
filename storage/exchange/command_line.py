"""Who `autodevhub export` and `import` act as: the one workspace holding the project key
(the database may serve many), and its owner or the member named with --as."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.errors import NotFound, ValidationFailed
from storage.models import Project, User
from storage.users import Actor, actor_of


def command_line_actor(
    s: Session, project_key: str, *, team_id: str | None = None, slack_user_id: str | None = None
) -> Actor:
    """The member a command-line export or import of `project_key` acts as: `slack_user_id`
    of the project's workspace when given, else the project's owner (a CSV import in Jira
    files the issues as the importer's). A key that several workspaces use needs `team_id`."""
    key = (project_key or "").strip().upper()
    query = select(Project.team_id, Project.owner_id).where(Project.key == key)
    if team_id:
        query = query.where(Project.team_id == team_id)
    found = s.execute(query.order_by(Project.team_id)).all()
    where = f" in workspace {team_id}" if team_id else " in this database"
    if not found:
        raise NotFound(f"No project {key or '(none named)'}{where}.")
    if len(found) > 1:
        teams = ", ".join(team for team, _ in found)
        raise ValidationFailed(
            f"Several workspaces have a project {key} ({teams}); say which with --team."
        )
    team, owner_id = found[0]
    if slack_user_id:
        user = s.scalars(
            select(User).where(User.slack_team_id == team, User.slack_user_id == slack_user_id)
        ).one_or_none()
        if user is None:
            raise NotFound(f"No member {slack_user_id} in workspace {team}, which holds {key}.")
    else:
        user = s.get(User, owner_id)
        if user is None:  # the owner is a foreign key: only a damaged database gets here
            raise NotFound(f"Project {key} has no owner; say who acts with --as.")
    return actor_of(user)
