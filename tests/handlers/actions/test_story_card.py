"""The story card's controls: status select, Assign, Edit, Delete — acting in place."""

from __future__ import annotations

from sqlalchemy import select

from bot.ui import ids
from storage.models import UserStory
from tests.fakes.slack_api import Call
from tests.handlers.flows import answer_to, create_project, create_story, submit


def _story(db, team):
    with db.read() as s:
        return s.scalars(select(UserStory).where(UserStory.team_id == team)).one_or_none()


def _card_actions(message):
    return next(b for b in message.params["blocks"] if b["type"] == "actions")


def test_status_select_moves_and_replaces_the_card(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    block_id = _card_actions(card)["block_id"]
    _, url = slack.block_action(ids.STORY_STATUS, selected_option="DONE", block_id=block_id)
    updated = slack.fake.wait_response(url)
    assert updated.params["replace_original"] is True
    assert "Moved to DONE." in updated.text_of()
    select_el = _card_actions(updated)["elements"][0]
    assert select_el["initial_option"]["value"] == "DONE"
    assert _story(slack_db, slack.team_id).status == "DONE"


def test_assign_button_opens_a_picker_and_updates_the_card(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    story = _story(slack_db, slack.team_id)
    _, url = slack.block_action(ids.STORY_ASSIGN, value=story.id)
    view = slack.fake.wait_for("views.open", count=3).params["view"]  # 2 by create_* before
    assert view["callback_id"] == ids.ASSIGN_MODAL
    assert story.id not in view["private_metadata"]  # a token, not data
    assert submit(slack, view, assignee="U0MARIA").status == 200
    updated = slack.fake.wait_response(url)
    assert updated.params["replace_original"] is True
    assert "<@U0MARIA>" in updated.text_of()
    assert card.text_of() != updated.text_of()
    with slack_db.read() as s:
        from storage.models import User

        assignee = s.get(User, _story(slack_db, slack.team_id).assignee_id)
        assert assignee.slack_user_id == "U0MARIA"
    # the assignee's App Home was refreshed
    slack.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == "U0MARIA")


def test_edit_button_opens_the_story_form_and_replaces_the_card(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    story = _story(slack_db, slack.team_id)
    _, url = slack.block_action(ids.STORY_EDIT, value=story.id)
    view = slack.fake.wait_for("views.open", count=3).params["view"]
    assert view["callback_id"] == ids.STORY_MODAL
    assert view["title"]["text"] == "Edit WEB-1"
    reply = submit(slack, view, title="")
    assert reply.json["response_action"] == "errors" and "title" in reply.json["errors"]
    assert _story(slack_db, slack.team_id).title == "Reset password"
    assert submit(slack, view, title="Reset by SMS", priority="CRITICAL").status == 200
    updated = slack.fake.wait_response(url)
    assert updated.params["replace_original"] is True
    assert "Reset by SMS" in updated.text_of() and "CRITICAL" in updated.text_of()


def test_delete_button_deletes_and_says_so_in_place(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    delete = _card_actions(card)["elements"][3]
    _, url = slack.block_action(ids.STORY_DELETE, value=delete["value"])
    done = slack.fake.wait_response(url)
    assert done.params["replace_original"] is True and "deleted" in done.text_of()
    assert _story(slack_db, slack.team_id) is None


def test_status_select_in_a_list_redraws_the_list(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    listed = answer_to(slack, "/story", "list WEB")
    row = next(b for b in listed.params["blocks"] if b.get("block_id", "").startswith("story:"))
    assert row["accessory"]["action_id"] == ids.STORY_STATUS
    _, url = slack.block_action(ids.STORY_STATUS, selected_option="READY", block_id=row["block_id"])
    redrawn = slack.fake.wait_response(url)
    assert redrawn.params["replace_original"] is True
    new_row = next(b for b in redrawn.params["blocks"] if b.get("block_id") == row["block_id"])
    assert new_row["accessory"]["initial_option"]["value"] == "READY"
    assert _story(slack_db, slack.team_id).status == "READY"


def test_a_bad_status_value_is_refused(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    block_id = _card_actions(card)["block_id"]
    _, url = slack.block_action(ids.STORY_STATUS, selected_option="SHIPPED", block_id=block_id)
    refusal = slack.fake.wait_response(url)
    assert refusal.params["response_type"] == "ephemeral"
    assert refusal.params.get("replace_original") is False
    assert _story(slack_db, slack.team_id).status == "DRAFT"


def test_editing_a_story_longer_than_a_form_holds_keeps_what_it_cannot_show(slack, slack_db):
    """A description saved under an older limit (5,000 characters, as the console allowed):
    Edit opens a form Slack accepts, shows the description and says it is kept, and saving
    a new title leaves the description whole."""
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    long = "As a user & admin, I want <this>. " * 150  # 5,100 characters, more when escaped
    with slack_db.write() as s:
        s.scalars(
            select(UserStory).where(UserStory.team_id == slack.team_id)
        ).one().description = long.strip()
    shown = answer_to(slack, "/story", "show WEB-1")
    assert "As a user &amp; admin, I want &lt;this&gt;." in shown.text_of()
    _, url = slack.block_action(ids.STORY_EDIT, value=_card_actions(card)["elements"][2]["value"])
    view = slack.fake.wait_for("views.open", count=3).params["view"]  # accepted by the fake
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert "description" not in inputs and "title" in inputs
    assert "kept as it is" in Call("view", view).text_of()
    assert submit(slack, view, title="Reset by SMS").status == 200
    slack.fake.wait_response(url)
    story = _story(slack_db, slack.team_id)
    assert (story.title, story.description) == ("Reset by SMS", long.strip())
