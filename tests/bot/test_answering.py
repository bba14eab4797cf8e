"""bot/answering: where an answer lands when the usual place is gone."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.answering import Origin, answer, modal_errors
from bot.forms import STORY_FORM
from bot.ui import messages
from storage.errors import ValidationFailed
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

GONE = "http://127.0.0.1:1/response/expired"  # nothing listens there: the URL is dead


def _clicked(**container):
    return {
        "type": "block_actions",
        "user": {"id": "U0ANA"},
        "channel": {"id": "C1"},
        "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": "C1"}
        | container,
        "response_url": GONE,
    }


def test_an_ephemeral_message_is_not_updated_in_place_a_dm_says_it_instead():
    origin = Origin.of(_clicked(is_ephemeral=True))
    assert origin.ts is None and origin.user_id == "U0ANA"
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        shown = answer(client, origin, messages.note("WEB-1 moved."), replace=True)
        (dm,) = fake.calls_to("chat.postMessage")
        assert fake.calls_to("chat.update") == []
    assert dm.params["channel"] == "U0ANA" and "WEB-1 moved." in dm.text_of()
    assert shown.ts is not None  # the next answer replaces the DM


def test_a_message_that_cannot_be_updated_any_more_gets_a_dm():
    origin = Origin.of(_clicked())  # a message Slack no longer has (deleted meanwhile)
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        answer(client, origin, messages.note("WEB-1 moved."), replace=True)
        assert len(fake.calls_to("chat.update")) == 1
        (dm,) = fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "U0ANA"


def test_a_dm_posted_once_is_updated_in_place_after():
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        shown = answer(client, Origin(user_id="U0ANA"), messages.note("Generating…"))
        again = answer(client, shown, messages.note("3 drafts."), replace=True)
        (update,) = fake.calls_to("chat.update")
        assert len(fake.calls_to("chat.postMessage")) == 1
    assert again == shown and "3 drafts." in update.text_of()


def test_an_error_for_a_field_the_modal_does_not_show_goes_under_the_fallback():
    refused = ValidationFailed("Invalid.", {"title": "must not be empty", "tasks": "too many"})
    errors = modal_errors(refused, ["title", "description"], "title", STORY_FORM)
    assert list(errors) == ["title"]
    assert "must not be empty" in errors["title"] and "too many" in errors["title"]
    shown = modal_errors(
        ValidationFailed("Bad.", {"project_ref": "unknown"}), ["feature"], "feature"
    )
    assert shown == {"feature": "Project: unknown"}
