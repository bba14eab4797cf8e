"""Database time: a histogram per operation, and a log line for each slow statement that
shows its shape, never its values."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from bot.observe import observe, shape

SLOW_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) FROM c WHERE x != 'the secret password'"
)
SLOW_POSTGRES = "SELECT pg_sleep(0.3), 'the secret password'"


def count_story_titles(db) -> int:
    """An operation of its own, as a domain function would be."""
    with db.read() as s:
        slow = SLOW_POSTGRES if db.dialect == "postgresql" else SLOW_SQLITE
        s.execute(text(slow))
        return 1


def _samples(operation: str) -> float:
    found = REGISTRY.get_sample_value(
        "autodevhub_db_statement_seconds_count", {"operation": operation}
    )
    return found or 0.0


def test_a_slow_statement_is_logged_by_operation_with_its_values_left_out(db, caplog):
    observe(db, slow_ms=100)
    operation = f"{__name__}.count_story_titles"
    before = _samples(operation)
    with caplog.at_level(logging.WARNING, logger="autodevhub.db"):
        count_story_titles(db)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "autodevhub.db"]
    assert line.startswith(f"slow query: {operation} took ")
    assert "the secret password" not in line and "?" in line
    assert ("pg_sleep" if db.dialect == "postgresql" else "WITH RECURSIVE") in line
    assert _samples(operation) >= before + 1  # (SQLite counts its BEGIN too)


def test_fast_statements_are_timed_but_not_logged(db, caplog):
    observe(db, slow_ms=10_000)
    with caplog.at_level(logging.WARNING, logger="autodevhub.db"), db.write() as s:
        s.execute(text("SELECT 1"))
    assert not [r for r in caplog.records if r.name == "autodevhub.db"]
    assert _samples(f"{__name__}.test_fast_statements_are_timed_but_not_logged") >= 1


def test_the_shape_of_a_statement_hides_its_literals():
    assert shape("SELECT * FROM t WHERE a = 'x''y' AND b = 42\n  AND c = ?") == (
        "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?"
    )
    assert len(shape("SELECT " + "a, " * 500 + "b")) == 400


def _histogram(name: str, operation: str) -> tuple[float, float]:
    labels = {"operation": operation}
    count = REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0
    total = REGISTRY.get_sample_value(f"{name}_sum", labels) or 0.0
    return count, total


def hold_the_writer(db, seconds: float, holding: threading.Event) -> None:
    with db.write() as s:
        s.execute(text("SELECT 1"))
        holding.set()
        time.sleep(seconds)


def wait_for_the_writer(db) -> None:
    with db.write() as s:
        s.execute(text("SELECT 1"))


def test_each_write_is_timed_by_its_wait_for_the_writer_and_its_hold(db):
    observe(db, slow_ms=10_000)
    observe(db, slow_ms=10_000)  # observed twice, still counted once
    holder, waiter = f"{__name__}.hold_the_writer", f"{__name__}.wait_for_the_writer"
    held_before = _histogram("autodevhub_db_write_seconds", holder)
    waited_before = _histogram("autodevhub_db_writer_wait_seconds", waiter)
    holding = threading.Event()
    first = threading.Thread(target=hold_the_writer, args=(db, 0.5, holding))
    first.start()
    assert holding.wait(10)
    wait_for_the_writer(db)
    first.join()
    count, total = _histogram("autodevhub_db_write_seconds", holder)
    assert count == held_before[0] + 1 and total - held_before[1] >= 0.5
    count, total = _histogram("autodevhub_db_writer_wait_seconds", waiter)
    assert count == waited_before[0] + 1
    if db.dialect == "sqlite":  # one writer: the second write waited for the first
        assert total - waited_before[1] >= 0.25
    else:  # PostgreSQL writers do not queue for a turn
        assert total - waited_before[1] < 0.25


def test_a_failing_observer_neither_fails_the_write_nor_hides_its_error(db, caplog):
    from storage.models import User

    def broken(*_args):
        raise RuntimeError("observer broke")

    db.observe_writes(broken)
    with caplog.at_level(logging.ERROR, logger="storage.db"), db.write() as s:
        s.add(User(slack_team_id="T0OBSERVE", slack_user_id="U0KEPT"))
    assert "a write observer failed" in caplog.text
    with pytest.raises(ValueError, match="the unit's own"), db.write() as s:
        s.add(User(slack_team_id="T0OBSERVE", slack_user_id="U0GONE"))
        s.flush()
        raise ValueError("the unit's own error")
    with db.read() as s:  # the first committed, the second rolled back
        stored = s.scalars(select(User.slack_user_id).where(User.slack_team_id == "T0OBSERVE"))
        assert list(stored) == ["U0KEPT"]
