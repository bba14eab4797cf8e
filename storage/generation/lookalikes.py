"""Look-alikes: the existing stories a generated draft looks like (by its title's words)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from storage.errors import ValidationFailed
from storage.generation.queue import get_request
from storage.search import search_stories
from storage.users import Actor

# A draft is flagged "looks like KEY-N" when this share of its title words are in that story.
DUPLICATE_OVERLAP = 0.6

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


def similar_stories(
    s: Session, actor: Actor, project_ref: str, title: str, *, limit: int = 3
) -> list[dict[str, str]]:
    """Existing stories whose titles share most words with `title`: [{key, title}]."""
    words = _title_words(title)
    if not words:
        return []
    candidates: dict[str, Any] = {}
    # full-text search per significant word finds candidates; overlap decides the flag
    for word in sorted(words, key=len, reverse=True)[:6]:
        try:
            found = search_stories(s, actor, word, project_ref=project_ref, limit=10)
        except ValidationFailed:
            continue
        for story in found:
            candidates.setdefault(story.key, story)
    scored = []
    for key, story in candidates.items():
        theirs = _title_words(story.title)
        if not theirs:
            continue
        overlap = len(words & theirs) / min(len(words), len(theirs))
        if overlap >= DUPLICATE_OVERLAP:
            scored.append((overlap, key, story.title))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [{"key": key, "title": story_title} for _, key, story_title in scored[:limit]]


def draft_lookalikes(s: Session, actor: Actor, request_id: str) -> list[list[dict[str, str]]]:
    """For each draft of a completed request, the existing stories it looks like (a read;
    run it before open_drafts so the write transaction stays short)."""
    request = get_request(s, actor, request_id)
    if not request.project_id or not request.response_data:
        return []
    return [
        similar_stories(s, actor, request.project_id, story.get("title", ""))
        for story in request.response_data.get("stories", [])
    ]
