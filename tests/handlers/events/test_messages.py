"""Story keys in people's messages: the card in the message's thread, where the channel
asked for it; never for bots, at most three, edits only for new keys, once per thread."""

from __future__ import annotations

import uuid

from tests.handlers.flows import answer_to, create_project, create_story


def _setup(slack, *titles: str) -> str:
    channel = "C" + uuid.uuid4().hex[:9].upper()
    slack.channel_id = channel
    create_project(slack, "Web shop", "WEB")
    for title in titles:
        create_story(slack, "WEB", title)
    assert "now get the story's card" in answer_to(slack, "/project", "expand on").text_of()
    return channel


def _say(slack, channel: str, text: str, **more) -> str:
    ts = slack.fake.said(channel, text, user=slack.user_id, team=slack.team_id)
    event = {"type": "message", "channel": channel, "user": slack.user_id, "text": text, "ts": ts}
    assert slack.event({**event, **more}).status == 200
    return ts


def _cards(slack, server, channel: str, ts: str) -> list[str]:
    server.wait_idle()  # the work after the event's ack is done
    return [m["text"] for m in slack.fake.thread(channel, ts)[1:]]


def test_keys_get_their_card_in_the_thread_once(slack, slack_server):
    channel = _setup(slack, "Reset password", "Dark mode")
    ts = _say(slack, channel, "Is WEB-1 blocked by WEB-2? (not web-2, not WEB-99, not OPS-1)")
    assert _cards(slack, slack_server, channel, ts) == ["WEB-1 Reset password", "WEB-2 Dark mode"]
    _say(slack, channel, "WEB-1 again", thread_ts=ts)  # the same thread: shown already
    assert len(_cards(slack, slack_server, channel, ts)) == 2


def test_bots_edits_and_the_three_key_cap(slack, slack_server):
    channel = _setup(slack, "One", "Two", "Three", "Four")
    bot = _say(slack, channel, "WEB-1", bot_id="B0OTHER")
    assert _cards(slack, slack_server, channel, bot) == []
    many = _say(slack, channel, "WEB-1 WEB-2 WEB-3 WEB-4")
    assert _cards(slack, slack_server, channel, many) == ["WEB-1 One", "WEB-2 Two", "WEB-3 Three"]
    edited = slack.fake.said(channel, "WEB-4 and WEB-1", user=slack.user_id, team=slack.team_id)
    changed = {
        "type": "message",
        "subtype": "message_changed",
        "channel": channel,
        "message": {"user": slack.user_id, "text": "WEB-4 and WEB-1", "ts": edited},
        "previous_message": {"user": slack.user_id, "text": "WEB-4", "ts": edited},
    }
    assert slack.event(changed).status == 200
    assert _cards(slack, slack_server, channel, edited) == [
        "WEB-1 One"
    ]  # WEB-4 was there before the edit


def test_nothing_without_expansion_or_for_another_workspaces_keys(slack, slack_server):
    channel = _setup(slack, "Reset password")
    other = slack.as_workspace("T" + uuid.uuid4().hex[:8].upper())
    ts = _say(other, channel, "WEB-1 please")  # that workspace has no WEB-1
    assert _cards(other, slack_server, channel, ts) == []
    answer_to(slack, "/project", "expand off")
    ts = _say(slack, channel, "WEB-1 please")
    assert _cards(slack, slack_server, channel, ts) == []
