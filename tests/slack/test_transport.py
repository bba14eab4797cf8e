"""Transport and parsing: bodies read right, idle sockets timed out, big and bad bodies refused."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from urllib.error import URLError
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from bot.ui import ids
from storage.models import Base
from tests.fakes.slack_api import Reply, SignedSlack, answer_of, sign_request
from tests.handlers.flows import answer_to, create_project, create_story

SERVER_LOG = "autodevhub.server"


# -- helpers ----------------------------------------------------------------------------------
def command_form(slack: SignedSlack, command: str, text: str, **fields: str) -> dict[str, str]:
    """A slash command's form as Slack sends it, with `fields` changed."""
    return {
        "token": "deprecated-verification-token",
        "team_id": slack.team_id,
        "team_domain": slack.team_id.lower(),
        "channel_id": slack.channel_id,
        "channel_name": "general",
        "user_id": slack.user_id,
        "user_name": slack.user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": slack.fake.response_url(),
        "trigger_id": slack.trigger_id(),
        **fields,
    }


def answered(slack: SignedSlack, form: dict[str, str]) -> tuple[Reply, str]:
    """Post a command form; (HTTP reply, what the user was shown)."""
    reply = slack.post_form(form)
    assert reply.status == 200, (reply.status, reply.text)
    return reply, answer_of(slack.fake, reply, form["response_url"]).text_of()


def row_counts(db) -> dict[str, int]:
    with db.read() as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }


def address(slack: SignedSlack) -> tuple[str, int]:
    parts = urlsplit(slack.app_url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def signed_headers(slack: SignedSlack, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign_request(slack.verifier.signing_secret, ts, body),
    }


def post_within(slack: SignedSlack, body: bytes, timeout: float) -> int:
    """POST a signed body; its HTTP status, or fail if none came within `timeout` seconds."""
    host, port = address(slack)
    conn = HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", "/slack/events", body, signed_headers(slack, body))
        return conn.getresponse().status
    finally:
        conn.close()


@contextlib.contextmanager
def half_sent_requests(slack: SignedSlack, count: int) -> Iterator[list[socket.socket]]:
    """`count` loopback connections that each sent half a header and then went quiet."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(address(slack), timeout=5)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: slack\r\nContent-Ty")
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


@contextlib.contextmanager
def room_for_sockets(count: int) -> Iterator[None]:
    """Raise this process's open-file limit for `count` sockets (both ends live here)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = count + 200
    if soft == resource.RLIM_INFINITY or soft >= need:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the open-file limit ({hard}) is too low for {count} sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def raw_answer(slack: SignedSlack, head: bytes, body_parts: list[bytes], timeout: float) -> bytes:
    """Send a request head and body parts over one socket; the first bytes of the answer."""
    with socket.create_connection(address(slack), timeout=timeout) as sock:
        sock.sendall(head)
        with contextlib.suppress(OSError):  # the server may refuse before reading it all
            for part in body_parts:
                sock.sendall(part)
        return sock.recv(4096)


# -- 1. Bolt's form parser: "payload" anywhere in a form body -------------------------------------
def test_a_search_for_the_word_payload_gets_a_real_answer(slack):
    _, text = answered(slack, command_form(slack, "/story", "search payload"))
    assert "payload" in text.lower()
    assert "unhandled" not in text


def test_a_command_from_a_channel_named_payload_team_is_answered(slack):
    _, text = answered(slack, command_form(slack, "/story", "help", channel_name="payload-team"))
    assert "/story move KEY-N STATUS" in text


def test_a_command_whose_text_holds_payload_equals_still_works(slack):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Parse the payload type of block_actions")
    create_story(slack, "WEB", "Something else")
    form = command_form(slack, "/story", 'search payload={"type":"block_actions"}')
    _, text = answered(slack, form)
    # searched for the command's words, so it finds the story that has them
    assert "WEB-1" in text and "Parse the payload type of block_actions" in text
    assert "WEB-2" not in text


def test_the_signature_is_checked_once_by_our_adapter(slack, slack_server):
    from slack_bolt.middleware.request_verification import RequestVerification

    middleware = slack_server.bolt_app._middleware_list
    assert not any(isinstance(m, RequestVerification) for m in middleware)
    assert (
        slack.post(urlencode(command_form(slack, "/story", "help")), signature="v0=1").status == 401
    )


# -- 2. idle and half-sent connections --------------------------------------------------------
def test_110_half_sent_requests_do_not_lock_slack_out(slack):
    with half_sent_requests(slack, 110):
        started = time.monotonic()
        body = urlencode(command_form(slack, "/story", "help")).encode()
        assert post_within(slack, body, timeout=5) == 200
        assert time.monotonic() - started < 5


def test_past_the_connection_limit_idle_sockets_time_out_and_slack_gets_through(
    slack, slack_server
):
    adj = slack_server._server.adj
    bound = adj.channel_timeout + adj.cleanup_interval + 5
    assert bound <= 30, "idle connections are held too long"
    with (
        room_for_sockets(2 * (adj.connection_limit + 10)),
        half_sent_requests(slack, adj.connection_limit + 10),
    ):
        started = time.monotonic()
        body = urlencode(command_form(slack, "/story", "help")).encode()
        assert post_within(slack, body, timeout=bound) == 200
        waited = time.monotonic() - started
        assert 1 < waited < bound  # it waited: every connection slot was taken


# -- 3. bodies over MAX_BODY_BYTES ---------------------------------------------------------------
def test_a_2mb_body_is_refused_413_and_the_server_answers_after(slack):
    """Sent whole: the server answers 413 without reading the body, so a sender still
    writing may instead see the connection reset under it; either way nothing is read."""
    try:
        status = slack.post(b"text=" + b"x" * 2_000_000).status
    except (URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        assert isinstance(reason, ConnectionResetError | BrokenPipeError), exc
        status = 413
    assert status == 413
    assert answer_to(slack, "/story", "help").text_of()


def test_a_content_length_of_2mb_is_refused_before_the_body_is_read(slack):
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: slack\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\n"
    )
    assert raw_answer(slack, head, [], timeout=5).startswith(b"HTTP/1.1 413")
    assert answer_to(slack, "/story", "help").text_of()


def test_a_chunked_body_over_the_limit_is_refused_before_it_ends(slack):
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: slack\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    parts = [chunk] * 16  # ~1 MiB and no last chunk: only a refusal answers it
    assert raw_answer(slack, head, parts, timeout=5).startswith(b"HTTP/1.1 413")
    assert answer_to(slack, "/story", "help").text_of()


def test_a_small_signed_chunked_command_is_answered(slack):
    form = command_form(slack, "/story", "help")
    body = urlencode(form).encode()
    headers = signed_headers(slack, body)
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: slack\r\nConnection: close\r\n"
        + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    parts = [f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"]
    assert raw_answer(slack, head, parts, timeout=5).startswith(b"HTTP/1.1 200")
    assert "/story move KEY-N STATUS" in slack.fake.wait_response(form["response_url"]).text_of()


# -- 4. malformed but signed: 400, a log line, nothing changed ---------------------------------
def _envelope(slack: SignedSlack, kind: str, **fields) -> dict:
    return {
        "type": kind,
        "team": {"id": slack.team_id},
        "user": {"id": slack.user_id, "team_id": slack.team_id},
        "api_app_id": "A0001",
        "trigger_id": slack.trigger_id(),
        **fields,
    }


def _view(**fields) -> dict:
    return {
        "id": "V1",
        "type": "modal",
        "callback_id": "project_modal",
        "private_metadata": "",
        "blocks": [],
        "state": {"values": {}},
        **fields,
    }


def _event(slack: SignedSlack, **fields) -> bytes:
    body = {
        "type": "event_callback",
        "team_id": slack.team_id,
        "api_app_id": "A0001",
        "event_id": "Ev" + str(time.time_ns()),
        "event_time": int(time.time()),
        **fields,
    }
    return json.dumps(body).encode()


def _payload(payload) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def malformed_requests(slack: SignedSlack) -> list[tuple[str, bytes, str]]:
    """(what is wrong, body, content type): each signed by Slack and each unusable."""
    home = {"type": "app_home_opened", "channel": "D1", "tab": "home"}
    action = {"action_id": "story_edit", "block_id": "b", "value": "x"}
    return [
        ("form body starting with {", _event(slack, event={**home, "user": slack.user_id}), FORM),
        ("empty payload", b"payload=", FORM),
        ("payload not JSON", b"payload=%7Bnope", FORM),
        ("payload a list", _payload([1, 2]), FORM),
        ("payload a string", _payload("block_actions"), FORM),
        ("payload nested too deep", b"payload=" + b"%5B" * 100_000, FORM),
        ("actions an object", _payload(_envelope(slack, "block_actions", actions=action)), FORM),
        ("actions [null]", _payload(_envelope(slack, "block_actions", actions=[None])), FORM),
        ("actions [{}]", _payload(_envelope(slack, "block_actions", actions=[{}])), FORM),
        ("actions []", _payload(_envelope(slack, "block_actions", actions=[])), FORM),
        (
            "user a number",
            _payload(_envelope(slack, "block_actions", actions=[action], user=5)),
            FORM,
        ),
        ("view null", _payload(_envelope(slack, "view_submission", view=None)), FORM),
        (
            "state.values a list",
            _payload(_envelope(slack, "view_submission", view=_view(state={"values": []}))),
            FORM,
        ),
        (
            "state value a list",
            _payload(
                _envelope(slack, "view_submission", view=_view(state={"values": {"name": []}}))
            ),
            FORM,
        ),
        (
            "state element a string",
            _payload(
                _envelope(
                    slack, "view_submission", view=_view(state={"values": {"name": {"n": "x"}}})
                )
            ),
            FORM,
        ),
        (
            "state value a string",
            _payload(
                _envelope(slack, "view_submission", view=_view(state={"values": {"name": "x"}}))
            ),
            FORM,
        ),
        (
            "authorizations a string",
            urlencode({**command_form(slack, "/story", "help"), "authorizations": "x"}).encode(),
            FORM,
        ),
        ("form with neither command nor payload", b"text=hello", FORM),
        ("app_home_opened with no user", _event(slack, event=home), JSON),
        ("event missing", _event(slack), JSON),
        ("event a string", _event(slack, event="app_home_opened"), JSON),
        ("event a list", _event(slack, event=[home]), JSON),
        ("event user an object", _event(slack, event={**home, "user": {"id": 1}}), JSON),
        ("JSON with no type", json.dumps({"team_id": slack.team_id}).encode(), JSON),
    ]


def test_malformed_signed_requests_are_400_with_a_log_line_and_change_nothing(
    slack, slack_db, caplog
):
    before = row_counts(slack_db)
    wrong_answers = []
    for wrong, body, ctype in malformed_requests(slack):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=SERVER_LOG):
            reply = slack.post(body, content_type=ctype)
        lines = [r for r in caplog.records if r.name == SERVER_LOG]
        if reply.status != 400 or reply.json != {"error": "bad request"} or len(lines) != 1:
            wrong_answers.append((wrong, reply.status, reply.text[:80], len(lines)))
            continue
        line = lines[0].getMessage()
        assert lines[0].levelno == logging.WARNING, line
        assert "deprecated-verification-token" not in line and slack.team_id not in line, line
        assert "Traceback" not in line and len(line) < 300, line
    assert wrong_answers == []
    slack.fake.settle()
    assert row_counts(slack_db) == before
    assert slack.fake.calls == []


def test_a_well_formed_request_of_each_kind_still_goes_through(slack):
    """The shape check refuses no real request: command, click, event, ssl_check, challenge."""
    assert answer_to(slack, "/story", "help").text_of()
    reply, url = slack.block_action(ids.PAGE_NEXT, value="~...")
    assert reply.status == 200
    slack.fake.wait_response(url)
    assert slack.app_home_opened().status == 200
    slack.fake.wait_for("views.publish")
    assert slack.post(b"ssl_check=1&token=x").status == 200
    challenge = slack.post(
        json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}),
        content_type=JSON,
    )
    assert challenge.status == 200 and "c-123" in challenge.text


def help_command(slack) -> bytes:
    return urlencode(command_form(slack, "/story", "help")).encode()


def post_with_header_bytes(slack, body: bytes, headers: dict[str, bytes]) -> tuple[int, bytes]:
    """POST `body` with headers sent as these very bytes (urllib would encode them):
    (status, body of the answer)."""
    host, port = address(slack)
    conn = HTTPConnection(host, port, timeout=5)
    try:
        conn.request("POST", "/slack/events", body, {"Content-Type": FORM, **headers})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


@pytest.mark.parametrize("timestamp", ["²", "9" * 5000, "-1", "+1", "0x10", "1e3"])
def test_an_odd_timestamp_is_401_not_500(slack, timestamp):
    body = help_command(slack)
    signature = sign_request(slack.verifier.signing_secret, timestamp, body)
    # waitress reads header bytes as latin-1, so "²" arrives as "²" when sent as the byte 0xB2
    status, answer = post_with_header_bytes(
        slack,
        body,
        {
            "X-Slack-Request-Timestamp": timestamp.encode("latin-1"),
            "X-Slack-Signature": signature.encode(),
        },
    )
    assert status == 401
    assert b"Traceback" not in answer


def test_a_non_ascii_signature_is_401_not_500(slack):
    status, _ = post_with_header_bytes(
        slack,
        help_command(slack),
        {
            "X-Slack-Request-Timestamp": str(int(time.time())).encode(),
            "X-Slack-Signature": b"v0=" + b"\xe9" * 64,
        },
    )
    assert status == 401


def test_signed_by_slack_refuses_non_ascii_and_huge_timestamps():
    from bot.server import signed_by_slack

    for timestamp in ("²", "１２３", "٣", "9" * 5000, "+1", ""):
        assert signed_by_slack(b"k", b"body", timestamp, "v0=" + "0" * 64) is False


@pytest.mark.parametrize("count", ["²", "٣", "9" * 5000, "0", "-3", "101", "1.5"])
def test_audit_with_an_odd_number_gets_the_usage(slack, count):
    text = answer_to(slack, "/autodev", f"audit {count}").text_of()
    assert "between 1 and 100" in text
    assert "wrong on our side" not in text
