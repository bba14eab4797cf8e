"""Safety: user text escaped, workspaces apart, Slack's 429 retried, failures told kindly."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.ui import ids
from storage.models import UserStory
from tests.handlers.flows import answer_to, create_project, create_story, open_form, submit

NASTY = "<!channel> & <https://evil.example|click> <@U0BOSS>"


def _all_text_fields(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append((node.get("type"), value))
            else:
                _all_text_fields(value, out)
    elif isinstance(node, list):
        for item in node:
            _all_text_fields(item, out)
    return out


def _assert_no_live_markup(params):
    """No mrkdwn text holds the raw user text: every <, > and & from it is escaped."""
    for kind, text in _all_text_fields(params, []):
        if kind == "plain_text":
            continue
        assert "<!channel>" not in text, text
        assert "<https://evil" not in text, text
        assert "<@U0BOSS>" not in text, text


def test_user_text_is_escaped_everywhere_it_is_shown(slack):
    create_project(slack, "Web & <b>", "WEB", description=NASTY)
    card = create_story(
        slack,
        "WEB",
        NASTY,
        description=NASTY,
        acceptance_criteria=NASTY,
        tags="<!here>",
    )
    _assert_no_live_markup(card.params)
    text = card.text_of()
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert "&lt;!here&gt;" in text
    for command, words in [
        ("/story", "show WEB-1"),
        ("/story", "list WEB"),
        ("/story", "search channel"),
        ("/project", "show WEB"),
        ("/project", "list"),
        ("/story", "delete WEB-1"),
        ("/project", "show <!everyone>"),
    ]:
        _assert_no_live_markup(answer_to(slack, command, words).params)
    slack.app_home_opened()
    home = slack.fake.wait_for("views.publish", lambda c: "evil" in c.text_of())
    _assert_no_live_markup(home.params)


def test_two_workspaces_side_by_side_cannot_see_each_other(slack, slack_db):
    a = slack
    b = slack.as_workspace(team_id=slack.team_id + "B", user_id="UB0001")
    create_project(a, "Web shop", "WEB")
    create_story(a, "WEB", "Secret plan")
    create_project(b, "Web shop", "WEB")  # the same key is free in another workspace
    create_story(b, "WEB", "Their plan")
    assert "Secret plan" not in answer_to(b, "/story", "show WEB-1").text_of()
    assert "Their plan" in answer_to(b, "/story", "show WEB-1").text_of()
    assert "Secret plan" not in answer_to(b, "/story", "list").text_of()
    assert "Secret plan" not in answer_to(b, "/story", "search secret").text_of()
    # b sends a's story id in a button: refused, a's story untouched
    with slack_db.read() as s:
        secret = s.scalars(select(UserStory).where(UserStory.title == "Secret plan")).one()
    for action in (ids.STORY_DELETE, ids.STORY_EDIT, ids.STORY_ASSIGN):
        _, url = b.block_action(action, value=secret.id)
        assert b.fake.wait_response(url).params["response_type"] == "ephemeral"
    _, url = b.block_action(ids.STORY_STATUS, selected_option="DONE", block_id=f"story:{secret.id}")
    b.fake.wait_response(url)
    with slack_db.read() as s:
        still = s.get(UserStory, secret.id)
        assert (still.title, still.status) == ("Secret plan", "DRAFT")
    # b's admin is not a's admin
    assert "Only a workspace admin" not in answer_to(b, "/autodev", "audit").text_of()
    entries = answer_to(b, "/autodev", "audit 50").text_of()
    assert "Secret plan" not in entries and a.user_id not in entries


def test_a_429_from_slack_is_retried(slack):
    create_project(slack, "Web shop", "WEB")
    slack.fake.reset()
    slack.fake.rate_limit("views.open", retry_after=1)
    slack.command("/story", "new WEB")
    opened = slack.fake.wait_for("views.open", count=2, timeout=10)
    assert opened.params["view"]["callback_id"] == ids.STORY_MODAL
    first, second = slack.fake.calls_to("views.open")
    assert second.at - first.at >= 0.9  # waited for Retry-After


def test_slack_refusing_a_call_gets_a_kind_message_not_a_traceback(slack):
    create_project(slack, "Web shop", "WEB")
    slack.fake.fail("views.open", "expired_trigger_id")
    _, url = slack.command("/story", "new WEB")
    told = slack.fake.wait_response(url)
    assert told.params["response_type"] == "ephemeral"
    assert "something went wrong on our side" in told.text_of()
    assert "Traceback" not in json.dumps(told.params)
    assert "expired_trigger_id" not in told.text_of()


def test_a_modal_from_an_expired_session_is_refused_inline(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    view = open_form(slack, "/story", "new WEB")
    view = {**view, "private_metadata": "not-a-token"}
    reply = submit(slack, view, title="T", description="D")
    assert reply.json["response_action"] == "errors"
    assert "expired" in json.dumps(reply.json["errors"])
    with slack_db.read() as s:
        assert s.scalars(select(UserStory).where(UserStory.team_id == slack.team_id)).all() == []


def test_a_story_form_submitted_twice_makes_one_story(slack, slack_db):
    """A double click (or Slack's retry) sends the same modal again: its token was spent
    with the first story, so the second is refused inline and nothing more is written."""
    create_project(slack, "Web shop", "WEB")
    view = open_form(slack, "/story", "new WEB")
    first = submit(slack, view, title="Checkout", description="As a buyer I pay")
    assert first.status == 200 and not first.text.strip()
    again = submit(slack, view, title="Checkout", description="As a buyer I pay")
    assert again.json["response_action"] == "errors"
    assert "expired" in json.dumps(again.json["errors"])
    with slack_db.read() as s:
        titles = s.scalars(select(UserStory.title).where(UserStory.team_id == slack.team_id))
        assert list(titles) == ["Checkout"]
