"""/project through signed HTTP: help, the form opened, show, permissions, link, delete."""

from __future__ import annotations

from sqlalchemy import select

from bot.ui import ids
from storage.models import Project
from tests.handlers.flows import answer_to, create_project, open_form, submit


def _projects(db, team):
    with db.read() as s:
        return list(s.scalars(select(Project).where(Project.team_id == team)))


def test_help_and_unknown_words_answer_usage_ephemerally(slack, slack_db):
    for text in ("help", "", "frobnicate"):
        answer = answer_to(slack, "/project", text)
        assert answer.params["response_type"] == "ephemeral"
        assert "/project new" in answer.text_of()
    assert "I don't know" in answer.text_of() and "frobnicate" in answer.text_of()
    assert _projects(slack_db, slack.team_id) == []


def test_new_opens_a_modal_with_every_field(slack):
    view = open_form(slack, "/project", "new")
    assert view["callback_id"] == ids.PROJECT_MODAL
    blocks = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert blocks == [
        "name",
        "key",
        "description",
        "repository_url",
        "default_priority",
        "story_template",
        "include_tasks",
        "auto_assign_points",
        "ready_check",
    ]
    assert len(view["title"]["text"]) <= 24


def test_unknown_project_suggests_a_close_name(slack):
    create_project(slack, "web", "WEB")
    answer = answer_to(slack, "/project", "show webb")
    assert answer.params["response_type"] == "ephemeral"
    assert "No project named 'webb'. Did you mean 'web'?" in answer.text_of()
    assert "Say which project" in answer_to(slack, "/project", "show").text_of()


def test_only_owner_or_admin_edits_links_or_deletes(slack, slack_db):
    create_project(slack, "Web shop", "WEB")  # the first member: admin and owner
    other = slack.as_user("U_OTHER")
    view = open_form(other, "/project", "edit WEB")
    reply = submit(other, view, name="Hijacked")
    assert reply.json["response_action"] == "errors"
    assert "Only the owner" in reply.json["errors"]["name"]
    assert "Only the owner" in answer_to(other, "/project", "link WEB").text_of()
    confirm = answer_to(other, "/project", "delete WEB")
    button = confirm.params["blocks"][1]["elements"][0]
    _, url = other.block_action(button["action_id"], value=button["value"])
    assert "Only the owner" in slack.fake.wait_response(url).text_of()
    (project,) = _projects(slack_db, slack.team_id)
    assert project.name == "Web shop" and project.channel_id is None


def test_link_makes_it_the_channels_project(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    answer = answer_to(slack, "/project", "link WEB")
    assert "this channel's project" in answer.text_of()
    (project,) = _projects(slack_db, slack.team_id)
    assert project.channel_id == slack.channel_id
    # a story form opened in that channel preselects the project
    view = open_form(slack, "/story", "new")
    project_block = next(b for b in view["blocks"] if b.get("block_id") == "project")
    assert project_block["element"]["initial_option"]["value"] == project.id


def test_delete_asks_first_then_deletes(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    confirm = answer_to(slack, "/project", "delete WEB")
    assert "cannot be undone" in confirm.text_of()
    assert len(_projects(slack_db, slack.team_id)) == 1
    button = confirm.params["blocks"][1]["elements"][0]
    assert button["confirm"]["title"]["text"] == "Delete this project?"
    _, url = slack.block_action(ids.PROJECT_DELETE, value=button["value"])
    done = slack.fake.wait_response(url)
    assert done.params["replace_original"] is True
    assert "deleted" in done.text_of()
    assert _projects(slack_db, slack.team_id) == []


def test_deleting_a_project_redraws_the_home_of_everyone_with_one_of_its_stories(slack):
    from tests.handlers.flows import create_story

    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password", assignee="U0BOB")
    slack.fake.wait_for("views.publish", lambda c: c.params["user_id"] == "U0BOB")
    slack.fake.reset()
    confirm = answer_to(slack, "/project", "delete WEB")
    button = confirm.params["blocks"][1]["elements"][0]
    slack.block_action(ids.PROJECT_DELETE, value=button["value"])
    bob = slack.fake.wait_for("views.publish", lambda c: c.params["user_id"] == "U0BOB")
    assert "Reset password" not in bob.text_of()
