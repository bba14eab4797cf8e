"""Issue 16 part 4: a project's Definition of Ready (ready_check off | warn | require) on the
card's status select, `/story move` and the held move's Move anyway / Cancel, through signed
HTTP against the strict fake Slack."""

from __future__ import annotations

from sqlalchemy import select

from bot.ui import ids
from storage.models import AuditLog, User, UserStory
from tests.fakes.slack_api import Call
from tests.handlers.flows import answer_to, create_project, create_story, open_form, submit

NOT_READY = {"description": "fix stuff", "acceptance_criteria": "", "story_points": "21"}


def _stories(db, team) -> dict[int, UserStory]:
    with db.read() as s:
        rows = s.scalars(select(UserStory).where(UserStory.team_id == team)).all()
        return {row.number: row for row in rows}


def _overrides(db, team) -> list[AuditLog]:
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditLog).where(
                    AuditLog.team_id == team, AuditLog.action == "story.ready_override"
                )
            )
        )


def _actions(message: Call) -> dict:
    return next(b for b in message.params["blocks"] if b["type"] == "actions")


def _button(message: Call, action_id: str) -> str:
    return next(e["value"] for e in _actions(message)["elements"] if e["action_id"] == action_id)


def test_warn_moves_and_says_what_is_missing(slack, slack_db):
    create_project(slack, "Web shop", "WEB")  # warn: the default
    card = create_story(slack, "WEB", "fix stuff", **NOT_READY)
    block_id = _actions(card)["block_id"]
    _, url = slack.block_action(ids.STORY_STATUS, selected_option="READY", block_id=block_id)
    moved = slack.fake.wait_response(url)
    assert moved.params["replace_original"] is True
    text = moved.text_of()
    assert "WEB-1 moved to READY, but it is not ready: 4 things to fix (below)." in text
    assert "21 points is too big for one sprint" in text
    assert _stories(slack_db, slack.team_id)[1].status == "READY"
    assert _overrides(slack_db, slack.team_id) == []


def test_off_moves_without_a_word_about_readiness(slack, slack_db):
    create_project(slack, "Web shop", "WEB", ready_check="off")
    create_story(slack, "WEB", "fix stuff", **NOT_READY)
    said = answer_to(slack, "/story", "move WEB-1 in progress").text_of()
    assert "WEB-1 moved to IN_PROGRESS." in said and "not ready" not in said
    assert _stories(slack_db, slack.team_id)[1].status == "IN_PROGRESS"


def test_require_holds_a_slash_move_until_move_anyway(slack, slack_db):
    shown = create_project(slack, "Web shop", "WEB", ready_check="require")
    assert "Definition of Ready require" in shown.text_of()
    create_story(slack, "WEB", "fix stuff", **NOT_READY)

    held = answer_to(slack, "/story", "move WEB-1 READY")
    assert held.params["response_type"] == "ephemeral"
    text = held.text_of()
    assert "*WEB-1* fix stuff is not ready for *READY*: 4 things to fix." in text
    assert "No acceptance criteria: add 2 to 6" in text
    assert "who did is recorded in the audit log" in text
    assert _stories(slack_db, slack.team_id)[1].status == "DRAFT"
    assert _overrides(slack_db, slack.team_id) == []

    # someone of another workspace cannot use the button's value
    value = _button(held, ids.STORY_MOVE_ANYWAY)
    _, url = slack.as_workspace("T0OTHER", "U0EVE").block_action(ids.STORY_MOVE_ANYWAY, value=value)
    assert "No such story in this workspace." in slack.fake.wait_response(url).text_of()
    assert _stories(slack_db, slack.team_id)[1].status == "DRAFT"

    _, url = slack.block_action(ids.STORY_MOVE_ANYWAY, value=value)
    moved = slack.fake.wait_response(url)
    assert moved.params["replace_original"] is True
    assert "WEB-1 moved to READY anyway, 4 things to fix; the override is in the audit log." in (
        moved.text_of()
    )
    assert _stories(slack_db, slack.team_id)[1].status == "READY"
    [override] = _overrides(slack_db, slack.team_id)
    with slack_db.read() as s:
        assert s.get(User, override.user_id).slack_user_id == slack.user_id
    assert override.details["to"] == "READY"
    assert override.details["findings"] == [
        "title_vague",
        "user_value",
        "criteria_count",
        "too_big",
    ]
    # DONE is not held; nor is a story moved back
    assert "moved to DONE." in answer_to(slack, "/story", "move WEB-1 DONE").text_of()


def test_require_holds_the_status_select_and_cancel_moves_nothing(slack, slack_db):
    create_project(slack, "Web shop", "WEB", ready_check="require")
    card = create_story(slack, "WEB", "fix stuff", **NOT_READY)
    block_id = _actions(card)["block_id"]
    _, url = slack.block_action(ids.STORY_STATUS, selected_option="IN_PROGRESS", block_id=block_id)
    held = slack.fake.wait_response(url)
    assert not held.params.get("replace_original")  # beside the card, which stays
    assert "not ready for *IN_PROGRESS*" in held.text_of()

    _, url = slack.block_action(ids.STORY_MOVE_CANCEL, value=_button(held, ids.STORY_MOVE_CANCEL))
    cancelled = slack.fake.wait_response(url)
    assert cancelled.params["replace_original"] is True
    assert "WEB-1 was not moved to IN_PROGRESS; it stays DRAFT." in cancelled.text_of()
    assert _stories(slack_db, slack.team_id)[1].status == "DRAFT"
    assert _overrides(slack_db, slack.team_id) == []


def test_unknown_keys_and_words_change_nothing(slack, slack_db):
    create_project(slack, "Web shop", "WEB", ready_check="require")
    assert "No story WEB-9" in answer_to(slack, "/story", "move WEB-9 READY").text_of()
    create_story(slack, "WEB", "fix stuff", **NOT_READY)
    said = answer_to(slack, "/story", "move WEB-1 soon").text_of()
    assert "'soon' is not a status" in said
    assert _stories(slack_db, slack.team_id)[1].status == "DRAFT"


def test_the_project_form_edits_the_definition_of_ready(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    view = open_form(slack, "/project", "edit WEB")
    block = next(b for b in view["blocks"] if b["block_id"] == "ready_check")
    assert block["element"]["initial_option"]["value"] == "warn"
    assert [o["value"] for o in block["element"]["options"]] == ["off", "warn", "require"]
    assert submit(slack, view, ready_check="require").status == 200
    create_story(slack, "WEB", "fix stuff", **NOT_READY)
    assert "not ready for" in answer_to(slack, "/story", "move WEB-1 READY").text_of()


def test_require_holds_a_move_made_in_the_edit_form_until_the_story_is_fixed(slack, slack_db):
    create_project(slack, "Web shop", "WEB", ready_check="require")
    create_story(slack, "WEB", "fix stuff", **NOT_READY)
    view = open_form(slack, "/story", "edit WEB-1")
    reply = submit(slack, view, status="READY")
    assert reply.status == 200
    errors = reply.json["errors"]
    assert list(errors) == ["status"]
    assert errors["status"].startswith("Not ready for READY (")
    assert "/story move WEB-1 READY" in errors["status"] and len(errors["status"]) <= 2000
    assert _stories(slack_db, slack.team_id)[1].status == "DRAFT"  # nothing saved
    fixed = {
        "title": "Reset a forgotten password",
        "description": "As a shopper, I want to reset my password, so that I can sign in again.",
        "acceptance_criteria": "Given a known email, when I ask, then a reset link is sent\n"
        "Given an expired link, when I open it, then I am asked to request a new one",
        "story_points": "3",
    }
    reply = submit(slack, view, status="READY", **fixed)
    assert reply.status == 200 and not reply.body, reply.text
    story = _stories(slack_db, slack.team_id)[1]
    assert (story.status, story.title) == ("READY", "Reset a forgotten password")


def test_require_holds_a_story_made_straight_into_ready(slack, slack_db):
    create_project(slack, "Web shop", "WEB", ready_check="require")
    view = open_form(slack, "/story", "new WEB")
    reply = submit(slack, view, title="fix stuff", status="READY", **NOT_READY)
    assert reply.json["response_action"] == "errors"
    assert list(reply.json["errors"]) == ["status"]
    assert _stories(slack_db, slack.team_id) == {}  # nothing saved
    reply = submit(slack, view, title="fix stuff", status="DRAFT", **NOT_READY)
    assert reply.status == 200 and not reply.body, reply.text
    assert _stories(slack_db, slack.team_id)[1].status == "DRAFT"
