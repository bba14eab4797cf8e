"""Socket Mode: the same app over a WebSocket, its Web API calls on the fake as over HTTP."""

from __future__ import annotations

import pytest

from bot.app import create_app
from bot.server import connect_socket_mode
from tests.fakes.slack_api import slack_settings
from tests.fakes.socket_mode import FakeSocketMode


@pytest.fixture
def socket_mode(fake_slack, slack_db):
    fake_slack.reset()
    endpoint = FakeSocketMode().start()
    endpoint.open_for(fake_slack)
    settings = slack_settings(
        fake_slack, slack_db, SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN="xapp-1-test"
    )
    app = create_app(settings, slack_db, socket_mode=True)
    handler = connect_socket_mode(settings, app)
    yield endpoint
    handler.close()
    endpoint.stop()


def test_a_slash_command_over_socket_mode(socket_mode, fake_slack):
    opened = fake_slack.wait_for("apps.connections.open")
    assert opened.token == "xapp-1-test"
    url = fake_slack.response_url()
    envelope = socket_mode.send(
        "slash_commands",
        {
            "team_id": "TSOCKET",
            "user_id": "USOCKET",
            "channel_id": "C1",
            "command": "/story",
            "text": "help",
            "response_url": url,
            "trigger_id": "1.2.3",
            "api_app_id": "A0001",
        },
    )
    assert socket_mode.wait_ack(envelope)["envelope_id"] == envelope
    assert "/story move KEY-N STATUS" in fake_slack.wait_response(url).text_of()


def test_a_modal_submission_with_errors_answers_in_the_ack(socket_mode, fake_slack):
    envelope = socket_mode.send(
        "interactive",
        {
            "type": "view_submission",
            "team": {"id": "TSOCKET"},
            "user": {"id": "USOCKET", "team_id": "TSOCKET"},
            "api_app_id": "A0001",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "project_modal",
                "private_metadata": "expired",
                "blocks": [],
                "state": {"values": {}},
            },
        },
    )
    ack = socket_mode.wait_ack(envelope)
    assert ack["payload"]["response_action"] == "errors"
    assert "expired" in str(ack["payload"]["errors"])
