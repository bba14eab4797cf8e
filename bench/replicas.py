"""Benchmark 10 (replicas): one `serve` against two on the same PostgreSQL, same senders.

    .venv/bin/python -m bench.replicas [--duration 10] [--repeat 3] [--scenarios list status]
        [--concurrency 32] [--generators 2] [--pin]

Issue 14's target: two `serve` processes on one PostgreSQL, with the load spread over both,
give at least 1.6x the throughput of one at the same p99. Benchmark 1's pieces: the cached
149,000-story PostgreSQL backlog (100,000 in one project), `autodevhub serve` as children
(server A and server B, same settings, both up for the whole benchmark), the fake Slack Web
API in this process, and benchmark 1's request bodies (`/story list` of the big project, a
read; the card's status change, a write; also `show` and `create`).

The load: `--generators` load-generator processes (bench/loadgen.py, keep-alive HTTP,
every request freshly signed) of `--concurrency / --generators` senders each, run at the
same time. With one server all of them send to A; with two, generator g sends to server
g % 2, so each server gets half the senders. The same generators run in both cases, so
the client's cost is the same on both sides and only the number of servers changes. Two
processes rather than one whose senders alternate servers: bench/loadgen.py stays as it is
(one URL per process), and each half of the senders has a GIL of its own, so neither
server's latency includes the other half's client-side queueing. The generators start
within a fraction of a second of each other and their 2 s warm-up covers it; throughput is
the sum of theirs, p50/p99 over all their requests. Each generator gets every other
request body (its own stories, its own modal tokens, its own request numbers), so two
never click the same story in step.

The table also says where the CPU went during the measured load: each server's CPU per
request (idle burn taken off, as in benchmark 1), the cores the servers, the load
generators (their own CPU, getrusage of the reaped children), the fake Slack (this
process) and the PostgreSQL cluster used (its processes', exited backends included; the
whole cluster, so other users of .ci/start-postgres's cluster count too), and the
machine's busy cores from /proc/stat; "other" is the busy cores of none of these, i.e.
other work on the machine. A generator process near one core would be the bottleneck.

Read with care: this machine has 2 cores, shared by both servers, PostgreSQL, the load
generators and the fake Slack. One server already keeps the machine busy, so a second
server cannot add CPU, only take turns on the same two cores: the ratio mostly measures the
machine, not the app. `--pin` puts server A on core 0 and server B on core 1 (the load
generators, the fake Slack and PostgreSQL stay where the scheduler puts them), so one
server is held to one core and two get one each: the per-core scaling, on a machine with
too few cores to show it otherwise.

"At the same p99": with a fixed number of closed-loop senders, more capacity shows as
both more throughput and a lower p99, so the target counts as met when the two servers give
1.6x the throughput with a p99 not above one server's. `--concurrency-two` gives the
two-server runs more senders (to compare at a matched p99 instead).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.ack_path import (
    SCENARIOS,
    Bench,
    answers_of,
    hot_project_stories,
    idle_cpu_rate,
    wait_quiet,
)
from bench.common import (
    CACHE_DIR,
    TEAM_ID,
    cached_backlog,
    machine,
    median_of,
    percentile,
    print_table,
    save_results,
)
from bench.loadgen import LoadResult, LoadSpec, run_in_subprocess
from bench.serve_process import BOT_TOKEN, SIGNING_SECRET, ServeProcess, app_env
from tests.fakes.slack_api import FakeSlackAPI

HOT_STORIES = 100_000
TOTAL_STORIES = 149_000
THROUGHPUT_RATIO_TARGET = 1.6  # issue 14: two replicas >= 1.6x one, at the same p99
MODES = {"one": 1, "two": 2}
RUN_NUMBER = 0  # each run numbers its requests from RUN_NUMBER * 10,000,000
NUMBERS_PER_GENERATOR = 1_000_000


@dataclass
class Run:
    mode: str
    scenario: str
    senders: int
    p50: float
    p99: float
    rps: float
    ok: int
    total: int
    errors: int = 0
    answer_p50: float = float("nan")
    answer_p99: float = float("nan")
    answered: int = 0
    # per server (A, B): requests it was sent, its CPU per request (idle burn taken off,
    # work after the ack included), the cores it used while the load ran
    requests: list[int] = field(default_factory=list)
    server_cpu_ms: list[float] = field(default_factory=list)
    server_cores: list[float] = field(default_factory=list)
    # both servers' CPU over all requests: what a request costs, wherever it was served
    cpu_ms: float = float("nan")
    loadgen_cores: float = float("nan")
    loadgen_cpu_ms: float = float("nan")
    fake_cores: float = float("nan")
    # the whole cluster, other databases' users included (see cluster_cpu_seconds)
    postgres_cores: float = float("nan")
    machine_cores: float = float("nan")
    wall: float = float("nan")

    @property
    def rest_cores(self) -> float:
        """Busy cores of no process of this benchmark: other work on the machine."""
        ours = sum(self.server_cores) + self.loadgen_cores + self.fake_cores
        return self.machine_cores - ours - self.postgres_cores


# counts summed over runs (median_of); every other figure is their median
RUN_COUNTS = ("ok", "total", "errors", "answered", "requests")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat's first line)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """User + system CPU of this process's reaped children (the finished load generators)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    """User + system CPU of this process: the fake Slack's threads, mostly."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_times(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and of its reaped children) from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(url: str) -> int | None:
    """The pid of the PostgreSQL cluster behind `url`, when it is .ci/start-postgres's
    cluster on this machine (its postmaster.pid names the port)."""
    root = Path(os.environ.get("PGROOT", "/tmp/autodevhub-pg"))
    with contextlib.suppress(OSError, ValueError, IndexError):
        lines = (root / "data" / "postmaster.pid").read_text().splitlines()
        if f":{lines[3].strip()}/" in url:
            return int(lines[0])
    return None


def cluster_cpu_seconds(postmaster: int | None) -> float:
    """CPU seconds of the whole PostgreSQL cluster: the postmaster, its live processes
    (backends, WAL writer, checkpointer, ...) and the backends that exited, which the
    postmaster reaped into its children's times. Every database's, not only ours."""
    if postmaster is None:
        return float("nan")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            parent, seconds = _proc_times(int(entry))
            if int(entry) == postmaster or parent == postmaster:
                total += seconds
    return total


def pin(server: ServeProcess, cpus: set[int]) -> None:
    """Hold every thread of a running server to `cpus` (threads it starts later inherit)."""
    for tid in os.listdir(f"/proc/{server.pid}/task"):
        os.sched_setaffinity(int(tid), cpus)


def generate(specs: list[LoadSpec]) -> tuple[list[LoadResult], float]:
    """Run one load-generator process per spec, all at once; their results and CPU seconds.

    The CPU is RUSAGE_CHILDREN's growth while they ran: the generators are the only
    children this process reaps meanwhile (the servers live on)."""
    results: list[LoadResult | BaseException | None] = [None] * len(specs)

    def one(i: int) -> None:
        try:
            results[i] = run_in_subprocess(specs[i])
        except BaseException as exc:  # re-raised below, in the caller's thread
            results[i] = exc

    before = children_cpu_seconds()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(specs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = children_cpu_seconds() - before
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, LoadResult)], cpu


def split_bodies(bodies: list[str], parts: int) -> list[list[str]]:
    """Every `parts`-th body to each generator (all of them when there are too few)."""
    if len(bodies) < parts:
        return [bodies] * parts
    return [bodies[i::parts] for i in range(parts)]


def run_once(
    fake: FakeSlackAPI,
    servers: list[ServeProcess],
    postmaster: int | None,
    mode: str,
    scenario: str,
    bodies: list[str],
    *,
    senders: int,
    generators: int,
    duration: float,
    warmup: float,
) -> Run:
    """One timed run: `generators` processes sharing `senders`, spread over MODES[mode]
    servers (generator g to server g % count)."""
    global RUN_NUMBER
    RUN_NUMBER += 1
    fake.reset()
    count = MODES[mode]
    target = [g % count for g in range(generators)]
    per_generator = [senders // generators + (g < senders % generators) for g in range(generators)]
    specs = [
        LoadSpec(
            url=servers[target[g]].url + "/slack/events",
            signing_secret=SIGNING_SECRET,
            bodies=part,
            concurrency=per_generator[g],
            duration=duration,
            warmup=warmup,
            numbered=True,
            first_number=RUN_NUMBER * 10_000_000 + g * NUMBERS_PER_GENERATOR,
        )
        for g, part in enumerate(split_bodies(bodies, generators))
    ]
    idle = [idle_cpu_rate(s) for s in servers]
    cpu0 = [s.cpu_seconds() for s in servers]
    pg0 = cluster_cpu_seconds(postmaster)
    busy0, own0, t0 = machine_busy_seconds(), own_cpu_seconds(), time.monotonic()
    results, loadgen_cpu = generate(specs)
    wall = time.monotonic() - t0
    cpu1 = [s.cpu_seconds() for s in servers]
    busy = machine_busy_seconds() - busy0
    fake_cpu = own_cpu_seconds() - own0
    pg_cpu = cluster_cpu_seconds(postmaster) - pg0
    wait_quiet(fake)  # answers behind the ack arrive; the next run starts on idle servers
    cpu2 = [s.cpu_seconds() for s in servers]
    t2 = time.monotonic()

    served = [0] * len(servers)
    for g, r in enumerate(results):
        served[target[g]] += r.warmup_requests + len(r.latencies)
    net = [cpu2[i] - cpu0[i] - idle[i] * (t2 - t0) for i in range(len(servers))]
    latencies = [x for r in results for x in r.latencies]
    total_served = sum(served)
    run = Run(
        mode,
        scenario,
        senders,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        sum(r.throughput for r in results),
        sum(r.ok for r in results),
        len(latencies),
        errors=sum(len(r.errors) for r in results),
        requests=served,
        server_cpu_ms=[
            net[i] * 1000 / served[i] if served[i] else float("nan") for i in range(len(servers))
        ],
        server_cores=[(cpu1[i] - cpu0[i]) / wall for i in range(len(servers))],
        cpu_ms=sum(net) * 1000 / total_served if total_served else float("nan"),
        loadgen_cores=loadgen_cpu / wall,
        loadgen_cpu_ms=loadgen_cpu * 1000 / total_served if total_served else float("nan"),
        fake_cores=fake_cpu / wall,
        postgres_cores=pg_cpu / wall,
        machine_cores=busy / wall,
        wall=wall,
    )
    for r in results:
        if r.errors:
            print(f"    {len(r.errors)} transport errors, e.g. {r.errors[0]}", file=sys.stderr)
    if SCENARIOS[scenario].answers:
        merged = LoadResult(
            sent_at=[x for r in results for x in r.sent_at],
            numbers=[x for r in results for x in r.numbers],
        )
        answer, run.answered = answers_of(fake, merged)
        run.answer_p50 = percentile(answer, 50) * 1000
        run.answer_p99 = percentile(answer, 99) * 1000
    print(
        f"  {mode} {scenario:7} p50 {run.p50:7.1f} ms  p99 {run.p99:7.1f} ms  "
        f"{run.rps:7.1f} req/s  cpu {run.cpu_ms:.2f} ms/req  ok {run.ok}/{run.total}  "
        f"cores: servers {'+'.join(f'{c:.2f}' for c in run.server_cores)}, "
        f"load gen {run.loadgen_cores:.2f}, fake {run.fake_cores:.2f}, "
        f"PostgreSQL {run.postgres_cores:.2f}, "
        f"machine {run.machine_cores:.2f}",
        file=sys.stderr,
        flush=True,
    )
    return run


def _per_server(values: list[float], used: int, fmt: str) -> str:
    """'A x / B y' for the servers that took load; an idle B's figure in brackets."""
    parts = [f"{'AB'[i]} {format(v, fmt)}" for i, v in enumerate(values[:used])]
    if used < len(values):
        parts.append(f"(B {format(values[used], fmt)})")
    return " / ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32, help="senders in all")
    parser.add_argument(
        "--concurrency-two", type=int, default=None,
        help="senders in all for the two-server runs (default: --concurrency)",
    )  # fmt: skip
    parser.add_argument(
        "--generators", type=int, default=2,
        help="load-generator processes, the senders shared among them (even: half per server)",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scenarios", nargs="+", default=["list", "status"], choices=list(SCENARIOS)
    )
    parser.add_argument("--stories", type=int, default=TOTAL_STORIES)
    parser.add_argument("--hot", type=int, default=HOT_STORIES)
    parser.add_argument(
        "--pin", action="store_true",
        help="server A on core 0, server B on core 1 (the rest where the scheduler puts it)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=None, help="AUTODEVHUB_HTTP_THREADS of both servers"
    )
    parser.add_argument("--work-threads", type=int, default=None, help="AUTODEVHUB_WORK_THREADS")
    args = parser.parse_args(argv)
    if args.generators < 2 or args.generators % 2:
        parser.error("--generators must be even (2, 4, ...): half of them per server")
    cores = os.cpu_count() or 1
    if args.pin and cores < 2:
        parser.error("--pin needs 2 cores")
    senders = {"one": args.concurrency, "two": args.concurrency_two or args.concurrency}

    def note(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    note(
        f"{cores} cores, shared by the servers, PostgreSQL, the load generators and the fake "
        f"Slack{'; servers pinned: A to core 0, B to core 1' if args.pin else ''}"
    )
    log = CACHE_DIR / "replicas"
    log.mkdir(parents=True, exist_ok=True)
    backlog = cached_backlog("postgresql", args.stories, hot_project_stories=args.hot, log=note)
    rng = random.Random(7)
    runs: dict[tuple[str, str], list[Run]] = {}
    fake = FakeSlackAPI().start()
    fake.team_for_token[BOT_TOKEN] = TEAM_ID
    servers: list[ServeProcess] = []
    try:
        env = app_env(
            backlog.url, fake.api_url,
            AUTODEVHUB_HTTP_THREADS=str(args.threads) if args.threads else None,
            AUTODEVHUB_WORK_THREADS=str(args.work_threads) if args.work_threads else None,
        )  # fmt: skip
        for name in ("a", "b"):
            servers.append(ServeProcess(env, log_path=log / f"serve-{name}.log").start(timeout=120))
        if args.pin:
            for core, server in enumerate(servers):
                pin(server, {core})
        postmaster = postmaster_pid(backlog.url)
        bench = Bench(fake, backlog, rng, servers[0], *hot_project_stories(backlog))
        for name in args.scenarios:
            for i in range(args.repeat):
                # alternate the order (one two, two one, ...), so drift hits both alike
                for mode in ("one", "two") if i % 2 == 0 else ("two", "one"):
                    run = run_once(
                        fake, servers, postmaster, mode, name,
                        SCENARIOS[name].bodies(bench, "app"), senders=senders[mode],
                        generators=args.generators, duration=args.duration, warmup=args.warmup,
                    )  # fmt: skip
                    runs.setdefault((mode, name), []).append(run)
    finally:
        for server in servers:
            server.stop()
        fake.stop()

    table = []
    verdicts = []
    for name in args.scenarios:
        one = median_of(runs[("one", name)], summed=RUN_COUNTS)
        two = median_of(runs[("two", name)], summed=RUN_COUNTS)
        ratio = two.rps / one.rps if one.rps else float("nan")
        label = SCENARIOS[name].name
        for m, used in ((one, 1), (two, 2)):
            table.append((
                label, used, m.senders, m.p50, m.p99, m.rps,
                f"{ratio:.2f}x" if used == 2 else "", m.answer_p99, f"{m.ok}/{m.total}",
                m.cpu_ms, _per_server(m.server_cpu_ms[:used], used, ".2f"),
                _per_server(m.server_cores, used, ".2f"), m.loadgen_cores, m.loadgen_cpu_ms,
                m.fake_cores, m.postgres_cores, m.rest_cores, m.machine_cores,
            ))  # fmt: skip
        met = ratio >= THROUGHPUT_RATIO_TARGET and two.p99 <= one.p99
        verdicts.append(
            f"{name}: two servers {two.rps:.0f} req/s = {ratio:.2f}x one ({one.rps:.0f}), "
            f"p99 {two.p99:.0f} ms against {one.p99:.0f} (target >= {THROUGHPUT_RATIO_TARGET}x "
            f"at a p99 not above one's) {'MET' if met else 'MISSED'}; machine busy "
            f"{one.machine_cores:.2f} / {two.machine_cores:.2f} of {cores} cores"
        )
        per_process = max(one.loadgen_cores, two.loadgen_cores) / args.generators
        verdicts.append(
            f"{name}: load generators {one.loadgen_cores:.2f} / {two.loadgen_cores:.2f} cores "
            f"in all, {per_process:.2f} per process at most ({one.loadgen_cpu_ms:.2f} / "
            f"{two.loadgen_cpu_ms:.2f} ms per request): "
            + ("near a Python process's one core, so possibly the bottleneck"
               if per_process >= 0.8 else "well under one core per process, not the bottleneck"
               " by itself, though its share of the machine's cores is not the servers'")
        )  # fmt: skip
    load = machine()["loadavg"]
    pinned = ", A pinned to core 0 and B to core 1" if args.pin else ""
    print_table(
        f"Replicas on postgresql{pinned}: one server against two, {args.generators} load "
        f"generators, median of {args.repeat} runs of {args.duration:.0f} s "
        f"({cores} cores; {load} load)",
        ["request", "servers", "senders", "p50 ms", "p99 ms", "req/s", "req/s vs one",
         "answer p99 ms", "2xx", "CPU ms/req", "CPU ms/req per server", "cores per server",
         "load gen cores", "load gen ms/req", "fake Slack cores", "PostgreSQL cores",
         "other cores", "machine busy cores"],
        table,
    )  # fmt: skip
    print("\n".join(verdicts))
    print(
        f"\nThis machine has {cores} cores for both servers, PostgreSQL, the load generators "
        "and the fake Slack: "
        + (
            "with the servers pinned one core each, the ratio is the per-core scaling, with "
            "the rest of the stack on the same cores."
            if args.pin
            else "one server already keeps them busy, so a second server adds no CPU and the "
            "ratio mostly measures the machine (see the machine busy cores)."
        )
    )
    save_results(
        "replicas",
        {
            "args": vars(args),
            "cpus": cores,
            "backlog": backlog.url,
            "runs": {f"{k[0]}:{k[1]}": [r.__dict__ for r in v] for k, v in runs.items()},
            "verdicts": verdicts,
            "log_dir": str(Path(log)),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
