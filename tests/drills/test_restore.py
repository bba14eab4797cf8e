"""Drill: `autodevhub restore --force` while serve and a long-lived process keep writing.

Every write a person was told succeeded (the story form's submission acknowledged; a
domain write committed) must be in the restored database or in the copy restore kept of
the database it replaced. Restore replaces the rows in one write transaction, with no file
swapped under the processes that have the database open, so they carry on, on the
restored data, without restarting.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from storage import projects, stories
from storage.backup.hold import sqlite_path
from storage.db import Database
from storage.users import ensure_user
from tests.drills.conftest import run_cli, signed_slack
from tests.handlers.flows import create_project, create_story, open_form, submit


def _titles(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT title FROM user_stories")}
    finally:
        conn.close()


@pytest.mark.timeout(120)
def test_a_forced_restore_under_writers_loses_no_acknowledged_write(
    serve, unreliable_slack, drill_db_url: str, tmp_path: Path
) -> None:
    server = serve()
    slack = signed_slack(server, unreliable_slack)
    create_project(slack, "Web shop", "WEB")
    for i in range(3):
        create_story(slack, "WEB", f"Before the backup {i}")
    backups = tmp_path / "backups"
    taken = run_cli(drill_db_url, "backup", AUTODEVHUB_BACKUP_DIR=str(backups))
    assert taken.returncode == 0, taken.stderr
    [backup] = backups.glob("autodevhub_*.db.gz")

    # a long-lived process of its own (as the shell is): its pool was opened before the restore
    console = Database(drill_db_url)
    with console.write() as s:
        me = ensure_user(s, "T0CONSOLE", "U0CONSOLE")
        projects.create_project(s, me, {"name": "Console", "key": "CON"})
    acked: list[str] = []
    stop = threading.Event()
    failures: list[str] = []

    def through_slack() -> None:
        i = 0
        while not stop.is_set():
            title = f"Slack story {i}"
            view = open_form(slack, "/story", "new WEB")
            reply = submit(slack, view, title=title, description="As a user, I want it.")
            if reply.status == 200 and not reply.body:  # acknowledged: the person saw it saved
                acked.append(title)
            else:
                failures.append(reply.text)
            i += 1

    def through_the_console() -> None:
        i = 0
        while not stop.is_set():
            title = f"Console story {i}"
            try:
                with console.write() as s:
                    me = ensure_user(s, "T0CONSOLE", "U0CONSOLE")
                    try:
                        project = "CON"
                        stories.create_story(s, me, project, {"title": title, "description": "x"})
                    except Exception:
                        # after the restore the backup has no CON project: make it again
                        projects.create_project(s, me, {"name": "Console", "key": "CON"})
                        stories.create_story(s, me, "CON", {"title": title, "description": "x"})
            except Exception as exc:  # not acknowledged: the person was told it failed
                failures.append(repr(exc))
            else:
                acked.append(title)
            i += 1
            time.sleep(0.005)

    writers = [threading.Thread(target=w) for w in (through_slack, through_the_console)]
    for w in writers:
        w.start()
    try:
        time.sleep(1.5)
        before = len(acked)
        restored = run_cli(drill_db_url, "restore", str(backup), "--force")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        deadline = time.monotonic() + 20
        while len(acked) < before + 40 and time.monotonic() < deadline:
            time.sleep(0.1)  # the writers carry on, on the restored data
    finally:
        stop.set()
        for w in writers:
            w.join(30)
    console.dispose()

    db_path = sqlite_path(drill_db_url)
    assert db_path is not None
    [kept] = db_path.parent.glob(f"{db_path.name}.before-restore-*")
    now, then = _titles(db_path), _titles(kept)
    lost = [t for t in acked if t not in now and t not in then]
    assert lost == [], f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
    assert {f"Before the backup {i}" for i in range(3)} <= now
    written_after = [t for t in acked if t in now and t not in then]
    assert {t.split()[0] for t in written_after} == {"Slack", "Console"}, (
        "both writers should have gone on writing after the restore"
    )
    assert "restored data" in restored.stdout
    # a form opened before the restore and sent after it: its conversation is not in the
    # backup, and the person is told so (nothing saved, nothing half-written)
    assert all("conversation has expired" in f for f in failures), failures[:3]
