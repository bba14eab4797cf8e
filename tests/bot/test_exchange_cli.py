"""`autodevhub export` and `autodevhub import` run as a person runs them, on a SQLite file:
what they write, what they print, and what they refuse."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.progress import ProgressShown
from storage import projects, stories
from storage.models import Project, UserStory
from storage.users import ensure_user

SAMPLES = Path(__file__).parents[1] / "storage" / "samples"
JIRA_HEADER = ["Summary", "Issue key", "Issue Type", "Status", "Priority", "Labels", "Labels"]
JIRA_HEADER += ["Description", "Custom field (Story Points)"]


@pytest.fixture
def shop(sqlite_db, tmp_path, monkeypatch):
    """A database with WEB (two stories) and an empty MOB in workspace T1, and the command
    line pointed at it from an empty working directory."""
    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        ensure_user(s, "T1", "UBOB")
        projects.create_project(s, alice, {"name": "Web shop", "key": "WEB"})
        projects.create_project(s, alice, {"name": "Mobile", "key": "MOB"})
        stories.create_story(
            s,
            alice,
            "WEB",
            {
                "title": "Reset password",
                "description": "As a user,\nI want a reset link.",
                "acceptance_criteria": ["Given a, when b, then c"],
                "tags": ["auth"],
                "priority": "HIGH",
            },
        )
        stories.create_story(s, alice, "WEB", {"title": "Wishlist", "description": "Keep it."})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    for name in [n for n in os.environ if n.startswith(("SLACK_", "AUTODEVHUB_"))]:
        monkeypatch.delenv(name)
    return sqlite_db


def _keys(db, project):
    with db.read() as s:
        return [
            f"{project}-{n}"
            for n in s.scalars(
                select(UserStory.number)
                .join(Project, Project.id == UserStory.project_id)
                .where(Project.key == project)
                .order_by(UserStory.number)
            )
        ]


def _jira_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(JIRA_HEADER)
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + out.getvalue().encode()


def test_export_writes_the_file_and_import_reads_it_into_another_project(shop, capsys):
    assert main(["export", "WEB", "--format", "json", "-o", "web.json"]) == 0
    said = capsys.readouterr()
    assert said.out == "Exported 2 stories of Web shop (WEB) as json to web.json.\n"
    document = json.loads(Path("web.json").read_text())
    assert [s["title"] for s in document["stories"]] == ["Reset password", "Wishlist"]

    assert main(["import", "web.json", "--project", "MOB"]) == 0
    assert (
        capsys.readouterr().out == "Imported 2 stories into Mobile (MOB) as MOB-1 … MOB-2 (json).\n"
    )
    assert _keys(shop, "MOB") == ["MOB-1", "MOB-2"]

    assert main(["import", "web.json", "--project", "mob"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Imported 0 stories into Mobile (MOB) (json).\n")
    assert "2 records were skipped, imported before:\n  story 1 (WEB-1) is MOB-1\n" in out
    assert _keys(shop, "MOB") == ["MOB-1", "MOB-2"]


def test_export_defaults_to_a_dated_csv_here_or_the_output_files_format(shop, capsys):
    assert main(["export", "WEB"]) == 0
    written = list(Path().glob("WEB-stories-*.csv"))
    assert len(written) == 1
    assert written[0].read_text().startswith("Summary,Issue Type,Description,Priority")
    assert main(["export", "WEB", "-o", "web.md"]) == 0
    assert Path("web.md").read_text().startswith("# Web shop (WEB)\n")
    capsys.readouterr()
    assert main(["export", "WEB", "--format", "csv", "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("Reset password,Story,")


def test_a_jira_export_imports_through_the_process_with_plain_progress_lines(shop, tmp_path):
    """Run as a subprocess, stderr no terminal: progress as lines, never a bar's \\r."""
    rows = [
        [f"Story {i}", f"SHOP-{i}", "Story", "To Do", "Highest", "ux", "web", f"Line\r\n{i}", "2.0"]
        for i in range(1, 1501)
    ]
    (tmp_path / "jira.csv").write_bytes(_jira_csv(rows))
    env = {**os.environ, "DATABASE_URL": shop.url}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "import", "jira.csv", "--project", "MOB"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Imported 1,500 stories into Mobile (MOB) as MOB-1 … MOB-1500 (jira-csv).\n"
    )
    lines = result.stderr.splitlines()
    assert "checking records: 1,500/1,500 (100%)" in lines
    assert "writing stories: 1,000/1,500 (66%)" in lines
    assert "writing stories: 1,500/1,500 (100%)" in lines
    assert "\r" not in result.stderr
    with shop.read() as s:
        story = s.scalars(select(UserStory).where(UserStory.number == 1500)).one()
        assert (story.priority, story.status, story.tags) == ("CRITICAL", "READY", ["ux", "web"])
        assert story.description == "Line\n1500" and story.meta["source"]["key"] == "SHOP-1500"


def test_refused_records_are_listed_with_their_lines_and_nothing_changes(shop, tmp_path, capsys):
    Path("bad.csv").write_bytes(
        _jira_csv(
            [
                ["Fine", "SHOP-1", "Story", "Done", "High", "", "", "Two\r\nlines", ""],
                ["Bad points", "SHOP-2", "Story", "Done", "High", "", "", "d", "lots"],
                ["Bad priority", "SHOP-3", "Story", "Done", "Meh", "", "", "d", ""],
            ]
        )
    )
    assert main(["import", "bad.csv", "--project", "MOB"]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.splitlines() == [
        "autodevhub import: Nothing was imported: 2 of the 3 records were refused. "
        "Fix them and import again.",
        "  line 4 (SHOP-2): Story points must be a whole number from 0 to 21.",
        "  line 5 (SHOP-3): its priority 'Meh' is not one we know (Highest, Blocker, Critical, "
        "Urgent, High, Major, Medium, Normal, Low, Minor, Lowest, Trivial, No Priority, None).",
    ]
    assert _keys(shop, "MOB") == []


def test_a_dry_run_says_what_would_happen_and_writes_nothing(shop, capsys):
    Path("linear.csv").write_bytes((SAMPLES / "linear-export.csv").read_bytes())
    assert main(["import", "linear.csv", "--project", "WEB", "--dry-run"]) == 0
    assert capsys.readouterr().out == (
        "Dry run: 7 of 7 records would be imported into Web shop (WEB) as WEB-3 … WEB-9. "
        "Nothing was written.\n"
    )
    assert _keys(shop, "WEB") == ["WEB-1", "WEB-2"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["import", "missing.csv", "--project", "WEB"], "cannot read missing.csv: No such file"),
        (["import", "web.csv", "--project", "NOPE"], "No project NOPE in this database."),
        (["import", "notes.csv", "--project", "WEB"], "notes.csv is neither a Jira CSV export"),
        (["import", "web.csv", "--project", "WEB", "--format", "linear-csv"], "no ID or Title"),
        (["import", "web.csv", "--project", "WEB", "--as", "UNOBODY"], "No member UNOBODY"),
        (["import", "web.csv", "--project", "WEB", "--as", "UBOB"], "Only the owner of project"),
        (["export", "NOPE"], "No project NOPE in this database."),
        (["export", "WEB", "--team", "T9"], "No project WEB in workspace T9."),
    ],
)
def test_bad_input_gets_a_specific_message_and_changes_nothing(shop, capsys, argv, says):
    Path("web.csv").write_bytes(_jira_csv([["A", "SHOP-1", "Story", "", "", "", "", "d", ""]]))
    Path("notes.csv").write_text("Name,Owner\nMilk,me\n")
    assert main(argv) == 1
    said = capsys.readouterr()
    assert says in said.err and said.out == ""
    assert _keys(shop, "WEB") == ["WEB-1", "WEB-2"] and not list(Path().glob("WEB-stories-*"))


def test_a_key_in_several_workspaces_needs_team(shop, capsys):
    with shop.write() as s:
        eve = ensure_user(s, "T2", "UEVE")
        projects.create_project(s, eve, {"name": "Their web", "key": "WEB"})
    assert main(["export", "WEB", "-o", "x.csv"]) == 1
    assert "Several workspaces have a project WEB (T1, T2); say which with --team." in (
        capsys.readouterr().err
    )
    assert main(["export", "WEB", "--team", "T2", "-o", "x.csv"]) == 0
    assert len(Path("x.csv").read_text().splitlines()) == 1  # T2's WEB has no story
    with shop.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) == 2


def test_progress_is_a_bar_on_a_terminal_and_tenths_as_lines_otherwise():
    on_terminal = io.StringIO()
    shown = ProgressShown(on_terminal, terminal=True)
    for done in range(0, 5001, 500):
        shown("writing stories", done, 5000)
    shown.close()
    assert "writing stories: 100%|" in on_terminal.getvalue() and "\r" in on_terminal.getvalue()

    in_a_log = io.StringIO()
    shown = ProgressShown(in_a_log, terminal=False)
    for done in range(0, 5001, 250):
        shown("writing stories", done, 5000)
    shown("writing stories", 5000, 5000)
    lines = in_a_log.getvalue().splitlines()
    assert lines[0] == "writing stories: 500/5,000 (10%)"
    assert lines[-1] == "writing stories: 5,000/5,000 (100%)" and len(lines) == 10

    small = io.StringIO()
    ProgressShown(small, terminal=False)("checking records", 10, 10)
    assert small.getvalue() == ""  # over before a line would help
