"""The worker pool against the fake Messages API: results recorded, failures explained,
nothing lost when a worker is killed, nothing run twice by two processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.ai.worker import GenerationWorkerPool
from storage.db import ROOT, Database
from storage.generation import queue
from storage.generation.queue import RequestView
from storage.models import GenerationRequest, UserStory, utcnow
from storage.projects import find_project
from tests.ai.conftest import TEST_KEY, make_settings, seed_project
from tests.fakes.anthropic_api import FakeAnthropic, refused_url

ASK = {"feature": "Export reports as CSV", "count": 2, "include_tasks": True}


def enqueue(db: Database, actor, feature: str = "Export reports as CSV") -> str:
    with db.write() as s:
        return queue.enqueue_generation(
            s, actor, "WEB", {**ASK, "feature": feature}, rate_limit_per_minute=1000
        ).id


def wait_finished(db: Database, ids: list[str], timeout: float = 60.0) -> list[RequestView]:
    deadline = time.monotonic() + timeout
    while True:
        with db.read() as s:
            views = [queue.load_request(s, rid) for rid in ids]
        if all(v.finished for v in views):
            return views
        if time.monotonic() > deadline:
            raise AssertionError(f"not finished: {[(v.id, v.status) for v in views]}")
        time.sleep(0.05)


def test_pool_completes_a_request_with_usage(db: Database, fake_claude: FakeAnthropic) -> None:
    actor = seed_project(db)
    with db.write() as s:
        s.execute(  # existing story titles travel to Claude
            UserStory.__table__.insert().values(
                id="a" * 32,
                team_id="T1",
                project_id=find_project(s, actor, "WEB").id,
                number=1,
                title="Sign in with Google",
                description="d",
            )
        )
    rid = enqueue(db, actor)
    delivered: list[RequestView] = []
    pool = GenerationWorkerPool(db, make_settings(), deliver=delivered.append, workers=2)
    pool.start()
    try:
        pool.wake()
        (view,) = wait_finished(db, [rid])
    finally:
        pool.stop()
    assert view.status == "COMPLETED"
    assert view.ai_model == "claude-test-model"
    assert view.input_tokens > 0 and view.output_tokens > 0
    assert view.processing_time is not None and view.processing_time >= 0
    assert [s["title"] for s in view.response_data["stories"]] == [
        "Story 1: Export reports as CSV",
        "Story 2: Export reports as CSV",
    ]
    assert view.response_data["offline"] is False
    assert [d.id for d in delivered] == [rid]
    assert "Sign in with Google" in fake_claude.requests[0].body["messages"][0]["content"]


def test_project_model_setting_is_used(db: Database, fake_claude: FakeAnthropic) -> None:
    from storage.projects import update_project

    actor = seed_project(db)
    with db.write() as s:
        update_project(s, actor, "WEB", {"settings": {"ai_model": "claude-from-project"}})
    rid = enqueue(db, actor)
    pool = GenerationWorkerPool(db, make_settings(), workers=1)
    assert pool.run_once()
    (view,) = wait_finished(db, [rid])
    assert view.ai_model == "claude-from-project"


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ({"kind": "status", "status": 429}, "rate-limiting"),
        ({"kind": "status", "status": 500}, "internal error"),
        ({"kind": "hang"}, "did not answer within"),
        ({"kind": "schema_break"}, "did not fit the story format"),
        ({"kind": "empty"}, "empty answer"),
    ],
)
def test_failures_end_failed_with_a_reason(
    sqlite_db: Database, fake_claude: FakeAnthropic, behaviour: dict, reason: str, caplog
) -> None:
    actor = seed_project(sqlite_db)
    rid = enqueue(sqlite_db, actor)
    fake_claude.then(**behaviour)
    delivered: list[RequestView] = []
    pool = GenerationWorkerPool(
        sqlite_db,
        # only the hang waits for the timeout; the rest must not race it on a busy machine
        make_settings(AUTODEVHUB_AI_TIMEOUT=0.5 if behaviour["kind"] == "hang" else 30),
        deliver=delivered.append,
    )
    assert pool.run_once()
    with sqlite_db.read() as s:
        view = queue.load_request(s, rid)
        assert s.scalars(select(UserStory)).all() == []  # nothing half-made saved
    assert view.status == "FAILED"
    assert reason in view.error_message
    assert view.response_data is None
    assert delivered[0].status == "FAILED"
    assert TEST_KEY not in caplog.text


def test_connection_refused_fails_the_request(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", refused_url())
    actor = seed_project(sqlite_db)
    rid = enqueue(sqlite_db, actor)
    GenerationWorkerPool(sqlite_db, make_settings()).run_once()
    (view,) = wait_finished(sqlite_db, [rid])
    assert view.status == "FAILED" and "Could not connect to Claude" in view.error_message


def test_offline_without_api_key(sqlite_db: Database) -> None:
    actor = seed_project(sqlite_db)
    rid = enqueue(sqlite_db, actor, "Users can export reports as CSV and share them by link")
    GenerationWorkerPool(sqlite_db, make_settings(ANTHROPIC_API_KEY=None)).run_once()
    (view,) = wait_finished(sqlite_db, [rid])
    assert view.status == "COMPLETED" and view.ai_model == "offline"
    assert view.response_data["offline"] is True
    titles = [s["title"] for s in view.response_data["stories"]]
    assert titles == ["Export reports as CSV", "Share them by link"]


# ---- processes -----------------------------------------------------------------------


def _worker_process(db_url: str, fake_url: str, *, name: str, lease: float, workers: int = 1):
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "ANTHROPIC_BASE_URL": fake_url,
        "ANTHROPIC_API_KEY": TEST_KEY,
        "AUTODEVHUB_AI_MAX_RETRIES": "0",
        "AUTODEVHUB_AI_TIMEOUT": "30",
        "AUTODEVHUB_AI_MODEL": "claude-test-model",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.ai.worker",
            "--workers",
            str(workers),
            "--lease",
            str(lease),
            "--poll",
            "0.05",
            "--name",
            name,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=tempfile.TemporaryFile(),  # noqa: SIM115 - a file, not a pipe that could fill
        text=True,
    )
    return proc


def _ready(proc: subprocess.Popen) -> subprocess.Popen:
    line = proc.stdout.readline()
    assert line.startswith("ready"), f"worker did not start (exit {proc.poll()})"
    return proc


def test_killed_worker_mid_request_is_finished_after_restart(
    db: Database, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    actor = seed_project(db)
    rid = enqueue(db, actor)
    fake_claude.then("hang")  # the first call never answers
    worker = _ready(_worker_process(db.url, fake_claude.url, name="doomed", lease=1.0))
    try:
        fake_claude.wait_for_requests(1)
        with db.read() as s:
            assert queue.load_request(s, rid).status == "PROCESSING"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with db.read() as s:  # killed mid-request: the row still says PROCESSING
        assert queue.load_request(s, rid).status == "PROCESSING"

    restarted = _ready(_worker_process(db.url, fake_claude.url, name="restarted", lease=3.0))
    try:
        (view,) = wait_finished(db, [rid])
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(20)
    assert view.status == "COMPLETED"
    assert view.attempts == 2
    assert view.claimed_by.startswith("restarted")
    assert len(fake_claude.requests) == 2


def test_two_processes_never_process_the_same_request(
    db: Database, fake_claude: FakeAnthropic
) -> None:
    actor = seed_project(db)
    fake_claude.default.delay = 0.05
    procs = [
        _worker_process(db.url, fake_claude.url, name=f"proc{n}", lease=30, workers=3)
        for n in range(2)
    ]
    for p in procs:
        _ready(p)
    try:
        with db.write() as s:  # all at once, while both processes are polling
            ids = [
                queue.enqueue_generation(
                    s,
                    actor,
                    "WEB",
                    {**ASK, "feature": f"feature number {i}"},
                    rate_limit_per_minute=1000,
                ).id
                for i in range(24)
            ]
        views = wait_finished(db, ids)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(20)
    assert all(v.status == "COMPLETED" and v.attempts == 1 for v in views)
    features = sorted(r.feature for r in fake_claude.requests)
    assert features == sorted(f"feature number {i}" for i in range(24))  # each exactly once
    with db.read() as s:
        claimers = {c.split(":")[0] for c in s.scalars(select(GenerationRequest.claimed_by))}
    assert claimers == {"proc0", "proc1"}


def test_points_left_to_the_team_when_auto_assign_is_off(
    sqlite_db: Database, fake_claude: FakeAnthropic
) -> None:
    from storage.projects import update_project

    actor = seed_project(sqlite_db)
    with sqlite_db.write() as s:
        update_project(s, actor, "WEB", {"settings": {"auto_assign_points": False}})
    rid = enqueue(sqlite_db, actor)
    GenerationWorkerPool(sqlite_db, make_settings()).run_once()
    (view,) = wait_finished(sqlite_db, [rid])
    assert [s["story_points"] for s in view.response_data["stories"]] == [0, 0]
    assert "auto_assign_points: false" in fake_claude.requests[0].body["messages"][0]["content"]


def test_stopping_hands_unfinished_requests_back(
    sqlite_db: Database, fake_claude: FakeAnthropic
) -> None:
    import threading

    actor = seed_project(sqlite_db)
    rid = enqueue(sqlite_db, actor)
    hold = threading.Event()
    fake_claude.then("ok", hold=hold)
    pool = GenerationWorkerPool(sqlite_db, make_settings(), workers=1, poll_seconds=0.05)
    pool.start()
    fake_claude.wait_for_requests(1)
    pool.stop(timeout=0.2)  # Claude is still "thinking"
    with sqlite_db.read() as s:
        view = queue.load_request(s, rid)
    assert view.status == "PENDING" and view.claimed_by is None
    hold.set()  # the late answer is fenced off: the claim is gone
    fake_claude.requests[0].answered.wait(10)
    time.sleep(0.2)
    with sqlite_db.read() as s:
        assert queue.load_request(s, rid).status == "PENDING"
    assert GenerationWorkerPool(sqlite_db, make_settings()).run_once()
    (done,) = wait_finished(sqlite_db, [rid])
    assert done.status == "COMPLETED" and done.attempts == 2


def test_a_result_nobody_showed_is_sent_as_a_dm(sqlite_db: Database) -> None:
    """The listener died between queueing and showing "Generating…": the keeper DMs it."""
    import time_machine

    actor = seed_project(sqlite_db)
    rid = enqueue(sqlite_db, actor)
    delivered: list[RequestView] = []
    pool = GenerationWorkerPool(
        sqlite_db, make_settings(ANTHROPIC_API_KEY=None), deliver=delivered.append
    )
    assert pool.run_once()
    assert [d.reply for d in delivered] == [None]  # nowhere to show it yet
    pool.keep()
    assert len(delivered) == 1  # too early: the listener may still be showing it
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        pool.keep()
        pool.keep()  # once only
    assert [d.reply for d in delivered[1:]] == [{"direct_message": True}]
    assert delivered[1].id == rid


def test_a_dead_local_workers_claims_are_taken_back_at_once(sqlite_db: Database) -> None:
    import socket

    actor = seed_project(sqlite_db)
    rid = enqueue(sqlite_db, actor)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process of this host that no longer runs
    with sqlite_db.write() as s:
        dead = f"{socket.gethostname()[:40]}:{gone.pid}:abc123:w0"
        assert queue.claim_next(s, dead).id == rid
        alive = f"{socket.gethostname()[:40]}:{os.getppid()}:def456:w0"  # still running
        other = enqueue_in(s, actor)
        assert queue.claim_next(s, alive).id == other
    pool = GenerationWorkerPool(
        sqlite_db, make_settings(ANTHROPIC_API_KEY=None), lease_seconds=3600
    )
    report = pool.keep()  # the lease is an hour: only the dead claimer's request goes back
    assert report.requeued == [rid]
    with sqlite_db.read() as s:
        assert queue.load_request(s, rid).status == "PENDING"
        assert queue.load_request(s, other).status == "PROCESSING"


def enqueue_in(s, actor) -> str:
    return queue.enqueue_generation(s, actor, "WEB", ASK, rate_limit_per_minute=1000).id
