"""Restoring SQLite from a backup file: every check first, then the swap, migrations, index."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import shutil
import sqlite3
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from storage.backup.files import PARTIAL_SUFFIX, fsync_dir, fsync_file
from storage.backup.hold import exclusive, sqlite_path
from storage.backup.sqlite_copy import verify_sqlite_file
from storage.db import is_sqlite, normalize_url
from storage.errors import DomainError

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"


class RestoreRefused(DomainError):
    """The restore did not happen and the current database is untouched; the message says why."""


@dataclass(frozen=True)
class RestoreReport:
    """What a restore replaced and what the checks found."""

    database: Path
    previous: Path | None
    revision: str | None
    problems: list[str]


def verify_backup_file(file: Path, scratch: Path) -> None:
    """Unpack `file` into `scratch` and check it is an AutoDevHub SQLite database; or refuse."""
    file = Path(file)
    if not file.is_file():
        raise RestoreRefused(f"There is no file {file}.")
    with open(file, "rb") as f:
        if f.read(2) != GZIP_MAGIC:
            raise RestoreRefused(
                f"{file.name} is not a gzip file; restore takes the autodevhub_*.db.gz files "
                "that `autodevhub backup` writes."
            )
    try:
        with gzip.open(file, "rb") as gz, open(scratch, "wb") as out:
            shutil.copyfileobj(gz, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise RestoreRefused(f"{file.name} is truncated or corrupt ({exc}).") from exc
    verify_sqlite_file(scratch, fail=RestoreRefused, label=f"the database in {file.name}")
    conn = sqlite3.connect(f"file:{scratch}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"alembic_version", "user_stories"} <= tables:
            raise RestoreRefused(f"The database in {file.name} is not an AutoDevHub database.")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        conn.close()
    if revision is None or not _known_revision(revision[0]):
        raise RestoreRefused(
            f"The database in {file.name} is at schema revision {revision and revision[0]!r}, "
            "which this version of AutoDevHub does not know (is it from a newer version?)."
        )


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def _keep_previous(db_path: Path) -> Path:
    """Save the current database (with its WAL content) beside it as `<db>.old`."""
    old = db_path.with_name(db_path.name + ".old")
    tmp = db_path.with_name(f".{db_path.name}.old{PARTIAL_SUFFIX}")
    try:
        src = sqlite3.connect(db_path, isolation_level=None, timeout=30)
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE").fetchone()
        finally:
            dst.close()
            src.close()
    except sqlite3.DatabaseError:
        # the current file is damaged (maybe why we restore): keep its bytes as they are
        shutil.copyfile(db_path, tmp)
        wal = db_path.with_name(db_path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, old.with_name(old.name + "-wal"))
    fsync_file(tmp)
    os.replace(tmp, old)
    return old


def restore_backup(
    database_url: str,
    file: Path,
    *,
    force: bool = False,
) -> RestoreReport:
    """Replace the SQLite database with the backup `file`, keeping the current one as `.old`.

    Every check happens before the database is touched: a refused restore changes nothing.
    Migrations then run forward and the search index is rebuilt and checked.
    """
    url = normalize_url(database_url)
    if not is_sqlite(url):
        raise RestoreRefused(
            "This database is PostgreSQL: restore an autodevhub_*.pgdump with pg_restore, e.g. "
            '`pg_restore --clean --if-exists --no-owner -d "$DATABASE_URL" FILE`.'
        )
    db_path = sqlite_path(url)
    if db_path is None:
        raise RestoreRefused("An in-memory SQLite database cannot be restored into.")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(db_path) as alone:
        if not alone and not force:
            raise RestoreRefused(
                f"A server or scheduler is using {db_path} right now. Stop it first, or pass "
                "--force (then restart every process that uses the database)."
            )
        if not alone:
            log.warning("restoring %s while another process holds it (--force)", db_path)
        else:  # nobody else is here: scratch files beside the database are a killed run's
            for pattern in (f".{db_path.name}.restore-*", f".{db_path.name}.old{PARTIAL_SUFFIX}*"):
                for leftover in db_path.parent.glob(pattern):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
        fd, scratch_name = tempfile.mkstemp(
            prefix=f".{db_path.name}.restore-", suffix=PARTIAL_SUFFIX, dir=db_path.parent
        )
        os.close(fd)
        scratch = Path(scratch_name)
        previous = None
        try:
            verify_backup_file(Path(file), scratch)
            if db_path.exists():
                previous = _keep_previous(db_path)
            os.replace(scratch, db_path)
            for suffix in ("-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    db_path.with_name(db_path.name + suffix).unlink()
            fsync_dir(db_path.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()
        revision, problems = _migrate_and_check(url)
    log.info("restored %s from %s (previous kept as %s)", db_path, file, previous)
    return RestoreReport(database=db_path, previous=previous, revision=revision, problems=problems)


def _migrate_and_check(url: str) -> tuple[str | None, list[str]]:
    from storage.check import rebuild_search_index, run_checks
    from storage.db import Database

    db = Database(url)
    try:
        db.upgrade()
        rebuild_search_index(db)
        return db.current_revision(), run_checks(db)
    finally:
        db.dispose()
