"""A project's stories as a file: CSV for Jira's and Linear's importers, Markdown to read, or
JSON that an import reads back whole."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.exchange.description import compose
from storage.exchange.formats import EXTENSIONS, JSON_KIND, JSON_VERSION, export_format
from storage.models import UserStory, utcnow
from storage.projects import find_project
from storage.stories import StoryView, story_views_query, view_from_row
from storage.users import Actor

# progress(stage, done, total): called as the work goes (see bot/progress.py)
Progress = Callable[[str, int, int], None]
BATCH = 1000

# Jira's CSV importer maps these columns by name (Labels once per label, as Jira's own
# exports repeat it); Linear's importer takes Jira's CSV as it is.
CSV_COLUMNS = ("Summary", "Issue Type", "Description", "Priority", "Story Points")
CSV_TAIL = ("Status", "Issue key")
# Jira's default priority scheme and statuses (Linear's importer maps the same names)
JIRA_PRIORITY = {"CRITICAL": "Highest", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low"}
JIRA_STATUS = {"DRAFT": "Backlog", "READY": "To Do", "IN_PROGRESS": "In Progress", "DONE": "Done"}


@dataclass(frozen=True)
class ExportFile:
    """An export, ready to write or upload."""

    filename: str  # WEB-stories-2026-12-01.csv
    content: bytes
    format: str
    project_key: str
    project_name: str
    stories: int


def export_project(
    s: Session,
    actor: Actor,
    project_ref: str,
    format: str,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ExportFile:
    """Every story of a project of the actor's workspace (anyone there may read them), in
    number order, as `format` (csv, markdown or json)."""
    format = export_format(format)
    project = find_project(s, actor, project_ref)
    now = now or utcnow()
    stories = list(_stories(s, project.id, progress))
    if format == "csv":
        text = _csv(stories)
    elif format == "markdown":
        text = _markdown(project, stories, now)
    else:
        text = _json(project, stories, now)
    return ExportFile(
        filename=f"{project.key}-stories-{now:%Y-%m-%d}.{EXTENSIONS[format]}",
        content=text.encode("utf-8"),
        format=format,
        project_key=project.key,
        project_name=project.name,
        stories=len(stories),
    )


def _stories(s: Session, project_id: str, progress: Progress | None) -> Any:
    total = s.scalar(select(func.count()).where(UserStory.project_id == project_id)) or 0
    query = (
        story_views_query()
        .where(UserStory.project_id == project_id)
        .order_by(UserStory.number)
        .execution_options(yield_per=BATCH)
    )
    for done, row in enumerate(s.execute(query), start=1):
        yield view_from_row(row)
        if progress and (done % BATCH == 0 or done == total):
            progress("reading stories", done, total)
    if progress and total == 0:
        progress("reading stories", 0, 0)


# -- CSV ----------------------------------------------------------------------------------
def _csv(stories: list[StoryView]) -> str:
    labels = max([len(story.tags) for story in stories] + [1])
    out = io.StringIO()
    # RFC 4180 as Jira and Excel write it: CRLF records, quotes only where a cell needs them
    # (a comma, a quote or a line break: descriptions span lines)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *["Labels"] * labels, *CSV_TAIL])
    for story in stories:
        writer.writerow(
            [
                story.title,
                "Story",
                compose(story.description, story.acceptance_criteria, story.tasks),
                JIRA_PRIORITY[story.priority],
                story.story_points,
                *(story.tags + [""] * (labels - len(story.tags))),
                JIRA_STATUS[story.status],
                story.key,
            ]
        )
    return out.getvalue()


# -- Markdown -----------------------------------------------------------------------------
def _markdown(project: Any, stories: list[StoryView], now: datetime) -> str:
    counts = {status: 0 for status in JIRA_STATUS}
    for story in stories:
        counts[story.status] += 1
    summary = " · ".join(f"{n} {status.replace('_', ' ').lower()}" for status, n in counts.items())
    lines = [
        f"# {project.name} ({project.key})",
        "",
        f"{len(stories)} stories ({summary}), exported {now:%Y-%m-%d %H:%M} UTC.",
    ]
    if project.description:
        lines += ["", project.description.strip()]
    for story in stories:
        facts = [
            f"**Status:** {story.status.replace('_', ' ').title()}",
            f"**Priority:** {story.priority.title()}",
            f"**Points:** {story.story_points}",
        ]
        if story.tags:
            facts.append("**Tags:** " + ", ".join(story.tags))
        lines += ["", f"## {story.key} {story.title}", "", " · ".join(facts), "", story.description]
        if story.acceptance_criteria:
            lines += ["", "### Acceptance criteria", ""]
            lines += [f"- [ ] {item}" for item in story.acceptance_criteria]
        if story.tasks:
            lines += ["", "### Tasks", ""]
            lines += [f"- [ ] {item}" for item in story.tasks]
    return "\n".join(lines) + "\n"


# -- JSON ---------------------------------------------------------------------------------
def _json(project: Any, stories: list[StoryView], now: datetime) -> str:
    document = {
        "kind": JSON_KIND,
        "version": JSON_VERSION,
        "exported_at": now.isoformat(),
        "project": {"key": project.key, "name": project.name, "description": project.description},
        "stories": [
            {
                "key": story.key,
                "title": story.title,
                "description": story.description,
                "acceptance_criteria": story.acceptance_criteria,
                "priority": story.priority,
                "story_points": story.story_points,
                "tasks": story.tasks,
                "tags": story.tags,
                "status": story.status,
                "meta": story.meta,
                "assignee": story.assignee_slack_id,
                "created_by": story.created_by_slack_id,
                "created_at": story.created_at.isoformat(),
                "updated_at": story.updated_at.isoformat(),
            }
            for story in stories
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
