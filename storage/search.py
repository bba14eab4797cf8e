"""Ranked full-text search of a workspace's stories: FTS5 on SQLite, tsvector on PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from storage.errors import ValidationFailed
from storage.projects import find_project
from storage.stories import StoryView, story_views
from storage.users import Actor

MAX_WORDS = 32
MAX_RESULTS = 100
WORD = re.compile(r"\w+")

# Ranking is bounded: bm25/ts_rank are computed for the newest CANDIDATES matches only, not
# every match. A common word matches a third of a big backlog (300,000 rows at 1M stories);
# ranking them all took 1.4 s on SQLite and ~1 s on PostgreSQL. The newest 1,000 matches are
# found in index order (FTS5 rowid order, the created_at index on PostgreSQL) and stop early.
# The FTS5 rowid is user_stories.search_key (alembic 0005): stable, given in insertion order.
# A word with fewer matches than that is ranked exactly as before.
CANDIDATES = 1000

SQLITE_SEARCH = """
SELECT id FROM (
    SELECT us.id AS id, us.created_at AS created_at, bm25(stories_fts, 2.5, 1.0) AS score
    FROM stories_fts
    JOIN user_stories AS us ON us.search_key = stories_fts.rowid
    WHERE stories_fts MATCH :query AND us.team_id = :team_id {project_filter}
    ORDER BY stories_fts.rowid DESC
    LIMIT :candidates
)
ORDER BY score, created_at DESC, id DESC
LIMIT :limit
"""

POSTGRES_SEARCH = """
SELECT id FROM (
    SELECT us.id, us.created_at, ts_rank_cd(us.search_vector, query) AS score
    FROM user_stories AS us, websearch_to_tsquery('english', :query) AS query
    WHERE us.search_vector @@ query AND us.team_id = :team_id {project_filter}
    ORDER BY us.created_at DESC
    LIMIT :candidates
) AS candidates
ORDER BY score DESC, created_at DESC, id DESC
LIMIT :limit
"""


# built once (with and without a project), as the hot paths' statements are
STATEMENTS = {
    (dialect, in_project): sql_text(
        sql.format(project_filter="AND us.project_id = :project_id" if in_project else "")
    )
    for dialect, sql in (("sqlite", SQLITE_SEARCH), ("postgresql", POSTGRES_SEARCH))
    for in_project in (False, True)
}
FORCE_CUSTOM_PLAN = sql_text("SET LOCAL plan_cache_mode = force_custom_plan")


def search_words(user_text: str) -> list[str]:
    """The words of what a person typed; operators and quotes are just text."""
    return WORD.findall(user_text or "")[:MAX_WORDS]


def match_query(words: list[str]) -> str:
    """Each word quoted, so FTS5 and websearch_to_tsquery see plain words, all required."""
    return " ".join(f'"{word}"' for word in words)


def search_stories(
    s: Session, actor: Actor, text: str, *, project_ref: str | None = None, limit: int = 20
) -> list[StoryView]:
    """The workspace's stories matching every word of `text`, best match first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        raise ValidationFailed(f"Search returns 1 to {MAX_RESULTS} stories.", {"limit": "range"})
    if not isinstance(text, str):
        raise ValidationFailed("Type some words to search for.", {"text": "required"})
    params: dict[str, object] = {"team_id": actor.team_id, "limit": limit}
    params["candidates"] = CANDIDATES
    if project_ref is not None:
        params["project_id"] = find_project(s, actor, project_ref).id
    words = search_words(text)
    if not words:
        return []
    params["query"] = match_query(words)
    dialect = s.get_bind().dialect.name
    if dialect != "sqlite":
        # psycopg prepares a statement run 5 times; PostgreSQL may then plan it once for any
        # word, and that generic plan walks the created_at index for a rare word too (0.5 s
        # at 100k stories). Plan each search for its words: a rare word uses the GIN index.
        s.execute(FORCE_CUSTOM_PLAN)
    ids = list(s.scalars(STATEMENTS[dialect, project_ref is not None], params))
    return story_views(s, actor, ids)
