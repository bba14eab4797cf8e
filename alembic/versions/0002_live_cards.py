"""live story cards: channels follow projects; one card per story per channel; key expansion

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A channel's subscription to a project (with its filters), the card that shows each story
there, and the outbox of changes waiting to be delivered (written in the change's own
transaction, delivered once).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_subscriptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), server_default="", nullable=False),
        sa.Column("story_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("events", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("min_priority", sa.String(length=8), nullable=True),
        sa.Column("assignee_slack_id", sa.String(length=32), nullable=True),
        sa.Column("tag", sa.String(length=50), nullable=True),
        sa.Column("threads", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_live_subscriptions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_live_subscriptions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_subscriptions")),
        sa.UniqueConstraint(
            "project_id",
            "channel_id",
            "thread_ts",
            name=op.f("uq_live_subscriptions_project_id_channel_id_thread_ts"),
        ),
    )
    op.create_index(
        "idx_live_subscriptions_channel",
        "live_subscriptions",
        ["team_id", "channel_id"],
        unique=False,
    )
    op.create_table(
        "card_updates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("story_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_slack_id", sa.String(length=32), nullable=True),
        sa.Column("details", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("state", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'claimed', 'done', 'skipped')", name=op.f("ck_card_updates_state")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["live_subscriptions.id"],
            name=op.f("fk_card_updates_subscription_id_live_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_updates")),
    )
    op.create_index(
        "idx_card_updates_card",
        "card_updates",
        ["subscription_id", "story_id", "state"],
        unique=False,
    )
    op.create_index("idx_card_updates_due", "card_updates", ["state", "due_at"], unique=False)
    op.create_table(
        "story_cards",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("story_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("posting_since", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["live_subscriptions.id"],
            name=op.f("fk_story_cards_subscription_id_live_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_cards")),
        sa.UniqueConstraint(
            "subscription_id", "story_id", name=op.f("uq_story_cards_subscription_id_story_id")
        ),
    )
    op.create_table(
        "channel_expansions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("enabled_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enabled_by"],
            ["users.id"],
            name=op.f("fk_channel_expansions_enabled_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_expansions")),
        sa.UniqueConstraint(
            "team_id", "channel_id", name=op.f("uq_channel_expansions_team_id_channel_id")
        ),
    )
    op.create_table(
        "key_expansions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("story_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_expansions")),
        sa.UniqueConstraint(
            "channel_id",
            "thread_ts",
            "story_id",
            name=op.f("uq_key_expansions_channel_id_thread_ts_story_id"),
        ),
    )
    op.create_index("idx_key_expansions_created_at", "key_expansions", ["created_at"])


def downgrade() -> None:
    op.drop_index("idx_key_expansions_created_at", table_name="key_expansions")
    op.drop_table("key_expansions")
    op.drop_table("channel_expansions")
    op.drop_table("story_cards")
    op.drop_index("idx_card_updates_due", table_name="card_updates")
    op.drop_index("idx_card_updates_card", table_name="card_updates")
    op.drop_table("card_updates")
    op.drop_index("idx_live_subscriptions_channel", table_name="live_subscriptions")
    op.drop_table("live_subscriptions")
