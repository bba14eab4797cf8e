"""a stable search key: the SQLite search index no longer points at implicit rowids

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

user_stories keeps its text primary key, so its rowids are implicit, and SQLite may renumber
those (VACUUM is allowed to; a copy-and-move batch migration or a `.dump` reload does). The
FTS5 index is keyed by them, so a renumbering silently points search at the wrong stories.

SQLite only: user_stories gains `search_key INTEGER NOT NULL` with a UNIQUE index, filled from
each story's current rowid (same numbering, so search results do not change), and the index
is recreated with content_rowid='search_key'. A new row arrives with the default 0 and the
insert trigger gives it max(search_key) + 1 before indexing it (per row, so one executemany
or a multi-row INSERT gets distinct keys; the max is read from the unique index). Rows
copied with their key (restore) keep it. The key never changes after that: the update
trigger follows title and description only.

PostgreSQL searches a tsvector column of each row and needs no key: nothing changes there.
Like search_vector on PostgreSQL, search_key is a search structure made by raw SQL for one
dialect and kept out of the models and of autogenerate (alembic/env.py).

Note for later revisions: a batch (copy-and-move) migration of user_stories on SQLite drops
the FTS triggers; recreate them with this revision's create_search() after such a step.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("stories_fts_ai", "stories_fts_ad", "stories_fts_au")

KEYED_SEARCH = [
    """CREATE VIRTUAL TABLE stories_fts USING fts5(
        title, description,
        content='user_stories', content_rowid='search_key',
        tokenize='porter unicode61 remove_diacritics 2')""",
    # 0 is "no key yet": give the row the next key, then index it under that key
    """CREATE TRIGGER stories_fts_ai AFTER INSERT ON user_stories BEGIN
        UPDATE user_stories
        SET search_key = (SELECT coalesce(max(search_key), 0) + 1 FROM user_stories)
        WHERE rowid = new.rowid AND search_key = 0;
        INSERT INTO stories_fts(rowid, title, description)
        SELECT search_key, title, description FROM user_stories WHERE rowid = new.rowid;
    END""",
    """CREATE TRIGGER stories_fts_ad AFTER DELETE ON user_stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, description)
        VALUES ('delete', old.search_key, old.title, old.description);
    END""",
    """CREATE TRIGGER stories_fts_au AFTER UPDATE OF title, description ON user_stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, description)
        VALUES ('delete', old.search_key, old.title, old.description);
        INSERT INTO stories_fts(rowid, title, description)
        VALUES (new.search_key, new.title, new.description);
    END""",
    "INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')",
]

# 0001's shape, for the downgrade
ROWID_SEARCH = [
    """CREATE VIRTUAL TABLE stories_fts USING fts5(
        title, description,
        content='user_stories', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER stories_fts_ai AFTER INSERT ON user_stories BEGIN
        INSERT INTO stories_fts(rowid, title, description)
        VALUES (new.rowid, new.title, new.description);
    END""",
    """CREATE TRIGGER stories_fts_ad AFTER DELETE ON user_stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    END""",
    """CREATE TRIGGER stories_fts_au AFTER UPDATE OF title, description ON user_stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
        INSERT INTO stories_fts(rowid, title, description)
        VALUES (new.rowid, new.title, new.description);
    END""",
    "INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def drop_search() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS stories_fts")


def create_search() -> None:
    """SQLite: the FTS5 index keyed by search_key, and its sync triggers (rebuilt once)."""
    for statement in KEYED_SEARCH:
        op.execute(statement)


def upgrade() -> None:
    if not _sqlite():
        return
    drop_search()
    op.execute("ALTER TABLE user_stories ADD COLUMN search_key INTEGER NOT NULL DEFAULT 0")
    op.execute("UPDATE user_stories SET search_key = rowid")
    op.execute("CREATE UNIQUE INDEX idx_stories_search_key ON user_stories (search_key)")
    create_search()


def downgrade() -> None:
    if not _sqlite():
        return
    drop_search()
    op.execute("DROP INDEX idx_stories_search_key")
    op.execute("ALTER TABLE user_stories DROP COLUMN search_key")
    for statement in ROWID_SEARCH:
        op.execute(statement)
