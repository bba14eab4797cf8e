"""A fake Anthropic Messages API on 127.0.0.1 that the real anthropic SDK talks to over HTTP."""

from __future__ import annotations

import collections
import contextlib
import json
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


@dataclass
class Behaviour:
    """How the fake answers one request.

    kind: ok | status | hang | schema_break | empty | not_json | max_tokens | refusal | stories
    """

    kind: str = "ok"
    status: int = 200
    delay: float = 0.0
    hold: threading.Event | None = None  # answer only once this is set (or the fake closes)
    stories: list[dict[str, Any]] | None = None
    retry_after_ms: int = 5


def sample_story(i: int, feature: str, *, points: int = 3, with_tasks: bool = True):
    """A story that fits the schema, its title derived from the feature text."""
    return {
        "title": f"Story {i + 1}: {feature[:60]}",
        "description": f"As a user, I want part {i + 1} of {feature[:80]}, so that I benefit.",
        "acceptance_criteria": [
            "Given I am signed in, When I open the page, Then I see the feature",
            "Given an error, When it happens, Then I see a clear message",
        ],
        "tasks": ["Build the API", "Build the UI", "Write tests"] if with_tasks else [],
        "story_points": points,
        "priority": "HIGH",
        "tags": ["feature", f"part-{i + 1}"],
        "metadata": {
            "ai_confidence": 0.9,
            "estimated_hours": 6,
            "complexity": "medium",
            "dependencies": [],
        },
    }


def _request_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(parts)


def feature_of(body: dict[str, Any]) -> str:
    """The feature text the prompt carried (JSON-encoded inside <feature> tags)."""
    match = re.search(r"<feature>\n(.*?)\n</feature>", _request_text(body), re.S)
    if not match:
        return ""
    try:
        return json.loads(match.group(1))
    except ValueError:
        return match.group(1)


def count_of(body: dict[str, Any]) -> int:
    match = re.search(r"Write (\d+) user stor", _request_text(body))
    return int(match.group(1)) if match else 3


@dataclass
class Recorded:
    """One request the fake received (the API key itself is not kept, only whether it came)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    had_api_key: bool = False
    answered: threading.Event = field(default_factory=threading.Event)

    @property
    def feature(self) -> str:
        return feature_of(self.body)


class FakeAnthropic:
    """Start with `with FakeAnthropic() as fake:`; point the SDK at `fake.url`.

    Queue behaviours with `fake.then(...)`; when the queue is empty `fake.default` answers.
    """

    def __init__(self) -> None:
        self.default = Behaviour()
        self.script: collections.deque[Behaviour] = collections.deque()
        self.requests: list[Recorded] = []
        self._cv = threading.Condition()
        self._closing = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                self._reply(404, {"type": "error", "error": {"type": "not_found_error"}})

            def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.send_header("request-id", f"req_{uuid.uuid4().hex[:16]}")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control ---------------------------------------------------------------------------

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    def then(self, kind: str = "ok", **kwargs: Any) -> Behaviour:
        behaviour = Behaviour(kind=kind, **kwargs)
        self.script.append(behaviour)
        return behaviour

    def wait_for_requests(self, n: int, timeout: float = 30.0) -> list[Recorded]:
        with self._cv:
            if not self._cv.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(f"fake Anthropic got {len(self.requests)} requests, not {n}")
            return list(self.requests)

    # -- answering -------------------------------------------------------------------------

    def _handle(self, h: Any) -> None:
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            h._reply(
                400,
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "body is not JSON"},
                },
            )
            return
        # the SDK sends the key as x-api-key or as a Bearer token, by version; keep neither
        secret = ("x-api-key", "authorization")
        headers = {k.lower(): v for k, v in h.headers.items() if k.lower() not in secret}
        had_key = bool(h.headers.get("x-api-key") or h.headers.get("authorization"))
        recorded = Recorded(h.path, headers, body, had_api_key=had_key)
        with self._cv:
            behaviour = self.script.popleft() if self.script else self.default
            self.requests.append(recorded)
            self._cv.notify_all()
        try:
            self._answer(h, body, behaviour)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) or was killed mid-request
        finally:
            recorded.answered.set()

    def _answer(self, h: Any, body: dict[str, Any], b: Behaviour) -> None:
        if not h.path.startswith("/v1/messages"):
            h._reply(
                404,
                {
                    "type": "error",
                    "error": {"type": "not_found_error", "message": f"no route {h.path}"},
                },
            )
            return
        if b.hold is not None:
            while not b.hold.wait(0.05):
                if self._closing.is_set():
                    return
        if b.kind == "hang":
            self._closing.wait(120)
            return
        if b.delay:
            self._closing.wait(b.delay)
        if b.kind == "status":
            err = {"type": ERROR_TYPES.get(b.status, "api_error"), "message": "fake failure"}
            extra = {"retry-after-ms": str(b.retry_after_ms)} if b.status in (429, 529) else {}
            h._reply(
                b.status,
                {"type": "error", "error": err, "request_id": "req_fake"},
                extra,
            )
            return
        feature = feature_of(body)
        n = count_of(body)
        stop = "end_turn"
        if b.kind == "stories":
            payload: Any = {"stories": b.stories}
        elif b.kind == "schema_break":
            payload = {"stories": [{"title": "x", "story_points": 4, "priority": "URGENT"}]}
        else:
            payload = {"stories": [sample_story(i, feature) for i in range(n)]}
        text = json.dumps(payload)
        if b.kind == "empty":
            content: list[dict[str, Any]] = []
        elif b.kind == "not_json":
            content = [{"type": "text", "text": "Here are your stories: 1. Login 2. Logout"}]
        elif b.kind == "max_tokens":
            content, stop = [{"type": "text", "text": text[: len(text) // 2]}], "max_tokens"
        elif b.kind == "refusal":
            content, stop = [], "refusal"
        elif _forced_tool(body):
            name = _forced_tool(body)
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:20]}",
                    "name": name,
                    "input": payload,
                }
            ]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": text}]
        system = body.get("system")
        cached = isinstance(system, list) and any(
            isinstance(b_, dict) and b_.get("cache_control") for b_ in system
        )
        h._reply(
            200,
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "claude-fake"),
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 100 + len(_request_text(body)) // 4,
                    "output_tokens": max(1, len(text) // 4),
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 800 if cached else 0,
                },
            },
        )


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return choice.get("name")
    return None


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
