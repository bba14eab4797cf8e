"""Real processes: `autodevhub serve` holds the database and backs it up; two `autodevhub
scheduler` processes on one database post each digest once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from storage.backup.files import list_backups
from storage.backup.hold import database_in_use
from storage.backup.restore import RestoreRefused, restore_backup
from storage.db import Database
from storage.digests.subscriptions import subscribe_channel
from storage.projects import create_project, link_channel
from storage.stories import create_story
from storage.users import ensure_user
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, http_request

ROOT = Path(__file__).resolve().parents[2]


def _env(db: Database, tmp_path: Path, fake: FakeSlackAPI, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTODEVHUB_"))}
    env.update(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        AUTODEVHUB_SLACK_API_URL=fake.api_url,
        AUTODEVHUB_BACKUP_DIR=str(tmp_path / "backups"),
        AUTODEVHUB_LOG_LEVEL="INFO",
        **extra,
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""


@pytest.fixture
def serve(sqlite_db: Database, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    with FakeSlackAPI() as fake:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=_env(sqlite_db, tmp_path, fake),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if http_request("GET", url + "/healthz").status == 200:
                        break
                except OSError:
                    pass
                assert proc.poll() is None, _stop(proc)
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
            yield proc, url
        finally:
            _stop(proc)


def test_serve_runs_the_scheduler_and_holds_the_database(
    serve: tuple[subprocess.Popen, str], sqlite_db: Database, tmp_path: Path
) -> None:
    proc, url = serve
    backups = tmp_path / "backups"
    deadline = time.monotonic() + 30
    while not list_backups(backups):  # no backup yet: one is taken at start
        assert time.monotonic() < deadline, "no startup backup"
        time.sleep(0.2)
    [backup] = list_backups(backups)
    metrics = http_request("GET", url + "/metrics").text
    assert "autodevhub_sessions_expired_deleted_total" in metrics
    assert "autodevhub_backups_total" in metrics

    assert database_in_use(sqlite_db.url)
    with pytest.raises(RestoreRefused, match="Stop it first"):
        restore_backup(sqlite_db.url, backup.path)
    proc.kill()  # even a server that dies without cleaning up releases the database
    proc.wait()
    assert not database_in_use(sqlite_db.url)
    assert restore_backup(sqlite_db.url, backup.path).problems == []


SCHEDULER = """
import sys, datetime, time_machine
time_machine.travel(datetime.datetime.fromisoformat(sys.argv[1]), tick=True).start()
from bot.cli import main
sys.exit(main(["scheduler"]))
"""


def test_two_scheduler_processes_post_each_digest_once(sqlite_db: Database, tmp_path: Path) -> None:
    channels = []
    at = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False), sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        for i in range(4):
            key, channel = f"K{i}X", f"C{i:04d}"
            create_project(s, alice, {"name": f"Project {i}", "key": key})
            link_channel(s, alice, key, channel)
            create_story(s, alice, key, {"title": f"Story {i}", "description": "d"})
            subscribe_channel(s, alice, channel, timezone="Europe/Berlin")
            channels.append(channel)
    with FakeSlackAPI() as fake:
        # both processes start 4 seconds before 09:00 Berlin on the day the clocks go forward
        start = "2026-03-29T06:59:56+00:00"
        env = _env(sqlite_db, tmp_path, fake, AUTODEVHUB_TIMEZONE="Europe/Berlin")
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", SCHEDULER, start],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            fake.wait_for(
                "chat.postMessage",
                lambda c: str(c.params.get("channel", "")).startswith("C"),
                count=4,
                timeout=30,
            )
            time.sleep(2.0)  # a duplicate would arrive by now
        finally:
            logs = [_stop(p) for p in procs]
        posts = [
            c.params["channel"]
            for c in fake.calls_to("chat.postMessage")
            if str(c.params.get("channel", "")).startswith("C")
        ]
    assert sorted(posts) == channels, logs
    assert all(p.returncode == 0 for p in procs), logs
    assert len(list_backups(tmp_path / "backups")) == 1, logs  # one startup backup, not two
