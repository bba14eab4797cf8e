"""Benchmark 2, storage at scale: list (shallow and deep keyset pages), search, create.

    .venv/bin/python -m bench.storage_scale [--sizes 100000 1000000] [--dialects sqlite postgresql]

Backlogs of N stories across 50 projects are built once and cached (bench/common.py). Each
operation goes through the domain API (storage.stories, storage.search) in its own unit of
work, as a request would. The baseline, in the same run on the same data, is the obvious
`LIKE '%word%'` scan a backlog without a search index would do.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from bench.common import (
    ADMIN_SLACK_ID,
    COMMON_WORD,
    RARE_WORD,
    TEAM_ID,
    Backlog,
    cached_backlog,
    drop_work_copy,
    machine,
    print_table,
    save_results,
    time_calls,
)
from storage.db import Database
from storage.search import search_stories
from storage.stories import StoryInput, create_story, list_stories
from storage.users import Actor, ensure_user

# what the issue promises (ms); None: no absolute target
SEARCH_P95_TARGET_MS = {100_000: 25.0, 1_000_000: 60.0}
LIKE_RATIO_TARGET = 100.0
DEEP_PAGE_DEPTH = 10_000


@dataclass
class Row:
    dialect: str
    stories: int
    operation: str
    p50: float
    p95: float
    runs: int
    note: str = ""


def _actor(db: Database) -> Actor:
    with db.write() as s:
        return ensure_user(s, TEAM_ID, ADMIN_SLACK_ID)


def _deep_cursor(db: Database, actor: Actor, project: str, depth: int) -> tuple[str, int]:
    """Walk the keyset pages of `project` to about `depth` stories down; the cursor there."""
    cursor = None
    seen = 0
    with db.read() as s:
        while seen < depth:
            page = list_stories(s, actor, project, limit=100, cursor=cursor)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
            seen += len(page.items)
    assert cursor, "project too small for a deep page"
    return cursor, seen


def _like_baseline(db: Database, word: str, *, newest_first: bool) -> Callable[[], object]:
    """A search without an index: LIKE over every story (count of matches), or the newest
    20 matches (stops early once 20 are found, so it is fast for a common word)."""
    op = "ILIKE" if db.dialect == "postgresql" else "LIKE"
    where = f"team_id = :team AND (title {op} :pattern OR description {op} :pattern)"
    if newest_first:
        sql = text(f"SELECT id FROM user_stories WHERE {where} ORDER BY created_at DESC LIMIT 20")
    else:
        sql = text(f"SELECT count(*) FROM user_stories WHERE {where}")

    def call() -> object:
        with db.read() as s:
            return s.execute(sql, {"team": TEAM_ID, "pattern": f"%{word}%"}).all()

    return call


def _search_sql_only(db: Database, word: str) -> Callable[[], object]:
    """The search statement alone (no StoryViews built): where the index's time goes."""
    from storage import search

    sql = search.SQLITE_SEARCH if db.dialect == "sqlite" else search.POSTGRES_SEARCH
    statement = text(sql.format(project_filter=""))
    params = {
        "team_id": TEAM_ID,
        "limit": 20,
        "candidates": search.CANDIDATES,
        "query": search.match_query(search.search_words(word)),
    }

    def call() -> object:
        with db.read() as s:
            if db.dialect == "postgresql":
                s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            return s.execute(statement, params).all()

    return call


def measure(backlog: Backlog, dialect: str, *, runs: int, like_runs: int) -> list[Row]:
    db = Database(backlog.url)
    rows: list[Row] = []
    try:
        actor = _actor(db)
        project = backlog.project_keys[0]
        per_project = backlog.stories_per_project[0]
        depth = min(DEEP_PAGE_DEPTH, per_project - 20)
        deep, depth = _deep_cursor(db, actor, project, depth)

        def read(fn: Callable[..., object], *args: object, **kw: object) -> Callable[[], object]:
            def call() -> object:
                with db.read() as s:
                    return fn(s, actor, *args, **kw)

            return call

        counter = iter(range(10**9))

        def create() -> object:
            n = next(counter)
            with db.write() as s:
                return create_story(
                    s,
                    actor,
                    project,
                    StoryInput(
                        title=f"As a bench user, I want story {n} so that it is timed",
                        description="Created by bench/storage_scale.py to time create_story.",
                        priority="MEDIUM",
                    ),
                )

        plan: list[tuple[str, Callable[[], object], int, str]] = [
            ("list first page (10)", read(list_stories, project, limit=10), runs,
             f"{per_project:,} in project"),
            (f"list deep page (10, after {depth:,})",
             read(list_stories, project, limit=10, cursor=deep), runs, "keyset"),
            (f"search rare word '{RARE_WORD}'", read(search_stories, RARE_WORD), runs, ""),
            (f"search common word '{COMMON_WORD}'", read(search_stories, COMMON_WORD), runs, ""),
            (f"search SQL only, rare '{RARE_WORD}'", _search_sql_only(db, RARE_WORD), runs,
             "ids only"),
            (f"search SQL only, common '{COMMON_WORD}'", _search_sql_only(db, COMMON_WORD),
             runs, "ids only"),
            (f"baseline LIKE scan rare '{RARE_WORD}'",
             _like_baseline(db, RARE_WORD, newest_first=False), like_runs, "full scan"),
            (f"baseline LIKE scan common '{COMMON_WORD}'",
             _like_baseline(db, COMMON_WORD, newest_first=False), like_runs, "full scan"),
            (f"baseline LIKE newest 20 rare '{RARE_WORD}'",
             _like_baseline(db, RARE_WORD, newest_first=True), like_runs, "stops at 20"),
            (f"baseline LIKE newest 20 common '{COMMON_WORD}'",
             _like_baseline(db, COMMON_WORD, newest_first=True), like_runs, "stops at 20"),
            ("create story", create, runs, "write + audit + FTS"),
        ]  # fmt: skip
        for name, call, n, note in plan:
            t = time_calls(name, call, runs=n, warmup=1 if n < 10 else 5)
            rows.append(Row(dialect, backlog.stories, name, t.ms(50), t.ms(95), n, note))
            print(f"  {dialect} {backlog.stories:,} {name}: p50 {t.ms(50):.2f} ms "
                  f"p95 {t.ms(95):.2f} ms", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        db.dispose()
    return rows


def _row(rows: list[Row], prefix: str) -> Row:
    return next(r for r in rows if r.operation.startswith(prefix))


def verdicts(rows: list[Row]) -> list[str]:
    """Each target of the issue, met or missed, with the figures that decide it."""
    out = []
    for dialect, size in sorted({(r.dialect, r.stories) for r in rows}):
        mine = [r for r in rows if r.dialect == dialect and r.stories == size]
        target = SEARCH_P95_TARGET_MS.get(size)
        for which in ("rare", "common"):
            search = _row(mine, f"search {which}")
            like = _row(mine, f"baseline LIKE scan {which}")
            ratio = like.p50 / search.p50 if search.p50 else float("inf")
            if target is not None:
                ok = search.p95 <= target
                out.append(
                    f"{dialect} {size:,} search {which}: p95 {search.p95:.1f} ms "
                    f"(target <= {target:.0f}) {'MET' if ok else 'MISSED'}"
                )
            ok = ratio >= LIKE_RATIO_TARGET
            out.append(
                f"{dialect} {size:,} search {which} vs LIKE: {ratio:,.0f}x faster at p50 "
                f"(target >= {LIKE_RATIO_TARGET:.0f}x a LIKE scan) {'MET' if ok else 'MISSED'}"
            )
        first, deep = _row(mine, "list first"), _row(mine, "list deep")
        ratio = deep.p50 / first.p50 if first.p50 else float("nan")
        out.append(
            f"{dialect} {size:,} deep page / first page p50: {ratio:.2f}x "
            f"{'MET' if ratio <= 1.5 else 'MISSED'} (same speed: <= 1.5x)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dialects", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=100, help="timed calls per operation")
    parser.add_argument("--like-runs", type=int, default=10, help="timed LIKE scans")
    parser.add_argument("--repeat", type=int, default=3, help="whole runs; medians reported")
    args = parser.parse_args(argv)

    started = time.time()
    all_rows: list[Row] = []
    for dialect in args.dialects:
        for size in args.sizes:
            backlog = cached_backlog(dialect, size, log=lambda m: print(m, file=sys.stderr))
            try:
                repeats = [
                    measure(backlog, dialect, runs=args.runs, like_runs=args.like_runs)
                    for _ in range(args.repeat)
                ]
            finally:
                drop_work_copy(backlog)
            for i, first in enumerate(repeats[0]):
                same = [rep[i] for rep in repeats]
                all_rows.append(
                    Row(
                        dialect,
                        size,
                        first.operation,
                        statistics.median(r.p50 for r in same),
                        statistics.median(r.p95 for r in same),
                        sum(r.runs for r in same),
                        first.note,
                    )
                )

    def like_ratio(r: Row) -> str:
        if not r.operation.startswith("search"):
            return ""
        which = "rare" if "rare" in r.operation else "common"
        like = next(
            x for x in all_rows
            if x.dialect == r.dialect and x.stories == r.stories
            and x.operation.startswith(f"baseline LIKE scan {which}")
        )  # fmt: skip
        return f"{like.p50 / r.p50:,.0f}x" if r.p50 else "-"

    print_table(
        f"Storage at scale (median of {args.repeat} runs; {machine()['loadavg']} load)",
        ["database", "stories", "operation", "p50 ms", "p95 ms", "vs LIKE", "calls", "note"],
        [
            (r.dialect, r.stories, r.operation, r.p50, r.p95, like_ratio(r), r.runs, r.note)
            for r in all_rows
        ],
    )
    checks = verdicts(all_rows)
    print("\n".join(checks))
    save_results(
        "storage_scale",
        {
            "args": vars(args),
            "seconds": time.time() - started,
            "rows": [r.__dict__ for r in all_rows],
            "verdicts": checks,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
