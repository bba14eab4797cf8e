"""Server-side conversation state behind opaque tokens; only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session as DbSession

from storage.errors import NotFound, ValidationFailed
from storage.models import Session, utcnow
from storage.users import Actor

MAX_DATA_BYTES = 64_000
MAX_TTL = timedelta(days=30)
GONE = "That conversation has expired; please start again."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("Session data must be a set of named values.")
    try:
        size = len(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError):
        raise ValidationFailed("Session data must be plain JSON data.") from None
    if size > MAX_DATA_BYTES:
        raise ValidationFailed(f"Session data must be at most {MAX_DATA_BYTES} bytes.")
    return data


def _check_kind(kind: Any) -> str:
    if not isinstance(kind, str) or not 1 <= len(kind) <= 32:
        raise ValidationFailed("A session kind is a name of 1 to 32 characters.")
    return kind


def create_session(
    s: DbSession,
    actor: Actor,
    kind: str,
    data: dict[str, Any],
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> str:
    """Store `data` for the actor and return the opaque token that finds it again."""
    _check_kind(kind)
    _check_data(data)
    if not isinstance(ttl, timedelta) or not timedelta(0) < ttl <= MAX_TTL:
        raise ValidationFailed("A session lives more than 0 seconds and at most 30 days.")
    now = now or utcnow()
    token = secrets.token_urlsafe(24)
    s.add(
        Session(
            team_id=actor.team_id,
            user_id=actor.user_id,
            token_hash=token_hash(token),
            kind=kind,
            data=data,
            expires_at=now + ttl,
            created_at=now,
            last_used=now,
        )
    )
    s.flush()
    return token


def _find(
    s: DbSession, actor: Actor, token: str, kind: str | None, now: datetime | None
) -> Session:
    if not isinstance(token, str) or not token or len(token) > 200:
        raise NotFound(GONE)
    query = select(Session).where(
        Session.token_hash == token_hash(token),
        Session.team_id == actor.team_id,
        Session.user_id == actor.user_id,
        Session.expires_at > (now or utcnow()),
    )
    if kind is not None:
        query = query.where(Session.kind == kind)
    found = s.scalars(query).one_or_none()
    if found is None:
        raise NotFound(GONE)
    return found


def load_session(
    s: DbSession, actor: Actor, token: str, kind: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The data behind a live token of this actor and kind (NotFound otherwise)."""
    return dict(_find(s, actor, token, kind, now).data or {})


def update_session(
    s: DbSession,
    actor: Actor,
    token: str,
    data: dict[str, Any],
    *,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> None:
    """Replace the data behind a live token (optionally extending its life by `ttl`)."""
    _check_data(data)
    found = _find(s, actor, token, None, now)
    now = now or utcnow()
    found.data = data
    found.last_used = now
    if ttl is not None:
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValidationFailed("A session lives more than 0 seconds and at most 30 days.")
        found.expires_at = now + ttl
    s.flush()


_SESSIONS = Session.__table__
# built once (a modal's submission spends its token on the hot path of every form)
_TAKE = (
    _SESSIONS.delete()
    .where(
        _SESSIONS.c.token_hash == bindparam("token_hash"),
        _SESSIONS.c.team_id == bindparam("team_id"),
        _SESSIONS.c.user_id == bindparam("user_id"),
        _SESSIONS.c.kind == bindparam("kind"),
        _SESSIONS.c.expires_at > bindparam("now"),
    )
    .returning(_SESSIONS.c.data)
)


def take_session(
    s: DbSession, actor: Actor, token: str, kind: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The data behind a live token of this actor and kind, and the token spent with the
    transaction, in one statement (NotFound, and nothing spent, otherwise). A Core DELETE:
    a Session row loaded into `s` before is not told it is gone (take the token first)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise NotFound(GONE)
    params = {
        "token_hash": token_hash(token),
        "team_id": actor.team_id,
        "user_id": actor.user_id,
        "kind": kind,
        "now": now or utcnow(),
    }
    taken = s.execute(_TAKE, params).all()
    if not taken:
        raise NotFound(GONE)
    return dict(taken[0].data or {})


def delete_session(s: DbSession, actor: Actor, token: str) -> None:
    """Forget a token of this actor (nothing happens when it is already gone)."""
    if isinstance(token, str) and token:
        s.execute(
            delete(Session).where(
                Session.token_hash == token_hash(token),
                Session.team_id == actor.team_id,
                Session.user_id == actor.user_id,
            )
        )


def cleanup_expired(s: DbSession, now: datetime | None = None) -> int:
    """Delete every expired session of every workspace; returns how many went."""
    result = s.execute(delete(Session).where(Session.expires_at <= (now or utcnow())))
    return int(result.rowcount or 0)
