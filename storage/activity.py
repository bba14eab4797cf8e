"""A member's activity, as the seed reports it: stories and AI requests this week, last story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import GenerationRequest, User, UserStory, utcnow
from storage.users import Actor
from storage.validation import check_slack_id

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Activity:
    stories_this_week: int
    requests_this_week: int
    last_story_created: datetime | None


def user_activity(
    s: Session, actor: Actor, slack_user_id: str | None = None, *, now: datetime | None = None
) -> Activity:
    """Activity of the actor, or of another member of the actor's workspace.

    Counted separately (the seed's single LEFT JOIN multiplies stories by requests).
    """
    now = now or utcnow()
    since = now - WEEK
    if slack_user_id is None:
        user_id: str | None = actor.user_id
    else:
        check_slack_id(slack_user_id)
        user_id = s.scalar(
            select(User.id).where(
                User.slack_team_id == actor.team_id, User.slack_user_id == slack_user_id
            )
        )
    if user_id is None:
        return Activity(0, 0, None)
    mine = (UserStory.team_id == actor.team_id, UserStory.created_by == user_id)
    stories, last = s.execute(
        select(
            func.count().filter(UserStory.created_at > since), func.max(UserStory.created_at)
        ).where(*mine)
    ).one()
    requests = s.scalar(
        select(func.count()).where(
            GenerationRequest.team_id == actor.team_id,
            GenerationRequest.user_id == user_id,
            GenerationRequest.created_at > since,
        )
    )
    if isinstance(last, str):  # SQLite returns MAX() of a datetime column as text
        last = UserStory.created_at.type.process_result_value(datetime.fromisoformat(last), None)
    return Activity(int(stories or 0), int(requests or 0), last)
