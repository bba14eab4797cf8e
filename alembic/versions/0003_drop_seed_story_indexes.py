"""drop the seed's two story indexes that no query prefers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

The seed asked for (project_id, status, priority) and (project_id, created_at) covering the
list columns. Our keyset indexes (idx_stories_page, idx_stories_page_status) serve every
`/story list` and `/story show` as fast or faster on both databases, and the seed's two
appear in no plan but one PostgreSQL plan that idx_stories_project_id serves as fast
(BENCHMARKS.md section 7). Every story write paid for them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("idx_stories_project_status_priority", table_name="user_stories")
    op.drop_index("idx_stories_list", table_name="user_stories")


def downgrade() -> None:
    op.create_index(
        "idx_stories_list",
        "user_stories",
        ["project_id", "created_at"],
        postgresql_include=["title", "priority", "status", "story_points"],
    )
    op.create_index(
        "idx_stories_project_status_priority",
        "user_stories",
        ["project_id", "status", "priority"],
    )
