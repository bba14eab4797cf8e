"""Backing up SQLite: an online copy beside the writers, checked, gzipped and read back."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import sqlite3
import time
import zlib
from datetime import datetime
from pathlib import Path

from storage.backup.files import (
    SQLITE_SUFFIX,
    BackupFailed,
    BackupFile,
    partial_file,
    publish,
)
from storage.backup.hold import sqlite_path
from storage.errors import DomainError
from storage.progress import Progress, no_progress

SQLITE_MAGIC = b"SQLite format 3\x00"
# Pages copied per step of the online backup; a pause between steps spreads the I/O.
DEFAULT_PAGES_PER_STEP = 1024
DEFAULT_STEP_SLEEP = 0.002


COPYING = "Copying the database"
PACKING = "Compressing"


def backup_sqlite(
    database_url: str,
    backup_dir: Path,
    now: datetime,
    pages_per_step: int,
    step_sleep: float,
    progress: Progress = no_progress,
) -> tuple[BackupFile, int, int]:
    db_path = sqlite_path(database_url)
    if db_path is None:
        raise BackupFailed("An in-memory SQLite database cannot be backed up.")
    if not db_path.is_file():
        raise BackupFailed(f"There is no database at {db_path} to back up.")
    size = db_path.stat().st_size + _size(db_path.with_name(db_path.name + "-wal"))
    free = shutil.disk_usage(backup_dir).free
    if free < size * 1.2:
        raise BackupFailed(
            f"Not enough space in {backup_dir}: {free // 2**20} MiB free, "
            f"the database needs up to {size * 1.2 // 2**20:.0f} MiB while it is copied."
        )
    copy = partial_file(backup_dir, ".db")
    packed = partial_file(backup_dir, SQLITE_SUFFIX)
    steps = 0
    try:
        steps = _online_copy(db_path, copy, pages_per_step, step_sleep, progress)
        verify_sqlite_file(copy, fail=BackupFailed, label="the backup copy")
        _gzip(copy, packed, progress)
        _check_gzip(packed, expected=copy.stat().st_size)
        copy.unlink()
        final = publish(packed, backup_dir, now, SQLITE_SUFFIX)
    except BackupFailed:
        raise
    except (sqlite3.Error, OSError, EOFError, zlib.error) as exc:
        raise BackupFailed(f"The backup of {db_path} failed: {exc}") from exc
    finally:
        for tmp in (copy, packed):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return (
        BackupFile(final, now.replace(microsecond=0), final.stat().st_size, "sqlite"),
        size,
        steps,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _online_copy(
    db_path: Path, dest: Path, pages_per_step: int, step_sleep: float, progress: Progress
) -> int:
    """Copy with sqlite3's online backup API, a few pages per step, writers never blocked.

    In WAL mode the source holds one read transaction across all steps: the copy is the
    snapshot of that instant (everything committed before it began) and a writer's commit
    no longer restarts the copy from page one, which under steady writes would never end.
    Readers never block writers in WAL, so the sleeps only spread the I/O.
    """
    steps = 0

    def stepped(_status: int, remaining: int, total: int) -> None:
        nonlocal steps
        steps += 1
        progress(COPYING, total - remaining, total)
        if step_sleep:
            time.sleep(step_sleep)

    src = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    dst = sqlite3.connect(dest, isolation_level=None)
    try:
        wal = src.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if wal:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # pins the snapshot
        src.backup(dst, pages=pages_per_step, progress=stepped)
        if wal:
            src.execute("COMMIT")
            # While the snapshot was held, checkpoints could not pass it and the WAL grew.
            # Copy that backlog into the database here, beside the writers (PASSIVE takes no
            # write lock), rather than in the next writer's commit, which would hold the
            # write lock for it (the longest writer wait of benchmark 4, ~0.3 s).
            src.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        # the copy is a standalone file: no -wal beside it when it is opened later
        dst.execute("PRAGMA journal_mode = DELETE").fetchone()
    finally:
        dst.close()
        src.close()
    # no fsync here: this copy is only read back (verify, gzip) and then deleted; the gzip
    # that is kept is fsynced, and syncing 500 MB of scratch would stall the live writers
    return steps


def verify_sqlite_file(path: Path, *, fail: type[DomainError], label: str) -> None:
    """The file is a SQLite database that passes `PRAGMA integrity_check`."""
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise fail(f"{label.capitalize()} is not a SQLite database.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise fail(f"{label.capitalize()} is not a readable SQLite database: {exc}.") from exc
    if rows != ["ok"]:
        shown = "; ".join(rows[:3]) + (" …" if len(rows) > 3 else "")
        raise fail(f"{label.capitalize()} fails the integrity check: {shown}")


def _gzip(source: Path, dest: Path, progress: Progress = no_progress) -> None:
    # level 1: a 330 MB database packs to 41 MB in 2.5 s; level 6 saves 3 MB for 4 s more
    total = source.stat().st_size
    with open(source, "rb") as src, open(dest, "wb") as raw:
        with gzip.GzipFile(
            filename="autodevhub.db", mode="wb", fileobj=raw, compresslevel=1, mtime=0
        ) as gz:
            done = 0
            while chunk := src.read(1 << 20):
                gz.write(chunk)
                done += len(chunk)
                progress(PACKING, done, total)
        raw.flush()
        os.fsync(raw.fileno())


def _check_gzip(path: Path, *, expected: int) -> None:
    """Read the archive back: its CRC checks out and it holds every byte of the copy."""
    total = 0
    with gzip.open(path, "rb") as gz:
        while chunk := gz.read(1 << 20):
            total += len(chunk)
    if total != expected:
        raise BackupFailed(f"The compressed backup holds {total} bytes, expected {expected}.")
