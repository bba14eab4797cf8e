"""Benchmark 7, indexes against the seed's: `/story list` and `/story show` with the
migration's indexes, with only the seed's two list indexes, with only ours, and without the
workspace's page index of alembic 0006.

    .venv/bin/python -m bench.indexes [--database sqlite|postgresql] [--stories 100000]

Four work copies of the cached backlog (bench/common.py; a file copy on SQLite, CREATE
DATABASE ... TEMPLATE on PostgreSQL): (a) every index as the migration makes them, (b) the
seed's two (idx_stories_project_status_priority, idx_stories_list) without ours
(idx_stories_page, idx_stories_page_status), (c) ours without the seed's two, (d) "before
0006": idx_stories_team_id (team_id alone) in place of idx_stories_team_page (team_id,
priority_rank, created_at, id), which serves `/story list` of all projects. A cached backlog
built before 0006 gets 0006's change in every copy first. Every other index stays in all
four. Each query is timed as the domain call a request makes
(storage.stories in its own read unit of work: "call") and as the statements on
user_stories that call sends, replayed alone ("SQL"); the copies take turns call by
call in a random order, so noise on the 2 cores hits them alike. On PostgreSQL, "server
exec" is the statements' Execution Time by EXPLAIN ANALYZE: what the index changes,
without round trips and planning (0.25-0.6 ms a statement, which a prepared statement
skips when PostgreSQL keeps its generic plan: that choice moves "SQL" by more than the
index does at this size). "walks" is the index each copy's plan reads user_stories with
(EXPLAIN QUERY PLAN / EXPLAIN; on PostgreSQL the generic plan is named too when it
differs).

The plan reader here (`statements_sent`, `explain`) is also what
tests/storage/test_query_plans.py asserts with.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.orm import Session

from bench.common import (
    ADMIN_SLACK_ID,
    CACHE_DIR,
    TEAM_ID,
    Backlog,
    cached_backlog,
    machine,
    percentile,
    print_table,
    save_results,
)
from storage import stories
from storage.db import Database, normalize_url
from storage.users import Actor, ensure_user

OURS = ("idx_stories_page", "idx_stories_page_status")
SEEDS = ("idx_stories_project_status_priority", "idx_stories_list")
# alembic 0006: the page index of a workspace, in place of team_id indexed alone. A cached
# backlog built before it gets it in every copy; "before 0006" drops it and has team_id's back.
TEAM_PAGE = ("idx_stories_team_page", "team_id, priority_rank, created_at, id")
TEAM_ID_ALONE = ("idx_stories_team_id", "team_id")
# variant -> the indexes dropped from its copy
VARIANTS = {"all (migration)": (), "seed's two only": OURS, "ours only": SEEDS,
            "before 0006": (TEAM_PAGE[0],)}  # fmt: skip
BASELINE = "all (migration)"
MEMBER_SLACK_ID = "U0BENCH03"  # "mine": a member assigned about 1 story in 40
DEEP_PAGE = 50
DEEP_STATUS_PAGE = 25
PAGE_SIZE = 10  # bot/commands.PAGE_SIZE
EXPLAIN_RUNS = 100  # EXPLAIN ANALYZE runs per query and copy (PostgreSQL)

# ---- plans: what a statement reads user_stories with --------------------------------------

FULL_SCAN = "FULL SCAN"
USER_STORIES = re.compile(r"\buser_stories\b")
SQLITE_READ = re.compile(
    r"^(?:SCAN|SEARCH) user_stories\b(?: AS \w+)?"
    r"(?: USING (?:(?:COVERING )?INDEX (?P<index>\w+)|(?P<key>(?:INTEGER )?PRIMARY KEY)))?"
)
Sent = tuple[str, Any]
_PREPARED = itertools.count()


@dataclass(frozen=True)
class Plan:
    """How one statement reads user_stories: each read's index (or FULL_SCAN), in short."""

    kind: str  # "plan" (SQLite), "custom plan" or "generic plan" (PostgreSQL)
    reads: tuple[str, ...]
    shown: str


def statements_sent(db: Database, call: Callable[[Session], object]) -> list[Sent]:
    """The statements on user_stories that `call` sends in a read unit of work, with their
    parameters, as they went to the driver."""
    sent: list[Sent] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if USER_STORIES.search(statement):
            sent.append((statement, parameters))

    engines = {db.read_engine, db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        with db.read() as s:
            call(s)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    return sent


def explain(conn: Connection, statement: str, parameters: Any) -> list[Plan]:
    """The statement's plan with these parameters: EXPLAIN QUERY PLAN on SQLite; on
    PostgreSQL EXPLAIN (FORMAT JSON), and the generic plan of the statement prepared."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        details = [row[3] for row in rows]
        reads = []
        for detail in details:
            match = SQLITE_READ.match(detail)
            if match:
                reads.append(match["index"] or match["key"] or FULL_SCAN)
        return [Plan("plan", tuple(reads), " | ".join(details))]
    custom = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    generic = _pg_generic_plan(conn, statement, parameters)
    return [_pg_plan("custom plan", custom[0]["Plan"]), _pg_plan("generic plan", generic)]


def _pg_generic_plan(conn: Connection, statement: str, parameters: dict[str, Any]) -> dict:
    """The plan PostgreSQL keeps for the statement prepared, whatever the values (psycopg
    prepares a statement run 5 times on a connection; PostgreSQL may then plan it once)."""
    from psycopg import sql

    names: list[str] = []

    def placeholder(match: re.Match) -> str:
        names.append(match[1])
        return f"${len(names)}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, statement)
    raw = conn.connection.dbapi_connection
    values = ", ".join(sql.Literal(parameters[n]).as_string(raw) for n in names)
    name = f"plan_check_{next(_PREPARED)}"  # a name of its own: PREPARE outlives a rollback
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE {name} AS {prepared}")
    execute = f"EXECUTE {name} ({values})" if values else f"EXECUTE {name}"
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {execute}").scalar()[0]["Plan"]
    conn.exec_driver_sql(f"DEALLOCATE {name}")
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
    return plan


def _pg_nodes(node: dict) -> Iterable[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _pg_nodes(child)


def _pg_plan(kind: str, root: dict) -> Plan:
    reads: list[str] = []
    for node in _pg_nodes(root):
        if node.get("Relation Name") != "user_stories":
            continue
        if node["Node Type"] == "Seq Scan":
            reads.append(FULL_SCAN)
        elif node["Node Type"] == "Bitmap Heap Scan":
            reads += [n["Index Name"] for n in _pg_nodes(node) if "Index Name" in n]
        else:  # Index Scan, Index Only Scan; any other read is named as what it is
            reads.append(node.get("Index Name", node["Node Type"]))
    return Plan(kind, tuple(reads), _pg_short(root))


def _pg_short(node: dict) -> str:
    name = node["Node Type"]
    if "Index Name" in node:
        name += f" using {node['Index Name']}"
    if "Relation Name" in node:
        name += f" on {node['Relation Name']}"
    return " > ".join([name] + [_pg_short(child) for child in node.get("Plans", [])])


def walks(db: Database, sent: list[Sent]) -> tuple[str, list[str]]:
    """The indexes the statements read user_stories with (in short) and their plans."""
    with db.read() as s:
        plans = [plan for statement, params in sent
                 for plan in explain(s.connection(), statement, params)]  # fmt: skip

    def names(kind: str) -> list[str]:
        found: list[str] = []
        for plan in plans:
            if plan.kind == kind:
                found += [r for r in plan.reads if r not in found]
        return found

    kinds = sorted({plan.kind for plan in plans})
    short = " + ".join(names(kinds[0]))
    if len(kinds) == 2 and names("generic plan") != names("custom plan"):
        short += " (generic: " + " + ".join(names("generic plan")) + ")"
    return short, [f"{plan.kind}: {plan.shown}" for plan in plans]


# ---- work copies ------------------------------------------------------------------------


@dataclass
class Copy:
    variant: str
    url: str
    db: Database | None = None


def make_copies(backlog: Backlog, dialect: str, copies: list[Copy]) -> None:
    """One work copy of the cached backlog per variant, its dropped indexes dropped; each
    joins `copies` as soon as it exists, so a failure half-way leaves nothing unlisted."""
    for n, (variant, dropped) in enumerate(VARIANTS.items()):
        if dialect == "sqlite":
            source = Path(normalize_url(backlog.url).split("sqlite:///", 1)[1])
            path = CACHE_DIR / f"indexes-{n}-{os.getpid()}.db"
            shutil.copyfile(source, path)
            copies.append(Copy(variant, f"sqlite:///{path}"))
            with contextlib.closing(sqlite3.connect(path)) as raw:
                for statement in _index_changes(dropped, "sqlite"):
                    raw.execute(statement)
                raw.commit()
        else:
            base, template = normalize_url(backlog.url).rsplit("/", 1)
            name = f"autodevhub_bench_indexes_{n}_{os.getpid()}"
            admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            admin.dispose()
            copies.append(Copy(variant, f"{base}/{name}"))
            engine = create_engine(copies[-1].url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for statement in _index_changes(dropped, "postgresql"):
                    conn.exec_driver_sql(statement)
            engine.dispose()
        copies[-1].db = Database(copies[-1].url)


def _index_changes(dropped: tuple[str, ...], dialect: str) -> list[str]:
    """DDL that gives a copy 0006's index (if its cache predates it), then drops `dropped`;
    dropping 0006's brings back the index it replaced. On SQLite a created index is analyzed,
    as 0006 does (the cached backlog has statistics)."""
    statements = []

    def create(name: str, columns: str) -> None:
        statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON user_stories ({columns})")
        if dialect == "sqlite":
            statements.append(f"ANALYZE {name}")

    create(*TEAM_PAGE)
    statements.append(f"DROP INDEX IF EXISTS {TEAM_ID_ALONE[0]}")
    statements += [f"DROP INDEX {index}" for index in dropped]
    if TEAM_PAGE[0] in dropped:
        create(*TEAM_ID_ALONE)
    return statements


def drop_copies(copies: list[Copy]) -> None:
    for copy in copies:
        if copy.db is not None:
            copy.db.dispose()
        url = normalize_url(copy.url)
        if url.startswith("sqlite"):
            path = url.split("sqlite:///", 1)[1]
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            base, name = url.rsplit("/", 1)
            admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# ---- the queries -------------------------------------------------------------------------


@dataclass
class Query:
    name: str
    # the domain call, given its unit of work and the number of the run
    call: Callable[[Session, int], object]


def queries(db: Database, backlog: Backlog) -> list[Query]:
    """`/story list` of a project (first page, page 50, each filter), of all projects, and
    `/story show KEY-N`, as bot/commands.py asks them (pages of 10)."""
    with db.write() as s:
        actor = ensure_user(s, TEAM_ID, ADMIN_SLACK_ID)
        member = ensure_user(s, TEAM_ID, MEMBER_SLACK_ID)
    project = backlog.project_keys[0]
    deep = _cursor_at(db, actor, project, DEEP_PAGE)
    deep_all = _cursor_at(db, actor, None, DEEP_PAGE)
    deep_status = _cursor_at(db, actor, project, DEEP_STATUS_PAGE, status="READY")
    rng = random.Random(7)
    keys = [
        f"{key}-{rng.randint(1, size)}"
        for key, size in zip(backlog.project_keys, backlog.stories_per_project, strict=True)
        for _ in range(4)
    ]
    rng.shuffle(keys)

    def listing(who: Actor, ref: str | None, **kw: Any) -> Callable[[Session, int], object]:
        return lambda s, _n: stories.list_stories(s, who, ref, limit=PAGE_SIZE, **kw)

    return [
        Query("list first page", listing(actor, project)),
        Query(f"list page {DEEP_PAGE}", listing(actor, project, cursor=deep)),
        Query("list status:READY", listing(actor, project, status="READY")),
        Query(f"list status:READY page {DEEP_STATUS_PAGE}",
              listing(actor, project, status="READY", cursor=deep_status)),
        Query("list priority:HIGH", listing(actor, project, priority="HIGH")),
        Query("list mine", listing(member, project, assignee_slack_id=MEMBER_SLACK_ID)),
        Query("list all projects", listing(actor, None)),
        Query(f"list all projects page {DEEP_PAGE}", listing(actor, None, cursor=deep_all)),
        Query("list all projects status:READY", listing(actor, None, status="READY")),
        Query("list all projects priority:HIGH", listing(actor, None, priority="HIGH")),
        Query("show KEY-N", lambda s, n: stories.get_story(s, actor, keys[n % len(keys)])),
    ]  # fmt: skip


def _cursor_at(db: Database, actor: Actor, project: str | None, page: int, **filters: Any) -> str:
    """The cursor that opens page `page` of the project's list, or of all projects' (Next
    pressed page-1 times)."""
    cursor = None
    with db.read() as s:
        for _ in range(page - 1):
            cursor = stories.list_stories(
                s, actor, project, limit=PAGE_SIZE, cursor=cursor, **filters
            ).next_cursor
            if cursor is None:
                where = project or "the workspace"
                raise SystemExit(f"{where} has fewer than {page} pages {filters or ''}")
    return cursor


# ---- timing ------------------------------------------------------------------------------


@dataclass
class Measured:
    query: str
    variant: str
    call: list[float]
    sql: list[float]
    walks: str
    plans: list[str]
    statements: int
    # PostgreSQL: the statements' Execution Time and Planning Time on the server (EXPLAIN
    # ANALYZE), seconds: what the index changes, without the round trips and the planning
    # a prepared statement may skip
    executing: list[float] = field(default_factory=list)
    planning: list[float] = field(default_factory=list)


def measure(
    backlog: Backlog, copies: list[Copy], runs: int, warmup: int, log: Callable[[str], None]
) -> list[Measured]:
    baseline = next(c for c in copies if c.variant == BASELINE)
    assert baseline.db is not None
    # the queries' cursors and keys are found on the baseline; every copy holds the same rows
    found: list[Measured] = []
    for query in queries(baseline.db, backlog):
        sent = statements_sent(baseline.db, lambda s, q=query: q.call(s, 0))
        per = {}
        for copy in copies:
            assert copy.db is not None
            shown, plans = walks(copy.db, sent)
            per[copy.variant] = Measured(query.name, copy.variant, [], [], shown, plans, len(sent))
        # The copies take turns in a new random order every time: a copy that always came
        # right after a slow one (a sort of 25,000 rows) would pay for its cold CPU caches.
        order = random.Random(query.name)
        for n in range(-warmup, runs):
            _take_turns(per, order, copies, query, sent, n)
        if baseline.db.dialect == "postgresql":
            for _ in range(min(runs, EXPLAIN_RUNS)):
                for copy in order.sample(copies, len(copies)):
                    _server_times(copy.db, sent, per[copy.variant])
        for m in per.values():
            del m.call[:warmup], m.sql[:warmup]
            log(f"  {m.query:<28} {m.variant:<16} call p50 {percentile(m.call, 50) * 1e3:7.2f} ms"
                f"  SQL p50 {percentile(m.sql, 50) * 1e3:7.2f} ms  {m.walks}")  # fmt: skip
        found += per.values()
    return found


def _take_turns(
    per: dict[str, Measured],
    order: random.Random,
    copies: list[Copy],
    query: Query,
    sent: list[Sent],
    n: int,
) -> None:
    """Run n of the query on every copy, then of its statements alone."""
    for copy in order.sample(copies, len(copies)):
        per[copy.variant].call.append(_timed(copy.db, lambda s: query.call(s, n)))
    for copy in order.sample(copies, len(copies)):
        per[copy.variant].sql.append(_timed(copy.db, lambda s: _replay(s, sent)))


def _server_times(db: Database | None, sent: list[Sent], into: Measured) -> None:
    """One EXPLAIN ANALYZE of each statement: their summed execution and planning times."""
    assert db is not None
    executing = planning = 0.0
    with db.read() as s:
        conn = s.connection()
        for statement, params in sent:
            analyzed = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement, params
            ).scalar()[0]
            executing += analyzed["Execution Time"] / 1e3
            planning += analyzed["Planning Time"] / 1e3
    into.executing.append(executing)
    into.planning.append(planning)


def _timed(db: Database | None, work: Callable[[Session], object]) -> float:
    assert db is not None
    started = time.perf_counter()
    with db.read() as s:
        work(s)
    return time.perf_counter() - started


def _replay(s: Session, sent: list[Sent]) -> None:
    conn = s.connection()
    for statement, params in sent:
        conn.exec_driver_sql(statement, params).all()


# ---- report ------------------------------------------------------------------------------


HEADERS = ["query", "indexes", "call p50 ms", "call p99 ms", "call p50 vs all",
           "SQL p50 ms", "SQL p99 ms", "SQL p50 vs all", "SQL p99 vs all"]  # fmt: skip
SERVER_HEADERS = ["server exec p50 ms", "exec vs all"]


def table(found: list[Measured]) -> tuple[list[str], list[tuple]]:
    """The headers and rows of the report; the server's columns only where measured."""
    server = any(m.executing for m in found)
    base = {m.query: m for m in found if m.variant == BASELINE}
    rows = []
    for m in found:
        b = base[m.query]

        def ratio(mine: list[float], theirs: list[float], pct: float, own: bool = m is b) -> str:
            return "" if own else f"{percentile(mine, pct) / percentile(theirs, pct):.2f}x"

        row = [
            m.query, m.variant,
            percentile(m.call, 50) * 1e3, percentile(m.call, 99) * 1e3, ratio(m.call, b.call, 50),
            percentile(m.sql, 50) * 1e3, percentile(m.sql, 99) * 1e3,
            ratio(m.sql, b.sql, 50), ratio(m.sql, b.sql, 99),
        ]  # fmt: skip
        if server:
            row += [percentile(m.executing, 50) * 1e3, ratio(m.executing, b.executing, 50)]
        rows.append((*row, m.walks))
    return HEADERS + (SERVER_HEADERS if server else []) + ["walks"], rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument(
        "--hot",
        type=int,
        default=None,
        help="stories in the first project (default: 50 equal projects)",
    )
    parser.add_argument("--runs", type=int, default=500, help="timed calls per query and copy")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.time()
    backlog = cached_backlog(args.database, args.stories, hot_project_stories=args.hot,
                             fresh_copy=False, log=log)  # fmt: skip
    load_before = machine()["loadavg"]
    copies: list[Copy] = []
    try:
        make_copies(backlog, args.database, copies)
        found = measure(backlog, copies, args.runs, args.warmup, log)
    finally:
        drop_copies(copies)
    load_after = machine()["loadavg"]
    size = f"{args.stories:,} stories, {max(backlog.stories_per_project):,} in the project"
    print_table(
        f"Indexes on {args.database}, {size}; p50/p99 of {args.runs} runs each, the copies "
        f"taking turns (load {load_before} before, {load_after} after)",
        *table(found),
    )
    save_results(
        "indexes",
        {
            "args": vars(args),
            "seconds": time.time() - started,
            "load": {"before": load_before, "after": load_after},
            "rows": [
                {
                    "query": m.query,
                    "variant": m.variant,
                    "walks": m.walks,
                    "plans": m.plans,
                    "statements": m.statements,
                    "call_ms": [x * 1e3 for x in m.call],
                    "sql_ms": [x * 1e3 for x in m.sql],
                    "server_exec_ms": [x * 1e3 for x in m.executing],
                    "server_planning_ms": [x * 1e3 for x in m.planning],
                }
                for m in found
            ],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
