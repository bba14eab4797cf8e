"""`autodevhub backup [--list]` and `autodevhub restore FILE [--force]` as an operator runs them."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bot.backup_cli import backup_main, restore_main
from storage.backup.hold import hold_database
from storage.db import Database
from tests.scheduler.conftest import scheduler_settings
from tests.scheduler.data import make_project, make_story, make_user


def test_backup_list_and_restore(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = scheduler_settings(sqlite_db, tmp_path, AUTODEVHUB_TIMEZONE="Europe/Berlin")
    assert backup_main(settings, list_only=True) == 0
    assert "No backups in" in capsys.readouterr().out
    make_story(sqlite_db, make_project(sqlite_db, make_user(sqlite_db)))
    assert backup_main(settings) == 0
    out = capsys.readouterr().out
    assert out.startswith("Backup written and verified: ") and ".db.gz" in out
    assert backup_main(settings, list_only=True) == 0
    listed = capsys.readouterr().out
    assert "times in Europe/Berlin" in listed and "sqlite" in listed
    [backup] = sorted((tmp_path / "backups").glob("autodevhub_*.db.gz"))

    sqlite_db.dispose()
    assert restore_main(settings, str(backup)) == 0
    out = capsys.readouterr().out
    assert "kept as" in out and "checks: ok" in out


def test_restore_refusals_exit_1_and_say_nothing_changed(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = scheduler_settings(sqlite_db, tmp_path)
    bad = tmp_path / "bad.db.gz"
    bad.write_bytes(gzip.compress(b"not sqlite" * 100))
    assert restore_main(settings, str(bad)) == 1
    err = capsys.readouterr().err
    assert "is not a SQLite database" in err and "Nothing was changed." in err
    assert backup_main(settings) == 0
    [good] = (tmp_path / "backups").glob("autodevhub_*.db.gz")
    capsys.readouterr()
    with hold_database(sqlite_db.url, "autodevhub shell"):
        assert restore_main(settings, str(tmp_path / "nothere.db.gz"), force=True) == 1
        assert "There is no file" in capsys.readouterr().err  # not "stop it first"
        assert restore_main(settings, str(good)) == 1
        assert "pass --force" in capsys.readouterr().err
        assert restore_main(settings, str(good), force=True) == 0
        assert "carry on with the restored data" in capsys.readouterr().out


def test_backup_failure_exit_1_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = Database(f"sqlite:///{tmp_path / 'nothing-here.db'}")
    settings = scheduler_settings(missing, tmp_path)
    assert backup_main(settings) == 1
    err = capsys.readouterr().err
    assert err.startswith("autodevhub backup: There is no database at") and "Traceback" not in err
    missing.dispose()


def test_backup_restore_and_check_say_how_far_they_are(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not on a terminal (as here): plain lines on stderr, stdout keeps the result."""
    settings = scheduler_settings(sqlite_db, tmp_path)
    project = make_project(sqlite_db, make_user(sqlite_db))
    for i in range(30):
        make_story(sqlite_db, project, title=f"story {i}")
    assert backup_main(settings) == 0
    out, err = capsys.readouterr()
    assert "Compressing: " in err and "(100%)" in err and "Compressing" not in out
    [backup] = (tmp_path / "backups").glob("autodevhub_*.db.gz")
    size = backup.stat().st_size
    assert restore_main(settings, str(backup)) == 0
    out, err = capsys.readouterr()
    assert f"Unpacking the backup: {size:,}/{size:,} (100%)" in err
    assert "Restored " in out and "Unpacking" not in out

    from bot.cli import main as cli_main

    settings_env = {"DATABASE_URL": sqlite_db.url}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings_env.items():
            mp.setenv(name, value)
        assert cli_main(["check"]) == 0
    out, err = capsys.readouterr()
    steps = [line.strip() for line in err.splitlines() if "checking" in line]
    assert steps == [
        "checking integrity (1/5)…",
        "checking foreign keys (2/5)…",
        "checking search index (3/5)…",
        "checking story numbers (4/5)…",
        "checking project versions (5/5)…",
    ]
    assert "OK: integrity" in out


def test_a_command_started_during_a_restore_says_so_without_a_traceback(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main as cli_main
    from storage.backup.hold import DatabaseHold
    from storage.errors import DomainError

    def restoring(self, *, timeout: float = 30.0):
        raise DomainError(f"A restore is replacing {self.path}; start again when it has finished.")

    monkeypatch.setattr(DatabaseHold, "acquire", restoring)
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    for argv in (["db", "current"], ["check"], ["export", "WEB"]):
        assert cli_main(argv) == 1
        err = capsys.readouterr().err
        assert f"autodevhub {argv[0]}: A restore is replacing" in err, argv
        assert "Traceback" not in err
