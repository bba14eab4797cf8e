"""Look-alikes: the existing stories a generated draft looks like (by its title's words)."""

from __future__ import annotations

import re

from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from storage.generation.queue import get_request
from storage.search import CANDIDATES
from storage.users import Actor

# A draft is flagged "looks like KEY-N" when this share of its title words are in that story.
DUPLICATE_OVERLAP = 0.6
# Look-alikes shown per draft.
SHOWN = 3
# One query per draft finds the project's stories whose titles have any of the draft title's
# words: the newest RANKED of them (bounded as storage/search.py bounds a search) are ranked
# on their titles, and the best SCORED are scored here on the share of words they have.
RANKED = CANDIDATES
SCORED = 20
MAX_TITLE_WORDS = 32

SQLITE_LOOKALIKES = """
SELECT number, key, title FROM (
    SELECT us.number AS number, p.key AS key, us.title AS title, us.created_at AS created_at,
           bm25(stories_fts, 1.0, 0.0) AS score
    FROM stories_fts
    JOIN user_stories AS us ON us.search_key = stories_fts.rowid
    JOIN projects AS p ON p.id = us.project_id
    WHERE stories_fts MATCH :query AND us.team_id = :team_id AND us.project_id = :project_id
    ORDER BY stories_fts.rowid DESC
    LIMIT :ranked
)
ORDER BY score, created_at DESC, number DESC
LIMIT :scored
"""

# ts_rank's weights are {D, C, B, A}: only title words (weight A) count.
POSTGRES_LOOKALIKES = """
SELECT number, key, title FROM (
    SELECT us.number, p.key, us.title, us.created_at,
           ts_rank(CAST('{0, 0, 0, 1}' AS real[]), us.search_vector, query) AS score
    FROM to_tsquery('english', :query) AS query, user_stories AS us
    JOIN projects AS p ON p.id = us.project_id
    WHERE us.search_vector @@ query AND us.team_id = :team_id AND us.project_id = :project_id
    ORDER BY us.created_at DESC
    LIMIT :ranked
) AS candidates
ORDER BY score DESC, created_at DESC, number DESC
LIMIT :scored
"""

_WORDS = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "to",
        "with",
        "when",
        "then",
        "given",
        "want",
        "user",
        "users",
        "can",
    ]
)


def _title_words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


def draft_lookalikes(s: Session, actor: Actor, request_id: str) -> list[list[dict[str, str]]]:
    """For each draft of a completed request, the existing stories it looks like, [{key, title}].

    A read of one query per draft: run it before open_drafts, in its own read transaction,
    so the write transaction that opens the review stays short.
    """
    request = get_request(s, actor, request_id)
    if not request.project_id or not request.response_data:
        return []
    stories = request.response_data.get("stories", [])
    sqlite = s.get_bind().dialect.name == "sqlite"
    if not sqlite:  # as in storage/search.py: plan each query for its words, not for any
        s.execute(sql_text("SET LOCAL plan_cache_mode = force_custom_plan"))
    return [
        _lookalikes(s, actor, request.project_id, story.get("title", ""), sqlite=sqlite)
        for story in stories
    ]


def _lookalikes(
    s: Session, actor: Actor, project_id: str, title: str, *, sqlite: bool, shown: int = SHOWN
) -> list[dict[str, str]]:
    """The project's stories whose titles share most words with `title`, best first."""
    words = _title_words(title)
    if not words:
        return []
    searched = sorted(words)[:MAX_TITLE_WORDS]
    if sqlite:  # any of the words, in the title column
        query = "title : (" + " OR ".join(f'"{word}"' for word in searched) + ")"
    else:  # any of the words, with the title's weight
        query = " | ".join(f"'{word}':A" for word in searched)
    rows = s.execute(
        sql_text(SQLITE_LOOKALIKES if sqlite else POSTGRES_LOOKALIKES),
        {
            "query": query,
            "team_id": actor.team_id,
            "project_id": project_id,
            "ranked": RANKED,
            "scored": SCORED,
        },
    ).all()
    scored = []
    for number, project_key, their_title in rows:
        theirs = _title_words(their_title)
        if not theirs:
            continue
        overlap = len(words & theirs) / min(len(words), len(theirs))
        if overlap >= DUPLICATE_OVERLAP:
            scored.append((overlap, f"{project_key}-{number}", their_title))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [{"key": key, "title": story_title} for _, key, story_title in scored[:shown]]


def title_lookalikes(
    s: Session, actor: Actor, project_id: str, title: str, *, exclude_key: str | None = None
) -> list[dict[str, str]]:
    """The project's stories whose titles share most words with `title` ({key, title}, best
    first), leaving out `exclude_key` (the story itself). One query."""
    sqlite = s.get_bind().dialect.name == "sqlite"
    if not sqlite:
        s.execute(sql_text("SET LOCAL plan_cache_mode = force_custom_plan"))
    found = _lookalikes(s, actor, project_id, title, sqlite=sqlite, shown=SHOWN + 1)
    return [f for f in found if f["key"] != exclude_key][:SHOWN]
