"""Importing a Jira, Linear or AutoDevHub export into a project: every record or none, in one
transaction, numbered after the project's last story, skipping what was imported before.

Bulk by design: the records are checked first (nothing is written while one is refused),
then the stories and their audit rows go in with one executemany per batch, not one ORM
round trip each, so 10,000 records take seconds (bench/exchange.py). SQLite's triggers keep
the search index in step, PostgreSQL's generated tsvector column does the same.

Imported stories queue no live card updates: a channel following the project would get one
card per imported story at once. They show up in lists, search, Homes and digests as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit, homes
from storage.errors import ValidationFailed
from storage.exchange.formats import import_format
from storage.exchange.mapping import (
    Incoming,
    Refused,
    jira_stories,
    json_stories,
    linear_stories,
)
from storage.exchange.sources import guess_format, read_document, read_table, text_of
from storage.models import AuditLog, Project, User, UserStory, new_id, utcnow
from storage.permissions import require_project_editor
from storage.projects import effective_settings, find_project
from storage.users import Actor

# progress(stage, done, total), as the work goes (bot/progress.py draws it)
Progress = Callable[[str, int, int], None]
BATCH = 1000
MAX_RECORDS = 100_000
TITLE_IN_AUDIT = 100


@dataclass(frozen=True)
class Skipped:
    """A record imported before: the story it already is."""

    where: str
    source_key: str
    story_key: str


@dataclass(frozen=True)
class ImportReport:
    project_key: str
    project_name: str
    format: str
    records: int
    imported: int  # with dry_run: how many would be
    first_key: str | None
    last_key: str | None
    skipped: list[Skipped] = field(default_factory=list)
    dry_run: bool = False


class ImportRefused(ValidationFailed):
    """Some records cannot be imported, so none was; `refused` says which and why."""

    def __init__(self, refused: list[Refused], records: int) -> None:
        super().__init__(
            f"Nothing was imported: {len(refused)} of the {records} records "
            f"{'was' if len(refused) == 1 else 'were'} refused. Fix them and import again."
        )
        self.refused = refused
        self.records = records


def import_stories(
    s: Session,
    actor: Actor,
    project_ref: str,
    data: bytes,
    *,
    filename: str,
    format: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import the export `data` (jira-csv, linear-csv or json; guessed from the file when
    None) into a project of the actor's workspace, as its owner or a workspace admin: an
    import adds many stories at once, as only Jira's admins may. Raises ImportRefused (with
    every refused record) and writes nothing when any record is refused; with `dry_run`,
    checks everything and writes nothing."""
    project = find_project(s, actor, project_ref)
    require_project_editor(actor, project, "import stories into")
    text = text_of(data, filename)
    format = import_format(format) if format else guess_format(text, filename)
    records = _checked(text, format, filename, progress)
    refused = [r for r in records if isinstance(r, Refused)]
    if refused:
        raise ImportRefused(refused, len(records))
    incoming = [r for r in records if isinstance(r, Incoming)]

    _lock(s, project)  # a concurrent import of the same file waits, then skips it all
    imported = _imported_sources(s, project)
    new: list[Incoming] = []
    skipped: list[Skipped] = []
    for item in incoming:
        number = imported.get(item.source_key)
        if number is None:
            new.append(item)
        else:
            skipped.append(Skipped(item.where, item.source["key"], f"{project.key}-{number}"))

    first = project.last_story_number + 1
    if not dry_run and new:
        first = _take_numbers(s, project, len(new))
        _write(s, actor, project, new, first, now or utcnow(), progress)
        audit.record(
            s,
            actor,
            "project.import",
            "project",
            project.id,
            {
                "key": project.key,
                "format": format,
                "file": filename[-200:],
                "imported": len(new),
                "skipped": len(skipped),
                "first": f"{project.key}-{first}",
                "last": f"{project.key}-{first + len(new) - 1}",
            },
        )
    return ImportReport(
        project_key=project.key,
        project_name=project.name,
        format=format,
        records=len(records),
        imported=len(new),
        first_key=f"{project.key}-{first}" if new else None,
        last_key=f"{project.key}-{first + len(new) - 1}" if new else None,
        skipped=skipped,
        dry_run=dry_run,
    )


def _checked(
    text: str, format: str, filename: str, progress: Progress | None
) -> list[Incoming | Refused]:
    """Every record of the file, checked: a story to import or a refusal (a source key met
    twice in the file is refused the second time)."""
    found: Iterator[Incoming | Refused]
    if format == "json":
        document = read_document(text, filename)
        total, found = len(document["stories"]), json_stories(document)
    else:
        table = read_table(text, format, filename)
        total = len(table.records)
        found = jira_stories(table) if format == "jira-csv" else linear_stories(table)
    if total > MAX_RECORDS:
        raise ValidationFailed(
            f"The file holds {total:,} records; an import takes at most {MAX_RECORDS:,}. "
            "Split it and import each part (records imported before are skipped)."
        )
    if total == 0:
        raise ValidationFailed("The file holds no records to import.")
    records: list[Incoming | Refused] = []
    first_seen: dict[tuple[str, str], str] = {}
    for done, record in enumerate(found, start=1):
        if isinstance(record, Incoming):
            seen = first_seen.setdefault(record.source_key, record.where)
            if seen != record.where:
                record = Refused(
                    record.where, record.source["key"], f"it is in the file twice (also {seen})."
                )
        records.append(record)
        if progress and (done % BATCH == 0 or done == total):
            progress("checking records", done, total)
    return records


def _lock(s: Session, project: Project) -> None:
    """PostgreSQL: hold the project's row until commit (SQLite's writer already holds the
    whole database), so what was imported before is read after any import in flight."""
    s.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    s.refresh(project, ["last_story_number"])


def _imported_sources(s: Session, project: Project) -> dict[tuple[str, str], int]:
    """(system, key) -> story number, of the project's stories that came from an import."""
    rows = s.execute(
        select(UserStory.number, UserStory.meta["source"]).where(UserStory.project_id == project.id)
    )
    found: dict[tuple[str, str], int] = {}
    for number, source in rows:
        if isinstance(source, dict) and source.get("system") and source.get("key"):
            found[(str(source["system"]), str(source["key"]))] = number
    return found


def _take_numbers(s: Session, project: Project, count: int) -> int:
    """Hand out `count` story numbers at once; the first of them."""
    table = Project.__table__
    last = s.execute(
        table.update()
        .where(table.c.id == project.id)
        .values(last_story_number=table.c.last_story_number + count)
        .returning(table.c.last_story_number)
    ).scalar_one()
    return last - count + 1


def _write(
    s: Session,
    actor: Actor,
    project: Project,
    new: list[Incoming],
    first: int,
    now: datetime,
    progress: Progress | None,
) -> None:
    """The stories and one audit row each, a batch per executemany."""
    default_priority = effective_settings(project.settings)["default_priority"]
    assignees = _members(s, actor.team_id, {i.assignee_slack_id for i in new} - {None})
    stories, audits = UserStory.__table__, AuditLog.__table__
    conn = s.connection()
    for start in range(0, len(new), BATCH):
        story_rows: list[dict[str, Any]] = []
        audit_rows: list[dict[str, Any]] = []
        for offset, item in enumerate(new[start : start + BATCH], start=start):
            story = item.story
            number = first + offset
            # one microsecond apart, in file order: the later number is the newer story
            created = item.created_at or now - timedelta(microseconds=len(new) - offset)
            story_id = new_id()
            key = f"{project.key}-{number}"
            story_rows.append(
                {
                    "id": story_id,
                    "team_id": actor.team_id,
                    "project_id": project.id,
                    "number": number,
                    "created_by": actor.user_id,
                    "assignee_id": assignees.get(item.assignee_slack_id or ""),
                    "title": story.title,
                    "description": story.description,
                    "acceptance_criteria": story.acceptance_criteria,
                    "priority": story.priority or default_priority,
                    "story_points": story.story_points,
                    "tasks": story.tasks,
                    "tags": story.tags,
                    "status": story.status,
                    "metadata": story.meta,
                    "created_at": created,
                    "updated_at": max(item.updated_at or created, created),
                }
            )
            audit_rows.append(
                {
                    "team_id": actor.team_id,
                    "user_id": actor.user_id,
                    "action": "story.import",
                    "resource_type": "story",
                    "resource_id": story_id,
                    "metadata": {
                        "key": key,
                        "title": story.title[:TITLE_IN_AUDIT],
                        "source": f"{item.source['system']}:{item.source['key']}",
                    },
                    "created_at": now,
                }
            )
        conn.execute(stories.insert(), story_rows)
        conn.execute(audits.insert(), audit_rows)
        if progress:
            progress("writing stories", start + len(story_rows), len(new))
    homes.touch(s, actor.team_id, [actor.slack_user_id, *assignees])


def _members(s: Session, team_id: str, slack_ids: set[str]) -> dict[str, str]:
    """Slack id -> users.id of those who are members of the workspace already (an import
    names people; it never makes them members)."""
    if not slack_ids:
        return {}
    rows = s.execute(
        select(User.slack_user_id, User.id).where(
            User.slack_team_id == team_id, User.slack_user_id.in_(sorted(slack_ids))
        )
    )
    return {slack_user_id: user_id for slack_user_id, user_id in rows}
