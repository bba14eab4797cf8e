"""The fake Slack answers a payload Slack would refuse the way Slack does, to the real clients,
and records the refusal so the test that caused it fails."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.forms import STORY_FORM, story_initial
from bot.ui.modals import form_modal
from tests.fakes.slack_api import FakeSlackAPI, Reply, SlackRefused, take_refusals
from tests.fakes.slack_api import check_command_ack as command_ack

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
PROJECTS = [SimpleNamespace(id="p" * 32, name="Web shop", key="WEB")]


def story_form() -> dict:
    return form_modal("story", STORY_FORM, story_initial(), metadata="t", projects=PROJECTS)


@pytest.fixture
def fake():
    with FakeSlackAPI() as running:
        yield running
    take_refusals()  # this module provokes them on purpose


@pytest.fixture
def client(fake):
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def test_a_header_over_150_characters_is_invalid_blocks_with_a_json_pointer(fake, client):
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="x", blocks=[SECTION, header])
    answer = refused.value.response.data
    assert answer["ok"] is False and answer["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks/1/text/text]" in answer["response_metadata"]["messages"][0]
    assert [r.method for r in take_refusals()] == ["chat.postMessage"]


def test_51_blocks_in_a_message_are_refused(fake, client):
    with pytest.raises(SlackApiError) as refused:
        client.chat_postEphemeral(channel="C1", user="U1", text="x", blocks=[SECTION] * 51)
    assert refused.value.response["error"] == "invalid_blocks"
    assert take_refusals()


def test_missing_arguments_and_text_are_refused_as_slack_does(fake, client):
    with pytest.raises(SlackApiError) as no_channel:
        client.api_call("chat.postMessage", json={"text": "hi"})
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", json={"channel": "C1", "text": ""})
    assert no_channel.value.response["error"] == "invalid_arguments"
    assert no_text.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as too_long:
        client.chat_update(channel="C1", ts="1.2", text="x" * 40_001)
    assert too_long.value.response["error"] == "msg_too_long"
    assert len(take_refusals()) == 3


def test_the_story_form_as_it_was_is_refused_by_views_open(fake, client):
    """The modal the app opened before this fix: description inputs of max_length 4000."""
    view = story_form()
    for block in view["blocks"]:
        if block.get("block_id") == "description":
            block["element"]["max_length"] = 4000
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="1.2.3", view=view)
    answer = refused.value.response.data
    assert answer["error"] == "invalid_arguments"
    assert any("max_length" in m for m in answer["response_metadata"]["messages"])
    assert take_refusals()


def test_a_home_view_with_a_repeated_block_id_is_refused(fake, client):
    home = {"type": "home", "blocks": [{**SECTION, "block_id": "b"}, {**SECTION, "block_id": "b"}]}
    with pytest.raises(SlackApiError) as refused:
        client.views_publish(user_id="U1", view=home)
    assert refused.value.response["error"] == "invalid_arguments"
    assert take_refusals()


def test_a_valid_message_and_modal_are_taken(fake, client):
    assert client.chat_postMessage(channel="C1", text="hi", blocks=[SECTION])["ok"]
    view = story_form()
    assert client.views_open(trigger_id="1.2.3", view=view)["ok"]
    assert take_refusals() == []


def test_a_response_url_post_slack_refuses_is_http_400(fake):
    response = WebhookClient(fake.response_url()).send(text="x", blocks=[SECTION] * 51)
    assert response.status_code == 400 and response.body == "invalid_blocks"
    assert take_refusals()


def test_an_immediate_response_over_the_limits_fails_at_once():
    body = b'{"text": "x", "blocks": [{"type": "divider", "block_id": "' + b"b" * 256 + b'"}]}'
    reply = Reply(200, {"Content-Type": "application/json"}, body)
    with pytest.raises(SlackRefused, match="block_id"):
        command_ack(reply)
    assert take_refusals()
