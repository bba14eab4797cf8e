"""The per-user limit on how many generations may be asked for in a minute."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.errors import DomainError
from storage.models import GenerationRequest, utcnow
from storage.users import Actor


class RateLimited(DomainError):
    """The user asked for too many generations in the last minute."""


def check_rate_limit(s: Session, actor: Actor, limit: int, *, now: datetime | None = None) -> None:
    """Refuse with RateLimited when the actor already asked `limit` times in the last minute."""
    now = now or utcnow()
    since = now - timedelta(minutes=1)
    rows = s.execute(
        select(GenerationRequest.created_at)
        .where(
            GenerationRequest.team_id == actor.team_id,
            GenerationRequest.user_id == actor.user_id,
            GenerationRequest.created_at > since,
        )
        .order_by(GenerationRequest.created_at)
    ).all()
    if len(rows) >= limit:
        oldest = rows[len(rows) - limit][0]
        wait = max(1, math.ceil((oldest + timedelta(minutes=1) - now).total_seconds()))
        raise RateLimited(
            f"You have asked for {len(rows)} generations in the last minute; the limit is "
            f"{limit} a minute. Try again in {wait} second{'s' if wait != 1 else ''}."
        )
