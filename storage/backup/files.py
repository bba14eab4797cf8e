"""The backup directory: backup names, listing, retention, and publishing a verified file."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.errors import DomainError
from storage.models import utcnow

log = logging.getLogger(__name__)

BACKUP_PREFIX = "autodevhub_"
SQLITE_SUFFIX = ".db.gz"
PG_SUFFIX = ".pgdump"
PARTIAL_SUFFIX = ".partial"
BACKUP_NAME = re.compile(
    r"^autodevhub_(?P<stamp>\d{8}_\d{6})(?:_(?P<n>\d+))?(?P<suffix>\.db\.gz|\.pgdump)$"
)
# How long a backup waits for one already running in the same directory.
BACKUP_DIR_WAIT = 900.0


class BackupFailed(DomainError):
    """No backup was written; the message says why."""


@dataclass(frozen=True)
class BackupFile:
    """A finished, verified backup in the backup directory."""

    path: Path
    taken_at: datetime
    size: int
    kind: str  # "sqlite" or "postgresql"

    @property
    def name(self) -> str:
        return self.path.name


def _parse_name(path: Path) -> tuple[datetime, str] | None:
    m = BACKUP_NAME.match(path.name)
    if not m:
        return None
    taken = datetime.strptime(m["stamp"], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    return taken, "sqlite" if m["suffix"] == SQLITE_SUFFIX else "postgresql"


def list_backups(backup_dir: Path) -> list[BackupFile]:
    """Finished backups, newest first. Only verified backups ever get a final name."""
    backup_dir = Path(backup_dir)
    if not backup_dir.is_dir():
        return []
    found = []
    for path in backup_dir.iterdir():
        parsed = _parse_name(path)
        if parsed and path.is_file():
            found.append(BackupFile(path, parsed[0], path.stat().st_size, parsed[1]))
    return sorted(found, key=lambda b: (b.taken_at, b.name), reverse=True)


def prune_backups(
    backup_dir: Path, retention_days: int, *, now: datetime | None = None
) -> list[Path]:
    """Delete backups older than the retention, never the newest one. Returns what went."""
    backups = list_backups(backup_dir)
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    removed = []
    for backup in backups[1:]:
        if backup.taken_at < cutoff:
            with contextlib.suppress(FileNotFoundError):
                backup.path.unlink()
            removed.append(backup.path)
    if removed:
        log.info(
            "backup retention removed %d file(s) older than %d days", len(removed), retention_days
        )
    return removed


@contextlib.contextmanager
def one_backup_at_a_time(backup_dir: Path, timeout: float = BACKUP_DIR_WAIT) -> Iterator[None]:
    """Hold an flock on the backup directory itself while a backup runs in it.

    Whoever holds it knows every partial file there is a leftover of a run that died (the
    kernel dropped that run's lock), so leftovers go at once, whatever their age: a crash
    loop cannot fill the disk with them. No lock file is left beside the backups.
    """
    fd = os.open(backup_dir, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BackupFailed(
                        f"Another backup has been running in {backup_dir} for {timeout / 60:.0f} "
                        "minutes; try again when it has finished."
                    ) from None
                time.sleep(0.2)
        for leftover in backup_dir.glob(f".{BACKUP_PREFIX}*{PARTIAL_SUFFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                log.info("removed %s, left by a backup that did not finish", leftover.name)
        yield
    finally:
        os.close(fd)  # drops the lock


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, backup_dir: Path, taken_at: datetime, suffix: str) -> Path:
    """Give a verified temp file its final name atomically, never clobbering another backup."""
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%d_%H%M%S")
    for n in range(100):
        final = backup_dir / f"{BACKUP_PREFIX}{stamp}{'' if n == 0 else f'_{n}'}{suffix}"
        try:
            os.link(tmp, final)  # fails if the name exists: two backups in one second
        except FileExistsError:
            continue
        os.unlink(tmp)
        fsync_dir(backup_dir)
        return final
    raise BackupFailed(f"Could not name the backup in {backup_dir}: too many in one second.")


def partial_file(backup_dir: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(
        prefix=f".{BACKUP_PREFIX}", suffix=suffix + PARTIAL_SUFFIX, dir=backup_dir
    )
    os.close(fd)
    return Path(name)
