"""The HTTP surface: health, metrics, signatures, the console fallback, settings refusals."""

from __future__ import annotations

import json
import time

import pytest

from bot.app import SettingsError, create_app
from tests.fakes.slack_api import http_request, slack_settings


def test_healthz_checks_the_database(slack_server):
    reply = http_request("GET", slack_server.url + "/healthz")
    assert reply.status == 200
    assert reply.text.strip() == "ok"


def test_metrics_count_requests_by_kind_and_outcome(slack, slack_server):
    _, url = slack.command("/story", "help")
    slack.fake.wait_response(url)
    slack.post("token=x", signature="v0=" + "0" * 64)
    text = http_request("GET", slack_server.url + "/metrics").text
    assert 'autodevhub_slack_requests_total{kind="command",outcome="ok"}' in text
    assert 'kind="unknown",outcome="unauthorized"' in text
    assert "autodevhub_slack_request_seconds_bucket" in text


def test_unknown_path_is_404(slack_server):
    assert http_request("GET", slack_server.url + "/nope").status == 404


def test_bad_signature_is_401_and_changes_nothing(slack, slack_db):
    from sqlalchemy import func, select

    from storage.models import AuditLog, User

    def counts():
        with slack_db.read() as s:
            return (
                s.scalar(select(func.count()).select_from(User)),
                s.scalar(select(func.count()).select_from(AuditLog)),
            )

    before = counts()
    form = "command=%2Fproject&text=list&team_id=TX&user_id=UX&trigger_id=1"
    assert slack.post(form, signature="v0=deadbeef").status == 401
    assert slack.post(form, timestamp=int(time.time()) - 600).status == 401  # stale
    wrong = slack.as_workspace()
    wrong.verifier.signing_secret = "not-the-secret"
    reply, url = wrong.command("/project", "list")
    assert reply.status == 401
    time.sleep(0.2)
    assert counts() == before
    assert slack.fake.responses(url) == []


def test_settings_refusals_name_the_setting(fake_slack, slack_db):
    cases = [
        ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "oops"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN"),
        ({"SLACK_CLIENT_ID": "123.456"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_APP_TOKEN": "xoxb-no"}, "SLACK_APP_TOKEN"),
    ]
    for overrides, name in cases:
        settings = slack_settings(fake_slack, slack_db, **overrides)
        with pytest.raises(SettingsError, match=name) as info:
            create_app(settings, slack_db)
        assert "test-signing-secret" not in str(info.value)
        assert "xoxb-test-token" not in str(info.value)


def test_a_token_slack_refuses_stops_start_up(fake_slack, slack_db):
    fake_slack.fail("auth.test", "invalid_auth")
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN was refused"):
        create_app(slack_settings(fake_slack, slack_db), slack_db)


def test_healthz_says_503_when_the_database_is_gone(slack_server, slack_db, tmp_path):
    from bot.server import make_wsgi_app, start_in_thread
    from storage.db import Database

    broken = Database(f"sqlite:///{tmp_path}/missing/dir/x.db")
    # the running Bolt app is reused; only the database behind /healthz differs
    running = start_in_thread(make_wsgi_app(None, broken, app=slack_server.bolt_app))
    try:
        reply = http_request("GET", running.url + "/healthz")
        assert reply.status == 503 and "database" in reply.text
    finally:
        running.stop()
        broken.dispose()


def test_signature_first_then_a_signed_body_bolt_cannot_read_is_400(slack):
    cases = [
        (b"payload=notjson", "application/x-www-form-urlencoded"),
        (b"[1, 2]", "application/json"),
        (b"{not json", "application/json"),
        (bytes(range(256)), "application/x-www-form-urlencoded"),
    ]
    for body, ctype in cases:
        assert slack.post(body, content_type=ctype).status == 400, body
        assert slack.post(body, content_type=ctype, signature="v0=1").status == 401, body
    odd_time = slack.post(b"command=%2Fstory", headers={"X-Slack-Request-Timestamp": "soon"})
    assert odd_time.status == 401
    # bodies over 1 MB: tests/slack/test_transport.py


def test_socket_mode_needs_no_signing_secret_and_takes_no_http_events(fake_slack, slack_db):
    from bot.server import make_wsgi_app, start_in_thread

    settings = slack_settings(
        fake_slack, slack_db, SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN="xapp-1-test"
    )
    app = create_app(settings, slack_db, socket_mode=True)
    running = start_in_thread(make_wsgi_app(settings, slack_db, app))
    try:
        assert http_request("GET", running.url + "/healthz").status == 200
        reply = http_request("POST", running.url + "/slack/events", b"command=%2Fstory")
        assert reply.status == 404
    finally:
        running.stop()


def test_every_listener_is_matched_on_the_body_alone(slack_server, slack):
    """Bolt's built-in matchers are swapped for ones that skip its kwargs injection
    (bot.app.match_quickly); the requests of every other test here are routed through them."""
    from bot.app import BodyMatcher

    matchers = [m for listener in slack_server.bolt_app._listeners for m in listener.matchers]
    assert len(matchers) >= 20
    assert {type(m) for m in matchers} == {BodyMatcher}
    reply, url = slack.command("/story", "help")
    assert reply.status == 200
    assert "/story list" in json.dumps(slack.fake.wait_response(url).params)
