"""a project's content version: every change to its stories gives it a new one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

`/story list` of a project is answered from a page kept in memory (bot/pages.py) while the
project's content version is the one the page was made at, so a repeated list costs two
indexed reads instead of its stories' queries and their Block Kit (issue 14). For that to be
never stale, the version must change in the same transaction as every change to the
project's stories, whoever makes it: the app's writes, an import's executemany, a restore's
row copy or an operator's SQL. Triggers on user_stories do it, not the domain code.

The version is a random 62-bit stamp, not a counter: a counter can come back to a value it
had before (a restore takes the versions back to the backup's and later writes count up
again), and the page kept for that value would be served for other stories. A stamp names
one state of the project's stories; it comes back only with the same rows.

The versions live in their own table, `project_versions` (a project without a row has
version 0), not in a column of projects: every story change rewrites its project's version,
and on PostgreSQL each rewrite leaves a dead row version behind until vacuumed; in projects
that bloat changed the planner's join plans of the list queries (tests/storage/
test_query_plans.py caught `list mine` leaving the assignee index). No foreign key: a
project's deletion deletes its stories, whose triggers write its version once more; the
row left is 40 bytes.

SQLite: row-level triggers (it has no statement-level ones); a new story's version is
written twice (the search index's insert trigger updates the row it indexes), so an import
of 10,000 stories writes the version 20,000 times in its transaction, a few milliseconds.
PostgreSQL: statement-level triggers with transition tables, one upsert per statement, in
project order. On PostgreSQL a version row's lock is held to the end of the transaction, so
concurrent changes to one project's stories now queue for it (moves, edits and assignments
included; before, only creates did, for the project's next number), and a long import holds
off the moves in its project until it commits. Statements that change stories of several
projects lock their versions in project order; two transactions each changing stories of
two projects in opposite orders can still deadlock, as they could on the stories' rows.
A project's pages are kept only from version stamps; 0 (none yet) is never kept, and the
upgrade gives every existing project a stamp.

Note for later revisions, as 0005's: a batch (copy-and-move) migration of user_stories on
SQLite drops these triggers; recreate them with this revision's create_triggers().
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# random() is a signed 64-bit number: the mask keeps 62 bits of it, as PostgreSQL's below
STAMP = "random() & 4611686018427387903"
BUMP = "INSERT OR REPLACE INTO project_versions (project_id, version)"
SQLITE_TRIGGERS = {
    "project_version_ai": f"""AFTER INSERT ON user_stories BEGIN
        {BUMP} VALUES (new.project_id, {STAMP});
    END""",
    "project_version_au": f"""AFTER UPDATE ON user_stories BEGIN
        {BUMP} VALUES (new.project_id, {STAMP});
        {BUMP} SELECT old.project_id, {STAMP} WHERE old.project_id IS NOT new.project_id;
    END""",
    "project_version_ad": f"""AFTER DELETE ON user_stories BEGIN
        {BUMP} VALUES (old.project_id, {STAMP});
    END""",
}

PG_STAMP = "floor(random() * 4611686018427387903)::bigint"
# the transition tables a statement-level trigger sees (each only those its event has)
PG_UPSERT = """
        INSERT INTO project_versions (project_id, version)
        SELECT project_id, floor(random() * 4611686018427387903)::bigint
        FROM (SELECT DISTINCT project_id FROM {rows}) AS changed_projects
        ORDER BY project_id
        ON CONFLICT (project_id) DO UPDATE SET version = EXCLUDED.version;"""
POSTGRES_FUNCTION = f"""
CREATE FUNCTION bump_project_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{PG_UPSERT.format(rows="changed_new")}
    ELSIF TG_OP = 'UPDATE' THEN{PG_UPSERT.format(rows="(SELECT project_id FROM changed_new UNION ALL SELECT project_id FROM changed_old) AS c")}
    ELSE{PG_UPSERT.format(rows="changed_old")}
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGERS = {
    "project_version_ai": "AFTER INSERT ON user_stories REFERENCING NEW TABLE AS changed_new",
    "project_version_au": (
        "AFTER UPDATE ON user_stories REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new"
    ),
    "project_version_ad": "AFTER DELETE ON user_stories REFERENCING OLD TABLE AS changed_old",
}
TRIGGERS = tuple(SQLITE_TRIGGERS)


def create_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        return
    op.execute(POSTGRES_FUNCTION)
    for name, when in POSTGRES_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT "
            "EXECUTE FUNCTION bump_project_version()"
        )


def drop_triggers() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON user_stories"))
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS bump_project_version()")


def upgrade() -> None:
    op.create_table(
        "project_versions",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_versions")),
    )
    # every project a stamp of its own now: 0 ("no version yet") is never kept (bot/pages.py)
    stamp = STAMP if op.get_bind().dialect.name == "sqlite" else PG_STAMP
    op.execute(
        f"INSERT INTO project_versions (project_id, version) SELECT id, {stamp} FROM projects"
    )
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    op.drop_table("project_versions")
