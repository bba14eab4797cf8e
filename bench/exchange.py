"""Benchmark: importing and exporting 10,000 stories, against a plain executemany and SELECT.

    .venv/bin/python -m bench.exchange [--rows 10000] [--repeat 3] [--database both]

For each database, a fresh migrated one (a SQLite file; a throw-away PostgreSQL database on
the cluster of .ci/start-postgres, or AUTODEVHUB_BENCH_PG_URL) with one workspace, its
owner, and an empty project per run.

- import: `import_stories` of a Jira-shaped CSV of N records (a BOM, descriptions over two
  lines with acceptance criteria in them, two Labels columns, points as 5.0): decode, parse,
  map, check every record, look up what was imported before, number, insert the stories and
  one audit row each, in one transaction.
- its baseline, in the same run on the same database: a plain executemany of the same N
  story rows, built beforehand (no parsing, no checks, no audit rows), into another project.
- export: `export_project` of those N stories as CSV, against a plain SELECT of the same
  rows as its baseline.

Figures are the median of --repeat runs; the ratio is the operation over its baseline, so
it holds on a faster or slower machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

from bench.common import machine, postgres_url, print_table, save_results
from storage.db import Database
from storage.exchange.export import export_project
from storage.exchange.imports import import_stories
from storage.models import Project, UserStory, new_id, utcnow
from storage.projects import create_project
from storage.users import Actor, ensure_user

TEAM_ID = "T0EXCHANGE"
OWNER = "U0OWNER"
HEADER = ["Summary", "Issue key", "Issue Type", "Status", "Priority", "Labels", "Labels"]
HEADER += ["Description", "Custom field (Story point estimate)"]
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
STATUSES = ("Backlog", "To Do", "In Progress", "Done")


def jira_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(1, rows + 1):
        writer.writerow(
            [
                f"Shopper can do thing number {i}",
                f"SHOP-{i}",
                "Story" if i % 5 else "Bug",
                STATUSES[i % len(STATUSES)],
                PRIORITIES[i % len(PRIORITIES)],
                "checkout",
                f"area-{i % 12}",
                f"As a shopper, I want thing {i},\r\nso that I can buy faster.\r\n\r\n"
                f"h3. Acceptance criteria\r\n* Given a cart, when I do {i}, then it works\r\n"
                "* It is logged",
                f"{(i % 8) + 1}.0",
            ]
        )
    return b"\xef\xbb\xbf" + out.getvalue().encode()


def story_rows(actor: Actor, project: Project, rows: int) -> list[dict]:
    """The rows the baseline inserts: what the import stores, built beforehand."""
    now = utcnow()
    return [
        {
            "id": new_id(),
            "team_id": actor.team_id,
            "project_id": project.id,
            "number": i,
            "created_by": actor.user_id,
            "assignee_id": None,
            "title": f"Shopper can do thing number {i}",
            "description": f"As a shopper, I want thing {i},\nso that I can buy faster.",
            "acceptance_criteria": [f"Given a cart, when I do {i}, then it works", "It is logged"],
            "priority": "MEDIUM",
            "story_points": (i % 8) + 1,
            "tasks": [],
            "tags": ["checkout", f"area-{i % 12}"],
            "status": "READY",
            "metadata": {"source": {"system": "jira", "key": f"SHOP-{i}", "status": "To Do"}},
            "created_at": now - timedelta(microseconds=rows - i),
            "updated_at": now,
        }
        for i in range(1, rows + 1)
    ]


@contextlib.contextmanager
def fresh_database(dialect: str) -> Iterator[Database]:
    """A migrated, empty database, removed afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="autodevhub-bench-exchange-") as folder:
            db = Database(f"sqlite:///{Path(folder) / 'exchange.db'}")
            db.upgrade()
            try:
                yield db
            finally:
                db.dispose()
        return
    base = postgres_url().rsplit("/", 1)[0]
    name = f"autodevhub_bench_exchange_{os.getpid()}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(f"{base}/{name}")
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(dialect: str, rows: int, repeat: int, data: bytes) -> dict[str, float]:
    seconds: dict[str, list[float]] = {"import": [], "executemany": [], "export": [], "select": []}
    with fresh_database(dialect) as db:
        with db.write() as s:
            owner = ensure_user(s, TEAM_ID, OWNER)
        for run in range(repeat):
            with db.write() as s:
                imported = create_project(s, owner, {"name": f"Imported {run}", "key": f"IMP{run}"})
                plain = create_project(s, owner, {"name": f"Plain {run}", "key": f"BASE{run}"})
                plain_project = s.get(Project, plain.id)
                baseline_rows = story_rows(owner, plain_project, rows)

            def run_import(key: str = imported.key) -> None:
                with db.write() as s:
                    report = import_stories(s, owner, key, data, filename="jira.csv")
                assert report.imported == rows, report

            def run_executemany(batch: list[dict] = baseline_rows) -> None:
                with db.write() as s:
                    s.connection().execute(UserStory.__table__.insert(), batch)

            def run_export(key: str = imported.key) -> None:
                with db.read() as s:
                    exported = export_project(s, owner, key, "csv")
                assert exported.stories == rows

            def run_select(project_id: str = imported.id) -> None:
                with db.read() as s:
                    found = s.execute(
                        select(UserStory.__table__).where(UserStory.project_id == project_id)
                    ).all()
                assert len(found) == rows

            seconds["import"].append(timed(run_import))
            seconds["executemany"].append(timed(run_executemany))
            seconds["export"].append(timed(run_export))
            seconds["select"].append(timed(run_select))
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    dialects = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    data = jira_csv(args.rows)
    results = {d: measure(d, args.rows, args.repeat, data) for d in dialects}
    size = f"{len(data) / 2**20:.1f} MiB"
    labels = {
        "import": f"import {args.rows:,} records (Jira CSV, {size})",
        "export": f"export {args.rows:,} stories as CSV",
    }
    table = []
    for dialect, found in results.items():
        for name, baseline in (("import", "executemany"), ("export", "select")):
            table.append(
                [
                    dialect,
                    labels[name],
                    found[name],
                    args.rows / found[name],
                    f"{baseline}: {found[baseline]:.2f}",
                    found[name] / found[baseline],
                ]
            )
    print_table(
        f"Import and export of {args.rows:,} stories, median of {args.repeat} runs "
        f"({machine()['cpus']} CPUs, load {machine()['loadavg']})",
        ["database", "operation", "seconds", "records/s", "baseline (s)", "× baseline"],
        table,
    )
    save_results("exchange", {"rows": args.rows, "repeat": args.repeat, "results": results})


if __name__ == "__main__":
    main()
