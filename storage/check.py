"""`autodevhub check`: database integrity, foreign keys, and a search index that matches."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.db import Database, normalize_url
from storage.progress import Progress, no_progress

FTS_TRIGGERS = ("stories_fts_ai", "stories_fts_ad", "stories_fts_au")
# migration 0007: without them a list kept in memory (bot/pages.py) would not see changes
VERSION_TRIGGERS = ("project_version_ai", "project_version_au", "project_version_ad")
SHOWN = 5

POSTGRES_EXPECTED_VECTOR = """
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(description, '')), 'B')"""


def _ids(rows: list, noun: str) -> str:
    shown = ", ".join(str(r) for r in rows[:SHOWN])
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    return f"{len(rows)} {noun}: {shown}{more}"


def _sqlite_integrity(s: Session) -> list[str]:
    result = [r[0] for r in s.execute(text("PRAGMA integrity_check"))]
    if result != ["ok"]:
        return [f"integrity_check: {line}" for line in result[:20]]
    return []


def _sqlite_foreign_keys(s: Session) -> list[str]:
    rows = s.execute(text("PRAGMA foreign_key_check")).all()
    return [
        f"foreign_key_check: {table} row {rowid} points to a missing {parent} row"
        for table, rowid, parent, _fk in rows[:20]
    ]


def _sqlite_search_index(s: Session) -> list[str]:
    problems: list[str] = []
    triggers = set(
        s.scalars(
            text(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'user_stories'"
            )
        )
    )
    missing = [t for t in FTS_TRIGGERS if t not in triggers]
    if missing:
        problems.append(f"search index: sync trigger(s) missing: {', '.join(missing)}")
    try:
        with s.begin_nested():
            s.execute(
                text("INSERT INTO stories_fts(stories_fts, rank) VALUES ('integrity-check', 1)")
            )
    except SQLAlchemyError as exc:
        problems.append(
            "search index: FTS5 integrity-check failed "
            f"({getattr(exc, 'orig', exc)}); the index does not match user_stories"
        )
    # the index is keyed by user_stories.search_key (0 = the insert trigger gave none)
    keyless = list(s.scalars(text("SELECT id FROM user_stories WHERE search_key = 0 ORDER BY id")))
    if keyless:
        problems.append(
            "search index: "
            + _ids(keyless, "stories without a search key (no story can be added until repaired)")
        )
    unindexed = list(
        s.scalars(
            text(
                "SELECT us.id FROM user_stories AS us WHERE us.search_key NOT IN "
                "(SELECT id FROM stories_fts_docsize) ORDER BY us.id"
            )
        )
    )
    if unindexed:
        problems.append("search index: " + _ids(unindexed, "stories not indexed"))
    orphans = list(
        s.scalars(
            text(
                "SELECT d.id FROM stories_fts_docsize AS d WHERE d.id NOT IN "
                "(SELECT search_key FROM user_stories) ORDER BY d.id"
            )
        )
    )
    if orphans:
        problems.append(
            "search index: " + _ids(orphans, "index entries of deleted stories (search key)")
        )
    stories = s.scalar(text("SELECT count(*) FROM user_stories"))
    indexed = s.scalar(text("SELECT count(*) FROM stories_fts_docsize"))
    if stories != indexed and not (unindexed or orphans):
        problems.append(f"search index: {indexed} entries for {stories} stories")
    return problems


def _postgres_search_index(s: Session) -> list[str]:
    problems: list[str] = []
    stale = list(
        s.scalars(
            text(
                "SELECT id FROM user_stories WHERE search_vector IS DISTINCT FROM ("
                + POSTGRES_EXPECTED_VECTOR
                + ") ORDER BY id"
            )
        )
    )
    if stale:
        problems.append("search index: " + _ids(stale, "stories with a stale search vector"))
    valid = s.scalar(
        text(
            "SELECT i.indisvalid FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
            "WHERE c.relname = 'idx_stories_search'"
        )
    )
    if valid is None:
        problems.append("search index: the GIN index idx_stories_search is missing")
    elif not valid:
        problems.append("search index: the GIN index idx_stories_search is invalid")
    return problems


def _version_triggers(s: Session) -> list[str]:
    if s.get_bind().dialect.name == "sqlite":
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'user_stories'"
        )
    else:
        query = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'user_stories'::regclass "
            "AND tgenabled <> 'D'"
        )
    found = set(s.scalars(text(query)))
    missing = [t for t in VERSION_TRIGGERS if t not in found]
    if not missing:
        return []
    return [
        f"project versions: trigger(s) missing: {', '.join(missing)}; lists kept in memory "
        "may not show changes to stories (migration 0007 creates them)"
    ]


def _story_numbers(s: Session) -> list[str]:
    """Rules the schema cannot state: numbers below the counter, one workspace per story."""
    problems: list[str] = []
    ahead = s.execute(
        text(
            "SELECT p.key, p.last_story_number, max(us.number) FROM projects AS p "
            "JOIN user_stories AS us ON us.project_id = p.id "
            "GROUP BY p.id, p.key, p.last_story_number "
            "HAVING max(us.number) > p.last_story_number ORDER BY p.key"
        )
    ).all()
    for key, last, highest in ahead[:20]:
        problems.append(
            f"story numbers: project {key} has story {key}-{highest} but its counter is at "
            f"{last}, so a number would be reused"
        )
    mixed = list(
        s.scalars(
            text(
                "SELECT us.id FROM user_stories AS us JOIN projects AS p ON p.id = us.project_id "
                "WHERE us.team_id <> p.team_id ORDER BY us.id"
            )
        )
    )
    if mixed:
        problems.append("workspaces: " + _ids(mixed, "stories in another workspace's project"))
    return problems


CHECK_NAMES = {
    "_sqlite_integrity": "integrity",
    "_sqlite_foreign_keys": "foreign keys",
    "_sqlite_search_index": "search index",
    "_postgres_search_index": "search index",
    "_story_numbers": "story numbers",
    "_version_triggers": "project versions",
}


def run_checks(db: Database, progress: Progress = no_progress) -> list[str]:
    """Every problem found, one readable line each; [] when the database is healthy."""
    checks: list[Callable[[Session], list[str]]]
    if db.dialect == "sqlite":
        checks = [_sqlite_integrity, _sqlite_foreign_keys, _sqlite_search_index, _story_numbers]
    else:
        checks = [_postgres_search_index, _story_numbers]
    checks.append(_version_triggers)
    problems: list[str] = []
    for done, check in enumerate(checks):
        progress(CHECK_NAMES[check.__name__], done, len(checks))
        # the FTS5 integrity-check is issued as an INSERT: run every check in a write unit
        try:
            with db.write() as s:
                problems.extend(check(s))
        except SQLAlchemyError as exc:
            problems.append(
                f"{check.__name__.strip('_')}: could not run ({exc.__class__.__name__})"
            )
    return problems


def table_sizes(db: Database) -> list[tuple[str, int, int]]:
    """(table, rows, indexes) of every table of the app (Alembic's and the search index's
    own tables left out), by name."""
    found = []
    inspector = inspect(db.write_engine)
    with db.read() as s:
        for table in sorted(inspector.get_table_names()):
            if table == "alembic_version" or table.startswith("stories_fts"):
                continue
            rows = s.scalar(text(f'SELECT count(*) FROM "{table}"'))
            indexes = len(inspector.get_indexes(table)) + len(
                inspector.get_unique_constraints(table)
            )
            found.append((table, int(rows or 0), indexes))
    return found


def file_sizes(db: Database) -> list[tuple[str, int]]:
    """SQLite: the database file and its WAL, with their sizes in bytes (what exists)."""
    path = sqlite_path_of(db.url)
    if path is None:
        return []
    return [(str(p), p.stat().st_size) for p in (path, Path(f"{path}-wal")) if p.exists()]


def sqlite_path_of(url: str) -> Path | None:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def analyze(db: Database) -> None:
    """Refresh the query planner's statistics (ANALYZE on either database)."""
    with db.write() as s:  # both run ANALYZE inside a transaction (unlike VACUUM)
        s.execute(text("ANALYZE"))


def optimize(db: Database) -> None:
    """The nightly upkeep: SQLite's `PRAGMA optimize` (statistics where they are stale).
    PostgreSQL's autovacuum keeps its statistics fresh on its own: nothing to do there."""
    if db.dialect == "sqlite":
        with db.write() as s:
            s.execute(text("PRAGMA optimize"))


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def print_sizes(db: Database) -> None:
    sizes = table_sizes(db)
    width = max((len(t) for t, _, _ in sizes), default=5)
    print(f"{'table'.ljust(width)}  {'rows':>10}  indexes")
    for table, rows, indexes in sizes:
        print(f"{table.ljust(width)}  {rows:>10,}  {indexes:>7}")
    for path, size in file_sizes(db):
        print(f"{'WAL' if path.endswith('-wal') else 'file'}: {path} ({_human(size)})")


def rebuild_search_index(db: Database) -> None:
    """Rebuild the search index from user_stories (cheap: one pass over the stories); on
    SQLite a story left without a search key gets one first."""
    with db.write() as s:
        if db.dialect == "sqlite":
            # the unique index holds at most one story at 0, the "no key yet" default
            s.execute(
                text(
                    "UPDATE user_stories SET search_key = "
                    "(SELECT max(search_key) + 1 FROM user_stories) WHERE search_key = 0"
                )
            )
            s.execute(text("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')"))
        else:
            s.execute(text("REINDEX INDEX idx_stories_search"))


def main(database_url: str, *, repair: bool = False, analyze_too: bool = False) -> int:
    """Print a report (problems, then each table's rows and indexes, and the files' sizes
    on SQLite); exit status 1 only when something is wrong (after repair, if asked)."""
    url = make_url(normalize_url(database_url))
    shown_url = url.render_as_string(hide_password=True)
    on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_file and not Path(url.database).exists():  # connecting would create an empty file
        print(f"PROBLEM: no database file at {url.database}")
        return 1
    db = Database(database_url)
    try:
        print(f"Checking {shown_url}")
        problems = run_checks(db, _step_lines)
        if problems and repair:
            print(f"Found {len(problems)} problem(s); rebuilding the search index…")
            rebuild_search_index(db)
            problems = run_checks(db, _step_lines)
        if analyze_too:
            analyze(db)
            print("ANALYZE: the query planner's statistics are fresh.")
        print_sizes(db)
        if not problems:
            with db.read() as s:
                stories = s.scalar(text("SELECT count(*) FROM user_stories"))
            print(
                "OK: integrity, foreign keys, project versions and the search index of "
                f"{stories} stories."
            )
            return 0
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        if not repair and any(p.startswith("search index") for p in problems):
            print("The search index can be rebuilt with: autodevhub check --repair")
        return 1
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        print(f"PROBLEM: could not read the database ({exc.__class__.__name__}: {reason})")
        return 1
    finally:
        db.dispose()


def _step_lines(stage: str, done: int, total: int) -> None:
    """Each check as it starts, on stderr (a bar is no help for a few long steps)."""
    print(f"  checking {stage} ({done + 1}/{total})…", file=sys.stderr, flush=True)
