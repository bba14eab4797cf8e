"""The audit trail: one row per change, written in the same transaction as the change."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from storage.errors import ValidationFailed
from storage.models import AuditLog, Project, User, utcnow
from storage.permissions import require_admin

if TYPE_CHECKING:
    from storage.users import Actor

MAX_TEXT_IN_DETAILS = 300
_AUDIT = AuditLog.__table__.c
_ENTRY = insert(AuditLog.__table__).values(
    {
        _AUDIT.team_id: bindparam("team_id"),
        _AUDIT.user_id: bindparam("user_id"),
        _AUDIT.action: bindparam("action"),
        _AUDIT.resource_type: bindparam("resource_type"),
        _AUDIT.resource_id: bindparam("resource_id"),
        _AUDIT.metadata: bindparam("details", type_=_AUDIT.metadata.type),
        _AUDIT.created_at: bindparam("created_at", type_=_AUDIT.created_at.type),
    }
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    action: str
    resource_type: str
    resource_id: str | None
    details: dict[str, Any]
    actor_slack_id: str | None
    created_at: datetime
    subject: str = ""  # what it is about, as people name it: WEB-7, WEB, @maria, #C123


def jsonable(value: Any) -> Any:
    """Details as JSON: datetimes as ISO strings, long text shortened."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, str) and len(value) > MAX_TEXT_IN_DETAILS:
        return value[:MAX_TEXT_IN_DETAILS] + "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    s: Session,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write the audit row for a change made by `actor`, after the change (flushed first).

    One prebuilt insert, not an ORM object and a flush: every change writes one while it
    holds the writer, and the unit of work cost more than the insert (bench.ready_move)."""
    s.flush()
    s.connection().execute(
        _ENTRY,
        {
            "team_id": actor.team_id,
            "user_id": actor.user_id,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "details": jsonable(details or {}),
            "created_at": utcnow(),
        },
    )


def list_audit(s: Session, actor: Actor, limit: int = 20) -> list[AuditEntry]:
    """The workspace's latest changes, newest first (admins only)."""
    require_admin(actor, "read the audit log")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise ValidationFailed("The number of audit entries must be between 1 and 100.")
    rows = s.execute(
        select(AuditLog, User.slack_user_id)
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.team_id == actor.team_id)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
    ).all()
    # a project's current key, for entries that carry only its id (an edit, a link)
    project_ids = {row.resource_id for row, _ in rows if row.resource_type == "project"}
    keys = dict(
        s.execute(
            select(Project.id, Project.key).where(
                Project.team_id == actor.team_id, Project.id.in_(project_ids)
            )
        ).all()
        if project_ids
        else []
    )
    return [
        AuditEntry(
            id=row.id,
            action=row.action,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            details=dict(row.details or {}),
            actor_slack_id=slack_id,
            created_at=row.created_at,
            subject=_subject(row.resource_type, row.resource_id, row.details or {}, keys),
        )
        for row, slack_id in rows
    ]


def _subject(kind: str, resource_id: str | None, details: dict[str, Any], keys: dict) -> str:
    """What a change was about, by the name people use (never a row's internal id)."""
    named: Any = None
    if kind == "story":
        named = details.get("key")
    elif kind == "project":
        named = keys.get(resource_id) or details.get("key") or details.get("name")
    elif kind == "user":
        named = f"@{details['slack_user_id']}" if details.get("slack_user_id") else None
    elif kind == "channel":
        named = f"#{resource_id}" if resource_id else None
    elif kind in ("generation_request", "subscription", "digest"):
        named = details.get("project") or ("personal" if details.get("personal") else None)
    if isinstance(named, str) and named:
        return named
    return f"a {kind.replace('_', ' ')}"
