"""The hold serve and scheduler processes keep on a SQLite database, which restore checks."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
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


def holders_dir(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.holders")


class DatabaseHold:
    """A shared flock on `<db>-serve.lock`, held by every process that opens the database
    (serve, the scheduler, the shell, the AI worker, CLI commands) while it runs, and a
    file named after it in `.<db>.holders/` so that restore can say who is using it.

    The kernel drops the locks when the process exits, even on SIGKILL, so a crashed
    process never leaves a stale "in use" behind (its name file is swept by the next
    restore). Restore takes the lock exclusively: it can only get it when no process holds
    the database, and a process starting meanwhile waits for it.
    """

    def __init__(self, database_url: str, holder: str = "autodevhub") -> None:
        self.path = sqlite_path(database_url)
        self.holder = holder
        self._fd: int | None = None
        self._name_fd: int | None = None
        self._name: Path | None = None

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
        self._write_name()
        return self

    def _write_name(self) -> None:
        """Who holds it, for restore's refusal: one file per process, locked while it lives."""
        assert self.path is not None
        try:
            folder = holders_dir(self.path)
            folder.mkdir(exist_ok=True)
            name = folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            hidden = name.with_name("." + name.name)  # locked and written before it is seen
            fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            os.write(fd, f"{self.holder} (pid {os.getpid()}, since {since})".encode())
            os.rename(hidden, name)
        except OSError as exc:
            log.warning("cannot name this process beside %s (%s)", self.path, exc)
            return
        self._name_fd, self._name = fd, name

    def release(self) -> None:
        if self._name is not None:
            with contextlib.suppress(OSError):
                self._name.unlink()
        if self._name_fd is not None:
            os.close(self._name_fd)
        self._name_fd = self._name = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseHold:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_database(database_url: str, holder: str = "autodevhub") -> DatabaseHold:
    """Mark the database as in use by this process until released."""
    return DatabaseHold(database_url, holder).acquire()


def current_holders(db_path: Path) -> list[str]:
    """The processes holding the database, as they named themselves ("autodevhub shell
    (pid 4242, since …)"); the files of processes that died are removed on the way."""
    folder = holders_dir(db_path)
    names = []
    for file in sorted(folder.glob("[!.]*")) if folder.is_dir() else []:  # not a starter's
        try:
            fd = os.open(file, os.O_RDONLY)
        except FileNotFoundError:
            continue  # released meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # alive: it keeps its file locked
                names.append(os.read(fd, 512).decode(errors="replace") or file.name)
                continue
            with contextlib.suppress(FileNotFoundError):
                file.unlink()  # its process died without releasing it
        finally:
            os.close(fd)
    return names


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
