"""Exporting a project: a CSV Jira's and Linear's importers read (and ours reads back), Markdown
that reads well, JSON with everything."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from storage.errors import NotFound, ValidationFailed
from storage.exchange.export import export_project
from storage.exchange.imports import import_stories

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture
def web(world):
    world.project(world.alice, "Web <shop>", key="WEB", description="The shop's backlog.")
    world.story(
        world.alice,
        "WEB",
        title='Reset password, by "email"',
        description="As a user, I want a reset link,\nso that I can log in again.",
        acceptance_criteria=["Given I forgot it, when I ask, then I get a link", "It expires"],
        tasks=["Write the email", "Add the route"],
        tags=["auth", "mobile", "security"],
        priority="CRITICAL",
        story_points=8,
        status="IN_PROGRESS",
    )
    world.story(world.alice, "WEB", title="Plain", description="Just this.", priority="LOW")
    return world


def _export(world, format, actor=None, project="WEB"):
    with world.db.read() as s:
        return export_project(s, actor or world.bob, project, format, now=NOW)


def test_the_csv_has_jiras_columns_criteria_in_the_description_and_labels_repeated(web):
    exported = _export(web, "csv")

    assert exported.filename == "WEB-stories-2026-03-14.csv" and exported.stories == 2
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8"), newline="")))
    assert rows[0] == [
        "Summary",
        "Issue Type",
        "Description",
        "Priority",
        "Story Points",
        "Labels",
        "Labels",
        "Labels",
        "Status",
        "Issue key",
    ]
    first, second = (dict(zip(range(10), row, strict=True)) for row in rows[1:])
    assert first[0] == 'Reset password, by "email"' and first[1] == "Story"
    assert first[2] == (
        "As a user, I want a reset link,\nso that I can log in again.\n\n"
        "Acceptance criteria:\n- Given I forgot it, when I ask, then I get a link\n- It expires"
        "\n\nTasks:\n- Write the email\n- Add the route"
    )
    assert [first[3], first[4], first[5], first[6], first[7], first[8], first[9]] == [
        "Highest",
        "8",
        "auth",
        "mobile",
        "security",
        "In Progress",
        "WEB-1",
    ]
    assert [second[3], second[5], second[8]] == ["Low", "", "Backlog"]
    assert exported.content.count(b"\r\n") == 3  # records end in CRLF; lines inside cells, LF


def test_the_csv_imports_back_as_jira_with_every_field(web):
    exported = _export(web, "csv")
    web.project(web.alice, "Copy", key="CPY")
    with web.db.write() as s:
        report = import_stories(s, web.alice, "CPY", exported.content, filename=exported.filename)
    assert report.format == "jira-csv" and report.imported == 2
    original, copy = _export(web, "json"), _export(web, "json", project="CPY")
    fields = ("title", "description", "acceptance_criteria", "tasks", "tags", "priority")
    fields += ("story_points", "status")
    for was, now in zip(
        json.loads(original.content)["stories"], json.loads(copy.content)["stories"], strict=True
    ):
        assert {f: now[f] for f in fields} == {f: was[f] for f in fields}


def test_the_markdown_reads_as_a_document(web):
    text = _export(web, "markdown").content.decode()
    assert text.startswith("# Web <shop> (WEB)\n\n2 stories (1 draft · 0 ready · 1 in progress")
    assert "exported 2026-03-14 09:30 UTC." in text and "The shop's backlog." in text
    assert '## WEB-1 Reset password, by "email"\n\n' in text
    assert "**Status:** In Progress · **Priority:** Critical · **Points:** 8" in text
    assert "**Tags:** auth, mobile, security" in text
    assert (
        "### Acceptance criteria\n\n- [ ] Given I forgot it, when I ask, then I get a link\n"
        in text
    )
    assert "### Tasks\n\n- [ ] Write the email\n- [ ] Add the route\n" in text
    assert text.index("## WEB-1") < text.index("## WEB-2 Plain")


def test_the_json_holds_everything_in_number_order(web):
    document = json.loads(_export(web, "json").content)
    assert document["kind"] == "autodevhub.stories" and document["version"] == 1
    assert document["project"] == {
        "key": "WEB",
        "name": "Web <shop>",
        "description": "The shop's backlog.",
    }
    first, second = document["stories"]
    assert first["key"] == "WEB-1" and second["key"] == "WEB-2"
    assert first["tasks"] == ["Write the email", "Add the route"]
    assert first["created_by"] == "UALICE" and first["assignee"] is None


def test_an_empty_project_exports_a_header_and_other_workspaces_see_nothing(world):
    world.project(world.alice, "Empty", key="EMP")
    exported = _export(world, "csv", project="EMP")
    assert exported.stories == 0
    assert exported.content.decode().splitlines()[0].startswith("Summary,Issue Type")
    with pytest.raises(NotFound):
        _export(world, "csv", actor=world.eve, project="EMP")
    with pytest.raises(ValidationFailed, match="'xlsx' is not an export format"):
        _export(world, "xlsx", project="EMP")


def test_progress_is_reported_as_the_stories_are_read(web, monkeypatch):
    import storage.exchange.export as export

    monkeypatch.setattr(export, "BATCH", 1)
    seen = []
    with web.db.read() as s:
        export_project(s, web.bob, "WEB", "csv", progress=lambda *a: seen.append(a))
    assert seen == [("reading stories", 1, 2), ("reading stories", 2, 2)]
