"""the page index of a workspace: `/story list` of all projects walks one index per rank

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

`/story list` with no project names every project of the workspace: one query per priority
rank, `team_id = ? AND priority_rank = ? ORDER BY created_at DESC, id DESC LIMIT ?`. With
team_id indexed alone, SQLite walked idx_stories_page project by project and sorted every
story of the rank: 9 ms at 100,000 stories, 18 ms at 149,000, growing with the workspace
(BENCHMARKS.md section 7). idx_stories_team_page (team_id, priority_rank, created_at, id) is
that order, as idx_stories_page is a project's: a backward walk that stops at the page.
idx_stories_team_id (team_id alone) is its prefix, so it goes: every query that filtered on
team_id can walk the new index instead, and a write updates one index, as before.

On SQLite a database that has been ANALYZEd keeps its statistics, but a new index has none,
and the planner's guess for an index without them (a few rows a key) made it walk the new
index for every query filtering on team_id: App Home's lists, search's views, the activity
count, a personal digest and story expansion read the whole workspace instead of the
member's or the project's stories, until the next ANALYZE. So the new index is analyzed here
when the database has statistics (one pass over the index); on PostgreSQL the planner reads
the columns' statistics, which exist already.
"""

from collections.abc import Sequence

from sqlalchemy import text

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _analyze_if_analyzed(index: str) -> None:
    """SQLite: give the index its statistics if the database has any (DROP INDEX took the
    replaced one's with it)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    analyzed = bind.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"))
    if analyzed.first() is not None:
        op.execute(f"ANALYZE {index}")


def upgrade() -> None:
    op.create_index(
        "idx_stories_team_page",
        "user_stories",
        ["team_id", "priority_rank", "created_at", "id"],
    )
    op.drop_index("idx_stories_team_id", table_name="user_stories")
    _analyze_if_analyzed("idx_stories_team_page")


def downgrade() -> None:
    op.create_index("idx_stories_team_id", "user_stories", ["team_id"])
    op.drop_index("idx_stories_team_page", table_name="user_stories")
    _analyze_if_analyzed("idx_stories_team_id")
