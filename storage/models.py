"""SQLAlchemy models: the seed's six tables adapted to Slack, plus digests, run claims, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.fields import (
    DEFAULT_PRIORITY,
    DEFAULT_STATUS,
    MAX_POINTS,
    MIN_POINTS,
    PRIORITIES,
    PRIORITY_RANK,
    STATUSES,
)

ROLES = ("USER", "ADMIN")
GENERATION_STATUSES = ("PENDING", "PROCESSING", "COMPLETED", "FAILED")

# Rank used to order stories CRITICAL first, as the seed's list query does.
PRIORITY_RANK_SQL = (
    "CASE priority "
    + " ".join(f"WHEN '{p}' THEN {rank}" for p, rank in PRIORITY_RANK.items() if rank < 4)
    + " ELSE 4 END"
)

# The search structures of each dialect, made by raw SQL in the migrations and left out of
# these models and of autogenerate: SQLite's FTS5 table, its shadow tables and the stable key
# it points at (user_stories.search_key, idx_stories_search_key); PostgreSQL's tsvector
# column and its GIN index. A name starting with one of these is no drift.
SEARCH_OBJECTS = ("stories_fts", "search_vector", "search_key", "idx_stories_search")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A 32-character lowercase hex uuid, made in Python so both databases agree."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC (time-machine moves it in tests)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: one convention on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


Id = String(32)
# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class User(Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("slack_team_id", "slack_user_id"),
        UniqueConstraint("slack_team_id", "email"),
        CheckConstraint("role IN ('USER', 'ADMIN')", name="role"),
        Index("idx_users_email", "email"),
        Index("idx_users_role", "role"),
        Index("idx_users_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(8), default="USER", server_default="USER")
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    last_login: Mapped[datetime | None]


class Project(Timestamps, Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("team_id", "key"),
        UniqueConstraint("team_id", "name_folded"),
        UniqueConstraint("team_id", "channel_id"),
        Index("idx_projects_owner_id", "owner_id"),
        Index("idx_projects_name", "name"),
        Index("idx_projects_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    # casefold(name): the case-insensitive uniqueness key, kept by the domain layer
    name_folded: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    repository_url: Mapped[str | None] = mapped_column(String(500))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    channel_id: Mapped[str | None] = mapped_column(String(32))
    # last story number handed out; never decremented, so numbers are never reused
    last_story_number: Mapped[int] = mapped_column(default=0, server_default="0")


class ProjectVersion(Base):
    """A project's content version: a new random stamp with every change to its stories,
    written by triggers in the change's own transaction (migration 0007); none yet is 0.
    What a page kept in memory (bot/pages.py) was made at."""

    __tablename__ = "project_versions"

    project_id: Mapped[str] = mapped_column(Id, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class UserStory(Timestamps, Base):
    __tablename__ = "user_stories"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint(f"priority IN {PRIORITIES!r}", name="priority"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint(
            f"story_points >= {MIN_POINTS} AND story_points <= {MAX_POINTS}", name="story_points"
        ),
        Index("idx_stories_project_id", "project_id"),
        Index("idx_stories_created_by", "created_by"),
        # App Home: a member's assigned / created stories across projects, in the seed's order
        Index("idx_stories_assignee_page", "assignee_id", "priority_rank", "created_at", "id"),
        Index("idx_stories_creator_page", "created_by", "priority_rank", "created_at", "id"),
        Index("idx_stories_priority", "priority"),
        Index("idx_stories_status", "status"),
        Index("idx_stories_created_at", "created_at"),
        # `/story list` of all the workspace's projects, in the list's order (alembic 0006;
        # its prefix, team_id alone, was idx_stories_team_id)
        Index("idx_stories_team_page", "team_id", "priority_rank", "created_at", "id"),
        # (the seed's (project_id, status, priority) and (project_id, created_at) indexes are
        # gone: no list or show query is faster with them; BENCHMARKS.md section 7)
        # keyset pagination in the seed's order: priority rank, newest first, id tiebreak
        Index("idx_stories_page", "project_id", "priority_rank", "created_at", "id"),
        Index(
            "idx_stories_page_status", "project_id", "status", "priority_rank", "created_at", "id"
        ),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int]
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    acceptance_criteria: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    priority: Mapped[str] = mapped_column(
        String(8), default=DEFAULT_PRIORITY, server_default=DEFAULT_PRIORITY
    )
    priority_rank: Mapped[int] = mapped_column(Computed(PRIORITY_RANK_SQL, persisted=True))
    story_points: Mapped[int] = mapped_column(default=0, server_default="0")
    tasks: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    tags: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    status: Mapped[str] = mapped_column(
        String(12), default=DEFAULT_STATUS, server_default=DEFAULT_STATUS
    )
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict, server_default="{}")


class GenerationRequest(Base):
    __tablename__ = "generation_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED')", name="status"
        ),
        Index("idx_requests_user_id", "user_id"),
        Index("idx_requests_project_id", "project_id"),
        Index("idx_requests_status", "status"),
        Index("idx_requests_created_at", "created_at"),
        Index("idx_requests_team_user_created", "team_id", "user_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    request_data: Mapped[dict[str, Any]]
    response_data: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(12), default="PENDING", server_default="PENDING")
    processing_time: Mapped[float | None] = mapped_column(Float)
    ai_model: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    completed_at: Mapped[datetime | None]


class Session(Base):
    """Server-side conversation state behind an opaque token; only the token's hash is kept."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("idx_sessions_user_id", "user_id"),
        Index("idx_sessions_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    expires_at: Mapped[datetime]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_used: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("idx_audit_logs_user_id", "user_id"),
        Index("idx_audit_logs_action", "action"),
        Index("idx_audit_logs_resource_type", "resource_type"),
        Index("idx_audit_logs_created_at", "created_at"),
        Index("idx_audit_logs_team_created", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict, server_default="{}")
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class DigestSubscription(Timestamps, Base):
    """A channel's (or, with kind=personal, a user's DM) scheduled digest of a project."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "project_id"),
        CheckConstraint("frequency IN ('daily', 'weekly')", name="frequency"),
        CheckConstraint("kind IN ('channel', 'personal')", name="kind"),
        Index("idx_digests_active", "active"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8), default="channel", server_default="channel")
    channel_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    frequency: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    time_of_day: Mapped[str] = mapped_column(String(5), default="09:00", server_default="09:00")
    weekday: Mapped[int] = mapped_column(default=0, server_default="0")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    paused_reason: Mapped[str | None] = mapped_column(Text)
    last_sent_at: Mapped[datetime | None]


class SchedulerRun(Base):
    """A claimed scheduler slot: (job, scheduled time) is unique, so N replicas run it once."""

    __tablename__ = "scheduler_runs"
    __table_args__ = (UniqueConstraint("job_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(200))
    scheduled_for: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="RUNNING", server_default="RUNNING")
    detail: Mapped[str | None] = mapped_column(Text)


class ProcessedEvent(Base):
    """Slack Events API ids already handled, so retries are deduplicated, not dropped."""

    __tablename__ = "processed_events"
    __table_args__ = (Index("idx_processed_events_received_at", "received_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


LIVE_EVENTS = ("created", "moved", "assigned", "done", "deleted")
CARD_UPDATE_STATES = ("pending", "claimed", "done", "skipped")


class LiveSubscription(Timestamps, Base):
    """A channel following a project: its stories' changes shown there as they happen. With
    `thread_ts` (and `story_id`), a message's thread following the one story made from it."""

    __tablename__ = "live_subscriptions"
    __table_args__ = (
        UniqueConstraint("project_id", "channel_id", "thread_ts"),
        Index("idx_live_subscriptions_channel", "team_id", "channel_id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32), default="", server_default="")
    story_id: Mapped[str | None] = mapped_column(Id)  # a thread's story (no FK: kept if deleted)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # filters: which events, the lowest priority, one assignee, one tag
    events: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    min_priority: Mapped[str | None] = mapped_column(String(8))
    assignee_slack_id: Mapped[str | None] = mapped_column(String(32))
    tag: Mapped[str | None] = mapped_column(String(50))
    threads: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None]


class StoryCard(Base):
    """The one message that shows a story in a subscribed channel, updated in place.

    `claimed_by` is the delivery worker updating it now (one at a time, whatever the
    number of replicas); `posting_since` says a post was started but its ts not yet
    recorded, so a worker after a crash looks for the message before posting again."""

    __tablename__ = "story_cards"
    __table_args__ = (UniqueConstraint("subscription_id", "story_id"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("live_subscriptions.id", ondelete="CASCADE")
    )
    story_id: Mapped[str] = mapped_column(Id)  # no foreign key: a deleted story keeps its card
    channel_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    posting_since: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class StoryChange(Base):
    """The outbox's first half: one row per story change, written in the change's own
    transaction (cheap: no read of who follows the project). The card workers fan each out
    to the channels that follow its project (`CardUpdate` rows) and delete it, in one
    transaction; `priority`, `assignee_slack_id` and `tags` are the story as the change
    left it, which the channels' filters are matched against."""

    __tablename__ = "story_changes"
    __table_args__ = (Index("idx_story_changes_created", "created_at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))  # the project's workspace
    project_id: Mapped[str] = mapped_column(Id)  # no foreign keys: written on every change
    story_id: Mapped[str] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))
    actor_slack_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    priority: Mapped[str] = mapped_column(String(8))
    assignee_slack_id: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class CardUpdate(Base):
    """The outbox's second half: one row per story change per subscription it matched (fanned
    out from `StoryChange`), delivered once (changes due together become one update)."""

    __tablename__ = "card_updates"
    __table_args__ = (
        CheckConstraint(f"state IN {CARD_UPDATE_STATES!r}", name="state"),
        Index("idx_card_updates_due", "state", "due_at"),
        Index("idx_card_updates_card", "subscription_id", "story_id", "state"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("live_subscriptions.id", ondelete="CASCADE")
    )
    story_id: Mapped[str] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))  # created, moved, assigned, done, deleted, edited
    actor_slack_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    state: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    batch_id: Mapped[str | None] = mapped_column(Id)  # the delivery that took it
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    due_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ChannelExpansion(Base):
    """A channel where a story key in a message (WEB-7) gets the story's card in its thread."""

    __tablename__ = "channel_expansions"
    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    enabled_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class KeyExpansion(Base):
    """A story's card already shown in a thread for its key: once per key per thread."""

    __tablename__ = "key_expansions"
    __table_args__ = (
        UniqueConstraint("channel_id", "thread_ts", "story_id"),
        Index("idx_key_expansions_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    story_id: Mapped[str] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


# Slack's own OAuth tables, from slack_sdk's stores, so one migration creates everything.
SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")
