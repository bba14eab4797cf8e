"""Importing Jira's and Linear's CSV exports (shaped like real ones: a BOM, cells over several
lines, Labels repeated) and our JSON: what is stored, what is skipped, what is refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from storage.errors import NotFound, PermissionDenied, ValidationFailed
from storage.exchange.imports import ImportRefused, import_stories
from storage.models import AuditLog, Project, UserStory
from storage.search import search_stories
from storage.stories import get_story
from tests.statements import statements

SAMPLES = Path(__file__).parent / "samples"
JIRA = (SAMPLES / "jira-cloud-export.csv").read_bytes()
LINEAR = (SAMPLES / "linear-export.csv").read_bytes()


def _import(world, actor, data, project="WEB", **kwargs):
    kwargs.setdefault("filename", "export.csv")
    with world.db.write() as s:
        return import_stories(s, actor, project, data, **kwargs)


def _stories(world, project="WEB"):
    with world.db.read() as s:
        return {
            f"{project}-{story.number}": story
            for story in s.scalars(
                select(UserStory)
                .join(Project, Project.id == UserStory.project_id)
                .where(Project.key == project)
                .order_by(UserStory.number)
            )
        }


def _last_number(world, key="WEB"):
    with world.db.read() as s:
        return s.scalar(select(Project.last_story_number).where(Project.key == key))


def _audit(world, action):
    with world.db.read() as s:
        return s.scalar(select(func.count()).where(AuditLog.action == action))


def _csv(header, *rows, bom=False, newline="\r\n"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


JIRA_HEADER = ["Summary", "Issue key", "Issue Type", "Status", "Priority", "Labels", "Labels"]
JIRA_HEADER += ["Description", "Custom field (Story point estimate)"]


def test_a_jira_cloud_export_becomes_stories_numbered_after_the_projects_own(world):
    world.project(world.alice, "Web shop", key="WEB")
    world.story(world.alice, "WEB", title="Already here")
    world.story(world.alice, "WEB", title="Also here")

    report = _import(world, world.alice, JIRA, filename="Jira.csv")

    assert (report.format, report.records, report.imported) == ("jira-csv", 5, 5)
    assert (report.first_key, report.last_key) == ("WEB-3", "WEB-7")
    stored = _stories(world)
    reset, gift, privacy, wishlist, search = (stored[f"WEB-{n}"] for n in range(3, 8))
    # a quoted description over several lines (CRLF in the file), its criteria taken out
    assert reset.title == "Reset password by email"
    assert reset.description == (
        "As a user, I want to reset my password by email,\nso that I can get back into my account."
    )
    assert reset.acceptance_criteria == [
        "Given I forgot my password, when I ask for a reset, then I get an email",
        "The link expires after 1 hour",
    ]
    assert (reset.priority, reset.status, reset.story_points) == ("HIGH", "IN_PROGRESS", 5)
    assert reset.tags == ["auth", "mobile"]  # two of the three Labels columns
    assert reset.meta["source"] == {
        "system": "jira",
        "key": "SHOP-12",
        "status": "In Progress",
        "type": "Story",
        "assignee": "Maria Lopez",
        "reporter": "Sam Chen",
    }
    # Highest is CRITICAL; a bug is tagged so; quotes and commas inside a cell survive
    assert gift.title == 'Checkout fails for "gift" cards, sometimes'
    assert (gift.priority, gift.status, gift.tags) == ("CRITICAL", "READY", ["checkout", "bug"])
    assert gift.description.endswith('Expected: paid, "quoted" and, with commas.')
    # Lowest is LOW; criteria from Jira's Acceptance Criteria field; no description
    assert (privacy.priority, privacy.status, privacy.story_points) == ("LOW", "DONE", 1)
    assert privacy.acceptance_criteria == [
        "The page names the new processor",
        "Legal has approved it",
    ]
    assert privacy.description == "Imported from Jira SHOP-14 without a description."
    assert (wishlist.status, wishlist.tags) == ("DRAFT", ["ux", "a11y", "frontend"])
    # a workflow's own status, read by its Status Category
    assert (search.status, search.priority, search.meta["source"]["status"]) == (
        "IN_PROGRESS",
        "LOW",
        "Waiting for QA",
    )
    assert all(story.created_by == world.alice.user_id for story in stored.values())
    assert _last_number(world) == 7
    assert _audit(world, "story.import") == 5 and _audit(world, "project.import") == 1
    with world.db.read() as s:
        # the search index knows them (SQLite's triggers, PostgreSQL's generated column)
        found = search_stories(s, world.alice, "wishlist")
        assert [story.key for story in found] == ["WEB-6"]
        assert get_story(s, world.alice, "WEB-3").title == "Reset password by email"


def test_a_linear_export_maps_urgent_no_priority_and_its_statuses(world):
    world.project(world.alice, "Web shop", key="WEB", settings={"default_priority": "LOW"})

    report = _import(world, world.alice, LINEAR, filename="linear.csv")

    assert (report.format, report.imported) == ("linear-csv", 7)
    stored = _stories(world)
    found = {s.meta["source"]["key"]: (s.priority, s.status) for s in stored.values()}
    assert found == {
        "ENG-101": ("CRITICAL", "IN_PROGRESS"),  # Urgent, In Progress
        "ENG-102": ("LOW", "DRAFT"),  # No priority: the project's default; Backlog
        "ENG-103": ("LOW", "DONE"),
        "ENG-104": ("MEDIUM", "READY"),  # Todo
        "ENG-105": ("HIGH", "IN_PROGRESS"),  # In Review
        "ENG-106": ("LOW", "DONE"),  # Canceled is done with
        "ENG-107": ("MEDIUM", "DRAFT"),  # Triage
    }
    crash = stored["WEB-1"]
    assert crash.tags == ["bug", "frontend"]  # Linear's one Labels cell, comma-separated
    assert crash.acceptance_criteria == ["An empty cart shows a hint", "No crash report is sent"]
    assert crash.description == "The app crashes when the cart is empty."
    assert stored["WEB-4"].tags == ["frontend", "ux"] and stored["WEB-4"].story_points == 5
    assert crash.meta["source"]["team"] == "Engineering"


def test_importing_again_skips_what_was_imported_and_says_which_story_it_is(world):
    world.project(world.alice, "Web shop", key="WEB")
    _import(world, world.alice, JIRA)
    world.story(world.alice, "WEB", title="Made by hand meanwhile")

    again = _import(world, world.alice, JIRA)

    assert again.imported == 0 and again.first_key is None
    assert [(s.where, s.source_key, s.story_key) for s in again.skipped] == [
        ("line 2", "SHOP-12", "WEB-1"),
        ("line 8", "SHOP-13", "WEB-2"),
        ("line 13", "SHOP-14", "WEB-3"),
        ("line 15", "SHOP-15", "WEB-4"),
        ("line 16", "SHOP-16", "WEB-5"),
    ]
    assert len(_stories(world)) == 6 and _last_number(world) == 6
    # a file with one new issue more imports just that one, numbered after the rest
    more = _csv(
        JIRA_HEADER,
        ["Reset password by email", "SHOP-12", "Story", "Done", "High", "", "", "x", ""],
        ["Gift wrapping", "SHOP-17", "Story", "To Do", "Medium", "", "", "Wrap it.", "2.0"],
    )
    third = _import(world, world.alice, more)
    assert (third.imported, third.first_key, len(third.skipped)) == (1, "WEB-7", 1)
    assert _stories(world)["WEB-7"].title == "Gift wrapping"
    assert _stories(world)["WEB-1"].status == "IN_PROGRESS"  # a skipped record changes nothing


def test_refused_records_are_each_reported_by_line_and_nothing_is_written(world):
    world.project(world.alice, "Web shop", key="WEB")
    world.story(world.alice, "WEB", title="Already here")
    before = (world.audit_count(), _last_number(world))
    bad = _csv(
        JIRA_HEADER,
        ["Fine", "SHOP-1", "Story", "To Do", "High", "", "", "Line one\r\nline two", "3"],
        ["Urgentish", "SHOP-2", "Story", "To Do", "Hihg", "", "", "d", ""],
        ["", "SHOP-3", "Story", "To Do", "Low", "", "", "no summary", ""],
        ["Half a point", "SHOP-4", "Story", "To Do", "Low", "", "", "d", "0.5"],
        ["Huge", "SHOP-5", "Story", "Done", "Low", "", "", "d", "40"],
        ["Dreaming", "SHOP-6", "Story", "Someday", "Low", "", "", "d", ""],
        ["Twice", "SHOP-1", "Story", "To Do", "Low", "", "", "d", ""],
        ["Key-less", "", "Story", "To Do", "Low", "", "", "d", ""],
        bom=True,
    )

    with pytest.raises(ImportRefused) as refused:
        _import(world, world.alice, bad)

    lines = {r.where: (r.key, r.reason) for r in refused.value.refused}
    # the first record spans lines 2-3, so the second starts on line 4
    assert set(lines) == {f"line {n}" for n in range(4, 11)}
    assert (
        lines["line 4"][0] == "SHOP-2"
        and "priority 'Hihg' is not one we know" in lines["line 4"][1]
    )
    assert "no title" in lines["line 5"][1]
    assert "whole number" in lines["line 6"][1]
    assert "between 0 and 21" in lines["line 7"][1]
    assert "status 'Someday' is not one we know" in lines["line 8"][1]
    assert lines["line 9"] == ("SHOP-1", "it is in the file twice (also line 2).")
    assert "no Issue key" in lines["line 10"][1]
    assert "Nothing was imported: 7 of the 8 records were refused" in refused.value.message
    assert [k for k in _stories(world)] == ["WEB-1"]
    assert (world.audit_count(), _last_number(world)) == before


def test_a_failure_while_writing_leaves_nothing_behind(world, monkeypatch):
    """One transaction: the first batch written, the second failing, and none of it stays."""
    import storage.exchange.imports as imports

    world.project(world.alice, "Web shop", key="WEB")
    monkeypatch.setattr(imports, "BATCH", 2)
    before = world.audit_count()

    def progress(stage, done, total):
        if stage == "writing stories" and done >= 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        _import(world, world.alice, JIRA, progress=progress)
    assert _stories(world) == {}
    assert _last_number(world) == 0 and world.audit_count() == before


def test_a_dry_run_checks_everything_and_writes_nothing(world):
    world.project(world.alice, "Web shop", key="WEB")
    world.story(world.alice, "WEB")

    report = _import(world, world.alice, LINEAR, dry_run=True)

    assert report.dry_run and report.imported == 7
    assert (report.first_key, report.last_key) == ("WEB-2", "WEB-8")
    assert list(_stories(world)) == ["WEB-1"] and _last_number(world) == 1
    assert _audit(world, "story.import") == 0


@pytest.mark.parametrize(
    ("data", "format", "says"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", None, "is a zip archive (an Excel workbook?)"),
        ("Summary,Issue key\n".encode("utf-16"), None, "is UTF-16 text"),
        (b"Summary,Issue key\nCaf\xe9,X-1\n", None, "is not UTF-8 text (byte 0xe9 on line 2)"),
        (b"", None, "is empty"),
        (b"Name,Owner,Due\nA,b,c\n", None, "neither a Jira CSV export"),
        (b"Name,Owner,Due\nA,b,c\n", "jira-csv", "has no Summary or Issue key column"),
        (LINEAR, "jira-csv", "is not a Jira CSV export: it has no Summary or Issue key"),
        (JIRA, "linear-csv", "is not a Linear CSV export: it has no ID or Title column"),
        (b'{"stories": []}', None, "is JSON but not an AutoDevHub export"),
        (b'{"kind": "autodevhub.stories", "stories": [}', None, "is not valid JSON"),
        (b'Summary,Issue key\n"Open quote,X-1\n', None, "is not valid CSV"),
        (b"Summary,Issue key\n", None, "holds no records"),
        (JIRA, "xlsx", "'xlsx' is not an import format"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_clearly(world, data, format, says):
    world.project(world.alice, "Web shop", key="WEB")
    with pytest.raises(ValidationFailed) as refused:
        _import(world, world.alice, data, format=format, filename="upload/export.csv")
    assert says in refused.value.message
    assert _stories(world) == {} and _last_number(world) == 0


def test_another_workspaces_project_is_not_found_and_members_may_not_import(world):
    world.project(world.alice, "Web shop", key="WEB")
    with pytest.raises(NotFound):
        _import(world, world.eve, JIRA)  # workspace T2 has no WEB
    with pytest.raises(PermissionDenied, match="can import stories into it"):
        _import(world, world.bob, JIRA)  # a member, neither owner nor admin
    assert _stories(world) == {}
    world.project(world.bob, "Bob's", key="BOB")
    assert _import(world, world.bob, JIRA, project="BOB").imported == 5  # an owner may


def test_the_json_export_round_trips_into_another_project(world):
    from storage.exchange.export import export_project

    world.project(world.alice, "Web shop", key="WEB")
    world.project(world.alice, "Mobile", key="MOB")
    world.story(
        world.alice,
        "WEB",
        title="Reset password",
        description="As a user,\nI want a reset link.",
        acceptance_criteria=["Given a, when b, then c"],
        tasks=["Write the email"],
        tags=["auth"],
        priority="HIGH",
        story_points=5,
        status="READY",
        meta={"epic": "accounts"},
    )
    with world.db.write() as s:
        from storage.stories import assign_story

        assign_story(s, world.alice, "WEB-1", "UBOB")
    world.story(world.alice, "WEB", title="Second", priority="LOW")
    with world.db.read() as s:
        document = export_project(s, world.alice, "WEB", "json").content

    report = _import(world, world.alice, document, project="MOB", filename="web.json")

    assert (report.format, report.imported) == ("json", 2)
    web, mob = _stories(world, "WEB"), _stories(world, "MOB")
    fields = ("title", "description", "acceptance_criteria", "priority", "story_points")
    fields += ("tasks", "tags", "status", "created_at", "assignee_id")
    for n in (1, 2):
        original, copy = web[f"WEB-{n}"], mob[f"MOB-{n}"]
        assert {f: getattr(copy, f) for f in fields} == {f: getattr(original, f) for f in fields}
        assert copy.meta == {**original.meta, "source": {"system": "autodevhub", "key": f"WEB-{n}"}}
    assert mob["MOB-1"].assignee_id == world.bob.user_id
    # into a third workspace's project, no member is made from the file
    world.project(world.eve, "Elsewhere", key="ELS")
    _import(world, world.eve, document, project="ELS", filename="web.json")
    assert _stories(world, "ELS")["ELS-1"].assignee_id is None
    assert _import(world, world.alice, document, project="MOB").skipped[0].story_key == "MOB-1"


def test_ten_thousand_records_go_in_with_a_few_statements_per_batch(world):
    """Bulk: the statements an import sends grow with its batches, not its records."""
    world.project(world.alice, "Web shop", key="WEB")
    rows = [
        [f"Story {i}", f"BIG-{i}", "Story", "To Do", "Medium", "bulk", "", f"Text {i}", "3"]
        for i in range(1, 2501)
    ]
    with statements(world.db) as sent:
        report = _import(world, world.alice, _csv(JIRA_HEADER, *rows))
    assert report.imported == 2500 and report.last_key == "WEB-2500"
    assert len(sent) < 40, f"{len(sent)} statements for 2,500 records"
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) == 2500
        assert [story.key for story in search_stories(s, world.alice, "2499")] == ["WEB-2499"]
        if world.db.dialect == "sqlite":  # one executemany, a distinct search key per story
            keys = "SELECT count(DISTINCT search_key) FROM user_stories WHERE search_key > 0"
            assert s.scalar(sql_text(keys)) == 2500


def test_the_same_file_imported_twice_at_once_goes_in_once_beside_other_writers(world):
    """SQLite's one writer, PostgreSQL's lock on the project's row: the second import reads
    what the first wrote, whichever wins; a story made meanwhile keeps its own number."""
    import threading

    from storage.check import run_checks

    world.project(world.alice, "Web shop", key="WEB")
    start = threading.Barrier(3)
    reports, errors = [], []

    def importing():
        try:
            start.wait()
            reports.append(_import(world, world.alice, JIRA))
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    def writing():
        try:
            start.wait()
            world.story(world.bob, "WEB", title="Made meanwhile")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=t) for t in (importing, importing, writing)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted((r.imported, len(r.skipped)) for r in reports) == [(0, 5), (5, 0)]
    stored = _stories(world)
    assert list(stored) == [f"WEB-{n}" for n in range(1, 7)] and _last_number(world) == 6
    assert sorted(s.meta.get("source", {}).get("key", "") for s in stored.values()) == [
        "",
        "SHOP-12",
        "SHOP-13",
        "SHOP-14",
        "SHOP-15",
        "SHOP-16",
    ]
    assert run_checks(world.db) == []  # search index and numbering sound
