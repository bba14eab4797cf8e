"""The shortcuts: story from a message, new story anywhere, generate from a message."""

from __future__ import annotations

from bot.ui import ids
from tests.fakes.slack_api import Call
from tests.handlers.flows import create_project, state_for


def test_message_shortcut_prefills_text_and_permalink(slack):
    create_project(slack, "Web shop", "WEB")
    text = "Customers can't reset their password\nThey get no email at all."
    reply, url = slack.message_action(
        ids.CREATE_STORY_FROM_MESSAGE, text, message_ts="1700000000.123456"
    )
    assert reply.status == 200
    permalink_call = slack.fake.wait_for("chat.getPermalink")
    assert permalink_call.params["message_ts"] == "1700000000.123456"
    view = slack.fake.wait_for("views.open", count=2).params["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["title"]["initial_value"] == "Customers can't reset their password"
    description = inputs["description"]["initial_value"]
    assert "They get no email" in description
    assert f"/archives/{slack.channel_id}/p1700000000123456" in description
    reply = slack.view_submission(
        view["callback_id"],
        state_for(view),
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )
    assert reply.json["response_action"] == "errors" and "project" in reply.json["errors"]
    with_project = state_for(view)
    project_id = inputs["project"]["options"][0]["value"]
    with_project["project"]["project"]["selected_option"] = {"value": project_id}
    reply = slack.view_submission(
        view["callback_id"],
        with_project,
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )
    assert reply.status == 200 and not reply.body
    told = slack.fake.wait_response(url)  # the card goes to the message's thread (live cards)
    assert "WEB-1 created; its card follows in the message's thread." in told.text_of()
    assert told.params["response_type"] == "ephemeral"


def test_message_shortcut_opens_even_without_a_permalink(slack):
    create_project(slack, "Web shop", "WEB")
    slack.fake.fail("chat.getPermalink", "channel_not_found")
    slack.message_action(ids.CREATE_STORY_FROM_MESSAGE, "Add dark mode")
    view = slack.fake.wait_for("views.open", count=2).params["view"]
    title = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Add dark mode"


def test_global_shortcut_opens_the_story_form_and_sends_the_card_as_dm(slack):
    create_project(slack, "Web shop", "WEB")
    assert slack.shortcut(ids.NEW_STORY_SHORTCUT).status == 200
    view = slack.fake.wait_for("views.open", count=2).params["view"]
    assert view["callback_id"] == ids.STORY_MODAL
    state = state_for(view, title="From anywhere", description="d")
    project_el = next(b for b in view["blocks"] if b.get("block_id") == "project")["element"]
    state["project"]["project"]["selected_option"] = {"value": project_el["options"][0]["value"]}
    reply = slack.view_submission(
        view["callback_id"], state, private_metadata=view["private_metadata"], blocks=view["blocks"]
    )
    assert reply.status == 200
    dm = slack.fake.wait_for("chat.postMessage")
    assert dm.params["channel"] == slack.user_id and "From anywhere" in dm.text_of()


def test_generate_shortcut_opens_the_generate_form_with_the_message(slack, slack_server):
    create_project(slack, "Web shop", "WEB")
    opened = len(slack.fake.calls_to("views.open"))
    reply, url = slack.message_action(ids.GENERATE_FROM_MESSAGE, "Users want dark mode")
    assert reply.status == 200
    view = slack.fake.wait_for("views.open", count=opened + 1).params["view"]
    assert view["callback_id"] == ids.AI_GENERATE_MODAL
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["feature"]["initial_value"] == "Users want dark mode"
    # the workspace's only project is chosen already
    assert "(WEB)" in inputs["project"]["initial_option"]["text"]["text"]
    assert slack_server.wait_idle()
    assert slack.fake.responses(url) == []  # no error reply


def test_a_very_long_message_still_fits_the_form(slack):
    create_project(slack, "Web shop", "WEB")
    slack.message_action(ids.CREATE_STORY_FROM_MESSAGE, "word " * 2000)
    view = slack.fake.wait_for("views.open", count=2).params["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert len(inputs["description"]["initial_value"]) <= inputs["description"]["max_length"]
    assert len(inputs["title"]["initial_value"]) <= inputs["title"]["max_length"]
    assert "From Slack: https://" in inputs["description"]["initial_value"]


def test_a_message_longer_than_a_description_fills_in_what_fits_and_says_so(slack):
    create_project(slack, "Web shop", "WEB")
    text = "Customers cannot export invoices\n" + "details " * 800  # 6,433 characters
    slack.message_action(ids.CREATE_STORY_FROM_MESSAGE, text)
    view = slack.fake.wait_for("views.open", count=2).params["view"]
    description = next(b for b in view["blocks"] if b.get("block_id") == "description")
    assert len(description["element"]["initial_value"]) <= description["element"]["max_length"]
    assert "only its start is filled in" in Call("view", view).text_of()
