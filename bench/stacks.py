"""Issue 14's server-stack question: the bare ack on waitress, uvicorn and gunicorn, one run.

    .venv/bin/python -m bench.stacks [--concurrency 32] [--duration 10] [--repeat 3]
        [--stacks waitress uvicorn gunicorn] [--threads 4]

Benchmark 1's load against bare apps only (no database, no backlog): 32 senders in a second
process (bench/loadgen.py, keep-alive HTTP/1.1), each request a freshly signed `/story list`
slash command as bench/ack_path.py builds it, against each server stack in turn, the stacks
taking turns run by run (the first one rotating) so drift in machine load hits them alike:

- waitress: bench/bare_app.py, the Bolt App of benchmark 1's baseline in our WSGI wrapper
  (bot.server.make_wsgi_app), on waitress with AUTODEVHUB_HTTP_THREADS threads;
- gunicorn: the same WSGI app on one gunicorn gthread worker with as many threads;
- uvicorn: bench/bare_async_app.py, a Bolt AsyncApp in Bolt's ASGI adapter on one uvicorn
  worker (uvloop + httptools; `uvicorn-h11` is the same on asyncio + h11).

Every stack verifies Slack's signature (checked before the runs: a bad signature and a stale
timestamp must get 401). "CPU ms/req" is the server's CPU (user + system, all its threads
and processes, gunicorn's arbiter included) per request served, its idle rate taken off. The
fake Slack Web API answers the apps' one auth.test; nothing else reaches it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.ack_path import slash_command
from bench.common import (
    CACHE_DIR,
    TEAM_ID,
    machine,
    median_of,
    percentile,
    print_table,
    project_key,
    save_results,
)
from bench.loadgen import LoadSpec, run_in_subprocess, sign
from bench.serve_process import BOT_TOKEN, SIGNING_SECRET, ServeProcess, app_env
from tests.fakes.slack_api import FakeSlackAPI

PY = sys.executable


@dataclass(frozen=True)
class Stack:
    label: str
    argv: tuple[str, ...]
    needs: str  # the module the stack cannot run without


STACKS = {
    "waitress": Stack(
        "Bolt App, our WSGI wrapper, waitress", (PY, "-m", "bench.bare_app"), "waitress"
    ),
    "gunicorn": Stack(
        "Bolt App, our WSGI wrapper, gunicorn gthread (1 worker)",
        (PY, "-m", "bench.bare_app", "--server", "gunicorn"),
        "gunicorn",
    ),
    "uvicorn": Stack(
        "Bolt AsyncApp, Bolt's ASGI adapter, uvicorn (uvloop, httptools)",
        (PY, "-m", "bench.bare_async_app"),
        "uvicorn",
    ),
    "uvicorn-h11": Stack(
        "Bolt AsyncApp, Bolt's ASGI adapter, uvicorn (asyncio, h11)",
        (PY, "-m", "bench.bare_async_app", "--loop", "asyncio", "--http", "h11"),
        "uvicorn",
    ),
}
VERSIONS = ("slack_bolt", "waitress", "gunicorn", "uvicorn", "uvloop", "httptools", "aiohttp")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn's arbiter and its worker), from /proc."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in (task / "children").read_text().split()]
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """CPU (user + system) of the process tree so far, reaped children included."""
    ticks = 0
    for n, member in enumerate(process_tree(pid)):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            if n == 0:  # children that exited (a restarted worker) are counted by the root
                ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_peak_rss_mb(pid: int) -> float:
    """The peak resident set (VmHWM) summed over the process tree, in MiB."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as fh:
            total += next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0)
    return total / 1024


def check_signatures(server: ServeProcess, body: str) -> None:
    """A signed request is acked; a bad signature and a 6-minute-old one get 401."""
    raw = body.replace("__N__", "0").encode()
    stale = int(time.time()) - 360
    cases = (
        ("signed", sign(SIGNING_SECRET, raw), 200),
        ("bad signature", sign("not-the-secret", raw), 401),
        ("stale timestamp", sign(SIGNING_SECRET, raw, timestamp=stale), 401),
    )
    for name, headers, expected in cases:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("POST", "/slack/events", body=raw, headers=headers)
            status = conn.getresponse().status
        finally:
            conn.close()
        if status != expected:
            raise RuntimeError(f"{server.argv}: {name} request got {status}, not {expected}")


@dataclass
class Run:
    stack: str
    p50: float
    p99: float
    rps: float
    ok: int
    total: int
    # the server's CPU per request served (warm-up included), its idle rate taken off
    cpu_ms: float
    errors: int = 0  # transport errors (the load generator keeps up to 20 per sender)


# counts summed over runs (median_of); every other figure is their median
RUN_COUNTS = ("ok", "total", "errors")


def idle_cpu_rate(server: ServeProcess, seconds: float = 3.0) -> float:
    """What the idle server burns per second (poll loops, gunicorn's arbiter)."""
    before, t0 = tree_cpu_seconds(server.pid), time.monotonic()
    time.sleep(seconds)
    return (tree_cpu_seconds(server.pid) - before) / (time.monotonic() - t0)


def run_once(
    server: ServeProcess,
    stack: str,
    body: str,
    idle: float,
    *,
    number: int,
    args: argparse.Namespace,
) -> Run:
    spec = LoadSpec(
        url=server.url + "/slack/events",
        signing_secret=SIGNING_SECRET,
        bodies=[body],
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        numbered=True,
        first_number=number * 10_000_000,
    )
    cpu_before, t_before = tree_cpu_seconds(server.pid), time.monotonic()
    result = run_in_subprocess(spec)
    cpu = tree_cpu_seconds(server.pid) - cpu_before - idle * (time.monotonic() - t_before)
    served = result.warmup_requests + len(result.latencies)
    lat = result.latencies
    run = Run(
        stack,
        percentile(lat, 50) * 1000,
        percentile(lat, 99) * 1000,
        result.throughput,
        result.ok,
        len(lat),
        cpu * 1000 / served if served else float("nan"),
        len(result.errors),
    )
    if result.errors:
        print(
            f"    {len(result.errors)} transport errors, e.g. {result.errors[0]}", file=sys.stderr
        )
    print(
        f"  {stack:11} p50 {run.p50:6.1f} ms  p99 {run.p99:6.1f} ms  {run.rps:7.1f} req/s  "
        f"cpu {run.cpu_ms:.3f} ms/req  ok {run.ok}/{run.total}",
        file=sys.stderr,
        flush=True,
    )
    return run


def versions() -> dict[str, str]:
    found = {}
    for name in VERSIONS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--stacks", nargs="+", default=["waitress", "uvicorn", "gunicorn"], choices=STACKS
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="threads of waitress and of the gunicorn worker"
    )
    args = parser.parse_args(argv)
    stacks = [name for name in args.stacks if installed(STACKS[name].needs)]
    for name in set(args.stacks) - set(stacks):
        print(f"skipping {name}: {STACKS[name].needs} is not installed", file=sys.stderr)

    log = CACHE_DIR / "stacks"
    log.mkdir(parents=True, exist_ok=True)
    load_before = machine()["loadavg"]
    runs: dict[str, list[Run]] = {name: [] for name in stacks}
    peak_rss: dict[str, float] = {}
    fake = FakeSlackAPI().start()
    fake.team_for_token[BOT_TOKEN] = TEAM_ID
    servers: dict[str, ServeProcess] = {}
    try:
        # the sync bare app's /healthz runs SELECT 1 on this (empty) SQLite file; no tables
        env = app_env(
            f"sqlite:///{log / 'bare.db'}", fake.api_url, AUTODEVHUB_HTTP_THREADS=str(args.threads)
        )
        body = slash_command(fake, "/story", f"list {project_key(0)}")
        for name in stacks:
            servers[name] = ServeProcess(
                env, argv=STACKS[name].argv, log_path=log / f"{name}.log"
            ).start(timeout=60)
            check_signatures(servers[name], body)
        idle = {name: idle_cpu_rate(server) for name, server in servers.items()}
        number = 0
        for i in range(args.repeat):
            shift = i % len(stacks)
            for name in stacks[shift:] + stacks[:shift]:
                number += 1
                runs[name].append(run_once(
                    servers[name], name, body, idle[name], number=number, args=args
                ))  # fmt: skip
        peak_rss = {name: tree_peak_rss_mb(server.pid) for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
        fake.stop()

    base = median_of(runs[stacks[0]], summed=RUN_COUNTS)
    table = []
    for name in stacks:
        m = median_of(runs[name], summed=RUN_COUNTS)
        vs = name != stacks[0]
        table.append((
            name, STACKS[name].label, m.p50, m.p99, m.rps,
            f"{m.p99 / base.p99:.2f}x" if vs else "", f"{m.rps / base.rps:.2f}x" if vs else "",
            f"{m.ok}/{m.total}", f"{m.cpu_ms:.3f}", f"{m.cpu_ms / base.cpu_ms:.2f}x" if vs else "",
            peak_rss.get(name, float("nan")),
        ))  # fmt: skip
    found = versions()
    load_after = machine()["loadavg"]
    print_table(
        f"Server stacks: bare ack-only Bolt, `/story list`, {args.concurrency} senders, "
        f"{args.threads} threads, median of {args.repeat} runs of {args.duration:.0f} s "
        f"(load {load_before} before, {load_after} after)",
        ["stack", "server", "p50 ms", "p99 ms", "req/s", f"p99 vs {stacks[0]}",
         f"req/s vs {stacks[0]}", "2xx", "CPU ms/req", f"CPU vs {stacks[0]}", "peak RSS MB"],
        table,
    )  # fmt: skip
    print(", ".join(f"{k} {v}" for k, v in found.items()))
    save_results(
        "stacks",
        {
            "args": vars(args),
            "versions": found,
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "idle_cpu_per_s": idle,
            "peak_rss_mb": peak_rss,
            "runs": {name: [r.__dict__ for r in rs] for name, rs in runs.items()},
            "log_dir": str(log),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
