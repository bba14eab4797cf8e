"""Where `serve` spends its CPU under benchmark 1's load: py-spy samples the running server.

    .venv/bin/python -m bench.profile_serve [--scenario list|show|status|create]
        [--duration 10] [--top 25]

The same three processes as bench/ack_path.py (this one with the fake Slack, the real
`autodevhub serve` on the cached 100,000-story SQLite backlog, and the load generator with
32 senders), plus `py-spy record` attached to the server for the run (`--idle` off: only
frames on a CPU count; `--gil`: only the thread holding the GIL, which is what serialises a
Python server). The samples are read back as folded stacks and summed per function: "self"
is time in the function's own code, "total" includes what it called. Sampling slows the
server somewhat; the shares are what this is for, not the throughput.
"""

from __future__ import annotations

import argparse
import collections
import random
import subprocess
import sys
from pathlib import Path

from bench.ack_path import (
    HOT_STORIES,
    SCENARIOS,
    TOTAL_STORIES,
    Bench,
    hot_project_stories,
    run_once,
)
from bench.common import CACHE_DIR, TEAM_ID, cached_backlog, drop_work_copy, machine
from bench.serve_process import BOT_TOKEN, ServeProcess, app_env
from tests.fakes.slack_api import FakeSlackAPI

ROOT = Path(__file__).resolve().parent.parent


def frame_name(frame: str) -> str:
    """`handle (bot/app.py:123)` -> `bot/app.py:handle` (the line dropped, paths shortened)."""
    name, _, where = frame.partition(" (")
    path = where.split(":")[0]
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{name}"


def summarise(folded: Path, top: int) -> tuple[int, list[tuple[str, int, int]]]:
    """(samples, [(function, self, total)]) from py-spy's raw (folded) output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        samples += n
        frames = [frame_name(f) for f in stack.split(";")[1:]]  # [0] is the thread
        if frames:
            own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
    ranked = sorted(inclusive, key=lambda k: (-own[k], -inclusive[k]))[:top]
    return samples, [(name, own[name], inclusive[name]) for name in ranked]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="list")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    folder = CACHE_DIR / "profile"
    folder.mkdir(parents=True, exist_ok=True)
    backlog = cached_backlog(
        "sqlite", TOTAL_STORIES, hot_project_stories=HOT_STORIES, log=lambda m: None
    )  # benchmark 1's backlog, from its cache
    fake = FakeSlackAPI().start()
    fake.team_for_token[BOT_TOKEN] = TEAM_ID
    folded = folder / f"{args.scenario}.folded"
    try:
        env = app_env(backlog.url, fake.api_url)
        app = ServeProcess(env, log_path=folder / "serve.log").start(timeout=120)
        try:
            bench = Bench(fake, backlog, random.Random(7), app, *hot_project_stories(backlog))
            bodies = SCENARIOS[args.scenario].bodies(bench, "app")
            # a first run unsampled warms the caches; the second is the one sampled
            run_once(fake, app, "app", args.scenario, bodies, concurrency=args.concurrency,
                     duration=args.duration / 2, warmup=1.0)  # fmt: skip
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                 str(app.pid), "--duration", str(int(args.duration) + 2), "--rate", "200",
                 "--format", "raw", "--gil", "--output", str(folded), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            run = run_once(fake, app, "app", args.scenario, bodies, concurrency=args.concurrency,
                           duration=args.duration, warmup=1.0)  # fmt: skip
            spy.wait(timeout=60)
        finally:
            app.stop()
    finally:
        fake.stop()
        drop_work_copy(backlog)
    samples, ranked = summarise(folded, args.top)
    print(
        f"\n### Where serve's CPU goes: {SCENARIOS[args.scenario].name}, {args.concurrency} "
        f"senders, {run.rps:.0f} req/s while sampled (load {machine()['loadavg']})\n"
    )
    print(f"{samples:,} samples of the thread holding the GIL (py-spy, 200 Hz, --gil)\n")
    print("| function | self | total |")
    print("|---|---|---|")
    for name, own, total in ranked:
        print(f"| `{name}` | {own * 100 / samples:.1f}% | {total * 100 / samples:.1f}% |")
    print(f"\nfolded stacks: {folded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
