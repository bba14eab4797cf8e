"""Events: App Home opened, Slack's retries handled once, the URL verification challenge."""

from __future__ import annotations

from bot.ui import ids
from tests.handlers.flows import create_project, create_story


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
