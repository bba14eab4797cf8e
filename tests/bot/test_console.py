"""`autodevhub shell`: the same commands typed in a terminal, forms asked field by field."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bot.console import main
from bot.settings import Settings
from storage.models import Project, UserStory

ROOT = Path(__file__).resolve().parents[2]


def run_console(db, lines: list[str], user: str = "ana") -> str:
    out = io.StringIO()
    settings = Settings(_env_file=None, DATABASE_URL=db.url)
    code = main(settings, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, user=user)
    assert code == 0
    return out.getvalue()


NEW_PROJECT = ["/project new", "Web shop", "WEB", "The shop", "", "high", "", "n", "", ""]


def test_project_and_story_from_the_console(sqlite_db):
    out = run_console(
        sqlite_db,
        [
            *NEW_PROJECT,
            "/story new",
            "WEB",
            "Reset password",
            "As a user I want a reset link",
            "Given I forgot\\nThen I get a mail",
            "critical",
            "5",
            "auth, mail",
            "",
            "@maria",
            "story list",
            "/story move WEB-1 in progress",
            "/story assign WEB-1 @bob",
            "/story search reset",
            "/autodev me",
            "quit",
        ],
    )
    assert "Project created." in out and "New story." in out
    assert "WEB-1      CRITICAL DRAFT       Reset password @maria  ! 2 to fix" in out
    # the project's Definition of Ready is `warn` (the default): the move says what is missing
    assert "WEB-1 moved to IN_PROGRESS, but it is not ready: 2 things to fix" in out
    assert "@bob" in out
    assert "Stories created this week: 1" in out
    with sqlite_db.read() as s:
        project = s.scalars(select(Project)).one()
        story = s.scalars(select(UserStory)).one()
    assert project.settings["default_priority"] == "HIGH"
    assert project.settings["include_tasks"] is False
    assert story.acceptance_criteria == ["Given I forgot", "Then I get a mail"]
    assert (story.status, story.story_points, story.tags) == ("IN_PROGRESS", 5, ["auth", "mail"])


def test_bad_fields_are_asked_again_at_once_and_nothing_is_saved_until_right(sqlite_db):
    out = run_console(
        sqlite_db,
        ["/project new", "Web", "1x", "WEB", "", "ftp://nope", "https://x.example", *[""] * 5],
    )
    assert "  Key must be 2–10 capital letters or digits, starting with a letter" in out
    assert "  Repository URL must be an http(s) address" in out
    assert out.count("  Key: ") == 2 and out.count("  Repository URL: ") == 2
    assert out.count("  Name: ") == 1 and "Please correct" not in out
    assert "repository_url" not in out and "key:" not in out  # fields as people read them
    assert "Project created." in out
    with sqlite_db.read() as s:
        assert s.scalars(select(Project.key)).all() == ["WEB"]


def test_input_ending_mid_form_saves_nothing(sqlite_db):
    out = run_console(sqlite_db, ["/project new", "Half"])
    assert "nothing saved" in out
    with sqlite_db.read() as s:
        assert s.scalars(select(Project)).all() == []


def test_help_usage_refusals_and_confirmation(sqlite_db):
    out = run_console(
        sqlite_db,
        [
            "help",
            "/story bogus",
            "/project show webb",
            *NEW_PROJECT,
            "as bob",
            "/project delete WEB",
            "y",
            "as ana",
            "/project delete WEB",
            "n",
            "/autodev digest on",
            "hello",
        ],
    )
    assert "/autodev audit [N]" in out
    assert "I don't know 'bogus'." in out
    assert "No project named 'webb'" in out
    assert "Only the owner of project 'Web shop'" in out
    assert "Nothing deleted." in out
    assert "Digests are set up in a channel." in out
    assert "Unknown command 'hello'" in out
    with sqlite_db.read() as s:
        assert len(s.scalars(select(Project)).all()) == 1


def test_paging_in_the_console(sqlite_db):
    from storage import projects, stories
    from storage.users import ensure_user

    with sqlite_db.write() as s:
        actor = ensure_user(s, "TCONSOLE", "ana")
        projects.create_project(s, actor, {"name": "Web", "key": "WEB"})
        for n in range(12):
            stories.create_story(s, actor, "WEB", {"title": f"Story {n:02d}", "description": "d"})
    out = run_console(sqlite_db, ["/story list WEB", "next", "prev", "next", "next"])
    assert "(page 1)" in out and "(page 2)" in out
    assert "`next` for the next page" in out and "`prev` for the previous page" in out
    assert all(f"Story {n:02d}" in out for n in range(12))


def _clean_env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTODEVHUB_"))}
    env["DATABASE_URL"] = db_url
    return env


def test_shell_command_reads_stdin(sqlite_db, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell"],
        input="/project list\nquit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(sqlite_db.url),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "No projects yet" in result.stdout


def test_serve_without_slack_settings_opens_the_console_and_says_how_to_connect(
    sqlite_db, tmp_path
):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        input="/project list\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(sqlite_db.url),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "manifest.yml" in result.stdout and "SLACK_SIGNING_SECRET" in result.stdout
    assert "No projects yet" in result.stdout


def test_serve_with_incomplete_settings_names_the_missing_one(sqlite_db, tmp_path):
    env = _clean_env(sqlite_db.url)
    env["SLACK_BOT_TOKEN"] = "xoxb-not-a-real-one"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "xoxb-not-a-real-one" not in result.stderr + result.stdout


def test_story_form_defaults_to_the_only_project(sqlite_db):
    out = run_console(
        sqlite_db,
        [*NEW_PROJECT, "/story new", "", "Checkout", "As a buyer I pay", "", "", "", "", "", ""],
    )
    assert "New story." in out and "WEB-1" in out
    with sqlite_db.read() as s:
        assert s.scalars(select(UserStory.title)).all() == ["Checkout"]


def test_generate_in_the_console_saves_the_chosen_offline_drafts(sqlite_db, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = run_console(
        sqlite_db,
        [
            *NEW_PROJECT,
            "/autodev generate WEB Shoppers can save a cart and share it with a friend",
            "2",
            "",
            "n",
            "2",
            "quit",
        ],
    )
    assert "Generating…" in out and "Made offline" in out
    assert "Saved WEB-1." in out
    with sqlite_db.read() as s:
        stories = s.scalars(select(UserStory)).all()
    assert len(stories) == 1
    assert stories[0].meta["ai_model"] == "offline"
    assert stories[0].meta["generation_request_id"]


def test_export_in_the_console_points_at_the_command_line(sqlite_db):
    out = run_console(
        sqlite_db, [*NEW_PROJECT, "/project export web markdown", "/project export WEB pdf"]
    )
    assert "In a terminal, run `autodevhub export WEB --format markdown`" in out
    assert "'pdf' is not an export format; use one of csv, markdown, json." in out


def test_a_move_the_definition_of_ready_holds_is_confirmed_with_anyway(sqlite_db):
    require = ["/project new", "Web shop", "WEB", "", "", "", "", "", "", "require"]
    story = ["/story new", "WEB", "fix stuff", "fix stuff", "", "", "21", "", "", ""]
    out = run_console(
        sqlite_db,
        [*require, *story, "/story move WEB-1 READY", "/story move WEB-1 READY anyway", "quit"],
    )
    assert "Definition of Ready require" in out
    assert "WEB-1 is not ready for READY: 4 things to fix." in out
    assert "  - 21 points is too big for one sprint" in out
    assert "/story move WEB-1 READY anyway" in out
    assert "WEB-1 moved to READY anyway, 4 things to fix; the override is in the audit log." in out
    with sqlite_db.read() as s:
        assert s.scalars(select(UserStory.status)).one() == "READY"


def test_a_fault_of_ours_gets_the_apology_and_the_console_goes_on(sqlite_db, caplog):
    """A database that breaks under the console (here: the search index gone) is answered
    with the apology and a one-line log, no traceback on screen, and the console goes on."""
    from sqlalchemy import text

    from bot.ui.messages import SORRY_NOTHING_SAVED

    run_console(sqlite_db, NEW_PROJECT)
    with sqlite_db.write() as s:
        for trigger in ("stories_fts_ai", "stories_fts_ad", "stories_fts_au"):
            s.execute(text(f"DROP TRIGGER {trigger}"))
        s.execute(text("DROP TABLE stories_fts"))
    shown = run_console(sqlite_db, ["/story search password", "/project list"])
    assert "Traceback" not in shown and "OperationalError" not in shown
    after = shown.split(SORRY_NOTHING_SAVED)[1]  # the apology, then the next command's answer
    assert "WEB" in after and "Web shop" in after
    (record,) = [r for r in caplog.records if r.name == "autodevhub.console"]
    assert record.getMessage() == "/story failed: OperationalError: no such table: stories_fts"
    assert record.exc_info is None  # one line, no trace
