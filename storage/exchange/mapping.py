"""Jira's and Linear's words mapped to ours: each record of an export becomes a checked story
to import, with its source key, or a refusal that says which line and why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.errors import ValidationFailed
from storage.exchange.description import split
from storage.exchange.sources import Record, Table
from storage.fields import PRIORITIES, STATUSES, STORY_KEY, Priority, vocabulary_word
from storage.stories import StoryInput
from storage.validation import parse

# Jira's default priority scheme (Highest … Lowest) and its older one (Blocker … Trivial);
# Linear's Urgent … Low, and its "No priority" (the project's default priority then)
PRIORITY_OF: dict[str, Priority | None] = {
    "highest": "CRITICAL",
    "blocker": "CRITICAL",
    "critical": "CRITICAL",
    "urgent": "CRITICAL",
    "high": "HIGH",
    "major": "HIGH",
    "medium": "MEDIUM",
    "normal": "MEDIUM",
    "low": "LOW",
    "minor": "LOW",
    "lowest": "LOW",
    "trivial": "LOW",
    "no priority": None,
    "none": None,
}
# Statuses of Jira's and Linear's default workflows; a canceled or duplicate issue is done
# with (its own status is kept in the story's metadata)
STATUS_OF = {
    **dict.fromkeys(("backlog", "triage", "open", "new", "draft", "idea"), "DRAFT"),
    **dict.fromkeys(
        (
            "to do",
            "todo",
            "selected for development",
            "ready",
            "ready for development",
            "reopened",
            "planned",
        ),
        "READY",
    ),
    **dict.fromkeys(
        (
            "in progress",
            "in review",
            "in development",
            "code review",
            "review",
            "in qa",
            "qa",
            "testing",
            "in testing",
            "blocked",
            "started",
        ),
        "IN_PROGRESS",
    ),
    **dict.fromkeys(
        (
            "done",
            "closed",
            "resolved",
            "complete",
            "completed",
            "released",
            "canceled",
            "cancelled",
            "won't do",
            "wont do",
            "duplicate",
        ),
        "DONE",
    ),
}
# Jira's status categories (its "Status Category" column), for a workflow's own statuses
CATEGORY_OF = {"to do": "READY", "in progress": "IN_PROGRESS", "done": "DONE"}
POINTS = re.compile(r"^\s*(\d{1,3})(?:[.,]0*)?\s*$")  # Jira writes story points as 5.0

JIRA_POINTS = (
    "Custom field (Story Points)",
    "Custom field (Story point estimate)",
    "Story Points",
    "Story point estimate",
)
JIRA_CRITERIA = ("Custom field (Acceptance Criteria)", "Acceptance Criteria")


@dataclass(frozen=True)
class Incoming:
    """A story to import: checked, with where it came from (`source`: system and key)."""

    where: str  # "line 7" (CSV) or "story 3" (JSON), for messages
    source: dict[str, Any]
    story: StoryInput
    assignee_slack_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def source_key(self) -> tuple[str, str]:
        return self.source["system"], self.source["key"]


@dataclass(frozen=True)
class Refused:
    """A record that cannot be imported, and why."""

    where: str
    key: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.where}{f' ({self.key})' if self.key else ''}: {self.reason}"


@dataclass
class _Fields:
    """What one record says, in our words, before the story rules check it."""

    title: str
    description: str
    criteria: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    priority: str | None = None
    points: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = "DRAFT"


def jira_stories(table: Table) -> Iterator[Incoming | Refused]:
    """Each record of a Jira CSV export (Jira Cloud's "Export CSV (all fields)" or the
    current fields), as a story or a refusal."""
    width = len(table.header)
    for record in table.records:
        key = record.first("Issue key").strip()
        where = f"line {record.line}"
        try:
            _fits(record, width)
            if not key:
                raise ValidationFailed("it has no Issue key, so a second import could not skip it.")
            kind = record.first("Issue Type").strip()
            status = record.first("Status").strip()
            fields = _fields(
                record,
                title=record.first("Summary"),
                description=record.first("Description"),
                criteria_text=record.first(*JIRA_CRITERIA),
                priority=record.first("Priority"),
                points=record.first(*JIRA_POINTS),
                labels=record.all("Labels"),
                status=status,
                category=record.first("Status Category"),
                source="Jira",
                key=key,
            )
            if kind and kind.casefold() != "story":
                fields.tags.append(kind)  # a bug stays findable as one: tag:bug
            source = _source("jira", key, status=status, type=kind, **_people(record))
            yield Incoming(where, source, _story(fields, source))
        except ValidationFailed as exc:
            yield Refused(where, key or None, exc.message)


def linear_stories(table: Table) -> Iterator[Incoming | Refused]:
    """Each record of a Linear CSV export (Settings → Import/Export → Export CSV)."""
    width = len(table.header)
    for record in table.records:
        key = record.first("ID").strip()
        where = f"line {record.line}"
        try:
            _fits(record, width)
            if not key:
                raise ValidationFailed("it has no ID, so a second import could not skip it.")
            status = record.first("Status").strip()
            fields = _fields(
                record,
                title=record.first("Title"),
                description=record.first("Description"),
                criteria_text="",
                priority=record.first("Priority"),
                points=record.first("Estimate"),
                labels=record.all("Labels"),
                status=status,
                category="",
                source="Linear",
                key=key,
            )
            extra = {n: record.first(c) for n, c in (("team", "Team"), ("project", "Project"))}
            source = _source("linear", key, status=status, **extra, **_people(record))
            yield Incoming(where, source, _story(fields, source))
        except ValidationFailed as exc:
            yield Refused(where, key or None, exc.message)


def json_stories(document: dict[str, Any]) -> Iterator[Incoming | Refused]:
    """Each story of our JSON export. Its source is the one it was first imported from, if
    any, else its key in the project it was exported from."""
    fields = set(StoryInput.model_fields)
    for index, item in enumerate(document["stories"], start=1):
        where = f"story {index}"
        if not isinstance(item, dict):
            yield Refused(where, None, "is not a set of named fields.")
            continue
        key = item.get("key") if isinstance(item.get("key"), str) else None
        try:
            if not key or not STORY_KEY.match(key):
                raise ValidationFailed("it has no story key (like WEB-7) to skip it by later.")
            meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
            source = meta.get("source")
            if not (isinstance(source, dict) and source.get("system") and source.get("key")):
                source = _source("autodevhub", key.strip().upper())
            story = parse(
                StoryInput,
                {**{f: item[f] for f in fields if f in item}, "meta": {**meta, "source": source}},
            )
            yield Incoming(
                where,
                source,
                story,
                assignee_slack_id=item.get("assignee")
                if isinstance(item.get("assignee"), str)
                else None,
                created_at=_instant(item.get("created_at")),
                updated_at=_instant(item.get("updated_at")),
            )
        except ValidationFailed as exc:
            yield Refused(where, key, exc.message)


# -- the shared steps -------------------------------------------------------------------------
def _fits(record: Record, width: int) -> None:
    if record.cells > width:
        raise ValidationFailed(
            f"it has {record.cells} cells but the header names {width} columns (a quote "
            "missing before it?)."
        )


def _fields(
    record: Record,
    *,
    title: str,
    description: str,
    criteria_text: str,
    priority: str,
    points: str,
    labels: list[str],
    status: str,
    category: str,
    source: str,
    key: str,
) -> _Fields:
    if not title.strip():
        raise ValidationFailed("it has no title.")
    parts = split(description)
    criteria = parts.acceptance_criteria + split_lines(criteria_text)
    tags = [tag.strip() for label in labels for tag in label.split(",") if tag.strip()]
    return _Fields(
        title=title,
        description=parts.description or f"Imported from {source} {key} without a description.",
        criteria=criteria,
        tasks=parts.tasks,
        priority=_priority(priority),
        points=_points(points),
        tags=tags,
        status=_status(status, category),
    )


def split_lines(text: str) -> list[str]:
    """A criteria cell's items: one a line, bullet markers taken off."""
    return split("Acceptance criteria:\n" + text).acceptance_criteria if text.strip() else []


def _priority(word: str) -> str | None:
    folded = " ".join(word.split()).casefold()
    if not folded:
        return None
    if folded in PRIORITY_OF:
        return PRIORITY_OF[folded]
    if vocabulary_word(word) in PRIORITIES:
        return vocabulary_word(word)
    known = ", ".join(_shown(w) for w in PRIORITY_OF)
    raise ValidationFailed(f"its priority '{word[:40]}' is not one we know ({known}).")


def _status(word: str, category: str) -> str:
    folded = " ".join(word.split()).casefold()
    if not folded:
        return "DRAFT"
    if folded in STATUS_OF:
        return STATUS_OF[folded]
    if vocabulary_word(word) in STATUSES:
        return vocabulary_word(word)
    by_category = CATEGORY_OF.get(" ".join(category.split()).casefold())
    if by_category:
        return by_category
    raise ValidationFailed(
        f"its status '{word[:40]}' is not one we know; known statuses: "
        f"{', '.join(_shown(w) for w in STATUS_OF)} (or a Status Category column saying To Do, "
        "In Progress or Done)."
    )


def _points(value: str) -> str:
    whole = POINTS.match(value)
    return whole.group(1) if whole else value.strip()


def _source(system: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"system": system, "key": key, **{k: v for k, v in extra.items() if v}}


def _people(record: Record) -> dict[str, str]:
    """Who the tracker says reported and has the issue: names, not Slack members, so kept in
    the story's metadata for reference, never made members."""
    return {"assignee": record.first("Assignee"), "reporter": record.first("Reporter", "Creator")}


def _story(fields: _Fields, source: dict[str, Any]) -> StoryInput:
    return parse(
        StoryInput,
        {
            "title": fields.title,
            "description": fields.description,
            "acceptance_criteria": fields.criteria,
            "tasks": fields.tasks,
            "priority": fields.priority,
            "story_points": fields.points,
            "tags": fields.tags,
            "status": fields.status,
            "meta": {"source": source},
        },
    )


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _shown(word: str) -> str:
    """A known word as the tools write it: "Won't Do", "In QA" (str.title gives "Won'T")."""
    return " ".join(w.upper() if w in ("qa", "ui") else w[:1].upper() + w[1:] for w in word.split())
