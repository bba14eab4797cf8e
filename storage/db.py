"""Engine set-up: SQLite pragmas, write vs read transactions, Alembic migrations."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from alembic import command

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUSY_TIMEOUT_MS = 15_000
log = logging.getLogger(__name__)


def default_database_url() -> str:
    """The embedded default: a SQLite file in the working directory."""
    return f"sqlite:///{Path.cwd() / 'autodevhub.db'}"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs, as Heroku-style settings give them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, immediate: bool, busy_timeout_ms: int) -> Engine:
    # every listener, scheduler and AI worker thread may hold a connection at once
    engine = create_engine(
        url, connect_args={"check_same_thread": False}, pool_size=16, max_overflow=48
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # take transaction control from pysqlite so BEGIN is ours to emit
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes cannot wait on busy_timeout and fails with "database is locked".
        conn.exec_driver_sql(begin)

    return engine


# The operation a unit of work belongs to (a function's module and name: never SQL or user
# text), for the database-time metrics and the slow-query log (bot/observe.py).
OPERATION: ContextVar[str] = ContextVar("autodevhub_operation", default="other")
# Modules whose frames are passed over when naming it: wrappers that open units of work
# for their callers (see `passed_over`).
_PASSED_OVER = {__name__, "contextlib"}


def passed_over(module: str) -> None:
    """Name the units of work `module` opens after its callers (a wrapper like a request's
    `write()`), not after itself."""
    _PASSED_OVER.add(module)


def _caller() -> str:
    """module.function of the code that opened the unit of work."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _PASSED_OVER:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "other"
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"


READ_ONLY = "autodevhub_read_only"


def is_read_only(s: Session) -> bool:
    """Whether `s` is a `Database.read()` unit of work: what it sees is committed, and it
    changes nothing, so an answer made from it can be kept (a write's session may see its
    own changes, which can still be rolled back)."""
    return bool(s.info.get(READ_ONLY))


class Database:
    """The app's database: `write()` and `read()` units of work over one URL."""

    def __init__(self, url: str | None = None, *, busy_timeout_ms: int | None = None) -> None:
        self.url = normalize_url(url or os.environ.get("DATABASE_URL") or default_database_url())
        timeout = busy_timeout_ms or DEFAULT_BUSY_TIMEOUT_MS
        if is_sqlite(self.url):
            self.write_engine = _sqlite_engine(self.url, immediate=True, busy_timeout_ms=timeout)
            self.read_engine = _sqlite_engine(self.url, immediate=False, busy_timeout_ms=timeout)
        else:
            self.write_engine = create_engine(
                self.url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=3600
            )
            self.read_engine = self.write_engine
        # SQLite has one writer at a time: this process's threads queue on a lock for it
        # instead of on SQLite's busy handler, which polls in sleeps of up to 100 ms. The
        # design runs one serve process per SQLite file; the rare other writer (the scheduler,
        # a CLI command) waits on SQLite's busy_timeout.
        self._writer_turn: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if is_sqlite(self.url):
            self._writer_turn = threading.RLock()
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        # a read's session says so (`is_read_only`): what it reads may be kept for later reads
        self._read = sessionmaker(self.read_engine, expire_on_commit=False, info={READ_ONLY: True})
        self._on_dispose: list[Callable[[], None]] = []
        self._write_observers: list[Callable[[str, float, float], None]] = []

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @property
    def engine(self) -> Engine:
        return self.write_engine

    @contextlib.contextmanager
    def write(self, operation: str | None = None) -> Iterator[Session]:
        """One write unit of work: commits on success, rolls back on any error. Its
        statements are timed under `operation` (default: the function that opened it), and
        so is the unit itself: how long it waited for its turn at the writer, and how long
        it held it (`observe_writes`)."""
        name = operation or _caller()
        token = OPERATION.set(name)
        asked = got = time.perf_counter()
        try:
            with self._writer_turn:
                got = time.perf_counter()
                with self._write.begin() as session:
                    yield session
        finally:
            done = time.perf_counter()
            OPERATION.reset(token)
            # after the turn is given back; a failing observer neither hides the unit's own
            # error nor turns a committed write into a failure
            for observer in self._write_observers:
                try:
                    observer(name, got - asked, done - got)
                except Exception:
                    log.exception("a write observer failed")

    def observe_writes(self, observer: Callable[[str, float, float], None]) -> None:
        """Call `observer(operation, waited, held)` after each write unit of work, in seconds:
        the wait for this process's turn at SQLite's one writer (0 on PostgreSQL), and the
        time from the turn (or the start) to the commit or rollback; a wait for another
        process's write (the scheduler, a CLI command: SQLite's busy_timeout) is in the
        hold. Once per observer."""
        if observer not in self._write_observers:
            self._write_observers.append(observer)

    @contextlib.contextmanager
    def read(self, operation: str | None = None) -> Iterator[Session]:
        """One read-only unit of work (never blocks a writer on SQLite WAL)."""
        token = OPERATION.set(operation or _caller())
        try:
            with self._read.begin() as session:
                yield session
        finally:
            OPERATION.reset(token)

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(alembic_config(self.url), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(alembic_config(self.url), revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.write_engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def on_dispose(self, release: Callable[[], None]) -> None:
        """Run `release` when the database is disposed (a process's hold on it)."""
        self._on_dispose.append(release)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
        while self._on_dispose:
            self._on_dispose.pop()()


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    # '%' must be escaped for ConfigParser interpolation
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg
