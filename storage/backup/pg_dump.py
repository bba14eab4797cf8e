"""Backing up PostgreSQL: the newest pg_dump that can dump the server, read back by pg_restore."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from storage.backup.files import (
    PG_SUFFIX,
    BackupFailed,
    BackupFile,
    fsync_file,
    partial_file,
    publish,
)
from storage.db import normalize_url


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


def backup_postgresql(
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
    dump = partial_file(backup_dir, PG_SUFFIX)
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
        fsync_file(dump)
        final = publish(dump, backup_dir, now, PG_SUFFIX)
    except subprocess.TimeoutExpired as exc:
        raise BackupFailed("pg_dump did not finish within 6 hours.") from exc
    except OSError as exc:
        raise BackupFailed(f"The PostgreSQL backup failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            dump.unlink()
    size = final.stat().st_size
    return BackupFile(final, now.replace(microsecond=0), size, "postgresql"), size, 0
