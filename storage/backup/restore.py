"""Restoring SQLite from a backup file: every check first, then the backup's rows replace the
database's in one transaction that first keeps a copy of it, so no committed write is lost."""

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
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from storage.backup.files import PARTIAL_SUFFIX, fsync_dir, fsync_file
from storage.backup.hold import current_holders, exclusive, sqlite_path
from storage.backup.sqlite_copy import verify_sqlite_file
from storage.db import is_sqlite, normalize_url
from storage.errors import DomainError
from storage.progress import Progress, no_progress

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
    stories_only_kept: int = 0  # written since the backup: in `previous` only


UNPACKING = "Unpacking the backup"
RESTORING = "Restoring rows"


def verify_backup_file(file: Path, scratch: Path, progress: Progress = no_progress) -> None:
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
        total = file.stat().st_size
        with open(file, "rb") as packed, gzip.open(packed, "rb") as gz, open(scratch, "wb") as out:
            while chunk := gz.read(1 << 20):
                out.write(chunk)
                progress(UNPACKING, packed.tell(), total)
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


KEPT_MARK = ".before-restore-"


def _kept_path(db_path: Path) -> Path:
    """A name no earlier restore used: `<db>.before-restore-<UTC time>[-N]`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = db_path.with_name(f"{db_path.name}{KEPT_MARK}{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = db_path.with_name(f"{db_path.name}{KEPT_MARK}{stamp}-{n}")
    return candidate


def _publish(tmp: Path, final: Path) -> None:
    """Give the finished copy its name without ever replacing a file of that name."""
    fsync_file(tmp)
    try:
        os.link(tmp, final)  # fails if `final` appeared meanwhile: an earlier copy is never lost
    except FileExistsError:
        raise
    except OSError as exc:  # a filesystem without hard links
        tmp.unlink(missing_ok=True)
        raise RestoreRefused(
            f"Cannot keep the current database beside it ({exc.strerror}): restore needs a "
            "filesystem with hard links there."
        ) from exc
    tmp.unlink()
    fsync_dir(final.parent)


def _copy_of(db_path: Path, dest: Path) -> None:
    """A consistent copy of the database as committed now, as one self-contained file."""
    src = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    dst = sqlite3.connect(dest, isolation_level=None)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE").fetchone()
    finally:
        dst.close()
        src.close()


def _byte_copy(db_path: Path, dest: Path) -> None:
    """The damaged database's bytes as they are (with its WAL beside the copy)."""
    shutil.copyfile(db_path, dest)
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, dest.with_name(dest.name + "-wal"))


def _tables(conn: sqlite3.Connection, schema: str) -> dict[str, list[str]]:
    """Each ordinary table of `schema` with its columns; the search index's virtual table
    and its shadow tables are left out: its triggers keep it in step with the stories."""
    rows = conn.execute(
        f"SELECT name, sql FROM {schema}.sqlite_master WHERE type = 'table'"
    ).fetchall()
    virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
    tables = {}
    for name, _sql in rows:
        if name.startswith("sqlite_") or any(name.startswith(v) for v in virtual):
            continue
        tables[name] = [r[1] for r in conn.execute(f'PRAGMA {schema}.table_info("{name}")')]
    return tables


def _replace_contents(
    db_path: Path, restored: Path, kept: Path, progress: Progress = no_progress
) -> int:
    """In one write transaction on the live database: copy it as it is to `kept`, then
    replace every table's rows with the backup's (rowids and the stories' search keys
    kept, so the search index's triggers index each story under the key it had).

    No file is swapped under a process that has the database open: every process sees the
    restored rows at its next read, and a write either committed before this transaction
    took the write lock (and is in `kept`) or waits for it and lands on the restored data.
    """
    live = sqlite3.connect(db_path, isolation_level=None, timeout=60)
    try:
        live.execute("PRAGMA busy_timeout = 60000")
        live.execute("ATTACH DATABASE ? AS restored", (str(restored),))
        mine, theirs = _tables(live, "main"), _tables(live, "restored")
        missing = sorted(set(mine) - set(theirs))
        if missing:
            raise RestoreRefused(
                f"The backup has no table {', '.join(missing)}, which this database has."
            )
        live.execute("BEGIN IMMEDIATE")  # waits for the write in flight, holds off the next
        try:
            tmp = kept.with_name(f".{kept.name}{PARTIAL_SUFFIX}")
            _copy_of(db_path, tmp)  # read by a second connection: everything committed
            _publish(tmp, kept)
            only_kept = live.execute(
                "SELECT count(*) FROM main.user_stories "
                "WHERE id NOT IN (SELECT id FROM restored.user_stories)"
            ).fetchone()[0]
            rows = {
                t: live.execute(f'SELECT count(*) FROM restored."{t}"').fetchone()[0] for t in mine
            }
            done, total = 0, sum(rows.values())
            for table, columns in mine.items():
                cols = ", ".join(f'"{c}"' for c in columns)
                rowid = "" if _without_rowid(live, table) else "rowid, "
                live.execute(f'DELETE FROM main."{table}"')
                live.execute(
                    f'INSERT INTO main."{table}" ({rowid}{cols}) '
                    f'SELECT {rowid}{cols} FROM restored."{table}"'
                )
                done += rows[table]
                progress(RESTORING, done, total)
            # every project's stories changed: new content versions (migration 0007), so no
            # process answers a list from a page kept before (the backup's versions were
            # copied with it, and a project may have had the same one when a page was kept)
            live.execute(
                "INSERT OR REPLACE INTO main.project_versions (project_id, version) "
                "SELECT id, random() & 4611686018427387903 FROM main.projects"
            )
            live.execute("COMMIT")
            return only_kept
        except BaseException:
            if live.in_transaction:  # SQLite may have rolled back already (a full disk)
                live.execute("ROLLBACK")
            raise
    finally:
        with contextlib.suppress(sqlite3.Error):
            live.execute("DETACH DATABASE restored")
        live.close()


def _without_rowid(conn: sqlite3.Connection, table: str) -> bool:
    sql = conn.execute(
        "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()[0]
    return "WITHOUT ROWID" in (sql or "").upper()


def restore_backup(
    database_url: str,
    file: Path,
    *,
    force: bool = False,
    progress: Progress = no_progress,
) -> RestoreReport:
    """Replace the SQLite database's contents with the backup `file`, keeping the current
    database under its own name (`<db>.before-restore-<time>`, never overwritten).

    Every check happens first, on an unpacked copy migrated forward to this version's
    schema: a refused restore changes nothing. Without `force`, it refuses while another
    process (serve, the shell, the scheduler, a CLI command) holds the database, naming them.
    """
    url = normalize_url(database_url)
    if not is_sqlite(url):
        raise RestoreRefused(
            "This database is PostgreSQL: restore an autodevhub_*.pgdump with pg_restore, e.g. "
            '`pg_restore --clean --if-exists --no-owner --single-transaction -d "$DATABASE_URL" '
            "FILE`, with every `autodevhub serve` stopped: a running one would go on "
            "answering `/story list` from pages it kept before the restore."
        )
    db_path = sqlite_path(url)
    if db_path is None:
        raise RestoreRefused("An in-memory SQLite database cannot be restored into.")
    if not Path(file).is_file():
        raise RestoreRefused(f"There is no file {file}.")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(db_path) as alone:
        holders = [] if alone else current_holders(db_path)
        if not alone and not force:
            who = " and ".join(holders) if holders else "Another process"
            raise RestoreRefused(
                f"{who} {'is' if len(holders) < 2 else 'are'} using {db_path} right now. Stop "
                "it first, or pass --force (it then carries on with the restored data; what it "
                "wrote before is kept with the current database)."
            )
        if alone:  # nobody else is here: scratch files beside the database are a killed run's
            for pattern in (f".{db_path.name}.restore-*", f".{db_path.name}{KEPT_MARK}*"):
                for leftover in db_path.parent.glob(pattern):
                    if leftover.is_dir():  # a killed restore's scratch folder
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink(missing_ok=True)
        folder = tempfile.mkdtemp(prefix=f".{db_path.name}.restore-", dir=db_path.parent)
        try:
            scratch = Path(folder) / db_path.name
            verify_backup_file(Path(file), scratch, progress)
            revision, problems = _migrate_and_check(f"sqlite:///{scratch}")
            if problems:
                raise RestoreRefused(
                    f"The database in {Path(file).name} fails its checks after migrating: "
                    + "; ".join(problems[:3])
                )
            previous, only_kept = None, 0
            if not alone:
                log.warning("restoring %s while %s hold it (--force)", db_path, holders)
            if not db_path.exists():
                os.replace(scratch, db_path)
                fsync_dir(db_path.parent)
            else:
                previous = _kept_path(db_path)
                try:
                    _migrate(url)  # the same schema on both sides, to copy table by table
                    only_kept = _replace_contents(db_path, scratch, previous, progress)
                except (sqlite3.DatabaseError, DBAPIError) as exc:
                    cause = getattr(exc, "orig", None) or exc
                    if not _damaged(cause):
                        raise RestoreRefused(
                            f"The database could not be replaced: {cause}."
                        ) from exc
                    if not alone:
                        raise RestoreRefused(
                            f"{db_path} is damaged ({cause}) and in use: stop every process that "
                            "uses it, then restore again."
                        ) from exc
                    # a copy of the pages may be kept already (published before the damage
                    # showed): the bytes as they are go beside it, under a name of their own
                    previous = _swap_damaged(db_path, scratch, _kept_path(db_path))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    log.info("restored %s from %s (previous kept as %s)", db_path, file, previous)
    problems = _checks(url)
    return RestoreReport(db_path, previous, revision, problems, only_kept)


def _damaged(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _swap_damaged(db_path: Path, scratch: Path, kept: Path) -> Path:
    """A damaged database nobody has open: keep its bytes, put the restored file in place."""
    tmp = kept.with_name(f".{kept.name}{PARTIAL_SUFFIX}")
    _byte_copy(db_path, tmp)
    _publish(tmp, kept)
    os.replace(scratch, db_path)
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            db_path.with_name(db_path.name + suffix).unlink()
    fsync_dir(db_path.parent)
    return kept


def _migrate(url: str) -> None:
    from storage.db import Database

    db = Database(url)
    try:
        db.upgrade()
    finally:
        db.dispose()


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


def _checks(url: str) -> list[str]:
    from storage.check import run_checks
    from storage.db import Database

    db = Database(url)
    try:
        return run_checks(db)
    finally:
        db.dispose()
