"""Live story cards through signed HTTP and the strict fake Slack: a channel subscribes to a
project, gets one card per story that is updated in place, and a line in its thread per
change; a channel Slack refuses pauses, and its subscriber is told what to do."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.live import CardWorkers
from tests.fakes.slack_api import BOT_TOKEN, answer_of
from tests.handlers.flows import create_project, create_story

WINDOW = 0.3


@pytest.fixture
def cards(slack_db, fake_slack) -> Iterator[CardWorkers]:
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    workers = CardWorkers(slack_db, lambda _team: client, size=2, window=WINDOW, poll=0.05)
    yield workers.start()
    workers.stop()


@pytest.fixture
def channel() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


def run(slack, text: str, channel: str, command: str = "/project"):
    reply, url = slack.command(command, text, channel_id=channel)
    assert reply.status == 200, reply.text
    return answer_of(slack.fake, reply, url)


def wait(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def settle(cards) -> None:
    """Let the window pass and every due card be delivered."""
    time.sleep(WINDOW + 0.1)
    while cards.run_once():
        pass


def test_one_card_per_story_updated_in_place_with_a_line_per_change(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    said = run(slack, "subscribe WEB", channel)
    assert "now follows" in said.text_of() and said.params["response_type"] == "in_channel"
    create_story(slack, "WEB", "Reset password")
    (card,) = wait(lambda: slack.fake.messages(channel))
    assert "Reset password" in str(card["blocks"])
    assert card["metadata"]["event_type"] == "autodevhub_story_card"
    assert slack.fake.thread(channel, card["ts"]) == [card]  # the new card says it all
    run(slack, "move WEB-1 READY", channel, "/story")
    wait(lambda: len(slack.fake.thread(channel, card["ts"])) == 2)
    (only,) = slack.fake.messages(channel)  # still one message: the card, updated
    assert "READY" in str(only["blocks"])
    line = slack.fake.thread(channel, card["ts"])[1]["text"]
    assert line == f"<@{slack.user_id}> moved *WEB-1* to READY"


def test_a_burst_of_changes_is_one_update_and_one_thread_reply(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    run(slack, "subscribe WEB", channel)
    create_story(slack, "WEB", "Reset password")
    (card,) = wait(lambda: slack.fake.messages(channel))
    slack.fake.reset()
    for word in ("move WEB-1 READY", "move WEB-1 IN_PROGRESS", "assign WEB-1 <@U0MARIA>"):
        run(slack, word, channel, "/story")
    wait(lambda: len(slack.fake.thread(channel, card["ts"])) == 2)
    settle(cards)
    updates = slack.fake.calls_to("chat.update", lambda c: c.params["channel"] == channel)
    assert len(updates) == 1
    (_, reply) = slack.fake.thread(channel, card["ts"])
    assert reply["text"].splitlines() == [
        f"<@{slack.user_id}> moved *WEB-1* to READY",
        f"<@{slack.user_id}> moved *WEB-1* to IN_PROGRESS",
        f"<@{slack.user_id}> assigned *WEB-1* to <@U0MARIA>",
    ]


def test_filters_and_threads_off(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    said = run(slack, "subscribe WEB priority:high created done threads:off", channel)
    assert "priority HIGH and above" in said.text_of() and "no thread replies" in said.text_of()
    create_story(slack, "WEB", "Typo in footer", priority="LOW")
    create_story(slack, "WEB", "Checkout is down", priority="CRITICAL")
    (card,) = wait(lambda: slack.fake.messages(channel))
    assert "Checkout is down" in str(card["blocks"])
    run(slack, "move WEB-2 DONE", channel, "/story")
    wait(lambda: "DONE" in str(slack.fake.messages(channel)[0]["blocks"]))
    settle(cards)
    assert len(slack.fake.messages(channel)) == 1  # the LOW story never showed
    assert slack.fake.thread(channel, card["ts"]) == slack.fake.messages(channel)  # no replies
    listed = run(slack, "subscriptions", channel)
    assert "*WEB*" in listed.text_of() or "WEB" in listed.text_of()


def test_a_channel_slack_refuses_pauses_and_the_subscriber_is_told(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    run(slack, "subscribe WEB", channel)
    slack.fake.refuse_channel(channel, "not_in_channel")
    create_story(slack, "WEB", "Reset password")
    dm = slack.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == slack.user_id, timeout=5
    )
    assert "/invite @AutoDevHub" in dm.text_of() and "/project subscribe WEB" in dm.text_of()
    assert "paused" in run(slack, "subscriptions", channel).text_of()
    slack.fake.allow_channel(channel)
    create_story(slack, "WEB", "Second story")
    settle(cards)
    assert slack.fake.messages(channel) == []  # paused: nothing more goes there
    run(slack, "subscribe WEB", channel)  # resumes
    run(slack, "move WEB-2 READY", channel, "/story")
    (card,) = wait(lambda: slack.fake.messages(channel))
    assert "Second story" in str(card["blocks"])


def test_only_its_subscriber_the_owner_or_an_admin_may_remove_it(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    other = slack.as_user("U0OTHER")
    assert "now follows" in run(other, "subscribe WEB", channel).text_of()  # any member
    third = slack.as_user("U0THIRD")
    assert "Only whoever subscribed" in run(third, "unsubscribe WEB", channel).text_of()
    assert "no longer follows" in run(slack, "unsubscribe WEB", channel).text_of()  # owner
    assert "follows no project" in run(third, "subscriptions", channel).text_of()


def test_a_story_from_a_message_lives_in_that_messages_thread(slack, cards, channel):
    from bot.ui import ids
    from tests.handlers.flows import submit

    create_project(slack, "Web shop", "WEB")
    asked = slack.fake.said(channel, "Checkout fails on Safari", team=slack.team_id)
    slack.message_action(
        ids.CREATE_STORY_FROM_MESSAGE,
        "Checkout fails on Safari",
        message_ts=asked,
        channel_id=channel,
    )
    view = slack.fake.wait_for(
        "views.open", lambda c: c.params["view"]["callback_id"] == ids.STORY_MODAL
    ).params["view"]
    project = next(b for b in view["blocks"] if b["block_id"] == "project")
    reply = submit(slack, view, project=project["element"]["options"][0]["value"])
    assert reply.status == 200 and not reply.body, reply.text
    thread = wait(lambda: slack.fake.thread(channel, asked)[1:])
    assert "Tracked as WEB-1." in str(thread[0]["blocks"])
    assert [m["ts"] for m in slack.fake.messages(channel)] == [asked]  # nothing at top level
    run(slack, "move WEB-1 IN_PROGRESS", channel, "/story")
    run(slack, "assign WEB-1 me", channel, "/story")
    replies = wait(lambda: slack.fake.thread(channel, asked)[2:])
    settle(cards)
    lines = [line for m in slack.fake.thread(channel, asked)[2:] for line in m["text"].splitlines()]
    assert lines == [
        f"<@{slack.user_id}> moved *WEB-1* to IN_PROGRESS",
        f"<@{slack.user_id}> assigned *WEB-1* to <@{slack.user_id}>",
    ]
    assert replies and "IN_PROGRESS" in str(slack.fake.thread(channel, asked)[1]["blocks"])


def test_a_story_made_in_a_subscribed_channel_is_posted_once(slack, cards, channel):
    from tests.handlers.flows import open_form, submit

    create_project(slack, "Web shop", "WEB")
    run(slack, "subscribe WEB", channel)
    slack.channel_id = channel
    view = open_form(slack, "/story", "new WEB")
    assert submit(slack, view, title="Dark mode", description="As a user, I want it.").status == 200
    told = slack.fake.wait_response(view["_response_url"])
    assert (
        told.params["response_type"] == "ephemeral" and "follows in this channel" in told.text_of()
    )
    (card,) = wait(lambda: slack.fake.messages(channel))
    settle(cards)
    assert len(slack.fake.messages(channel)) == 1 and "Dark mode" in str(card["blocks"])


def test_a_long_backlog_of_changes_loses_no_line_and_stays_within_slacks_limits():
    from bot.ui.live import thread_message
    from tests.fakes.block_kit import check_message

    lines = [f"<@U0ANA> moved *WEB-{i}* to IN_PROGRESS" for i in range(300)]
    message = thread_message(lines)
    assert check_message(message) == []
    shown = "\n".join(b["text"]["text"] for b in message["blocks"])
    assert shown.splitlines() == lines


def test_slack_asking_to_slow_down_is_waited_for_and_nothing_is_lost(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    run(slack, "subscribe WEB", channel)
    slack.fake.rate_limit("chat.postMessage", retry_after=1, times=1)
    create_story(slack, "WEB", "Reset password")
    (card,) = wait(lambda: slack.fake.messages(channel), timeout=10)
    settle(cards)
    assert len(slack.fake.messages(channel)) == 1 and "Reset password" in str(card["blocks"])
    limited = slack.fake.calls_to("chat.postMessage", lambda c: c.params["channel"] == channel)
    assert len(limited) == 2  # the 429, then the post after Retry-After
    assert limited[1].at - limited[0].at >= 0.9


def test_bad_subscription_words_say_what_would_work_and_change_nothing(slack, cards, channel):
    create_project(slack, "Web shop", "WEB")
    said = run(slack, "subscribe WEB priority:urgent", channel)
    assert "'urgent' is not a priority; use one of LOW, MEDIUM, HIGH, CRITICAL." in said.text_of()
    said = run(slack, "subscribe WEB loudly", channel)
    assert "'loudly' is not a filter" in said.text_of()
    assert "No project named 'NOPE'" in run(slack, "subscribe NOPE", channel).text_of()
    assert "Say `/project expand on`" in run(slack, "expand maybe", channel).text_of()
    assert "follows no project" in run(slack, "subscriptions", channel).text_of()
    create_story(slack, "WEB", "Reset password")
    settle(cards)
    assert slack.fake.messages(channel) == []


def test_while_members_wait_the_workers_still_deliver_everything(
    slack, slack_db, fake_slack, channel
):
    """Members first: with the listener pool saturated the workers pause between deliveries
    (how much they give way is measured, not tested: BENCHMARKS.md 6) and still show every
    story and every change: they slow down, they never stop."""
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    workers = CardWorkers(
        slack_db,
        lambda _team: client,
        size=1,
        window=0.05,
        poll=0.05,
        members_waiting=lambda: True,
    ).start()
    try:
        create_project(slack, "Web shop", "WEB")
        run(slack, "subscribe WEB", channel)
        for i in range(4):
            create_story(slack, "WEB", f"Story {i}")
        run(slack, "move WEB-2 READY", channel, "/story")
        shown = wait(
            lambda: len(slack.fake.messages(channel)) == 4 and slack.fake.messages(channel)
        )
        (second,) = [c for c in shown if "Story 1" in str(c["blocks"])]
        wait(lambda: len(slack.fake.thread(channel, second["ts"])) == 2)
    finally:
        workers.stop()
    assert slack.fake.thread(channel, second["ts"])[1]["text"].endswith("moved *WEB-2* to READY")


def test_the_listener_pool_says_when_members_work_is_waiting_for_a_thread():
    import threading

    from bot.app import ListenerPool

    pool = ListenerPool(max_workers=2, max_pending=8)
    release = threading.Event()
    try:
        assert not pool.saturated()
        for _ in range(2):
            pool.submit(release.wait)
        assert not pool.saturated()  # every thread busy, nothing waiting yet
        pool.submit(release.wait)
        assert pool.saturated()
        release.set()
        assert pool.wait_idle(5)
        assert not pool.saturated()
    finally:
        release.set()
        pool.shutdown()


def test_a_steady_stream_of_changes_does_not_hold_the_cards_back(
    slack, slack_db, fake_slack, channel
):
    """A worker's turn fans out the waiting changes and then delivers a card: with a change
    always waiting (a steady stream), cards still go out."""
    from storage.stories import move_story
    from storage.users import ensure_user

    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    workers = CardWorkers(slack_db, lambda _team: client, size=1, window=0.0)  # not started
    create_project(slack, "Web shop", "WEB")
    run(slack, "subscribe WEB", channel)
    create_story(slack, "WEB", "Reset password")
    assert workers.run_once()  # the card, posted
    (card,) = slack.fake.messages(channel)
    with slack_db.write() as s:
        me = ensure_user(s, slack.team_id, slack.user_id)
    with slack_db.write() as s:
        move_story(s, me, "WEB-1", "READY")  # a change waiting to be fanned out
    assert workers.run_once()
    # fanned out and delivered in the same turn: a stream cannot keep the cards waiting
    assert len(slack.fake.thread(channel, card["ts"])) == 2
