"""The fake Slack answers a payload Slack would refuse the way Slack does, to the real clients,
and records the refusal so the test that caused it fails. Its channels remember what was
posted, and give it back through conversations.history / conversations.replies as Slack does."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.metadata import Metadata
from slack_sdk.webhook import WebhookClient

from bot.forms import STORY_FORM, story_initial
from bot.ui.modals import form_modal
from tests.fakes.slack_api import (
    METADATA_DROPPED,
    REPLY_LOST,
    FakeSlackAPI,
    Reply,
    SlackRefused,
    take_refusals,
)
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


# -- channels remember: the message store, metadata, threads, history ---------------------

CARD = Metadata("story_card", {"story_id": "WEB-1", "revision": 1})


def post_card(client: WebClient, channel: str = "C9", text: str = "WEB-1 Checkout") -> str:
    return client.chat_postMessage(channel=channel, text=text, metadata=CARD)["ts"]


def refused_error(call) -> str:
    with pytest.raises(SlackApiError) as refused:
        call()
    return refused.value.response["error"]


def test_a_posted_message_is_stored_and_chat_update_edits_it_in_place(fake, client):
    ts = post_card(client)
    client.chat_update(channel="C9", ts=ts, text="WEB-1 Checkout (done)", blocks=[SECTION])
    (card,) = fake.messages("C9")
    assert card["ts"] == ts and card["text"] == "WEB-1 Checkout (done)"
    assert card["blocks"] == [SECTION] and card["bot_id"] and card["user"]
    assert card["metadata"] == CARD.to_dict()  # kept: chat.update sent no metadata
    assert card["edited"]["ts"] > ts
    assert fake.message("C9", ts) == card
    assert take_refusals() == []


def test_chat_update_of_a_message_never_posted_is_message_not_found(fake, client):
    post_card(client)
    error = refused_error(lambda: client.chat_update(channel="C9", ts="1.000001", text="x"))
    assert error == "message_not_found"
    assert refused_error(lambda: client.chat_update(channel="C8", ts="1.000001", text="x")) == (
        "message_not_found"
    )


def test_reset_forgets_the_calls_but_slack_keeps_the_messages(fake, client):
    ts = post_card(client)
    fake.reset()
    assert fake.calls == []
    assert [m["ts"] for m in fake.messages("C9")] == [ts]
    assert client.chat_update(channel="C9", ts=ts, text="still there")["ok"]


def test_chat_update_metadata_replaces_it_and_an_empty_object_clears_it(fake, client):
    ts = post_card(client)
    client.chat_update(channel="C9", ts=ts, text="x", metadata=Metadata("story_card", {"r": 2}))
    assert fake.message("C9", ts)["metadata"]["event_payload"] == {"r": 2}
    client.chat_update(channel="C9", ts=ts, text="x", metadata={})
    assert "metadata" not in fake.message("C9", ts)
    assert take_refusals() == []


def test_metadata_is_taken_as_a_json_object_or_a_json_string_in_a_form(fake, client):
    as_dict = client.chat_postMessage(channel="C9", text="a", metadata=CARD.to_dict())
    form = {"channel": "C9", "text": "b", "metadata": json.dumps(CARD.to_dict())}
    as_form = client.api_call("chat.postMessage", data=form)
    for posted in (as_dict, as_form):
        assert fake.message("C9", posted["ts"])["metadata"] == CARD.to_dict()
        # Slack's answer shows the event_type, not the payload
        assert posted["message"]["metadata"] == {"event_type": "story_card"}
    assert take_refusals() == []


def test_metadata_slack_cannot_read_is_refused_with_its_error(fake, client):
    form = {"channel": "C9", "text": "a", "metadata": "{not json"}
    not_json = refused_error(lambda: client.api_call("chat.postMessage", data=form))
    no_type = refused_error(
        lambda: client.chat_postMessage(channel="C9", text="b", metadata={"event_payload": {}})
    )
    # slack_sdk leaves an empty event_payload out of a Metadata model: Slack gets none
    no_payload = refused_error(
        lambda: client.chat_postMessage(channel="C9", text="c", metadata=Metadata("card", {}))
    )
    assert not_json == "invalid_metadata_format"
    assert no_type == no_payload == "invalid_metadata_schema"
    assert [r.error for r in take_refusals()] == [not_json, no_type, no_payload]
    assert fake.messages("C9") == []


def test_an_event_type_slack_does_not_allow_posts_without_its_metadata(fake, client):
    dotted = Metadata("story.card", {"story_id": "WEB-1"})
    posted = client.chat_postMessage(channel="C9", text="card", metadata=dotted)
    assert posted["ok"]  # Slack answers ok...
    assert "metadata" not in fake.message("C9", posted["ts"])  # ...and drops the metadata
    (dropped,) = take_refusals()
    assert dropped.error == METADATA_DROPPED and "story.card" in str(dropped)


def test_a_thread_reply_is_in_its_thread_not_in_the_channel(fake, client):
    ts = post_card(client)
    first = client.chat_postMessage(channel="C9", text="moved to Done", thread_ts=ts)
    # a reply's ts as thread_ts: Slack threads it under the parent
    second = client.chat_postMessage(channel="C9", text="assigned", thread_ts=first["ts"])
    assert [m["ts"] for m in fake.messages("C9")] == [ts]
    thread = fake.thread("C9", ts)
    assert [m["text"] for m in thread] == ["WEB-1 Checkout", "moved to Done", "assigned"]
    assert thread[0]["reply_count"] == 2 and thread[2]["thread_ts"] == ts
    assert fake.thread("C9", second["ts"]) == thread
    assert take_refusals() == []


def test_a_reply_to_a_thread_that_does_not_exist_is_answered_ok_but_lost(fake, client):
    post_card(client)
    posted = client.chat_postMessage(channel="C9", text="lost", thread_ts="1700000000.000001")
    assert posted["ok"]
    assert [m["text"] for m in fake.messages("C9")] == ["WEB-1 Checkout"]
    (lost,) = take_refusals()
    assert lost.error == REPLY_LOST and "1700000000.000001" in str(lost)


def test_history_is_the_channel_newest_first_with_the_payload_only_when_asked(fake, client):
    card = post_card(client)
    client.chat_postMessage(channel="C9", text="reply", thread_ts=card)
    other = client.chat_postMessage(channel="C9", text="other")["ts"]
    post_card(client, channel="C8")
    plain = client.conversations_history(channel="C9")
    assert [m["ts"] for m in plain["messages"]] == [other, card]
    assert plain["has_more"] is False
    assert plain["messages"][1]["metadata"] == {"event_type": "story_card"}
    full = client.conversations_history(channel="C9", include_all_metadata=True)
    assert full["messages"][1]["metadata"] == CARD.to_dict()
    assert full["messages"][1]["reply_count"] == 1
    assert client.conversations_history(channel="C7")["messages"] == []  # a channel, empty


def test_history_pages_with_next_cursor_and_has_more(fake, client):
    posted = [client.chat_postMessage(channel="C9", text=f"m{i}")["ts"] for i in range(5)]
    first = client.conversations_history(channel="C9", limit=2)
    assert first["has_more"] and first["response_metadata"]["next_cursor"]
    pages = [[m["ts"] for m in page["messages"]] for page in first]  # slack_sdk follows cursors
    assert pages == [posted[4:2:-1], posted[2:0:-1], posted[:1]]
    fake.history_limits = (15, 15)  # a non-Marketplace app distributed commercially
    more = [client.chat_postMessage(channel="C9", text=f"n{i}")["ts"] for i in range(15)]
    capped = client.conversations_history(channel="C9", limit=100)
    assert len(capped["messages"]) == 15 and capped["has_more"]
    assert capped["messages"][0]["ts"] == more[-1]


def test_history_between_oldest_and_latest(fake, client):
    a, b, c = (client.chat_postMessage(channel="C9", text=t)["ts"] for t in "abc")
    between = client.conversations_history(channel="C9", oldest=a, latest=c)
    assert [m["ts"] for m in between["messages"]] == [b]
    inclusive = client.conversations_history(channel="C9", oldest=a, latest=c, inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == [c, b, a]
    assert [m["ts"] for m in client.conversations_history(channel="C9", oldest=b)["messages"]] == [
        c
    ]


def test_history_refuses_what_slack_refuses(fake, client):
    post_card(client)
    assert refused_error(lambda: client.conversations_history(channel="#general")) == (
        "channel_not_found"
    )
    assert refused_error(lambda: client.conversations_history(channel="C9", cursor="bm9")) == (
        "invalid_cursor"
    )
    assert refused_error(lambda: client.conversations_history(channel="C9", oldest="soon")) == (
        "invalid_ts_oldest"
    )
    fake.refuse_channel("C5", "channel_not_found")
    assert refused_error(lambda: client.conversations_history(channel="C5")) == "channel_not_found"


def test_replies_are_the_parent_then_its_replies_oldest_first(fake, client):
    card = post_card(client)
    replies = [
        client.chat_postMessage(channel="C9", text=f"r{i}", thread_ts=card)["ts"] for i in range(3)
    ]
    thread = client.conversations_replies(channel="C9", ts=card)
    assert [m["ts"] for m in thread["messages"]] == [card, *replies]
    assert thread["messages"][0]["metadata"] == {"event_type": "story_card"}
    full = client.conversations_replies(channel="C9", ts=replies[1], include_all_metadata=True)
    assert full["messages"][0]["metadata"] == CARD.to_dict()
    pages = [
        [m["ts"] for m in page["messages"]]
        for page in client.conversations_replies(channel="C9", ts=card, limit=2)
    ]
    assert pages == [[card, replies[0]], replies[1:]]
    lone = client.chat_postMessage(channel="C9", text="no replies")["ts"]
    assert [m["ts"] for m in client.conversations_replies(channel="C9", ts=lone)["messages"]] == [
        lone
    ]


def test_replies_of_a_message_the_channel_does_not_have_is_thread_not_found(fake, client):
    card = post_card(client)
    assert refused_error(lambda: client.conversations_replies(channel="C9", ts="1.000001")) == (
        "thread_not_found"
    )
    assert refused_error(lambda: client.conversations_replies(channel="C8", ts=card)) == (
        "thread_not_found"
    )


def test_a_refused_channel_refuses_posts_and_updates_until_allowed(fake, client):
    ts = post_card(client)
    fake.refuse_channel("C9", "is_archived")
    assert refused_error(lambda: post_card(client)) == "is_archived"
    # chat.update's reference has no is_archived: "is_inactive" covers an archived channel
    assert refused_error(lambda: client.chat_update(channel="C9", ts=ts, text="x")) == (
        "is_inactive"
    )
    assert client.conversations_history(channel="C9")["ok"]  # an archived channel is readable
    fake.refuse_channel("C9", "not_in_channel")
    assert refused_error(lambda: post_card(client)) == "not_in_channel"
    assert refused_error(lambda: client.conversations_history(channel="C9")) == "not_in_channel"
    assert post_card(client, channel="C8")  # other channels take posts
    fake.allow_channel("C9")
    assert post_card(client) and client.chat_update(channel="C9", ts=ts, text="x")["ok"]
    assert len(fake.messages("C9")) == 2
    fake.refuse_channel("C9", "channel_not_found")
    fake.reset()  # a refused channel is a scripted answer: reset forgets it
    assert post_card(client)
    assert take_refusals() == []  # what Slack refuses for the channel is no payload refusal


# -- files: files_upload_v2's three steps ---------------------------------------------------
def test_files_upload_v2_goes_up_in_three_steps_to_an_upload_url_on_the_fake(fake, client):
    done = client.files_upload_v2(
        channel="D0DM", content="a,b\r\n1,2\r\n", filename="x.csv", initial_comment="here"
    )
    assert done["file"]["name"] == "x.csv" and done["file"]["title"] == "x.csv"
    (announced,) = fake.calls_to("files.getUploadURLExternal")
    assert announced.params["filename"] == "x.csv" and announced.params["length"] == "10"
    (sent,) = fake.calls_to("upload_url")
    assert sent.params["bytes"] == 10
    assert fake.base_url.startswith("http://127.0.0.1:")
    (shared,) = fake.uploaded("D0DM")
    assert (shared.content, shared.initial_comment) == (b"a,b\r\n1,2\r\n", "here")
    assert take_refusals() == []


def test_an_upload_url_is_asked_for_with_a_filename_and_a_whole_nonzero_length(fake, client):
    for arguments, error in (
        ({"filename": "", "length": 3}, "invalid_arguments"),
        ({"filename": "x.csv", "length": "three"}, "invalid_arguments"),
        ({"filename": "x.csv", "length": 0}, "missing_argument"),
    ):
        with pytest.raises(SlackApiError) as refused:
            client.files_getUploadURLExternal(**arguments)
        assert refused.value.response["error"] == error
    with pytest.raises(SlackApiError) as refused:
        client.api_call("files.getUploadURLExternal", params={"filename": "x.csv"})
    assert refused.value.response["error"] == "invalid_arguments"
    assert (
        "missing required field: length"
        in refused.value.response["response_metadata"]["messages"][0]
    )
    assert len(take_refusals()) == 4


def test_completing_an_unknown_or_unsent_file_is_refused(fake, client):
    with pytest.raises(SlackApiError) as refused:
        client.files_completeUploadExternal(files=[{"id": "F0NEVER", "title": "x"}])
    assert refused.value.response["error"] == "file_not_found"
    ticket = client.files_getUploadURLExternal(filename="x.csv", length=3)
    assert ticket["upload_url"].startswith(fake.base_url + "/upload/")
    with pytest.raises(SlackApiError) as refused:  # its bytes never reached the upload URL
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "x"}])
    assert refused.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as refused:
        client.api_call("files.completeUploadExternal", params={"files": "not json"})
    assert refused.value.response["error"] == "invalid_arguments"
    assert [r.error for r in take_refusals()] == [
        "file_not_found",
        "file_not_found",
        "invalid_arguments",
    ]
    assert fake.uploaded() == []


def test_bytes_other_than_announced_and_unknown_upload_urls_are_refused(fake, client):
    from tests.fakes.slack_api import http_request

    ticket = client.files_getUploadURLExternal(filename="x.csv", length=3)
    # refused, and nothing kept: completing it then finds no bytes
    assert http_request("POST", ticket["upload_url"], b"abcd").status == 400
    assert [r.error for r in take_refusals()] == ["length_mismatch"]
    assert fake.files.get(ticket["file_id"]).content is None
    with pytest.raises(SlackApiError) as refused:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    assert refused.value.response["error"] == "file_not_found"
    assert [r.error for r in take_refusals()] == ["file_not_found"]
    assert http_request("POST", fake.base_url + "/upload/v1/nope", b"abc").status == 404
    assert [r.error for r in take_refusals()] == ["not_found"]


def test_a_file_shared_in_a_channel_that_refuses_posts_is_refused(fake, client):
    fake.refuse_channel("C0GONE", "channel_not_found")
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(channel="C0GONE", content="x", filename="x.txt")
    assert refused.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(channel="#general", content="x", filename="x.txt")
    assert refused.value.response["error"] == "channel_not_found"
    assert fake.uploaded() == []


def test_conversations_open_gives_each_member_one_dm(fake, client):
    first = client.conversations_open(users="U0MARIA")["channel"]["id"]
    assert first == client.conversations_open(users="U0MARIA")["channel"]["id"]
    assert first == fake.dm_channel("U0MARIA") and first.startswith("D")
    assert first != client.conversations_open(users="U0SAM")["channel"]["id"]
    with pytest.raises(SlackApiError) as refused:
        client.api_call("conversations.open", params={})
    assert refused.value.response["error"] == "users_list_not_supplied"


def test_a_request_cut_short_by_a_dead_sender_is_no_payload_and_no_refusal(fake):
    """A drill's kill -9 can cut a response_url post mid-body: Slack sees a broken
    connection, not a message without text; the fake records nothing."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(fake.base_url)
    body = b'{"text": "half a mess'
    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        sock.sendall(
            b"POST /response/cut HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body) + 40}\r\n\r\n".encode()
            + body
        )
        sock.shutdown(socket.SHUT_WR)  # the sender is gone before the rest of the body
        sock.recv(1024)
    assert take_refusals() == []
    assert fake.calls == []
