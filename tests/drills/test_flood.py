"""Drill: a flood of forged, stale and malformed requests is refused; the server keeps serving."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bench.loadgen import sign
from bench.serve_process import SIGNING_SECRET
from tests.drills.conftest import signed_slack
from tests.fakes.slack_api import answer_of, http_request

FORM = "application/x-www-form-urlencoded"
COMMAND = (
    b"team_id=T0FLOOD&user_id=U0FLOOD&command=/story&text=help&response_url=http://127.0.0.1:9/"
)
# what a flood may get back: refused, never a server error
REFUSED = {400, 401, 403, 404, 413}


def forged_requests() -> list[tuple[bytes, dict[str, str]]]:
    """500 requests an attacker (or a misconfigured proxy) could send without the secret."""
    now = int(time.time())
    requests: list[tuple[bytes, dict[str, str]]] = []
    for i in range(125):  # no signature at all
        requests.append((COMMAND + f"&n={i}".encode(), {"Content-Type": FORM}))
    for i in range(125):  # signed with the wrong secret
        body = COMMAND + f"&n={i}".encode()
        requests.append((body, sign("not-the-secret", body) | {"Content-Type": FORM}))
    for i in range(125):  # a replay: the right secret, a timestamp 10 minutes old
        body = COMMAND + f"&n={i}".encode()
        requests.append((body, sign(SIGNING_SECRET, body, now - 600)))
    for i in range(100):  # garbage signature headers
        headers = {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": str(now + i % 3),
            "X-Slack-Signature": "v0=" + "z" * (i % 70),
        }
        requests.append((COMMAND, headers))
    for i in range(25):  # big bodies, unsigned
        requests.append((b"text=" + b"x" * (100_000 * (i % 5 + 1)), {"Content-Type": FORM}))
    return requests


def malformed_requests() -> list[tuple[str, bytes, dict[str, str]]]:
    """Bodies Bolt cannot parse, unsigned (expect 401) and correctly signed (expect 400)."""
    bodies = [
        ("payload that is not JSON", b"payload=notjson", FORM),
        ("JSON that is not an object", b"[1, 2]", "application/json"),
        ("broken JSON", b"{not json", "application/json"),
        ("binary", bytes(range(256)), FORM),
    ]
    out = [
        (
            "a timestamp that is not a number",
            COMMAND,
            {
                "Content-Type": FORM,
                "X-Slack-Request-Timestamp": "soon",
                "X-Slack-Signature": "v0=1",
            },
        )
    ]
    for name, body, ctype in bodies:
        out.append((f"unsigned {name}", body, {"Content-Type": ctype}))
        out.append((f"signed {name}", body, sign(SIGNING_SECRET, body) | {"Content-Type": ctype}))
    return out


def test_flood_of_forged_requests_is_refused_and_memory_stays_flat(serve, unreliable_slack):
    server = serve()
    slack = signed_slack(server, unreliable_slack)
    url = server.url + "/slack/events"
    for _ in range(20):  # warm up to a steady state before measuring memory
        reply, _ = slack.command("/story", "help")
        assert reply.status == 200
    rss_before = server.status_kb("VmRSS")

    def send(request: tuple[bytes, dict[str, str]]) -> int:
        body, headers = request
        return http_request("POST", url, body, headers).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, forged_requests()))

    assert len(statuses) == 500
    assert set(statuses) <= {401}, sorted(set(statuses))
    # the server still answers a real member, and its memory did not grow with the flood
    reply, response_url = slack.command("/story", "help")
    assert reply.status == 200
    assert "/story" in answer_of(unreliable_slack, reply, response_url).text_of()
    assert http_request("GET", server.url + "/healthz").status == 200
    grown_mb = (server.status_kb("VmRSS") - rss_before) / 1024
    assert grown_mb < 20, f"RSS grew {grown_mb:.1f} MB during a flood of 500 refused requests"


def test_malformed_bodies_are_refused_not_server_errors(serve, unreliable_slack):
    server = serve()
    url = server.url + "/slack/events"
    got = {
        name: http_request("POST", url, body, headers).status
        for name, body, headers in malformed_requests()
    }
    expected = {name: (400 if name.startswith("signed") else 401) for name in got}
    assert got == expected
    assert http_request("GET", server.url + "/healthz").status == 200
