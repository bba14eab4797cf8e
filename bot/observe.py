"""Database time, observed: a histogram per operation and a log line for each slow statement.

The operation is the module and function that opened the unit of work (storage.db names
it), never SQL text or anything a person wrote; the slow-query line shows the statement's
shape with every literal taken out.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from typing import Any

from prometheus_client import Histogram
from sqlalchemy import event

from bot.settings import Settings
from storage.backup.hold import hold_database
from storage.db import OPERATION, Database

log = logging.getLogger("autodevhub.db")

# from half a millisecond (one indexed statement) to ten seconds (a stuck writer)
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

DB_SECONDS = Histogram(
    "autodevhub_db_statement_seconds",
    "Time of each database statement, by the operation that ran it",
    ["operation"],
    buckets=SECONDS_BUCKETS,
)
WRITER_WAIT_SECONDS = Histogram(
    "autodevhub_db_writer_wait_seconds",
    "Time a write unit of work waited for this process's turn at SQLite's one writer (a wait "
    "for another process's write is in autodevhub_db_write_seconds), by operation",
    ["operation"],
    buckets=SECONDS_BUCKETS,
)
WRITE_SECONDS = Histogram(
    "autodevhub_db_write_seconds",
    "Time a write unit of work held the writer (SQLite) or its transaction (PostgreSQL), "
    "from its start to its commit or rollback, by operation",
    ["operation"],
    buckets=SECONDS_BUCKETS,
)
SHAPE_CHARS = 400
DEFAULT_SLOW_MS = 1000.0
_SLOW_MS: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()  # engine: ms
_STARTED = "autodevhub_statement_started"
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def open_database(settings: Settings, holder: str) -> Database:
    """The configured database, observed (what serve, the scheduler and the CLI use), and
    held under the name `holder` until disposed: restore refuses while any process holds it,
    naming them (storage/backup/hold.py)."""
    db = Database(settings.database_url)
    db.on_dispose(hold_database(db.url, holder).release)
    observe(db, slow_ms=settings.slow_query_ms)
    return db


def observe(db: Database, *, slow_ms: float) -> None:
    """Time every statement on `db`'s engines; log the ones over `slow_ms` milliseconds."""
    db.observe_writes(_write_done)
    for engine in (db.write_engine, db.read_engine):
        if engine not in _SLOW_MS:
            event.listen(engine, "before_cursor_execute", _before)
            event.listen(engine, "after_cursor_execute", _after)
        _SLOW_MS[engine] = slow_ms


def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
    conn.info.setdefault(_STARTED, []).append(time.perf_counter())


def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
    started = conn.info.get(_STARTED)
    if not started:
        return
    seconds = time.perf_counter() - started.pop()
    operation = OPERATION.get()
    DB_SECONDS.labels(operation).observe(seconds)
    if seconds * 1000 >= _SLOW_MS.get(conn.engine, DEFAULT_SLOW_MS):
        log.warning("slow query: %s took %.0f ms: %s", operation, seconds * 1000, shape(statement))


def _write_done(operation: str, waited: float, held: float) -> None:
    WRITER_WAIT_SECONDS.labels(operation).observe(waited)
    WRITE_SECONDS.labels(operation).observe(held)


def shape(statement: str) -> str:
    """The statement with its literals replaced by ?, on one line, cut to SHAPE_CHARS (its
    bound parameters are never shown)."""
    one_line = " ".join(_LITERALS.sub("?", statement).split())
    return one_line if len(one_line) <= SHAPE_CHARS else one_line[: SHAPE_CHARS - 1] + "…"
