"""story changes: one outbox row per change, fanned out to the channels by the card workers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A change used to write one card update per following channel inside its own transaction:
on SQLite's one writer that cost every change (BENCHMARKS.md section 6). Now it writes one
`story_changes` row, and the card workers, which give way while members wait, fan it out.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story_changes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("story_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor_slack_id", sa.String(32), nullable=True),
        sa.Column("details", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("assignee_slack_id", sa.String(32), nullable=True),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_changes")),
    )
    op.create_index("idx_story_changes_created", "story_changes", ["created_at"])


def downgrade() -> None:
    op.drop_index("idx_story_changes_created", table_name="story_changes")
    op.drop_table("story_changes")
