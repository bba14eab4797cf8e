"""App Home's buttons: New story and New project open their forms; changes made from Home
republish it."""

from __future__ import annotations

from bot.ui import ids
from tests.handlers.flows import create_project, create_story


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
    slack.fake.settle(quiet=0.5)
    assert slack.fake.calls_to("views.publish") == []  # opening a form changes no Home
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
