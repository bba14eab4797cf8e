"""Drill fixtures: the real `autodevhub serve` as a child process, a fake Slack that misbehaves."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from bench.serve_process import SIGNING_SECRET, ServeProcess, app_env
from storage.db import Database
from tests.fakes.slack_api import Call, FakeSlackAPI, SignedSlack, _parse_body

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill: a fault drill (also `make drills`)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/drills/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.drill)


class UnreliableSlackAPI(FakeSlackAPI):
    """The fake Web API, plus HTTP 500s and answers slower than the client waits."""

    def __init__(self) -> None:
        super().__init__()
        self._faults: dict[str, list[tuple[str, float]]] = {}
        self._faults_lock = threading.Lock()

    def server_error(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 500 (recorded as calls all the same)."""
        with self._faults_lock:
            self._faults.setdefault(method, []).extend([("500", 0.0)] * times)

    def stall(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer only after `seconds` (a timeout)."""
        with self._faults_lock:
            self._faults.setdefault(method, []).extend([("stall", seconds)] * times)

    def _take_fault(self, method: str) -> tuple[str, float] | None:
        with self._faults_lock:
            queue = self._faults.get(method)
            return queue.pop(0) if queue else None

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        method = "response_url" if path.startswith("/response/") else path.removeprefix("/api/")
        fault = self._take_fault(method)
        if fault is None:
            super()._handle(req)
            return
        kind, seconds = fault
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""

        call = Call(method=method, params=_parse_body(raw, req.headers.get("Content-Type", "")))
        call.path = path
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        if kind == "stall":
            time.sleep(seconds)
        with contextlib.suppress(OSError):  # the client may have given up waiting
            self._send(req, 500, {"ok": False, "error": "fatal_error"}, {})


@pytest.fixture
def unreliable_slack() -> Iterator[UnreliableSlackAPI]:
    with UnreliableSlackAPI() as fake:
        yield fake


@pytest.fixture
def drill_db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of this drill (the server process opens it too)."""
    path = tmp_path / "autodevhub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def serve(
    drill_db_url: str, unreliable_slack: UnreliableSlackAPI, tmp_path: Path
) -> Iterator[Callable[..., ServeProcess]]:
    """Start `autodevhub serve` as a child process: `serve(**settings)` -> ServeProcess."""
    started: list[ServeProcess] = []

    def start(**settings: str | None) -> ServeProcess:
        env = app_env(drill_db_url, unreliable_slack.api_url, **settings)
        log = tmp_path / f"serve-{len(started)}.log"
        proc = ServeProcess(env, log_path=log)
        started.append(proc)
        return proc.start(timeout=60)

    yield start
    for proc in started:
        proc.stop()


def signed_slack(server: ServeProcess, fake: FakeSlackAPI, team: str | None = None) -> SignedSlack:
    """A member of a fresh workspace (its first member, so ADMIN), talking to `server`."""
    team = team or "T" + uuid.uuid4().hex[:8].upper()
    return SignedSlack(
        server.url, fake, team_id=team, user_id="U" + team[1:], signing_secret=SIGNING_SECRET
    )


def run_cli(db_url: str, *args: str, timeout: float = 120, **settings: str | None) -> Any:
    """`autodevhub ARGS` as a child process on the drill's database."""
    env = app_env(db_url, "http://127.0.0.1:9/api/", **settings)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def database(db_url: str) -> Database:
    return Database(db_url)
