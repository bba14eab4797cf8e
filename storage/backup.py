"""Verified backups and restore: SQLite online backup + gzip, pg_dump, retention, server lock."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import gzip
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from storage.db import is_sqlite, normalize_url
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
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
# Pages copied per step of the online backup; a pause between steps spreads the I/O.
DEFAULT_PAGES_PER_STEP = 1024
DEFAULT_STEP_SLEEP = 0.002
# How long a backup waits for one already running in the same directory.
BACKUP_DIR_WAIT = 900.0


class BackupFailed(DomainError):
    """No backup was written; the message says why."""


class RestoreRefused(DomainError):
    """The restore did not happen and the current database is untouched; the message says why."""


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


@dataclass(frozen=True)
class BackupReport:
    """What a backup run wrote and what it cost."""

    file: BackupFile
    seconds: float
    database_bytes: int
    steps: int = 0
    pruned: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreReport:
    """What a restore replaced and what the checks found."""

    database: Path
    previous: Path | None
    revision: str | None
    problems: list[str]


# ---------------------------------------------------------------- the server's hold


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
def _exclusive(db_path: Path) -> Iterator[bool]:
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
    with _exclusive(path) as got:
        return not got


# ---------------------------------------------------------------- listing and retention


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
def _one_backup_at_a_time(backup_dir: Path, timeout: float = BACKUP_DIR_WAIT) -> Iterator[None]:
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, backup_dir: Path, taken_at: datetime, suffix: str) -> Path:
    """Give a verified temp file its final name atomically, never clobbering another backup."""
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%d_%H%M%S")
    for n in range(100):
        final = backup_dir / f"{BACKUP_PREFIX}{stamp}{'' if n == 0 else f'_{n}'}{suffix}"
        try:
            os.link(tmp, final)  # fails if the name exists: two backups in one second
        except FileExistsError:
            continue
        os.unlink(tmp)
        _fsync_dir(backup_dir)
        return final
    raise BackupFailed(f"Could not name the backup in {backup_dir}: too many in one second.")


def _partial(backup_dir: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(
        prefix=f".{BACKUP_PREFIX}", suffix=suffix + PARTIAL_SUFFIX, dir=backup_dir
    )
    os.close(fd)
    return Path(name)


# ---------------------------------------------------------------- taking a backup


def take_backup(
    database_url: str,
    backup_dir: Path,
    *,
    retention_days: int | None = None,
    now: datetime | None = None,
    pages_per_step: int = DEFAULT_PAGES_PER_STEP,
    step_sleep: float = DEFAULT_STEP_SLEEP,
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
    with _one_backup_at_a_time(backup_dir):
        started = time.perf_counter()
        if is_sqlite(normalize_url(database_url)):
            file, size, steps = _backup_sqlite(
                database_url, backup_dir, now, pages_per_step, step_sleep
            )
        else:
            file, size, steps = _backup_postgresql(database_url, backup_dir, now)
        seconds = time.perf_counter() - started
        pruned = prune_backups(backup_dir, retention_days, now=now) if retention_days else []
    log.info("backup written: %s (%d bytes from %d, %.2fs)", file.path, file.size, size, seconds)
    return BackupReport(file=file, seconds=seconds, database_bytes=size, steps=steps, pruned=pruned)


def _backup_sqlite(
    database_url: str, backup_dir: Path, now: datetime, pages_per_step: int, step_sleep: float
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
    copy = _partial(backup_dir, ".db")
    packed = _partial(backup_dir, SQLITE_SUFFIX)
    steps = 0
    try:
        steps = _online_copy(db_path, copy, pages_per_step, step_sleep)
        _verify_sqlite_file(copy, fail=BackupFailed, label="the backup copy")
        _gzip(copy, packed)
        _check_gzip(packed, expected=copy.stat().st_size)
        copy.unlink()
        final = _publish(packed, backup_dir, now, SQLITE_SUFFIX)
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


def _online_copy(db_path: Path, dest: Path, pages_per_step: int, step_sleep: float) -> int:
    """Copy with sqlite3's online backup API, a few pages per step, writers never blocked.

    In WAL mode the source holds one read transaction across all steps: the copy is the
    snapshot of that instant (everything committed before it began) and a writer's commit
    no longer restarts the copy from page one, which under steady writes would never end.
    Readers never block writers in WAL, so the sleeps only spread the I/O.
    """
    steps = 0

    def progress(_status: int, _remaining: int, _total: int) -> None:
        nonlocal steps
        steps += 1
        if step_sleep:
            time.sleep(step_sleep)

    src = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    dst = sqlite3.connect(dest, isolation_level=None)
    try:
        wal = src.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if wal:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # pins the snapshot
        src.backup(dst, pages=pages_per_step, progress=progress)
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


def _verify_sqlite_file(path: Path, *, fail: type[DomainError], label: str) -> None:
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


def _gzip(source: Path, dest: Path) -> None:
    # level 1: a 330 MB database packs to 41 MB in 2.5 s; level 6 saves 3 MB for 4 s more
    with open(source, "rb") as src, open(dest, "wb") as raw:
        with gzip.GzipFile(
            filename="autodevhub.db", mode="wb", fileobj=raw, compresslevel=1, mtime=0
        ) as gz:
            shutil.copyfileobj(src, gz, 1 << 20)
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


# ---------------------------------------------------------------- PostgreSQL


def _pg_dump_candidates() -> list[Path]:
    found = {Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin/pg_dump")}
    on_path = shutil.which("pg_dump")
    if on_path:
        found.add(Path(on_path).resolve())
    return sorted(found)


def _client_major(pg_dump: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(pg_dump), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(m.group(1)) if m else None


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (kept out of `ps`), and the env that carries it."""
    url: URL = make_url(normalize_url(database_url))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _server_major(database_url: str) -> int:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    finally:
        engine.dispose()


def _backup_postgresql(
    database_url: str, backup_dir: Path, now: datetime
) -> tuple[BackupFile, int, int]:
    candidates = [(p, _client_major(p)) for p in _pg_dump_candidates()]
    candidates = [(p, v) for p, v in candidates if v is not None]
    if not candidates:
        raise BackupFailed(
            "pg_dump is not installed, so PostgreSQL cannot be backed up from here. Install "
            "the PostgreSQL client that matches the server (Debian: apt-get install "
            "postgresql-client), or use your provider's backups."
        )
    try:
        server = _server_major(database_url)
    except Exception as exc:  # connection refused, auth: say so without the URL
        raise BackupFailed(f"Cannot reach PostgreSQL to back it up: {type(exc).__name__}.") from exc
    usable = [(p, v) for p, v in candidates if v >= server]
    if not usable:
        newest = max(v for _, v in candidates)
        raise BackupFailed(
            f"pg_dump {newest} cannot dump a PostgreSQL {server} server (pg_dump must be the "
            f"server's major version or newer). Install postgresql-client-{server}."
        )
    pg_dump, _version = max(usable, key=lambda pv: pv[1])
    pg_restore = pg_dump.with_name("pg_restore")
    libpq_url, env = _libpq(database_url)
    dump = _partial(backup_dir, PG_SUFFIX)
    try:
        run = subprocess.run(
            [
                str(pg_dump),
                "--format=custom",
                "--no-owner",
                "--file",
                str(dump),
                "--dbname",
                libpq_url,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=6 * 3600,
        )
        if run.returncode != 0:
            raise BackupFailed(f"pg_dump failed: {run.stderr.strip()[-500:]}")
        if pg_restore.exists():
            listed = subprocess.run(
                [str(pg_restore), "--list", str(dump)], capture_output=True, text=True, timeout=600
            )
            if listed.returncode != 0 or "user_stories" not in listed.stdout:
                raise BackupFailed(f"The dump does not read back: {listed.stderr.strip()[-300:]}")
        _fsync_file(dump)
        final = _publish(dump, backup_dir, now, PG_SUFFIX)
    except subprocess.TimeoutExpired as exc:
        raise BackupFailed("pg_dump did not finish within 6 hours.") from exc
    except OSError as exc:
        raise BackupFailed(f"The PostgreSQL backup failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            dump.unlink()
    size = final.stat().st_size
    return BackupFile(final, now.replace(microsecond=0), size, "postgresql"), size, 0


# ---------------------------------------------------------------- restore


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
    _verify_sqlite_file(scratch, fail=RestoreRefused, label=f"the database in {file.name}")
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
    _fsync_file(tmp)
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
    with _exclusive(db_path) as alone:
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
            _fsync_dir(db_path.parent)
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
