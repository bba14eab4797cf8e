"""Load generator: N concurrent senders of freshly signed Slack requests over loopback.

Runs in its own process (`python -m bench.loadgen < spec.json`) so that the client's CPU
and GIL are not the server's. The spec names the URL, the signing secret, the request
bodies to cycle through, the number of senders and how long to send; the answer, on
stdout, is one JSON object with every request's latency and status.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: v0 HMAC-SHA256 over 'v0:{timestamp}:{body}'."""
    ts = str(int(timestamp if timestamp is not None else time.time()))
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


@dataclass
class LoadSpec:
    url: str
    signing_secret: str
    bodies: list[str]
    concurrency: int = 32
    duration: float = 10.0
    warmup: float = 2.0
    # at most this many requests in all (0: no cap), for finite write workloads
    max_requests: int = 0
    timeout: float = 10.0
    # False sends the bodies unsigned (the flood drill's refused requests)
    signed: bool = True
    # "__N__" in a body becomes the request's number (e.g. in a response_url, to match
    # the app's later answer to the request that caused it)
    numbered: bool = False
    # where the numbering starts (distinct per run, so late answers are not misattributed)
    first_number: int = 0


@dataclass
class LoadResult:
    started: list[float] = field(default_factory=list)
    # monotonic send time (system-wide on Linux) and number of each measured request, to
    # match the answers the fake Slack recorded (time.monotonic) to their requests
    sent_at: list[float] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    measured_seconds: float = 0.0
    warmup_requests: int = 0

    @property
    def ok(self) -> int:
        return sum(1 for s in self.statuses if 200 <= s < 300)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.measured_seconds if self.measured_seconds else 0.0


def run(spec: LoadSpec) -> LoadResult:
    """Send until the duration (after warmup) is over; latencies of warmup are dropped."""
    parts = urlsplit(spec.url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    bodies = [b.encode() for b in spec.bodies]
    lock = threading.Lock()
    counter = iter(range(10**12))
    result = LoadResult()
    t_start = time.perf_counter()
    t_measure = t_start + spec.warmup
    t_end = t_measure + spec.duration
    stop = threading.Event()

    def take() -> int | None:
        with lock:
            n = next(counter)
        if spec.max_requests and n >= spec.max_requests:
            return None
        return n

    def sender() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=spec.timeout)
        local: list[tuple[float, float, int, float, int]] = []
        local_errors: list[str] = []
        warm = 0
        while not stop.is_set():
            n = take()
            if n is None:
                break
            body = bodies[n % len(bodies)]
            if spec.numbered:
                body = body.replace(b"__N__", str(spec.first_number + n).encode())
            headers = sign(spec.signing_secret, body) if spec.signed else {
                "Content-Type": "application/x-www-form-urlencoded"
            }  # fmt: skip
            wall = time.monotonic()
            t0 = time.perf_counter()
            if t0 >= t_end and not spec.max_requests:
                break
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                local_errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=spec.timeout)
            t1 = time.perf_counter()
            if t0 >= t_measure or spec.max_requests:
                local.append((t0 - t_start, t1 - t0, status, wall, spec.first_number + n))
            else:
                warm += 1
        conn.close()
        with lock:
            for started, latency, status, wall, number in local:
                result.started.append(started)
                result.sent_at.append(wall)
                result.numbers.append(number)
                result.latencies.append(latency)
                result.statuses.append(status)
            result.errors.extend(local_errors[:20])
            result.warmup_requests += warm

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(spec.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=spec.warmup + spec.duration + spec.timeout + 30)
    stop.set()
    finished = time.perf_counter()
    if spec.max_requests:
        result.measured_seconds = finished - t_start
    else:
        result.measured_seconds = min(finished, t_end) - t_measure
    return result


def run_in_subprocess(spec: LoadSpec) -> LoadResult:
    """Run the senders in a second Python process and collect what they measured."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(asdict(spec)),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=spec.warmup + spec.duration + spec.timeout + 120,
    )
    return LoadResult(**json.loads(out.stdout))


def main() -> int:
    spec = LoadSpec(**json.load(sys.stdin))
    result = run(spec)
    json.dump(asdict(result), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
