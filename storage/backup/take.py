"""Taking a verified backup: one run at a time per directory, the copy, then the retention."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from storage.backup.files import BackupFailed, BackupFile, one_backup_at_a_time, prune_backups
from storage.backup.pg_dump import backup_postgresql
from storage.backup.sqlite_copy import DEFAULT_PAGES_PER_STEP, DEFAULT_STEP_SLEEP, backup_sqlite
from storage.db import is_sqlite, normalize_url
from storage.models import utcnow
from storage.progress import Progress, no_progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupReport:
    """What a backup run wrote and what it cost."""

    file: BackupFile
    seconds: float
    database_bytes: int
    steps: int = 0
    pruned: list[Path] = field(default_factory=list)


def take_backup(
    database_url: str,
    backup_dir: Path,
    *,
    retention_days: int | None = None,
    now: datetime | None = None,
    pages_per_step: int = DEFAULT_PAGES_PER_STEP,
    step_sleep: float = DEFAULT_STEP_SLEEP,
    progress: Progress = no_progress,
) -> BackupReport:
    """Take a verified backup of the database into `backup_dir`, then apply the retention.

    Raises BackupFailed (and leaves no partial file) when anything goes wrong.
    """
    backup_dir = Path(backup_dir)
    now = now or utcnow()
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupFailed(f"Cannot create the backup directory {backup_dir}: {exc}") from exc
    if not os.access(backup_dir, os.W_OK):
        raise BackupFailed(f"The backup directory {backup_dir} is not writable.")
    with one_backup_at_a_time(backup_dir):
        started = time.perf_counter()
        if is_sqlite(normalize_url(database_url)):
            file, size, steps = backup_sqlite(
                database_url, backup_dir, now, pages_per_step, step_sleep, progress
            )
        else:
            file, size, steps = backup_postgresql(database_url, backup_dir, now)
        seconds = time.perf_counter() - started
        pruned = prune_backups(backup_dir, retention_days, now=now) if retention_days else []
    log.info("backup written: %s (%d bytes from %d, %.2fs)", file.path, file.size, size, seconds)
    return BackupReport(file=file, seconds=seconds, database_bytes=size, steps=steps, pruned=pruned)
