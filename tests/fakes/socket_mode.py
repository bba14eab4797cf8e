"""A fake Socket Mode endpoint: a WebSocket server on 127.0.0.1 that plays Slack.

Point the fake Web API's `apps.connections.open` at `url` (see `open_for(fake_api)`); the
app's Socket Mode client connects here. `send(type, payload)` delivers an envelope
(`slash_commands`, `interactive`, `events_api`) and returns its envelope_id;
`wait_ack(envelope_id)` returns the app's acknowledgement (with any response payload).
Minimal RFC 6455: unfragmented frames, pings answered, masks honoured.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _check_ack(kind: str, payload: Any) -> None:
    """An ack's response payload, held to the limits Slack holds it to (as over HTTP)."""
    from tests.fakes.slack_api import SlackRefused, check_command_answer, check_view_answer

    if not payload:
        return
    if not isinstance(payload, dict):
        raise SlackRefused("an ack's payload must be a JSON object")
    if kind == "slash_commands":
        check_command_answer(payload)
    elif "response_action" in payload:
        check_view_answer(payload, None)


class FakeSocketMode:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self.acks: dict[str, dict[str, Any]] = {}
        self._kinds: dict[str, str] = {}
        self.connected = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=fake"

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            if self._conn is not None:
                self._conn.close()
        self._listener.close()

    def open_for(self, fake_api: Any, times: int = 5) -> None:
        """Make the fake Web API hand out this endpoint on `apps.connections.open`."""
        fake_api.answer("apps.connections.open", {"ok": True, "url": self.url}, times=times)

    # -- talking to the app --------------------------------------------------------------
    def send(self, kind: str, payload: dict[str, Any]) -> str:
        assert self.connected.wait(10), "the app never connected"
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        self._kinds[envelope_id] = kind
        self._write(0x1, json.dumps(envelope).encode())
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for envelope {envelope_id} in {timeout}s")
                self._cond.wait(left)
            ack = self.acks[envelope_id]
        _check_ack(self._kinds.get(envelope_id, ""), ack.get("payload"))
        return ack

    # -- the wire ------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conn = conn
            try:
                self._handshake(conn)
                self._write(0x1, json.dumps({"type": "hello", "num_connections": 1}).encode())
                self.connected.set()
                self._read_loop(conn)
            except (OSError, ConnectionError):
                pass
            finally:
                self.connected.clear()

    @staticmethod
    def _handshake(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(1024)
            if not chunk:
                raise ConnectionError("closed during handshake")
            data += chunk
        headers = {}
        for line in data.decode().split("\r\n")[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()
        ).decode()
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )

    def _read_loop(self, conn: socket.socket) -> None:
        while True:
            opcode, data = _read_frame(conn)
            if opcode == 0x8:  # close
                return
            if opcode == 0x9:  # ping
                self._write(0xA, data)
            elif opcode == 0x1:
                message = json.loads(data)
                if "envelope_id" in message:
                    with self._cond:
                        self.acks[message["envelope_id"]] = message
                        self._cond.notify_all()

    def _write(self, opcode: int, data: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack(">H", n)
        else:
            header += bytes([127]) + struct.pack(">Q", n)
        with self._send_lock:
            assert self._conn is not None
            self._conn.sendall(header + data)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(conn: socket.socket) -> tuple[int, bytes]:
    first, second = _recv_exact(conn, 2)
    opcode = first & 0x0F
    length = second & 0x7F
    if length == 126:
        length = struct.unpack(">H", _recv_exact(conn, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", _recv_exact(conn, 8))[0]
    mask = _recv_exact(conn, 4) if second & 0x80 else b""
    data = _recv_exact(conn, length)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data
