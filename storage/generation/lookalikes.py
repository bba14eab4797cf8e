"""Look-alikes: the existing stories a generated draft looks like (by its title's words)."""

from __future__ import annotations

import functools
import re

from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from storage.generation.queue import get_request
from storage.search import FORCE_CUSTOM_PLAN
from storage.users import Actor

# A draft is flagged "looks like KEY-N" when this share of its title words are in that story.
DUPLICATE_OVERLAP = 0.6
# Look-alikes shown per draft.
SHOWN = 3
# One query per title finds the project's newest RANKED stories whose titles have any of its
# words, in index order (FTS5 rowid, the created_at index on PostgreSQL), and stops there;
# each is scored here on the share of words it has, which is what the finding is about.
# No ranking function: bm25() reads every match of each word in the whole index for its
# document counts (2.2 ms for common words at 100,000 stories, most of a `/story show`), and
# it only chose which 20 of the newest 1,000 to score.
#
# The bound: a project with more than RANKED stories sharing a word with the title compares
# the newest RANKED of them. Titles made of common words ("export", "report", a role) in a
# very large project (100,000 stories, 43,000 sharing one of a title's words) are compared
# with the last few hundred such stories only; an older look-alike sharing just those words
# is not named. A smaller project, or a title with a rarer word, is compared with every
# story sharing a word, scored exactly (where bm25 kept 20 of them).
RANKED = 200
MAX_TITLE_WORDS = 32

SQLITE_LOOKALIKES = sql_text(
    """
SELECT us.number, p.key, us.title
FROM stories_fts
JOIN user_stories AS us ON us.search_key = stories_fts.rowid
JOIN projects AS p ON p.id = us.project_id
WHERE stories_fts MATCH :query AND us.team_id = :team_id AND us.project_id = :project_id
ORDER BY stories_fts.rowid DESC
LIMIT :ranked
"""
)

# Any of the words, with the title's weight (A).
POSTGRES_LOOKALIKES = sql_text(
    """
SELECT us.number, p.key, us.title
FROM user_stories AS us
JOIN projects AS p ON p.id = us.project_id
WHERE us.search_vector @@ to_tsquery('english', :query)
    AND us.team_id = :team_id AND us.project_id = :project_id
ORDER BY us.created_at DESC
LIMIT :ranked
"""
)

_WORDS = re.compile(r"[a-z0-9]{2,}")  # words of two characters or more
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


@functools.lru_cache(maxsize=20_000)  # a show scores 200 titles, mostly seen before
def _title_words(text: str) -> frozenset[str]:
    return frozenset(_WORDS.findall(text.lower())) - _STOPWORDS


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
        s.execute(FORCE_CUSTOM_PLAN)
    return [
        _lookalikes(s, actor, request.project_id, story.get("title", ""), sqlite=sqlite)
        for story in stories
    ]


def _lookalikes(
    s: Session, actor: Actor, project_id: str, title: str, *, sqlite: bool, shown: int = SHOWN
) -> list[dict[str, str]]:
    """The project's stories whose titles share most words with `title`, best first (ties:
    by key): the newest RANKED sharing any word, each scored on its share of the words."""
    words = _title_words(title)
    if not words:
        return []
    searched = sorted(words)[:MAX_TITLE_WORDS]
    if sqlite:  # any of the words, in the title column
        query = "title : (" + " OR ".join(f'"{word}"' for word in searched) + ")"
    else:  # any of the words, with the title's weight
        query = " | ".join(f"'{word}':A" for word in searched)
    rows = s.execute(
        SQLITE_LOOKALIKES if sqlite else POSTGRES_LOOKALIKES,
        {"query": query, "team_id": actor.team_id, "project_id": project_id, "ranked": RANKED},
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
        s.execute(FORCE_CUSTOM_PLAN)
    found = _lookalikes(s, actor, project_id, title, sqlite=sqlite, shown=SHOWN + 1)
    return [f for f in found if f["key"] != exclude_key][:SHOWN]
