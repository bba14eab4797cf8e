"""The durable generation queue on SQLite and PostgreSQL: enqueue, claim, finish, re-queue."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.errors import NotFound, ValidationFailed
from storage.generation import queue
from storage.generation.rate_limit import RateLimited
from storage.models import AuditLog, GenerationRequest, utcnow
from tests.ai.conftest import seed_project

ASK = {"feature": "Reset password by email", "count": 2, "include_tasks": True}


def enqueue(db: Database, actor, n: int = 1, **kw) -> list[str]:
    ids = []
    with db.write() as s:
        for i in range(n):
            data = {**ASK, "feature": f"feature {i}"}
            ids.append(
                queue.enqueue_generation(s, actor, "web", data, rate_limit_per_minute=100, **kw).id
            )
    return ids


def test_enqueue_is_pending_and_audited(db: Database) -> None:
    actor = seed_project(db)
    with db.write() as s:
        view = queue.enqueue_generation(s, actor, "WEB", ASK, rate_limit_per_minute=10)
    assert view.status == "PENDING" and view.attempts == 0
    with db.read() as s:
        row = s.get(GenerationRequest, view.id)
        assert row.request_data == {**ASK, "project_key": "WEB"}
        assert row.project_id is not None
        actions = s.scalars(select(AuditLog.action)).all()
    assert "generation.requested" in actions


def test_unknown_project_is_refused_and_nothing_queued(db: Database) -> None:
    actor = seed_project(db)
    with pytest.raises(NotFound) as info, db.write() as s:
        queue.enqueue_generation(s, actor, "webb", ASK, rate_limit_per_minute=10)
    assert "Did you mean 'Web'?" in info.value.message
    for blank in ("", "   "):
        with pytest.raises(ValidationFailed, match="Name a project"), db.write() as s:
            queue.enqueue_generation(s, actor, blank, ASK, rate_limit_per_minute=10)
    with db.read() as s:
        assert s.scalars(select(GenerationRequest)).all() == []


def test_rate_limit_per_user_per_minute(db: Database) -> None:
    actor = seed_project(db)
    start = utcnow()
    with db.write() as s:
        for i in range(3):
            queue.enqueue_generation(
                s, actor, "WEB", ASK, rate_limit_per_minute=3, now=start + timedelta(seconds=i)
            )
    with pytest.raises(RateLimited) as info, db.write() as s:
        queue.enqueue_generation(
            s, actor, "WEB", ASK, rate_limit_per_minute=3, now=start + timedelta(seconds=10)
        )
    assert "the limit is 3 a minute" in info.value.message
    assert "Try again in 50 seconds" in info.value.message
    with db.write() as s:  # a minute after the first, there is room again
        queue.enqueue_generation(
            s, actor, "WEB", ASK, rate_limit_per_minute=3, now=start + timedelta(seconds=61)
        )
    with db.read() as s:
        assert len(s.scalars(select(GenerationRequest)).all()) == 4


def test_claim_takes_oldest_once(db: Database) -> None:
    actor = seed_project(db)
    base = utcnow()
    first, second = (
        enqueue(db, actor, now=base - timedelta(seconds=5))[0],
        enqueue(db, actor, now=base)[0],
    )
    with db.write() as s:
        a = queue.claim_next(s, "w1")
    with db.write() as s:
        b = queue.claim_next(s, "w2")
    with db.write() as s:
        assert queue.claim_next(s, "w3") is None
    assert (a.id, b.id) == (first, second)
    assert a.status == "PROCESSING" and a.attempts == 1 and a.claimed_by == "w1"


def test_finish_needs_the_claim(db: Database) -> None:
    actor = seed_project(db)
    (rid,) = enqueue(db, actor)
    with db.write() as s:
        queue.claim_next(s, "w1")
    with db.write() as s:
        lost = queue.complete_request(
            s,
            rid,
            "w2",
            response_data={},
            processing_time=1,
            ai_model="m",
            input_tokens=1,
            output_tokens=1,
        )
    assert lost is None
    with db.write() as s:
        done = queue.complete_request(
            s,
            rid,
            "w1",
            response_data={"stories": []},
            processing_time=1.5,
            ai_model="m",
            input_tokens=10,
            output_tokens=20,
        )
    assert done.status == "COMPLETED" and done.completed_at is not None
    assert (done.ai_model, done.input_tokens, done.output_tokens) == ("m", 10, 20)
    with db.write() as s:  # a finished request can't be failed afterwards
        assert queue.fail_request(s, rid, "w1", error_message="late") is None


def test_stale_claims_requeue_then_fail_after_max_attempts(db: Database) -> None:
    actor = seed_project(db)
    (rid,) = enqueue(db, actor)
    now = utcnow()
    lease = timedelta(seconds=30)
    for attempt in range(1, 4):
        with db.write() as s:
            claimed = queue.claim_next(s, f"w{attempt}", now=now)
        assert claimed.attempts == attempt
        with db.write() as s:  # a live lease is left alone
            assert queue.requeue_stale(s, stale_after=lease, now=now).requeued == []
        now += timedelta(seconds=31)
        with db.write() as s:
            report = queue.requeue_stale(s, stale_after=lease, max_attempts=3, now=now)
        if attempt < 3:
            assert report.requeued == [rid]
        else:
            assert report.failed == [rid]
    with db.read() as s:
        view = queue.load_request(s, rid)
    assert view.status == "FAILED"
    assert "interrupted 3 times" in view.error_message


def test_heartbeat_keeps_the_lease(db: Database) -> None:
    actor = seed_project(db)
    (rid,) = enqueue(db, actor)
    now = utcnow()
    with db.write() as s:
        queue.claim_next(s, "w1", now=now)
    with db.write() as s:
        assert queue.renew_claim(s, rid, "w1", now=now + timedelta(seconds=25))
        assert not queue.renew_claim(s, rid, "w2", now=now + timedelta(seconds=25))
    with db.write() as s:
        report = queue.requeue_stale(
            s, stale_after=timedelta(seconds=30), now=now + timedelta(seconds=40)
        )
    assert report.requeued == []


def test_attach_reply_records_where_the_message_is(db: Database) -> None:
    actor = seed_project(db)
    (rid,) = enqueue(db, actor)
    with db.write() as s:
        view = queue.attach_reply(s, rid, {"channel_id": "C1", "ts": "111.222"})
    assert view.reply == {"channel_id": "C1", "ts": "111.222"}
    assert view.request_data["feature"] == "feature 0"


def test_other_workspace_cannot_see_a_request(db: Database) -> None:
    from storage.users import ensure_user

    actor = seed_project(db)
    (rid,) = enqueue(db, actor)
    with db.write() as s:
        stranger = ensure_user(s, "T2", "U9")
    with pytest.raises(NotFound), db.read() as s:
        queue.get_request(s, stranger, rid)


def test_concurrent_claimers_on_separate_engines_never_share(db: Database) -> None:
    actor = seed_project(db)
    ids = enqueue(db, actor, n=30)
    claims: list[tuple[str, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def claimer(n: int) -> None:
        own = Database(db.url)  # its own engine and connection pool, like another process
        try:
            barrier.wait()
            while True:
                with own.write() as s:
                    got = queue.claim_next(s, f"c{n}")
                if got is None:
                    return
                with lock:
                    claims.append((got.id, f"c{n}"))
        finally:
            own.dispose()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(rid for rid, _ in claims) == sorted(ids)
    with db.read() as s:
        rows = s.scalars(select(GenerationRequest)).all()
    assert all(r.status == "PROCESSING" and r.attempts == 1 for r in rows)
