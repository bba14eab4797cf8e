"""`autodevhub shell` in a real terminal (a pty, driven with pexpect) as a person uses it:
keys typed, what the screen shows, what the database holds afterwards."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from sqlalchemy import func, select

from storage import projects, stories
from storage.db import Database
from storage.models import GenerationRequest, Project, UserStory
from storage.users import ensure_user

ROOT = Path(__file__).resolve().parents[2]
UP = "\x1b[A"  # the arrow-up key, as a terminal sends it
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
PROMPT = "ana> "


class Terminal:
    """The console running in a pseudo-terminal; `screen` is everything it showed."""

    def __init__(self, db: Database, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTODEVHUB_"))}
        env.update(
            DATABASE_URL=db.url,
            HOME=str(home),
            LOGNAME="ana",
            USER="ana",
            TERM="xterm",
            PYTHONPATH=str(ROOT),
            ANTHROPIC_API_KEY="",
        )
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "bot", "shell"],
            cwd=str(home),
            env=env,
            encoding="utf-8",
            timeout=30,  # a console starting while the suite loads both cores
            dimensions=(50, 250),
        )
        self.seen = ""
        self.child.logfile_read = self  # everything the console shows lands in `seen`
        self.expect(PROMPT)

    def write(self, shown: str) -> None:
        self.seen += shown

    def flush(self) -> None:
        pass

    def expect(self, text: str) -> None:
        self.child.expect_exact(text)

    def settle(self) -> None:
        """Give readline a moment after its prompt before a key sequence: an escape sequence
        that arrives while it is still setting the terminal up can be lost (this test timed
        out twice in full-suite runs on a loaded machine, never alone)."""
        time.sleep(0.5)

    def type(self, line: str, then: str = PROMPT) -> None:
        """Type a line and Enter, and wait for what comes next (by default the prompt)."""
        self.child.send(line + "\r")
        self.expect(then)

    @property
    def screen(self) -> str:
        """What was shown so far (terminal control sequences left out)."""
        return ESCAPES.sub("", self.seen)

    def leave(self) -> int:
        """Ctrl-D at the prompt: the console must end by itself, cleanly."""
        self.child.sendeof()
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus


@pytest.fixture
def terminal(sqlite_db: Database, tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(sqlite_db, tmp_path)
    yield term
    if term.child.isalive():
        term.child.terminate(force=True)


def seed(db: Database, stories_in_web: int = 0) -> None:
    """Project WEB ("Web shop") with some stories, made by ana in the console's workspace."""
    with db.write() as s:
        ana = ensure_user(s, "TCONSOLE", "ana")
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
        for n in range(stories_in_web):
            stories.create_story(s, ana, "WEB", {"title": f"Story {n:02d}", "description": "d"})


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_ctrl_c_in_a_form_cancels_it_and_the_console_goes_on(terminal, sqlite_db):
    terminal.type("/project new", then="Name: ")
    terminal.type("Half a project", then="Key: ")
    terminal.child.sendintr()
    terminal.expect("Cancelled; nothing saved.")
    terminal.expect(PROMPT)
    terminal.type("/project list")
    assert "No projects yet" in terminal.screen
    assert terminal.leave() == 0
    assert "Traceback" not in terminal.screen and "KeyboardInterrupt" not in terminal.screen
    assert count(sqlite_db, Project) == 0


def test_ctrl_c_at_the_prompt_drops_the_line_and_ctrl_d_leaves(terminal):
    terminal.child.send("/project delete everything")
    terminal.expect("everything")  # on screen, not yet entered
    terminal.child.sendintr()
    terminal.expect(PROMPT)
    assert terminal.leave() == 0
    assert "Delete project" not in terminal.screen and "Traceback" not in terminal.screen


def test_arrow_up_recalls_commands_across_sessions(terminal, sqlite_db, tmp_path):
    seed(sqlite_db)
    terminal.type("/project list")
    terminal.settle()
    terminal.type(UP)  # the same command again, not `^[[A`
    assert terminal.screen.count("WEB        Web shop") == 2
    assert "^[[A" not in terminal.screen and "Unknown command" not in terminal.screen
    assert terminal.leave() == 0
    assert (tmp_path / ".autodevhub_history").read_text().splitlines() == ["/project list"]

    again = Terminal(sqlite_db, tmp_path)
    again.settle()
    again.child.send(UP)
    again.expect("/project list")  # from the history file, shown for editing
    again.child.send("\r")
    again.expect("WEB        Web shop")
    assert again.leave() == 0


def test_a_bad_priority_is_asked_again_alone_without_the_rejected_default(terminal, sqlite_db):
    terminal.type("/project new", then="Name: ")
    terminal.type("Web shop", then="Key: ")
    terminal.type("WEB", then="Description")
    terminal.type("", then="Repository URL: ")
    terminal.type("", then="Default priority (LOW/MEDIUM/HIGH/CRITICAL) [MEDIUM]: ")
    terminal.type("URGENT", then="'URGENT' is not a default priority; use one of LOW, MEDIUM")
    terminal.expect("Default priority (LOW/MEDIUM/HIGH/CRITICAL) [MEDIUM]: ")
    terminal.type("high", then="Story template [agile]: ")
    terminal.type("", then="Include tasks in generated stories? (y/n) [y]: ")
    terminal.type("maybe", then="'maybe' is not a yes or no: answer y or n.")
    terminal.expect("Include tasks in generated stories? (y/n) [y]: ")
    terminal.type("n", then="Estimate points for generated stories? (y/n) [y]: ")
    terminal.type("", then="Definition of Ready (off/warn/require) [warn]: ")
    terminal.type("", then="Project created.")
    terminal.expect(PROMPT)
    screen = terminal.screen
    assert screen.count("Story template [agile]: ") == 1 and screen.count("Name: ") == 1
    assert "[URGENT]" not in screen and "story_template" not in screen
    assert "Nothing saved" not in screen
    with sqlite_db.read() as s:
        project = s.scalars(select(Project)).one()
    assert (project.key, project.settings["default_priority"]) == ("WEB", "HIGH")
    assert project.settings["include_tasks"] is False


def test_the_story_form_refuses_a_wrong_project_a_long_title_and_50_points(terminal, sqlite_db):
    seed(sqlite_db)
    terminal.type("/story new", then="Project (WEB) [WEB]: ")
    terminal.type("Web shp", then="No project named 'Web shp'. Did you mean 'Web shop'?")
    terminal.expect("Project (WEB) [WEB]: ")
    terminal.type("web", then="Title: ")
    terminal.type("x" * 5000, then="Title must be at most 200 characters")
    terminal.expect("Title: ")  # no default: the refused title is not offered back
    terminal.type("Reset password", then="Description")
    terminal.type("As a user I want a reset link", then="Acceptance criteria")
    terminal.type("", then="Priority")
    terminal.type("", then="Story points (0/1/2/3/5/8/13/21) [0]: ")
    terminal.type("50", then="Story points must be between 0 and 21")
    terminal.expect("Story points (0/1/2/3/5/8/13/21) [0]: ")
    terminal.type("5", then="Tags: ")
    terminal.type("", then="Status")
    terminal.type("", then="Assignee")
    terminal.type("", then="New story.")
    terminal.expect(PROMPT)
    screen = terminal.screen
    assert "[50]" not in screen and "Title [x" not in screen
    assert "story_points" not in screen and "Nothing saved" not in screen
    with sqlite_db.read() as s:
        story = s.scalars(select(UserStory)).one()
    assert (story.title, story.story_points) == ("Reset password", 5)


def test_a_delete_needs_a_clear_yes(terminal, sqlite_db):
    seed(sqlite_db)
    terminal.type("/project delete WEB", then="(y/N): ")
    terminal.type("maybe", then="Answer y or n.")
    terminal.expect("(y/N): ")
    terminal.type("n", then="Nothing deleted.")
    assert terminal.leave() == 0
    assert count(sqlite_db, Project) == 1


def test_generate_with_a_key_no_project_has_changes_nothing(terminal, sqlite_db):
    seed(sqlite_db)
    terminal.type("/autodev generate WBE Export as CSV")
    screen = terminal.screen
    assert "No project has the key WBE. Did you mean WEB? Projects here: WEB (Web shop)." in screen
    assert "How many stories" not in screen and "Generating" not in screen
    assert count(sqlite_db, GenerationRequest) == 0


def test_next_on_the_last_page_says_so(terminal, sqlite_db):
    seed(sqlite_db, stories_in_web=3)
    terminal.type("/story list WEB")
    terminal.type("next")
    terminal.type("prev")
    screen = terminal.screen
    assert screen.count("Web shop (WEB) (page 1)") == 1  # page 1 is not shown again
    assert "This is the last page." in screen and "This is the first page." in screen

    seed_more = 9  # 12 stories: two pages; next, next stays on page 2
    with sqlite_db.write() as s:
        ana = ensure_user(s, "TCONSOLE", "ana")
        for n in range(seed_more):
            stories.create_story(s, ana, "WEB", {"title": f"More {n}", "description": "d"})
    terminal.type("/story list WEB")
    terminal.type("next")
    terminal.type("next")
    tail = terminal.screen.rsplit("/story list WEB", 1)[1]
    assert tail.count("(page 2)") == 1 and tail.count("(page 1)") == 1
    assert tail.rstrip().endswith("This is the last page.\n" + PROMPT.rstrip())


def test_audit_names_stories_by_their_keys(terminal, sqlite_db):
    seed(sqlite_db, stories_in_web=1)
    terminal.type("/story move WEB-1 done")
    terminal.type("/autodev audit")
    audit = terminal.screen.rsplit("/autodev audit", 1)[1]
    assert "@ana story.move WEB-1 — DRAFT → DONE" in audit
    assert "@ana story.create WEB-1 — Story 00" in audit
    assert "@ana project.create WEB — Web shop" in audit
    assert not re.search(r"[0-9a-f]{32}", audit), audit
