"""Shortcuts, App Home and events: prefilled forms, my work at a glance, retries deduplicated."""

from __future__ import annotations

from bot.ui import ids
from tests.slack.flows import create_project, create_story, state_for


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
    posted = slack.fake.wait_response(url)
    assert "WEB-1" in posted.text_of() and posted.params["response_type"] == "in_channel"


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


def test_app_home_shows_my_stories_by_status_and_my_projects(slack):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Mine to do", assignee=slack.user_id, status="READY")
    create_story(slack, "WEB", "Created only", status="DONE")
    slack.fake.reset()
    assert slack.app_home_opened().status == 200
    call = slack.fake.wait_for("views.publish")
    assert call.params["user_id"] == slack.user_id
    view = call.params["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = call.text_of()
    assigned = text.index("Assigned to me")
    created = text.index("Created by me")
    assert assigned < text.index("Mine to do") < created
    assert text.index("Created only") > created
    assert "Ready" in text and "Done" in text and "Web shop" in text
    buttons = [
        e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [ids.HOME_NEW_STORY, ids.HOME_NEW_PROJECT]


def test_home_buttons_open_forms_and_home_status_changes_republish(slack):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Mine to do", assignee=slack.user_id)
    slack.fake.wait_for("views.publish")  # the create refreshed my home; let it land
    slack.fake.reset()
    slack.block_action(ids.HOME_NEW_PROJECT, value="new", view={"id": "VHOME", "type": "home"})
    assert slack.fake.wait_for("views.open").params["view"]["callback_id"] == ids.PROJECT_MODAL
    slack.block_action(ids.HOME_NEW_STORY, value="new", view={"id": "VHOME", "type": "home"})
    assert slack.fake.wait_for("views.open", count=2).params["view"]["callback_id"] == (
        ids.STORY_MODAL
    )
    slack.app_home_opened()
    home = slack.fake.wait_for("views.publish").params["view"]
    row = next(b for b in home["blocks"] if b.get("block_id", "").startswith("story:"))
    slack.block_action(
        ids.STORY_STATUS,
        selected_option="IN_PROGRESS",
        block_id=row["block_id"],
        view={"id": "VHOME", "type": "home"},
    )
    slack.fake.wait_for("views.publish", lambda c: "*In Progress* (1)" in c.text_of())
    assert slack.fake.calls_to("response_url") == []


def test_event_retries_are_handled_once(slack, slack_server):
    """Slack retries an event it got no timely 2xx for: the retry is acked and does nothing
    the user would see (each handled event publishes the Home once)."""

    def publishes() -> int:
        assert slack_server.wait_idle()  # every Home the app was going to publish is out
        return len(slack.fake.calls_to("views.publish"))

    assert slack.app_home_opened(event_id="EvRETRY1").status == 200
    assert publishes() == 1
    for retry in (1, 2):
        assert slack.app_home_opened(event_id="EvRETRY1", retry_num=retry).status == 200
        assert publishes() == 1, f"retry {retry} of a handled event published the Home again"
    assert slack.app_home_opened(event_id="EvOTHER").status == 200
    assert publishes() == 2  # another event is handled
    assert slack.fake.calls_to("views.publish")[-1].params["user_id"] == slack.user_id


def test_url_verification_challenge(slack):
    import json

    reply = slack.post(
        json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}),
        content_type="application/json",
    )
    assert reply.status == 200 and "abc123" in reply.text


def test_a_very_long_message_still_fits_the_form(slack):
    create_project(slack, "Web shop", "WEB")
    slack.message_action(ids.CREATE_STORY_FROM_MESSAGE, "word " * 2000)
    view = slack.fake.wait_for("views.open", count=2).params["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert len(inputs["description"]["initial_value"]) <= inputs["description"]["max_length"]
    assert len(inputs["title"]["initial_value"]) <= inputs["title"]["max_length"]
    assert "From Slack: https://" in inputs["description"]["initial_value"]
