"""Engine set-up: SQLite pragmas, write vs read transactions, Alembic migrations."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from alembic import command

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: threads still take turns
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUSY_TIMEOUT_MS = 15_000
POLITE_GAP = 0.0005  # seconds: see WriterTurn._take_file_lock


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


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).resolve())


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


def _try_flock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation)
        return True
    except OSError:
        return False


class WriterTurn:
    """Whose turn it is to write a SQLite file: this process's threads queue on a lock, and
    processes on an advisory lock file beside the database (`<db>-write.lock`).

    SQLite's own busy handler waits in sleeps of up to 100 ms with no order among waiters,
    so under steady writes from several processes one could wait most of a second. Here a
    waiting process polls the lock file every 0.2 to 2 ms and marks itself as waiting (a
    shared lock on `<db>-write.lock-waiting`); a process about to write again right after
    its last write first lets a marked waiter go. The lock file is only an aid: where it
    cannot be used (no file, no fcntl, not writable) or is not free within the busy
    timeout, the write goes ahead and waits on SQLite's own lock as before, so it can never
    add a failure.
    """

    def __init__(self, database_path: str | None, timeout: float) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._timeout = timeout
        self._fd: int | None = None
        self._waiting_fd = -1
        self._pid = os.getpid()
        self._locked = False  # this process holds the lock file
        self._released = 0.0  # when it last let go of it (monotonic)
        self._path = f"{database_path}-write.lock" if database_path else None

    def __enter__(self) -> WriterTurn:
        self._threads.acquire()
        try:
            if self._depth == 0:
                self._take_file_lock()
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._locked:
                self._locked = False
                fcntl.flock(self._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
                self._released = time.monotonic()
        finally:
            self._threads.release()

    def _take_file_lock(self) -> None:
        if fcntl is None or self._path is None:
            return
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own
            try:
                flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
                self._fd = os.open(self._path, flags, 0o600)
                self._waiting_fd = os.open(self._path + "-waiting", flags, 0o600)
                self._pid = os.getpid()
            except OSError:
                self._path = None
                return
        now = time.monotonic()
        if now - self._released < POLITE_GAP and self._others_waiting():
            # this process wrote a moment ago and another one is waiting: let it go first
            # (a process writing back to back would otherwise take the lock again before a
            # waiting one wakes up, and that one could starve for a second or more)
            time.sleep(POLITE_GAP)
        deadline = now + self._timeout
        started, marked = now, False
        try:
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._locked = True
                    return
                except BlockingIOError:
                    if not marked:  # show the holder that someone waits (a shared lock)
                        marked = _try_flock(self._waiting_fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    now = time.monotonic()
                    if now >= deadline:
                        return  # SQLite's busy handler decides from here
                    # poll often at first (writes take milliseconds), then back off
                    time.sleep(0.0002 if now - started < 0.05 else 0.002)
                except OSError:
                    return
        finally:
            if marked:
                fcntl.flock(self._waiting_fd, fcntl.LOCK_UN)

    def _others_waiting(self) -> bool:
        """Does another process hold the waiting file's shared lock (is it waiting)?"""
        if not _try_flock(self._waiting_fd, fcntl.LOCK_EX | fcntl.LOCK_NB):
            return True
        fcntl.flock(self._waiting_fd, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            os.close(self._waiting_fd)
            self._fd = None


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
        # SQLite has one writer at a time: writers take turns (WriterTurn) instead of waiting
        # on SQLite's busy handler, which polls in sleeps of up to 100 ms.
        self._writer_turn: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if is_sqlite(self.url):
            self._writer_turn = WriterTurn(sqlite_file(self.url), timeout / 1000)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @property
    def engine(self) -> Engine:
        return self.write_engine

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write unit of work: commits on success, rolls back on any error."""
        with self._writer_turn, self._write.begin() as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """One read-only unit of work (never blocks a writer on SQLite WAL)."""
        with self._read.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(alembic_config(self.url), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(alembic_config(self.url), revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.write_engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        if isinstance(self._writer_turn, WriterTurn):
            self._writer_turn.close()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    # '%' must be escaped for ConfigParser interpolation
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg
