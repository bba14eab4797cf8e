"""/autodev generate end to end: signed requests to the real server, the fake Slack Web API,
the worker pool, and the real anthropic SDK against the fake Messages API."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.ai.delivery import slack_delivery
from bot.ai.worker import GenerationWorkerPool
from bot.ui import ids
from storage.db import Database
from storage.generation import queue
from storage.models import GenerationRequest, UserStory
from tests.ai.conftest import TEST_KEY
from tests.fakes.anthropic_api import FakeAnthropic, sample_story
from tests.fakes.slack_api import (
    Call,
    FakeSlackAPI,
    SignedSlack,
    fake_slack,  # noqa: F401
    slack_server_for,
    slack_settings,
)
from tests.handlers.flows import create_project, create_story, state_for

AI = {
    "ANTHROPIC_API_KEY": TEST_KEY,
    "AUTODEVHUB_AI_MAX_RETRIES": 0,
    "AUTODEVHUB_AI_TIMEOUT": 30,
    "AUTODEVHUB_AI_MODEL": "claude-test-model",
}


@contextlib.contextmanager
def running_app(fake: FakeSlackAPI, db: Database, **overrides: Any) -> Iterator[SignedSlack]:
    """The server and a worker pool delivering to Slack, as `serve` runs them."""
    settings = slack_settings(fake, db, **{**AI, **overrides})
    pool = GenerationWorkerPool(
        db, settings, deliver=slack_delivery(settings, db), workers=2, poll_seconds=0.2
    )
    with slack_server_for(fake, db, **{**AI, **overrides}) as server:
        pool.start()
        try:
            fake.reset()
            team = "T" + uuid.uuid4().hex[:8].upper()
            yield SignedSlack(server.url, fake, team_id=team, user_id="U" + team[1:])
        finally:
            pool.stop()


@pytest.fixture
def app(fake_slack: FakeSlackAPI, sqlite_db: Database, fake_claude: FakeAnthropic):  # noqa: F811
    with running_app(fake_slack, sqlite_db) as slack:
        create_project(slack, "Web", "WEB")
        yield slack


def open_generate(slack: SignedSlack, text: str) -> tuple[dict[str, Any], str]:
    before = len(slack.fake.calls_to("views.open"))
    reply, url = slack.command("/autodev", f"generate {text}")
    assert reply.status == 200, reply.text
    view = slack.fake.wait_for("views.open", count=before + 1).params["view"]
    assert view["callback_id"] == ids.AI_GENERATE_MODAL
    return view, url


def submit(slack: SignedSlack, view: dict[str, Any], **values: Any):
    return slack.view_submission(
        view["callback_id"],
        state_for(view, **values),
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )


def buttons(call: Call, action_id: str) -> list[str]:
    return [
        e["value"]
        for b in call.params.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("action_id") == action_id
    ]


def requests(db: Database) -> list[GenerationRequest]:
    with db.read() as s:
        return list(s.scalars(select(GenerationRequest).order_by(GenerationRequest.created_at)))


def stories(db: Database) -> list[UserStory]:
    with db.read() as s:
        return list(s.scalars(select(UserStory).order_by(UserStory.number)))


def test_generate_acks_before_claude_answers_then_shows_drafts_to_save(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    view, url = open_generate(app, "web Users reset their password by email")
    project_block = next(b for b in view["blocks"] if b["block_id"] == "project")
    assert project_block["element"]["initial_option"]["text"]["text"] == "Web (WEB)"
    feature_block = next(b for b in view["blocks"] if b["block_id"] == "feature")
    assert feature_block["element"]["initial_value"] == "Users reset their password by email"

    hold = threading.Event()
    fake_claude.then("ok", hold=hold)  # Claude "thinks" until released
    reply = submit(app, view, count="2")
    # the ack is back (modal closes, nothing in the body) while Claude has not answered
    assert reply.status == 200 and not reply.body
    assert not hold.is_set()
    assert requests(sqlite_db)[0].status in ("PENDING", "PROCESSING")
    generating = app.fake.wait_response(url)
    assert "Generating…" in generating.text_of()
    assert generating.params["replace_original"] is False  # the command's first answer
    (sent,) = fake_claude.wait_for_requests(1)
    assert not sent.answered.is_set()
    assert requests(sqlite_db)[0].status == "PROCESSING"

    hold.set()
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    assert drafts.params["replace_original"] is True
    text = drafts.text_of()
    assert "Story 1: Users reset their password by email" in text
    assert "Story 2: Users reset their password by email" in text
    assert "Written by claude-test-model" in text
    saves = buttons(drafts, ids.AI_DRAFT_SAVE)
    assert len(saves) == 2 and all(len(v) < 100 for v in saves)  # the token, not the data
    (request,) = requests(sqlite_db)
    assert request.status == "COMPLETED" and request.input_tokens and request.output_tokens
    assert stories(sqlite_db) == []  # nothing saved before review

    _, click_url = app.block_action(ids.AI_DRAFT_SAVE, value=saves[0])
    saved = app.fake.wait_response(click_url)
    assert "Saved as *WEB-1*" in saved.text_of()
    (story,) = stories(sqlite_db)
    assert story.title == "Story 1: Users reset their password by email"
    assert story.status == "DRAFT"
    assert story.meta["generation_request_id"] == request.id
    assert story.meta["ai_model"] == "claude-test-model"
    assert story.meta["ai_confidence"] == 0.9

    (save_all,) = buttons(saved, ids.AI_SAVE_ALL)
    _, click_url = app.block_action(ids.AI_SAVE_ALL, value=save_all)
    done = app.fake.wait_response(click_url)
    assert "Saved as *WEB-2*" in done.text_of()
    assert [s.number for s in stories(sqlite_db)] == [1, 2]
    assert buttons(done, ids.AI_SAVE_ALL) == []  # nothing left open


def test_failure_says_what_happened_and_retry_works(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    view, url = open_generate(app, "web Export reports as CSV")
    fake_claude.then("status", status=529)
    assert submit(app, view).status == 200
    failed = app.fake.wait_response(url, count=2, timeout=15)
    assert "Generation failed" in failed.text_of() and "overloaded" in failed.text_of()
    assert "Nothing was saved" in failed.text_of()
    (retry,) = buttons(failed, ids.AI_RETRY)
    assert requests(sqlite_db)[0].status == "FAILED"
    assert stories(sqlite_db) == []

    _, click_url = app.block_action(ids.AI_RETRY, value=retry)
    assert "Generating…" in app.fake.wait_response(click_url).text_of()
    drafts = app.fake.wait_response(click_url, count=2, timeout=15)
    assert "Story 1: Export reports as CSV" in drafts.text_of()
    first, second = requests(sqlite_db)
    assert (first.status, second.status) == ("FAILED", "COMPLETED")
    assert second.request_data["retry_of"] == first.id


def test_claude_output_is_escaped_and_duplicates_are_flagged(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    create_story(app, "WEB", "Reset password by email")
    evil = sample_story(0, "x") | {"title": "<!channel> reset password by email & more"}
    big = sample_story(1, "y") | {"title": "Rebuild the billing engine", "story_points": 13}
    fake_claude.then("stories", stories=[evil, big])
    view, url = open_generate(app, "web Password things")
    submit(app, view, count="2")
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    text = drafts.text_of()
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; reset password by email &amp; more" in text
    assert "looks like *WEB-1*" in text  # the existing story
    assert len(buttons(drafts, ids.AI_DRAFT_SPLIT)) == 1  # only the 13-point one


def test_split_replaces_a_big_draft_by_smaller_ones(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    small = sample_story(0, "a") | {"title": "Show the invoice list"}
    big = sample_story(1, "b") | {"title": "Rebuild the billing engine", "story_points": 21}
    fake_claude.then("stories", stories=[small, big])
    view, url = open_generate(app, "web Billing")
    submit(app, view, count="2")
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    (split,) = buttons(drafts, ids.AI_DRAFT_SPLIT)

    _, click_url = app.block_action(ids.AI_DRAFT_SPLIT, value=split)
    after = app.fake.wait_response(click_url, count=2, timeout=15)
    text = after.text_of()
    assert "Show the invoice list" in text  # carried over
    assert "Rebuild the billing engine" not in text.split("Show the invoice list")[1]
    assert len(buttons(after, ids.AI_DRAFT_SAVE)) == 1 + 3  # kept one, three parts of 21
    split_call = fake_claude.requests[-1].body["messages"][0]["content"]
    assert "<story_to_split>" in split_call and "Rebuild the billing engine" in split_call


def test_regenerate_with_feedback_keeps_saved_drafts(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    view, url = open_generate(app, "web Dark mode")
    submit(app, view, count="2")
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    first_save = buttons(drafts, ids.AI_DRAFT_SAVE)[0]
    _, click_url = app.block_action(ids.AI_DRAFT_SAVE, value=first_save)
    saved = app.fake.wait_response(click_url)
    (regen,) = buttons(saved, ids.AI_REGENERATE)

    opened = len(app.fake.calls_to("views.open"))
    _, regen_url = app.block_action(ids.AI_REGENERATE, value=regen)
    modal = app.fake.wait_for("views.open", count=opened + 1).params["view"]
    assert modal["callback_id"] == ids.AI_FEEDBACK_MODAL
    reply = submit(app, modal, feedback="Smaller stories, mobile first")
    assert reply.status == 200 and not reply.body
    again = app.fake.wait_response(regen_url, count=2, timeout=15)
    assert "Saved as *WEB-1*" in again.text_of()
    assert len(buttons(again, ids.AI_DRAFT_SAVE)) == 2
    last = fake_claude.requests[-1].body["messages"][0]["content"]
    assert "<feedback>" in last and "Smaller stories, mobile first" in last


def test_edit_opens_the_story_form_and_saves_the_edit(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    view, url = open_generate(app, "web Dark mode")
    submit(app, view, count="1")
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    (edit,) = buttons(drafts, ids.AI_DRAFT_EDIT)
    opened = len(app.fake.calls_to("views.open"))
    _, click_url = app.block_action(ids.AI_DRAFT_EDIT, value=edit)
    modal = app.fake.wait_for("views.open", count=opened + 1).params["view"]
    assert modal["callback_id"] == ids.AI_EDIT_DRAFT_MODAL
    title = next(b for b in modal["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Story 1: Dark mode"
    reply = submit(app, modal, title="Dark mode toggle in settings", story_points="5")
    assert reply.status == 200 and not reply.body, reply.text
    updated = app.fake.wait_response(click_url)
    assert "Saved as *WEB-1*" in updated.text_of()
    (story,) = stories(sqlite_db)
    assert (story.title, story.story_points) == ("Dark mode toggle in settings", 5)
    assert story.tasks == ["Build the API", "Build the UI", "Write tests"]
    assert story.meta["generation_request_id"] == requests(sqlite_db)[0].id


def test_rate_limit_refuses_in_the_modal(
    fake_slack: FakeSlackAPI,  # noqa: F811
    sqlite_db: Database,
    fake_claude: FakeAnthropic,
) -> None:
    with running_app(fake_slack, sqlite_db, AUTODEVHUB_AI_RATE_LIMIT=1) as slack:
        create_project(slack, "Web", "WEB")
        first, _ = open_generate(slack, "web One")
        second, _ = open_generate(slack, "web Two")  # both open before either is sent
        assert submit(slack, first).status == 200
        reply = submit(slack, second)
        assert reply.status == 200
        assert reply.json["response_action"] == "errors"
        assert "the limit is 1 a minute" in reply.json["errors"]["feature"]
        # asking again is refused before the modal even opens
        refused, url = slack.command("/autodev", "generate web Three")
        assert refused.status == 200
        assert "the limit is 1 a minute" in slack.fake.wait_response(url).text_of()
    assert len(requests(sqlite_db)) == 1


def test_long_feature_text_is_capped_with_a_note(app: SignedSlack) -> None:
    view, _ = open_generate(app, "web " + "word " * 600)
    note = view["blocks"][0]
    assert note["type"] == "context" and "at most 2000" in note["elements"][0]["text"]
    feature = next(b for b in view["blocks"] if b.get("block_id") == "feature")
    assert len(feature["element"]["initial_value"]) == 2000


def test_message_shortcut_opens_the_modal_with_the_message(app: SignedSlack) -> None:
    before = len(app.fake.calls_to("views.open"))
    reply, _ = app.message_action(ids.GENERATE_FROM_MESSAGE, "Customers want to export invoices")
    assert reply.status == 200
    view = app.fake.wait_for("views.open", count=before + 1).params["view"]
    assert view["callback_id"] == ids.AI_GENERATE_MODAL
    feature = next(b for b in view["blocks"] if b["block_id"] == "feature")
    assert feature["element"]["initial_value"] == "Customers want to export invoices"


def test_offline_generation_without_a_key(
    fake_slack: FakeSlackAPI,  # noqa: F811
    sqlite_db: Database,
) -> None:
    with running_app(fake_slack, sqlite_db, ANTHROPIC_API_KEY=None) as slack:
        create_project(slack, "Web", "WEB")
        view, url = open_generate(slack, "web Users export reports as CSV and share them")
        submit(slack, view, count="2")
        drafts = slack.fake.wait_response(url, count=2, timeout=15)
    assert "Made offline" in drafts.text_of()
    (request,) = requests(sqlite_db)
    assert request.ai_model == "offline" and request.status == "COMPLETED"


def test_someone_else_cannot_save_my_drafts(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    view, url = open_generate(app, "web Dark mode")
    submit(app, view, count="1")
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    (save,) = buttons(drafts, ids.AI_DRAFT_SAVE)
    _, click_url = app.as_user("UOTHER").block_action(ids.AI_DRAFT_SAVE, value=save)
    refused = app.fake.wait_response(click_url)
    assert "belong to someone else" in refused.text_of()
    assert stories(sqlite_db) == []
    with sqlite_db.read() as s:
        assert queue.queue_counts(s) == {"COMPLETED": 1}


def test_generate_help(app: SignedSlack) -> None:
    reply, url = app.command("/autodev", "generate help")
    assert reply.status == 200
    assert "Generate stories from message" in app.fake.wait_response(url).text_of()


def test_blank_feature_is_refused_inline(app: SignedSlack, sqlite_db: Database) -> None:
    view, _ = open_generate(app, "web")
    reply = submit(app, view, feature="   ")
    assert reply.json == {
        "response_action": "errors",
        "errors": {"feature": "Describe the feature in a sentence or two."},
    }
    assert requests(sqlite_db) == []


def test_generate_from_a_thread_reads_it_and_the_saved_stories_follow_it(
    app: SignedSlack, fake_claude: FakeAnthropic, sqlite_db: Database
) -> None:
    from slack_sdk import WebClient

    from bot.live import CardWorkers
    from tests.fakes.slack_api import BOT_TOKEN

    channel = "C" + uuid.uuid4().hex[:9].upper()
    root = app.fake.said(channel, "Customers want invoices as PDF", team=app.team_id)
    app.fake.said(channel, "Only for paid plans, says legal", team=app.team_id, thread_ts=root)
    before = len(app.fake.calls_to("views.open"))
    _, url = app.message_action(
        ids.GENERATE_FROM_MESSAGE,
        "Customers want invoices as PDF",
        message_ts=root,
        channel_id=channel,
        reply_count=1,
    )
    view = app.fake.wait_for("views.open", count=before + 1).params["view"]
    assert "Claude also reads this thread's 2 messages." in str(view["blocks"][0])
    reply = submit(app, view, count="1")
    assert reply.status == 200 and not reply.body
    (sent,) = fake_claude.wait_for_requests(1)
    prompt = str(sent.body)
    assert "<conversation>" in prompt and "Only for paid plans, says legal" in prompt
    drafts = app.fake.wait_response(url, count=2, timeout=15)
    (save,) = buttons(drafts, ids.AI_DRAFT_SAVE)
    client = WebClient(token=BOT_TOKEN, base_url=app.fake.api_url)
    cards = CardWorkers(sqlite_db, lambda _team: client, window=0.1, poll=0.05).start()
    try:
        app.block_action(ids.AI_DRAFT_SAVE, value=save)
        app.fake.wait_for(
            "chat.postMessage", lambda c: c.params.get("thread_ts") == root, timeout=10
        )
    finally:
        cards.stop()
    tracked = app.fake.thread(channel, root)[-1]
    assert "Tracked as WEB-1." in str(tracked["blocks"])
