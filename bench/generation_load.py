"""Benchmark 3: 20 AI generations in flight against a fake Claude that answers after 2 s.

    .venv/bin/python -m bench.generation_load [--parallel 20] [--delay 2] [--repeat 3]

`autodevhub serve` runs as a child with the real anthropic SDK pointed at the fake Messages
API (tests/fakes/anthropic_api.py) and the Slack Web API at the fake Slack. Members open
the generate modal with a real `/autodev generate` command and submit it (a signed
view_submission). Measured: the ack of each submission (Slack closes the modal on it), and
the time from submission until the request is COMPLETED in generation_requests and its
drafts reached Slack; first one generation alone, then `--parallel` at once (20 members,
so the per-member rate limit does not apply). Meanwhile 4 senders keep sending
`/story list`, to show other members' acks while the generations are in flight.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import UTC
from pathlib import Path

from sqlalchemy import select

from bench.common import (
    CACHE_DIR,
    TEAM_ID,
    machine,
    percentile,
    print_table,
    save_results,
)
from bench.loadgen import LoadSpec, run_in_subprocess
from bench.serve_process import BOT_TOKEN, SIGNING_SECRET, ServeProcess, app_env
from storage.db import Database
from storage.models import GenerationRequest
from tests.fakes.anthropic_api import Behaviour, FakeAnthropic
from tests.fakes.slack_api import FakeSlackAPI, SignedSlack
from tests.handlers.flows import state_for

ACK_P99_TARGET_MS = 300.0
SPREAD_TARGET = 2.5
PROJECT_KEY = "GEN"


def prepare_database(path: Path) -> str:
    from storage.projects import ProjectInput, create_project
    from storage.users import ensure_user

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    db = Database(url)
    db.upgrade()
    with db.write() as s:
        admin = ensure_user(s, TEAM_ID, "U0GENADMIN")
        create_project(s, admin, ProjectInput(name="Generation bench", key=PROJECT_KEY))
    db.dispose()
    return url


def open_modal(slack: SignedSlack, fake: FakeSlackAPI, feature: str) -> dict:
    before = len(fake.calls_to("views.open"))
    reply, _ = slack.command("/autodev", f"generate {PROJECT_KEY} {feature}")
    assert reply.status == 200, reply.text
    return fake.wait_for("views.open", count=before + 1, timeout=30).params["view"]


def submit(slack: SignedSlack, view: dict, feature: str) -> tuple[float, float, int, bytes]:
    """(wall time sent, ack seconds, status, body) of one generate-modal submission."""
    state = state_for(view, feature=feature)
    sent = time.time()
    t0 = time.perf_counter()
    reply = slack.view_submission(
        view["callback_id"], state, private_metadata=view["private_metadata"]
    )
    return sent, time.perf_counter() - t0, reply.status, reply.body


def wait_completed(db: Database, after: float, count: int, timeout: float) -> list[float]:
    """Wall-clock completion times of the `count` requests created after `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read() as s:
            rows = s.execute(
                select(GenerationRequest.status, GenerationRequest.completed_at).where(
                    GenerationRequest.created_at >= _utc(after - 1)
                )
            ).all()
        done = [r.completed_at for r in rows if r.status in ("COMPLETED", "FAILED")]
        if len(done) >= count:
            failed = sum(1 for r in rows if r.status == "FAILED")
            if failed:
                print(f"    {failed} generation(s) FAILED", file=sys.stderr)
            return sorted(d.timestamp() for d in done)
        time.sleep(0.05)
    raise TimeoutError(f"only {len(done)} of {count} generations finished in {timeout}s")


def _utc(ts: float):
    from datetime import datetime

    return datetime.fromtimestamp(ts, UTC)


def one_round(
    server: ServeProcess,
    fake: FakeSlackAPI,
    db: Database,
    members: list[str],
    tag: str,
    stagger: float = 0.0,
) -> dict:
    senders = [
        SignedSlack(server.url, fake, team_id=TEAM_ID, user_id=m, signing_secret=SIGNING_SECRET)
        for m in members
    ]
    features = [f"Checkout with saved cards {tag} member {i}" for i in range(len(members))]
    views = [open_modal(s, fake, f) for s, f in zip(senders, features, strict=True)]
    results: list[tuple[float, float, int, bytes]] = [None] * len(senders)  # type: ignore[list-item]
    gate = threading.Barrier(len(senders))

    def go(i: int) -> None:
        gate.wait()
        time.sleep(stagger * i / len(senders))  # 0: all at the same instant (the worst case)
        results[i] = submit(senders[i], views[i], features[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(senders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first_sent = min(r[0] for r in results)
    bad = [r for r in results if r[2] != 200 or r[3]]
    if bad:
        print(f"    {len(bad)} submissions refused, e.g. {bad[0][3][:200]!r}", file=sys.stderr)
    done = wait_completed(db, first_sent, len(senders), timeout=120)
    return {
        "acks_ms": [r[1] * 1000 for r in results],
        "elapsed_s": max(done) - first_sent,
        "each_s": [d - first_sent for d in done],
        "refused": len(bad),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=20)
    parser.add_argument("--delay", type=float, default=2.0, help="fake Claude's answer time")
    parser.add_argument("--workers", type=int, default=None, help="AUTODEVHUB_AI_WORKERS")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--background", type=int, default=4, help="/story list senders")
    parser.add_argument(
        "--stagger", type=float, default=0.0, help="spread the submissions over S seconds"
    )
    args = parser.parse_args(argv)

    logs = CACHE_DIR / "generation_load"
    logs.mkdir(parents=True, exist_ok=True)
    url = prepare_database(logs / "generation.db")
    db = Database(url)
    fake = FakeSlackAPI().start()
    fake.team_for_token[BOT_TOKEN] = TEAM_ID
    claude = FakeAnthropic().__enter__()
    claude.default = Behaviour(delay=args.delay)
    extra = {"ANTHROPIC_BASE_URL": claude.url, "ANTHROPIC_API_KEY": "sk-ant-bench"}
    if args.workers:
        extra["AUTODEVHUB_AI_WORKERS"] = str(args.workers)
    server = ServeProcess(app_env(url, fake.api_url, **extra), log_path=logs / "serve.log")
    server.start(timeout=60)
    singles, crowds, background = [], [], []
    try:
        for r in range(args.repeat):
            single = one_round(server, fake, db, [f"U0GS{r}"], f"single {r}")
            singles.append(single)
            members = [f"U0GP{r}M{i:02d}" for i in range(args.parallel)]
            holder: dict = {}
            if args.background:
                spec = LoadSpec(
                    url=server.url + "/slack/events",
                    signing_secret=SIGNING_SECRET,
                    bodies=[list_command(fake)],
                    concurrency=args.background,
                    warmup=0.0,
                    duration=max(3.0, single["elapsed_s"] * SPREAD_TARGET),
                )
                bg = threading.Thread(target=_send_in_background, args=(spec, holder))
                bg.start()
                time.sleep(1.0)  # the subprocess is sending before the crowd arrives
            crowd = one_round(server, fake, db, members, f"crowd {r}", args.stagger)
            crowds.append(crowd)
            if args.background:
                bg.join()
                background.append([x * 1000 for x in holder["r"].latencies])
            print(
                f"  round {r + 1}: one alone {single['elapsed_s']:.2f} s; "
                f"{args.parallel} at once {crowd['elapsed_s']:.2f} s "
                f"({crowd['elapsed_s'] / single['elapsed_s']:.2f}x); submission ack p99 "
                f"{percentile(crowd['acks_ms'], 99):.0f} ms",
                file=sys.stderr,
                flush=True,
            )
        rss = server.status_kb("VmHWM") / 1024
    finally:
        server.stop()
        claude.close()
        fake.stop()
        db.dispose()

    med = statistics.median
    one = med(s["elapsed_s"] for s in singles)
    crowd_s = med(c["elapsed_s"] for c in crowds)
    ack_p50 = med(percentile(c["acks_ms"], 50) for c in crowds)
    ack_p99 = med(percentile(c["acks_ms"], 99) for c in crowds)
    bg_p99 = med(percentile(b, 99) for b in background) if background else float("nan")
    bg_p50 = med(percentile(b, 50) for b in background) if background else float("nan")
    ratio = crowd_s / one
    rows = [
        ("fake Claude answer time", f"{args.delay:.1f} s"),
        ("submissions", f"{args.parallel} members, spread over {args.stagger:.1f} s"),
        ("AI workers", str(args.workers or "default (AUTODEVHUB_AI_WORKERS)")),
        ("one generation alone: submit -> completed", f"{one:.2f} s"),
        (f"{args.parallel} at once: first submit -> last completed", f"{crowd_s:.2f} s"),
        ("ratio (target <= 2.5x)", f"{ratio:.2f}x"),
        (f"submission ack p50 / p99 ({args.parallel} within {args.stagger:.1f} s)",
         f"{ack_p50:.0f} / {ack_p99:.0f} ms"),
        (f"other members' /story list ack p50 / p99 ({args.background} senders, meanwhile)",
         f"{bg_p50:.0f} / {bg_p99:.0f} ms"),
        ("refused submissions", str(sum(c["refused"] for c in crowds))),
        ("peak RSS of serve", f"{rss:.0f} MB"),
    ]  # fmt: skip
    verdict = (
        f"submission ack p99 {ack_p99:.0f} ms (target < {ACK_P99_TARGET_MS:.0f}) "
        f"{'MET' if ack_p99 < ACK_P99_TARGET_MS else 'MISSED'}; {args.parallel} done in "
        f"{ratio:.2f}x one (target <= {SPREAD_TARGET}x) "
        f"{'MET' if ratio <= SPREAD_TARGET else 'MISSED'}"
    )
    print_table(
        f"Generation under load (median of {args.repeat} rounds; {machine()['loadavg']} load)",
        ["figure", "value"],
        rows,
    )
    print(verdict)
    save_results(
        "generation_load",
        {"args": vars(args), "singles": singles, "crowds": crowds, "verdict": verdict},
    )
    return 0


def _send_in_background(spec: LoadSpec, holder: dict) -> None:
    holder["r"] = run_in_subprocess(spec)


def list_command(fake: FakeSlackAPI) -> str:
    from bench.ack_path import slash_command

    return slash_command(fake, "/story", f"list {PROJECT_KEY}").replace("U0BENCH00", "U0GENADMIN")


if __name__ == "__main__":
    sys.exit(main())
