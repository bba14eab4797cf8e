"""The hold serve and scheduler processes keep on a SQLite database, which restore checks."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import normalize_url
from storage.errors import DomainError

log = logging.getLogger(__name__)


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:" or url.database.startswith("file::memory"):
        return None
    return Path(url.database).resolve()


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-serve.lock")


class DatabaseHold:
    """A shared flock on `<db>-serve.lock`, held by each serve/scheduler process while it runs.

    The kernel drops the lock when the process exits, even on SIGKILL, so a crashed server
    never leaves a stale "in use" behind. Restore takes the lock exclusively: it can only get
    it when no process holds the database, and a server starting meanwhile waits for it.
    """

    def __init__(self, database_url: str) -> None:
        self.path = sqlite_path(database_url)
        self._fd: int | None = None

    def acquire(self, *, timeout: float = 30.0) -> DatabaseHold:
        if self.path is None or self._fd is not None:
            return self  # PostgreSQL: restore never replaces it from here; nothing to hold
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only directory: run, but restore cannot tell
            log.warning("cannot hold %s (%s): restore will not see this process", self.path, exc)
            return self
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise DomainError(
                        f"A restore is replacing {self.path}; start again when it has finished."
                    ) from None
                time.sleep(0.1)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseHold:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_database(database_url: str) -> DatabaseHold:
    """Mark the database as in use by this process (serve, scheduler) until released."""
    return DatabaseHold(database_url).acquire()


@contextlib.contextmanager
def exclusive(db_path: Path) -> Iterator[bool]:
    """Try to take the lock exclusively; yields whether we got it (no process holds the db)."""
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            got = True
        except BlockingIOError:
            got = False
        yield got
    finally:
        os.close(fd)  # closing drops the lock


def database_in_use(database_url: str) -> bool:
    """True while a serve or scheduler process holds the SQLite database."""
    path = sqlite_path(database_url)
    if path is None or not path.parent.exists():
        return False
    with exclusive(path) as got:
        return not got
