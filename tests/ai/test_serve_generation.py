"""`autodevhub serve` runs the generation worker pool: a real serve process end to end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.ui import ids
from storage.db import ROOT
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
from tests.slack.flows import create_project


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_generates_with_its_worker_pool(
    fake_slack: FakeSlackAPI,  # noqa: F811
    fake_claude: FakeAnthropic,
    sqlite_template: Path,
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "AUTODEVHUB_SLACK_API_URL": fake_slack.api_url,
        "ANTHROPIC_API_KEY": TEST_KEY,
        "ANTHROPIC_BASE_URL": fake_claude.url,
        "AUTODEVHUB_AI_MAX_RETRIES": "0",
        "AUTODEVHUB_AI_MODEL": "claude-test-model",
        "AUTODEVHUB_SCHEDULER": "false",
    }
    for name in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        env.pop(name, None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if http_request("GET", url + "/healthz").status == 200:
                    break
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        fake_slack.reset()
        slack = SignedSlack(url, fake_slack, team_id="TSERVE", user_id="USERVE")
        create_project(slack, "Web", "WEB")
        view, response_url = open_generate(slack, "web Users reset their password by email")
        assert submit(slack, view, count="2").status == 200
        drafts = fake_slack.wait_response(response_url, count=2, timeout=30)
        assert len(buttons(drafts, ids.AI_DRAFT_SAVE)) == 2
        assert "Story 1: Users reset their password by email" in drafts.text_of()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert TEST_KEY not in (tmp_path / "serve.log").read_text()
