"""Benchmark 4: a verified backup of a ~500 MB SQLite database while 4 writers keep writing.

    .venv/bin/python -m bench.backup_load [--stories 350000] [--writers 4] [--processes]
                                          [--repeat 3]

Four writers create stories through the domain API (storage.stories.create_story, each in
its own write transaction, as the app does) for the whole run: threads of one process, as
the serve process's listeners are (the design runs one serve process per SQLite file), or
with --processes one process each, which wait on SQLite's busy handler for each other.
After a quiet window that gives the baseline, `autodevhub backup` runs as its own process
(storage.backup's online copy, integrity check, gzip, publish). A write's "wait" is the
time from asking for the write transaction to its commit; reported: the longest and p99
wait before and during the backup, the backup's duration, and whether the backup verifies
(storage.backup's verify_backup_file: gunzip, integrity_check, schema revision) and holds
the stories that were committed before it began.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import (
    ADMIN_SLACK_ID,
    CACHE_DIR,
    DATA_VERSION,
    TEAM_ID,
    cached_backlog,
    drop_work_copy,
    machine,
    percentile,
    print_table,
    save_results,
)
from bench.serve_process import ROOT, app_env

WAIT_TARGET_MS = 200.0


def writer(
    url: str, project: str, ready: mp.Semaphore, stop: mp.Event, queue: mp.Queue, threads: int = 1
) -> None:
    """Create stories until `stop` is set, from `threads` threads sharing one Database (as the
    serve process does); report (start, seconds) of each write."""
    from storage.db import Database
    from storage.stories import StoryInput, create_story
    from storage.users import ensure_user

    db = Database(url)
    with db.write() as s:
        actor = ensure_user(s, TEAM_ID, ADMIN_SLACK_ID)
    waits: list[tuple[float, float]] = []

    def loop(k: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            data = StoryInput(
                title=f"As writer {os.getpid()}.{k}, I want story {n} so that backups are tested",
                description="Written by bench/backup_load.py while a backup runs. " * 4,
                priority="MEDIUM",
                tags=["bench"],
            )
            t0 = time.monotonic()
            with db.write() as s:
                create_story(s, actor, project, data)
            waits.append((t0, time.monotonic() - t0))
            if n == 1:
                ready.release()
            time.sleep(0.005)  # a busy team, not a tight loop

    pool = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    db.dispose()
    queue.put(waits)


def one_run(
    url: str, project: str, writers: int, quiet: float, after: float, *, threads: bool = False
) -> dict:
    """Writers start; `quiet` seconds of baseline; `autodevhub backup`; `after` seconds more."""
    from storage.backup.files import list_backups
    from storage.backup.restore import verify_backup_file

    db_path = Path(url.split("sqlite:///", 1)[1])
    backup_dir = Path(tempfile.mkdtemp(prefix="backup-load-", dir=CACHE_DIR))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    stop = ctx.Event()
    ready = ctx.Semaphore(0)
    # threads of one serve process, or separate processes
    per_process = writers if threads else 1
    procs = [
        ctx.Process(target=writer, args=(url, project, ready, stop, queue, per_process))
        for _ in range(writers // per_process)
    ]
    for p in procs:
        p.start()
    for _ in range(writers):  # every writer has written once (imports done, connections open)
        ready.acquire(timeout=120)
    time.sleep(1.0)
    baseline_start = time.monotonic()
    time.sleep(quiet)
    with sqlite3.connect(db_path) as conn:
        committed_before = conn.execute("SELECT count(*) FROM user_stories").fetchone()[0]
    env = app_env(url, "http://127.0.0.1:9/api/", AUTODEVHUB_BACKUP_DIR=str(backup_dir))
    backup_start = time.monotonic()
    cli = subprocess.run(
        [sys.executable, "-m", "bot", "backup"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    backup_end = time.monotonic()
    time.sleep(after)
    stop.set()
    waits: list[tuple[float, float]] = []
    for _ in procs:
        waits += queue.get(timeout=120)
    for p in procs:
        p.join(timeout=30)

    verified, stories_in_backup, problem = False, -1, ""
    backups = list_backups(backup_dir)
    if cli.returncode == 0 and backups:
        scratch = backup_dir / "verify.db"
        try:
            verify_backup_file(backups[0].path, scratch)
            verified = True
            with sqlite3.connect(scratch) as conn:
                stories_in_backup = conn.execute("SELECT count(*) FROM user_stories").fetchone()[0]
        except Exception as exc:  # the figure to report, not a crash of the benchmark
            problem = f"{type(exc).__name__}: {exc}"
    else:
        problem = (cli.stderr or cli.stdout).strip()[-500:]
    shutil.rmtree(backup_dir, ignore_errors=True)

    def window(start: float, end: float) -> list[float]:
        # a write overlapping the window counts: it waited while the window was open
        return [w for t0, w in waits if t0 < end and t0 + w > start]

    base = window(baseline_start, backup_start)
    during = window(backup_start, backup_end)
    # when, in seconds after the backup began, the longest wait during it started
    longest = max(
        ((t0, w) for t0, w in waits if t0 < backup_end and t0 + w > backup_start),
        key=lambda x: x[1],
        default=(backup_start, 0.0),
    )
    return {
        "backup_seconds": backup_end - backup_start,
        "backup_bytes": backups[0].size if backups else 0,
        "verified": verified,
        "problem": problem,
        "committed_before": committed_before,
        "stories_in_backup": stories_in_backup,
        "writes_baseline": len(base),
        "writes_during": len(during),
        "max_wait_baseline_ms": max(base, default=float("nan")) * 1000,
        "p99_wait_baseline_ms": percentile(base, 99) * 1000,
        "max_wait_during_ms": max(during, default=float("nan")) * 1000,
        "p99_wait_during_ms": percentile(during, 99) * 1000,
        "writes_per_s_baseline": len(base) / max(backup_start - baseline_start, 1e-9),
        "writes_per_s_during": len(during) / max(backup_end - backup_start, 1e-9),
        "cli_output": cli.stdout.strip()[-300:],
        "longest_wait_at_s": longest[0] - backup_start,
        # the five longest waits: (ms, seconds after the baseline began)
        "top_waits": [
            (round(w * 1000), round(t0 - baseline_start, 2))
            for t0, w in sorted(waits, key=lambda x: -x[1])[:5]
        ],
        "baseline_s": backup_start - baseline_start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=350_000, help="~500 MB at 350,000")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--quiet", type=float, default=10.0, help="baseline seconds")
    parser.add_argument("--after", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--processes", action="store_true", help="one process per writer, not threads of one"
    )
    args = parser.parse_args(argv)

    runs = []
    for i in range(args.repeat):
        backlog = cached_backlog("sqlite", args.stories, log=lambda m: print(m, file=sys.stderr))
        os.sync()  # the fresh 0.5 GB copy is on disk before the writers start
        try:
            run = one_run(
                backlog.url,
                backlog.project_keys[0],
                args.writers,
                args.quiet,
                args.after,
                threads=not args.processes,
            )
        finally:
            drop_work_copy(backlog)
        runs.append(run)
        print(
            f"  run {i + 1}: backup {run['backup_seconds']:.1f} s, verified {run['verified']}, "
            f"max wait {run['max_wait_baseline_ms']:.0f} ms before / "
            f"{run['max_wait_during_ms']:.0f} ms during ({run['writes_during']} writes; "
            f"longest began {run['longest_wait_at_s']:.1f} s into the backup; "
            f"top waits (ms, s after baseline start) {run['top_waits']}; "
            f"backup began at {run['baseline_s']:.1f} s) "
            f"{run['problem']}",
            file=sys.stderr,
            flush=True,
        )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    db_mb = cached_backlog_size(args.stories)
    rows = [
        ("database", f"{db_mb:.0f} MB, {args.stories:,} stories, SQLite WAL"),
        ("backup time (online copy + integrity check + gzip)", f"{med('backup_seconds'):.1f} s"),
        ("backup file", f"{med('backup_bytes') / 2**20:.0f} MB gzip"),
        ("backups that verify", f"{sum(r['verified'] for r in runs)}/{len(runs)}"),
        ("stories in backup >= committed before it began",
         f"{sum(r['stories_in_backup'] >= r['committed_before'] for r in runs)}/{len(runs)}"),
        ("writers", f"{args.writers} " + ("processes" if args.processes
                                          else "threads of one process")),
        ("writes/s: before / during", f"{med('writes_per_s_baseline'):.0f} / "
         f"{med('writes_per_s_during'):.0f}"),
        ("p99 writer wait: before / during", f"{med('p99_wait_baseline_ms'):.0f} ms / "
         f"{med('p99_wait_during_ms'):.0f} ms"),
        ("longest writer wait: before / during", f"{med('max_wait_baseline_ms'):.0f} ms / "
         f"{med('max_wait_during_ms'):.0f} ms"),
    ]  # fmt: skip
    worst = max(r["max_wait_during_ms"] for r in runs)
    verdict = (
        f"longest writer wait during backup: median {med('max_wait_during_ms'):.0f} ms, worst "
        f"{worst:.0f} ms (target < {WAIT_TARGET_MS:.0f}) "
        f"{'MET' if med('max_wait_during_ms') < WAIT_TARGET_MS else 'MISSED'}; "
        f"backups verify {sum(r['verified'] for r in runs)}/{len(runs)}"
    )
    print_table(
        f"Backup under write load (median of {len(runs)} runs; {machine()['loadavg']} load)",
        ["figure", "value"],
        rows,
    )
    print(verdict)
    save_results("backup_load", {"args": vars(args), "runs": runs, "verdict": verdict})
    return 0


def cached_backlog_size(stories: int) -> float:
    path = CACHE_DIR / f"stories_{stories}_0_v{DATA_VERSION}.db"
    return path.stat().st_size / 2**20 if path.exists() else float("nan")


if __name__ == "__main__":
    sys.exit(main())
