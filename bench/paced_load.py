"""Paced load: each signed Slack request sent once, at its planned time (open loop).

Runs in its own process (`python -m bench.paced_load < spec.json`), like bench/loadgen.py,
so the client's CPU and GIL are not the server's. Request i is due `i / rate` seconds after
the start, whatever the server's pace: a slow server makes acks late, never the load
lighter. On stdout, one JSON object: for every request its due, send and ack times
(time.monotonic, system-wide on Linux, so they compare with the fake Slack's records)
and its HTTP status.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from bench.loadgen import ROOT, sign


@dataclass
class PacedSpec:
    url: str
    signing_secret: str
    bodies: list[str]  # sent in this order, each once
    rate: float  # requests per second
    senders: int = 16  # connections; enough that none is busy when its next request is due
    timeout: float = 10.0


@dataclass
class PacedResult:
    due: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    acked: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ack_seconds(self) -> list[float]:
        return [a - s for s, a in zip(self.sent, self.acked, strict=True)]

    @property
    def late_seconds(self) -> list[float]:
        """How long after its planned time each request was sent (all senders busy)."""
        return [s - d for d, s in zip(self.due, self.sent, strict=True)]


def run(spec: PacedSpec) -> PacedResult:
    parts = urlsplit(spec.url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    bodies = [b.encode() for b in spec.bodies]
    count = len(bodies)
    result = PacedResult(
        due=[0.0] * count, sent=[0.0] * count, acked=[0.0] * count, statuses=[0] * count
    )
    lock = threading.Lock()
    following = iter(range(count))
    start = time.monotonic() + 0.2

    def sender() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=spec.timeout)
        while True:
            with lock:
                i = next(following, None)
            if i is None:
                break
            due = start + i / spec.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            body = bodies[i]
            headers = sign(spec.signing_secret, body)
            sent = time.monotonic()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                with lock:
                    result.errors.append(f"{i}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=spec.timeout)
            acked = time.monotonic()
            result.due[i], result.sent[i], result.acked[i] = due, sent, acked
            result.statuses[i] = status
        conn.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(spec.senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def run_in_subprocess(spec: PacedSpec) -> PacedResult:
    """Send the requests from a second Python process; what it measured."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.paced_load"],
        input=json.dumps(asdict(spec)),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=len(spec.bodies) / spec.rate + spec.timeout + 120,
    )
    return PacedResult(**json.loads(out.stdout))


def main() -> int:
    spec = PacedSpec(**json.load(sys.stdin))
    json.dump(asdict(run(spec)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
