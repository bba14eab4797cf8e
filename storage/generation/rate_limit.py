"""The per-user limit on how many generations may be asked for in a minute."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.errors import DomainError
from storage.models import GenerationRequest, utcnow
from storage.users import Actor


class RateLimited(DomainError):
    """The user asked for too many generations in the last minute."""


# built once: every generation asked checks it while SQLite's writer is held
_ASKED_SINCE = (
    select(GenerationRequest.created_at)
    .where(
        GenerationRequest.team_id == bindparam("team_id"),
        GenerationRequest.user_id == bindparam("user_id"),
        GenerationRequest.created_at > bindparam("since"),
    )
    .order_by(GenerationRequest.created_at)
)


def check_rate_limit(s: Session, actor: Actor, limit: int, *, now: datetime | None = None) -> None:
    """Refuse with RateLimited when the actor already asked `limit` times in the last minute."""
    now = now or utcnow()
    since = now - timedelta(minutes=1)
    rows = s.execute(
        _ASKED_SINCE, {"team_id": actor.team_id, "user_id": actor.user_id, "since": since}
    ).all()
    if len(rows) >= limit:
        oldest = rows[len(rows) - limit][0]
        wait = max(1, math.ceil((oldest + timedelta(minutes=1) - now).total_seconds()))
        raise RateLimited(
            f"You have asked for {len(rows)} generations in the last minute; the limit is "
            f"{limit} a minute. Try again in {wait} second{'s' if wait != 1 else ''}."
        )
