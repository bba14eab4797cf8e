"""`autodevhub serve` runs the generation worker pool: real serve processes end to end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from bot.ui import ids
from storage.db import ROOT, Database
from storage.models import GenerationRequest
from tests.ai.conftest import TEST_KEY
from tests.ai.test_slack_generation import buttons, open_generate, submit
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    SignedSlack,
    fake_slack,  # noqa: F401
    http_request,
)
from tests.handlers.flows import create_project


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(
    db_url: str, slack_api: FakeSlackAPI, fake_claude: FakeAnthropic, log: Path
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m bot serve` on a free port, up once /healthz answers; stopped on exit."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "AUTODEVHUB_SLACK_API_URL": slack_api.api_url,
        "ANTHROPIC_API_KEY": TEST_KEY,
        "ANTHROPIC_BASE_URL": fake_claude.url,
        "AUTODEVHUB_AI_MAX_RETRIES": "0",
        "AUTODEVHUB_AI_MODEL": "claude-test-model",
        "AUTODEVHUB_AI_LEASE": "1",
        "AUTODEVHUB_SCHEDULER": "false",
    }
    for name in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        env.pop(name, None)
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if http_request("GET", url + "/healthz").status == 200:
                    break
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_serve_generates_with_its_worker_pool(
    fake_slack: FakeSlackAPI,  # noqa: F811
    fake_claude: FakeAnthropic,
    tmp_path: Path,
) -> None:
    log = tmp_path / "serve.log"
    with serving(f"sqlite:///{tmp_path / 'serve.db'}", fake_slack, fake_claude, log) as (url, _):
        fake_slack.reset()
        slack = SignedSlack(url, fake_slack, team_id="TSERVE", user_id="USERVE")
        create_project(slack, "Web", "WEB")
        view, response_url = open_generate(slack, "web Users reset their password by email")
        assert submit(slack, view, count="2").status == 200
        drafts = fake_slack.wait_response(response_url, count=2, timeout=30)
        assert len(buttons(drafts, ids.AI_DRAFT_SAVE)) == 2
        assert "Story 1: Users reset their password by email" in drafts.text_of()
    assert TEST_KEY not in log.read_text()


def _wait_until_generating_is_recorded(db_url: str, timeout: float = 30.0) -> None:
    """The kill is meant to land while Claude works, after "Generating…" was recorded (it is
    posted first, then recorded); a kill between the two is the other case, answered by a
    DM after bot.ai.worker.UNSHOWN_AFTER."""
    db = Database(db_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with db.read() as s:
                data = list(s.scalars(select(GenerationRequest.request_data)))
            if data and all((d or {}).get("reply") for d in data):
                return
            assert time.monotonic() < deadline, "Generating… was never recorded"
            time.sleep(0.05)
    finally:
        db.dispose()


def test_kill_9_mid_generation_then_restart_delivers_the_drafts(
    fake_slack: FakeSlackAPI,  # noqa: F811
    fake_claude: FakeAnthropic,
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'serve.db'}"
    log = tmp_path / "serve.log"
    fake_claude.then("hang")  # the first Claude call never answers
    with serving(db_url, fake_slack, fake_claude, log) as (url, proc):
        fake_slack.reset()
        slack = SignedSlack(url, fake_slack, team_id="TKILL", user_id="UKILL")
        create_project(slack, "Web", "WEB")
        view, response_url = open_generate(slack, "web Export invoices as CSV")
        assert submit(slack, view, count="2").status == 200
        assert "Generating…" in fake_slack.wait_response(response_url).text_of()
        fake_claude.wait_for_requests(1)
        _wait_until_generating_is_recorded(db_url)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with serving(db_url, fake_slack, fake_claude, log):
        drafts = fake_slack.wait_response(response_url, count=2, timeout=60)
    assert "Story 1: Export invoices as CSV" in drafts.text_of()
    db = Database(db_url)
    try:
        with db.read() as s:
            (request,) = s.scalars(select(GenerationRequest)).all()
    finally:
        db.dispose()
    assert (request.status, request.attempts) == ("COMPLETED", 2)
    assert len(fake_claude.requests) == 2
