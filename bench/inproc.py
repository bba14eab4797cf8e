"""Benchmark 1's requests in one thread, in this process: CPU per request, to decide a change.

    .venv/bin/python -m bench.inproc [--scenario list|show|status|create] [--requests 2000]
        [--profile | --write-calls] [--database sqlite|postgresql] [--no-kept-pages]

The real WSGI app (`bot.server.make_wsgi_app`, as `autodevhub serve` runs it) and the bare
ack-only Bolt app are called directly with signed requests, one at a time, on the cached
100,000-story backlog of benchmark 1, with the fake Slack in a child process so its CPU is
not counted. What it prints is the process's CPU per request (every thread: the work after
the ack too, waited for) for both, which varies far less between runs than benchmark 1's
throughput under 32 senders (about ±20% on this machine). `--profile` runs the app's
requests under cProfile and prints the top functions by cumulative time. It also prints
how long each kind of write unit held the writer, and with `--write-calls` how many Python
function calls each made: a count that does not move with the machine's load, for what a
write does while SQLite's one writer is held.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import multiprocessing
import os
import pstats
import random
import statistics
import sys
import time
from typing import Any

from bench.ack_path import (
    HOT_STORIES,
    SCENARIOS,
    TOTAL_STORIES,
    Bench,
    hot_project_stories,
    story_submission,
)
from bench.common import TEAM_ID, cached_backlog, drop_work_copy, machine
from bench.loadgen import sign
from bench.serve_process import BOT_TOKEN, SIGNING_SECRET, app_env


def _fake_slack(conn: Any) -> None:
    from tests.fakes.slack_api import FakeSlackAPI

    fake = FakeSlackAPI().start()
    fake.team_for_token[BOT_TOKEN] = TEAM_ID
    conn.send((fake.api_url, fake.base_url))
    conn.recv()  # until told to stop
    fake.stop()


class _Urls:
    """What the scenarios' body builders read from a FakeSlackAPI: its base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def environ_of(body: bytes) -> dict[str, Any]:
    headers = sign(SIGNING_SECRET, body)
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "CONTENT_TYPE": headers["Content-Type"],
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
        "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
    }


def call(wsgi: Any, body: bytes) -> int:
    status: list[str] = []
    chunks = wsgi(environ_of(body), lambda s, h, exc_info=None: status.append(s))
    b"".join(chunks)
    return int(status[0].split()[0])


def measure(wsgi: Any, bodies: list[bytes], wait_idle: Any) -> tuple[float, float, int]:
    """(CPU ms per request, wall ms per request, non-2xx answers) over `bodies`."""
    bad = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for n, body in enumerate(bodies):
        if call(wsgi, body.replace(b"__N__", str(n).encode())) >= 300:
            bad += 1
        if wait_idle is not None and n % 8 == 7:
            wait_idle()  # the work after the ack, counted; no more than 8 pile up
    if wait_idle is not None:
        wait_idle()
    return (
        (time.process_time() - cpu0) * 1000 / len(bodies),
        (time.perf_counter() - wall0) * 1000 / len(bodies),
        bad,
    )


def modal_tokens(db: Any, base_url: str, count: int) -> list[str]:
    """The private_metadata of `count` story modals as `/story new` keeps them (a session
    each, answered at a numbered response_url)."""
    from datetime import timedelta

    from bench.ack_path import CHANNEL_ID
    from bench.common import ADMIN_SLACK_ID
    from storage.sessions import create_session
    from storage.users import ensure_user

    with db.write() as s:
        actor = ensure_user(s, TEAM_ID, ADMIN_SLACK_ID)
        return [
            create_session(s, actor, "modal", {"form": "story", "origin": {
                "user_id": ADMIN_SLACK_ID, "channel_id": CHANNEL_ID, "came_from": "command",
                "response_url": f"{base_url}/response/n{n}"}}, timedelta(hours=12))
            for n in range(count)
        ]  # fmt: skip


def count_write_calls(db: Any, calls: dict[str, list[int]]) -> None:
    """Profile each of `db`'s write units of work in the thread that runs it, and append the
    number of Python function calls it made to `calls[operation]`: what a write does while
    SQLite's one writer is held, as a count that does not move with the machine's load."""
    from storage.db import OPERATION, passed_over

    passed_over(__name__)  # the writes are still named after the code that opens them
    unprofiled = db.write

    @contextlib.contextmanager
    def write(operation: str | None = None) -> Any:
        profiler = cProfile.Profile()
        name = operation or "?"
        profiler.enable()
        try:
            with unprofiled(operation) as session:
                name = OPERATION.get()
                yield session
        finally:
            profiler.disable()
            calls.setdefault(name, []).append(pstats.Stats(profiler).total_calls)  # type: ignore[attr-defined]

    db.write = write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="list")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--no-kept-pages", action="store_true",
        help="keep no list page (bot/pages.py): what a list costs after a change",
    )  # fmt: skip
    parser.add_argument(
        "--write-calls", action="store_true",
        help="count the Python function calls inside each write unit of work (cProfile; "
        "deterministic, unlike time, on a noisy machine)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.profile and args.write_calls:
        parser.error("--profile and --write-calls both profile: choose one")

    backlog = cached_backlog(
        args.database, TOTAL_STORIES, hot_project_stories=HOT_STORIES, log=lambda m: None
    )
    here, there = multiprocessing.Pipe()
    fake_process = multiprocessing.get_context("fork").Process(target=_fake_slack, args=(there,))
    fake_process.start()
    api_url, base_url = here.recv()
    os.environ.update(app_env(backlog.url, api_url))
    try:
        from bench.bare_app import bare_app
        from bot.server import make_wsgi_app
        from bot.settings import Settings
        from storage.db import Database

        if args.no_kept_pages:
            from bot import commands
            from bot.pages import KeptPages

            commands.FIRST_PAGES = KeptPages(size=0)
        settings = Settings()
        db = Database(settings.database_url)
        held: dict[str, list[float]] = {}  # operation -> seconds each write held the writer
        db.observe_writes(lambda op, _waited, seconds: held.setdefault(op, []).append(seconds))
        calls: dict[str, list[int]] = {}  # operation -> Python calls in each write
        if args.write_calls:
            count_write_calls(db, calls)
        app = make_wsgi_app(settings, db)
        bare = make_wsgi_app(settings, db, bare_app(settings))
        pool = app.bolt_app.listener_pool  # type: ignore[attr-defined]
        homes = app.bolt_app.homes  # type: ignore[attr-defined]

        def wait_idle() -> None:
            pool.wait_idle(60)

        bench = Bench(
            _Urls(base_url), backlog, random.Random(7), None, *hot_project_stories(backlog)
        )  # type: ignore[arg-type]
        scenario = SCENARIOS[args.scenario]
        tokens = iter(modal_tokens(db, base_url, args.requests * 3 + 200)
                      if args.scenario == "create" else [])  # fmt: skip

        def draw(stack: str, count: int = args.requests) -> list[bytes]:
            """A new draw of the scenario's requests for each run: a status click sent again
            finds its story in that status already, and a run of those measured no-op moves
            (no update, audit row, change or look-alike read); a story form submitted spends
            its modal (as `/story new` would have opened it)."""
            if args.scenario == "create" and stack == "app":
                return [story_submission(bench.hot_project_id, next(tokens), n).encode()
                        for n in range(count)]  # fmt: skip
            bodies = [b.encode() for b in scenario.bodies(bench, stack)]
            reps = max(1, count // len(bodies))
            return (bodies * reps)[:count] or bodies

        measure(app, draw("app", 200), wait_idle)  # warm up caches and connections
        measure(bare, draw("bare", 200), None)
        held.clear()
        calls.clear()
        figures = {}
        for _ in range(2):  # alternate, twice
            figures.setdefault("bare", []).append(measure(bare, draw("bare"), None))
            figures.setdefault("app", []).append(measure(app, draw("app"), wait_idle))
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            measure(app, draw("app"), wait_idle)
            profiler.disable()
        homes.wait_idle(10)
        db.dispose()
    finally:
        here.send("stop")
        fake_process.join(10)
        drop_work_copy(backlog)

    kept = ", no kept pages" if args.no_kept_pages else ""
    print(f"\n### {scenario.name}, one thread, {args.requests} requests "
          f"({args.database}{kept}, load {machine()['loadavg']})\n")  # fmt: skip
    bare_cpu = min(f[0] for f in figures["bare"])
    app_cpu = min(f[0] for f in figures["app"])
    print(f"bare: CPU {bare_cpu:.3f} ms/request (runs: "
          f"{', '.join(f'{f[0]:.3f}' for f in figures['bare'])})")  # fmt: skip
    print(f"app:  CPU {app_cpu:.3f} ms/request (runs: "
          f"{', '.join(f'{f[0]:.3f}' for f in figures['app'])}), {app_cpu / bare_cpu:.1f}x bare; "
          f"non-2xx {figures['app'][-1][2]}")  # fmt: skip
    for op, seconds in sorted(held.items(), key=lambda kv: -sum(kv[1])):
        print(f"  writer held by {op}: {len(seconds)} writes, "
              f"mean {sum(seconds) * 1000 / len(seconds):.2f} ms")  # fmt: skip
    for op, counts in sorted(calls.items(), key=lambda kv: -sum(kv[1])):
        print(f"  Python calls in a write by {op}: median {statistics.median(counts):.0f} "
              f"({len(counts)} writes)")  # fmt: skip
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
