"""Verified backups: online copy under writers, retention, restore that refuses bad files."""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.backup.files import BackupFailed, list_backups, prune_backups
from storage.backup.hold import database_in_use, hold_database, sqlite_path
from storage.backup.restore import RestoreRefused, restore_backup
from storage.backup.take import take_backup
from storage.db import Database
from storage.models import UserStory
from tests.scheduler.data import make_project, make_story, make_user

ROOT = str(Path(__file__).resolve().parents[2])


def _fingerprint(db_path: Path) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for suffix in ("", "-wal"):
        p = db_path.with_name(db_path.name + suffix)
        out[suffix] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
    return out


def _story_ids(db: Database) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(UserStory.id)))


def _seeded(db: Database, n: int = 3) -> set[str]:
    owner = make_user(db, role="ADMIN")
    project = make_project(db, owner)
    for i in range(n):
        make_story(db, project, title=f"story {i}", created_by=owner)
    return _story_ids(db)


def test_backup_writes_one_verified_file_and_lists_it(db: Database, tmp_path: Path) -> None:
    _seeded(db)
    report = take_backup(db.url, tmp_path / "backups", now=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    suffix = ".db.gz" if db.dialect == "sqlite" else ".pgdump"
    assert report.file.name == f"autodevhub_20260301_020000{suffix}"
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [report.file.name]
    assert list_backups(tmp_path / "backups") == [report.file]
    if db.dialect == "sqlite":
        raw = tmp_path / "raw.db"
        raw.write_bytes(gzip.decompress(report.file.path.read_bytes()))
        conn = sqlite3.connect(raw)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM user_stories").fetchone() == (3,)
        conn.close()
    else:
        listed = subprocess.run(
            ["pg_restore", "--list", str(report.file.path)], capture_output=True, text=True
        )
        assert listed.returncode == 0 and "user_stories" in listed.stdout


def test_two_backups_in_one_second_both_kept(sqlite_db: Database, tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    a = take_backup(sqlite_db.url, tmp_path, now=now)
    b = take_backup(sqlite_db.url, tmp_path, now=now)
    assert a.file.path != b.file.path and a.file.path.exists() and b.file.path.exists()


def test_backup_while_four_threads_write_restores_everything_committed_before(
    sqlite_db: Database, tmp_path: Path
) -> None:
    owner = make_user(sqlite_db)
    project = make_project(sqlite_db, owner)
    for i in range(300):  # some bulk, so the copy takes several steps
        make_story(sqlite_db, project, title=f"seed {i} " + "x" * 150, created_by=owner)
    committed: list[tuple[float, str]] = []  # (monotonic time the commit returned, id)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        db = Database(sqlite_db.url)
        try:
            i = 0
            while not stop.is_set():
                story_id = make_story(db, project, title=f"w{n}-{i}", created_by=owner)
                with lock:
                    committed.append((time.monotonic(), story_id))
                i += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while len(committed) < 40:
        time.sleep(0.01)
    began = time.monotonic()
    report = take_backup(sqlite_db.url, tmp_path / "backups", pages_per_step=8)
    ended = time.monotonic()
    time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert report.steps > 1
    before = {sid for at, sid in committed if at < began}
    during = {sid for at, sid in committed if began <= at <= ended}
    assert during, "writers kept committing while the backup ran"

    sqlite_db.dispose()
    restored = restore_backup(sqlite_db.url, report.file.path)
    assert restored.problems == []
    conn = sqlite3.connect(sqlite_path(sqlite_db.url))
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    ids = _story_ids(sqlite_db)
    assert before <= ids
    assert len(ids) >= 300 + len(before)


def test_failed_backup_leaves_no_partial_file(tmp_path: Path) -> None:
    not_a_db = tmp_path / "autodevhub.db"
    not_a_db.write_bytes(b"this is not a database at all" * 200)
    backups = tmp_path / "backups"
    with pytest.raises(BackupFailed, match="failed"):
        take_backup(f"sqlite:///{not_a_db}", backups)
    assert list(backups.iterdir()) == []
    with pytest.raises(BackupFailed, match="no database"):
        take_backup(f"sqlite:///{tmp_path / 'missing.db'}", backups)
    assert list(backups.iterdir()) == []
    assert not (tmp_path / "missing.db").exists()


def test_retention_deletes_old_backups_but_never_the_newest(tmp_path: Path) -> None:
    now = datetime(2026, 6, 30, 3, 0, tzinfo=UTC)
    names = [
        "autodevhub_20260401_020000.db.gz",  # 90 days old
        "autodevhub_20260520_020000.db.gz",  # 41 days
        "autodevhub_20260615_020000.db.gz",  # 15 days
        "unrelated.txt",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = prune_backups(tmp_path, 30, now=now)
    assert sorted(p.name for p in removed) == names[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
    # a long outage: every backup is older than the retention, the newest stays
    assert prune_backups(tmp_path, 1, now=now + timedelta(days=365)) == []
    assert (tmp_path / names[2]).exists()


# ---------------------------------------------------------------- restore refusals


@pytest.fixture
def backup_file(sqlite_db: Database, tmp_path: Path) -> Path:
    _seeded(sqlite_db, 5)
    return take_backup(sqlite_db.url, tmp_path / "backups").file.path


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    raw = gzip.decompress(data)
    files = {
        "plain text": tmp_path / "notes.txt",
        "truncated gzip": tmp_path / "truncated.db.gz",
        "gzip of non-SQLite": tmp_path / "other.db.gz",
        "gzip of a corrupt SQLite": tmp_path / "corrupt.db.gz",
        "gzip of a foreign SQLite": tmp_path / "foreign.db.gz",
    }
    files["plain text"].write_text("not a backup\n")
    files["truncated gzip"].write_bytes(data[: len(data) // 2])
    files["gzip of non-SQLite"].write_bytes(gzip.compress(b"PK\x03\x04" + b"zip?" * 5000))
    page = 4096
    corrupt = bytearray(raw)
    # scribble over every page after the schema: b-tree pages no longer parse
    for offset in range(2 * page, len(corrupt), page):
        corrupt[offset : offset + 64] = b"\xff" * 64
    files["gzip of a corrupt SQLite"].write_bytes(gzip.compress(bytes(corrupt)))
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes(x)")
    conn.commit()
    conn.close()
    files["gzip of a foreign SQLite"].write_bytes(gzip.compress(foreign.read_bytes()))
    return files


def test_restore_refuses_bad_files_and_leaves_the_database_untouched(
    sqlite_db: Database, backup_file: Path, tmp_path: Path
) -> None:
    make_story(
        sqlite_db,
        make_project(sqlite_db, make_user(sqlite_db, "T2", "U9"), team="T2"),
        title="after the backup",
        team="T2",
    )
    before_ids = _story_ids(sqlite_db)
    db_path = sqlite_path(sqlite_db.url)
    sqlite_db.dispose()
    before = _fingerprint(db_path)
    for label, bad in _bad_files(tmp_path, backup_file).items():
        with pytest.raises(RestoreRefused) as info:
            restore_backup(sqlite_db.url, bad)
        assert bad.name in info.value.message, label
        assert _fingerprint(db_path) == before, label
        assert not list(db_path.parent.glob("*before-restore*")), label
        leftovers = [p.name for p in db_path.parent.iterdir() if ".restore-" in p.name]
        assert leftovers == [], label
    with pytest.raises(RestoreRefused, match="no file"):
        restore_backup(sqlite_db.url, tmp_path / "nope.db.gz")
    assert _story_ids(sqlite_db) == before_ids


def test_restore_refuses_while_a_server_holds_the_database_unless_forced(
    sqlite_db: Database, backup_file: Path
) -> None:
    db_path = sqlite_path(sqlite_db.url)
    hold = hold_database(sqlite_db.url)
    try:
        assert database_in_use(sqlite_db.url)
        before = _fingerprint(db_path)
        with pytest.raises(RestoreRefused, match="Stop it first, or pass --force"):
            restore_backup(sqlite_db.url, backup_file)
        assert _fingerprint(db_path) == before
        report = restore_backup(sqlite_db.url, backup_file, force=True)
        assert report.problems == []
    finally:
        hold.release()
    assert not database_in_use(sqlite_db.url)


def test_a_crashed_server_does_not_block_restore(sqlite_db: Database, backup_file: Path) -> None:
    code = (
        "import os, sys; from storage.backup.hold import hold_database; "
        f"hold_database({sqlite_db.url!r}); print('held', flush=True); os._exit(0)"
    )
    # the child takes the hold and dies without releasing it: the kernel drops the lock
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.stdout.strip() == "held", out.stderr
    assert not database_in_use(sqlite_db.url)
    assert restore_backup(sqlite_db.url, backup_file).problems == []


def test_restore_keeps_the_old_database_and_runs_forward(
    sqlite_db: Database, backup_file: Path
) -> None:
    backed_up = _story_ids(sqlite_db)
    owner = make_user(sqlite_db, "T3", "U3")
    later = make_story(sqlite_db, make_project(sqlite_db, owner, team="T3"), team="T3")
    sqlite_db.dispose()
    report = restore_backup(sqlite_db.url, backup_file)
    assert report.previous is not None
    assert report.previous.name.startswith("autodevhub.db.before-restore-")
    assert report.stories_only_kept == 1  # `later`, written after the backup
    assert report.revision == "0007"  # the backup is migrated forward to head
    assert _story_ids(sqlite_db) == backed_up
    old = Database(f"sqlite:///{report.previous}")
    try:
        assert later in _story_ids(old)
    finally:
        old.dispose()
    # the restored database is a working one: search index in step, writes go through
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) == len(backed_up)
    make_story(
        sqlite_db, make_project(sqlite_db, make_user(sqlite_db, "T4", "U4"), team="T4"), team="T4"
    )


def test_restore_refuses_postgresql(tmp_path: Path) -> None:
    with pytest.raises(RestoreRefused, match="pg_restore"):
        restore_backup("postgresql://u@127.0.0.1:1/x", tmp_path / "x.pgdump")


def test_leftovers_of_a_killed_backup_go_with_the_next_one(
    sqlite_db: Database, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    leftovers = [
        ".autodevhub_k1ll3d.db.partial",
        ".autodevhub_k1ll3d.db.partial-journal",
        ".autodevhub_k1ll3d.db.gz.partial",
    ]
    for name in leftovers:
        (backups / name).write_bytes(b"half")  # written a moment ago by a run that was killed
    report = take_backup(sqlite_db.url, backups)
    assert [p.name for p in backups.iterdir()] == [report.file.name]


def test_a_second_backup_in_the_same_directory_waits_for_the_first(
    sqlite_db: Database, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    _seeded(sqlite_db, 50)
    results: list[str] = []

    def run() -> None:
        results.append(take_backup(sqlite_db.url, backups).file.name)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 3
    assert sorted(p.name for p in backups.iterdir()) == sorted(results)


def test_restore_names_every_process_holding_the_database(
    sqlite_db: Database, backup_file: Path
) -> None:
    shell = hold_database(sqlite_db.url, "autodevhub shell")
    code = (
        "import os; from storage.backup.hold import hold_database; "
        f"hold_database({sqlite_db.url!r}, 'autodevhub scheduler'); os._exit(0)"
    )
    # a process that died holding it is not named (its name file is swept)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60, check=True)
    serve = hold_database(sqlite_db.url, "autodevhub serve")
    try:
        with pytest.raises(RestoreRefused) as info:
            restore_backup(sqlite_db.url, backup_file)
        message = info.value.message
        assert "autodevhub shell (pid " in message and "autodevhub serve (pid " in message
        assert "scheduler" not in message
        assert " are using " in message and "--force" in message
        serve.release()
        with pytest.raises(RestoreRefused, match=r"^autodevhub shell \(pid \d+, since .*\) is "):
            restore_backup(sqlite_db.url, backup_file)
    finally:
        serve.release()
        shell.release()
    assert restore_backup(sqlite_db.url, backup_file).problems == []


def test_each_restore_keeps_the_database_it_replaced_under_its_own_name(
    sqlite_db: Database, backup_file: Path
) -> None:
    backed_up = _story_ids(sqlite_db)
    owner = make_user(sqlite_db, "T5", "U5")
    first_extra = make_story(sqlite_db, make_project(sqlite_db, owner, team="T5"), team="T5")
    first = restore_backup(sqlite_db.url, backup_file).previous
    second_extra = make_story(
        sqlite_db, make_project(sqlite_db, make_user(sqlite_db, "T6", "U6"), team="T6"), team="T6"
    )
    second = restore_backup(sqlite_db.url, backup_file).previous
    assert first is not None and second is not None and first != second
    kept = {}
    for path in (first, second):
        old = Database(f"sqlite:///{path}")
        try:
            kept[path] = _story_ids(old)
        finally:
            old.dispose()
    assert first_extra in kept[first] and second_extra not in kept[first]  # not overwritten
    assert second_extra in kept[second]
    assert _story_ids(sqlite_db) == backed_up


def test_a_forced_restore_shows_in_a_process_that_had_the_database_open(
    sqlite_db: Database, backup_file: Path
) -> None:
    """No reopen, no restart: the rows change under the open pool, and its next write lands
    on the restored data (the search index in step)."""
    backed_up = _story_ids(sqlite_db)
    owner = make_user(sqlite_db, "T7", "U7")
    project = make_project(sqlite_db, owner, team="T7")
    make_story(sqlite_db, project, title="written before the restore", team="T7")
    with hold_database(sqlite_db.url, "autodevhub shell"):
        report = restore_backup(sqlite_db.url, backup_file, force=True)
    assert report.problems == []
    assert _story_ids(sqlite_db) == backed_up  # the same Database object, its pool still open
    owner = make_user(sqlite_db, "T8", "U8")
    after = make_story(
        sqlite_db, make_project(sqlite_db, owner, team="T8"), title="kerberos", team="T8"
    )
    assert _story_ids(sqlite_db) == backed_up | {after}
    from storage.check import run_checks

    assert run_checks(sqlite_db) == []


def test_restore_keeps_each_storys_search_key(sqlite_db: Database, tmp_path: Path) -> None:
    """The search index is keyed by user_stories.search_key, not the rowid: a restore copies
    the keys, so every story is found by its own word even when the keys and rowids differ."""
    from sqlalchemy import text

    from storage.check import run_checks
    from storage.search import search_stories
    from storage.users import Actor
    from tests.storage.test_search import _renumber_rowids

    owner = make_user(sqlite_db, role="ADMIN")
    project = make_project(sqlite_db, owner)
    made = [make_story(sqlite_db, project, title=f"word{i}", created_by=owner) for i in range(9)]
    with sqlite_db.write() as s:
        s.execute(text("DELETE FROM user_stories WHERE title IN ('word1', 'word4')"))
    sqlite_db.dispose()
    _renumber_rowids(sqlite_db.url.removeprefix("sqlite:///"))
    with sqlite_db.read() as s:
        keys = dict(s.execute(text("SELECT id, search_key FROM user_stories")).all())
        assert keys != dict(s.execute(text("SELECT id, rowid FROM user_stories")).all())
    backup = take_backup(sqlite_db.url, tmp_path / "backups").file.path
    for story_id in made[:3]:  # the live database changes after the backup
        with sqlite_db.write() as s:
            s.execute(text("DELETE FROM user_stories WHERE id = :id"), {"id": story_id})
    make_story(sqlite_db, project, title="later", created_by=owner)
    sqlite_db.dispose()
    assert restore_backup(sqlite_db.url, backup).problems == []
    with sqlite_db.read() as s:
        assert dict(s.execute(text("SELECT id, search_key FROM user_stories")).all()) == keys
        reader = Actor(user_id=owner, team_id="T1", slack_user_id="U1", role="ADMIN")
        for i, story_id in enumerate(made):
            found = [v.id for v in search_stories(s, reader, f"word{i}")]
            assert found == ([] if i in (1, 4) else [story_id]), i
    assert run_checks(sqlite_db) == []


@pytest.mark.parametrize("damage", ["header", "pages"])
def test_a_damaged_database_nobody_holds_is_restored_and_its_bytes_kept(
    sqlite_db: Database, backup_file: Path, damage: str
) -> None:
    backed_up = _story_ids(sqlite_db)
    db_path = sqlite_path(sqlite_db.url)
    sqlite_db.dispose()
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(db_path.read_bytes())
    page = 4096
    if damage == "header":
        raw[:100] = b"\x00" * 100  # "file is not a database"
    else:
        for offset in range(2 * page, len(raw), page):  # b-tree pages no longer parse
            raw[offset : offset + 64] = b"\xff" * 64
    db_path.write_bytes(bytes(raw))
    report = restore_backup(sqlite_db.url, backup_file)
    assert report.previous is not None and report.previous.read_bytes() == bytes(raw)
    assert report.problems == []
    assert _story_ids(sqlite_db) == backed_up


def test_a_killed_restores_scratch_folder_does_not_block_the_next(
    sqlite_db: Database, backup_file: Path
) -> None:
    db_path = sqlite_path(sqlite_db.url)
    left = db_path.parent / f".{db_path.name}.restore-k1ll3d"
    left.mkdir()
    (left / db_path.name).write_bytes(b"half")  # what a killed restore leaves
    assert restore_backup(sqlite_db.url, backup_file).problems == []
    assert not left.exists()


def test_a_restore_gives_every_project_a_new_content_version(
    sqlite_db: Database, backup_file: Path
) -> None:
    """A list kept in a running serve is kept under its project's content version (bot/
    pages.py): after a restore no project may have a version a page was kept under, the
    backup's own included (it may hold the versions of another state: a backup made before
    migration 0007 has none, and every project would read as 0)."""
    from storage.models import ProjectVersion

    def versions() -> dict[str, int]:
        with sqlite_db.read() as s:
            return dict(s.execute(select(ProjectVersion.project_id, ProjectVersion.version)).all())

    with sqlite3.connect(sqlite_path(sqlite_db.url)) as raw:
        raw.execute("DELETE FROM project_versions")  # as a database upgraded from 0006 had it
    before = versions()
    report = restore_backup(sqlite_db.url, backup_file, force=True)
    assert report.problems == []
    after = versions()
    backed_up = set(after)
    assert backed_up and all(after.values())
    assert not {p: v for p, v in after.items() if before.get(p) == v}
