"""The project form submitted: inline errors that save nothing, or the project saved and shown."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Project
from tests.handlers.flows import RESPONSE_URL, answer_to, create_project, open_form, submit


def _projects(db, team):
    with db.read() as s:
        return list(s.scalars(select(Project).where(Project.team_id == team)))


def test_invalid_project_comes_back_as_inline_errors_and_saves_nothing(slack, slack_db):
    view = open_form(slack, "/project", "new")
    reply = submit(slack, view, name="Web", key="1x", repository_url="ftp://nope")
    assert reply.status == 200
    assert reply.json["response_action"] == "errors"
    assert set(reply.json["errors"]) == {"key", "repository_url"}
    assert "capital" in reply.json["errors"]["key"]
    assert _projects(slack_db, slack.team_id) == []
    # the same modal fixed and sent again goes through (the session is still there)
    reply = submit(slack, view, name="Web", key="WEB")
    assert reply.status == 200 and not reply.body
    slack.fake.wait_response(view[RESPONSE_URL])
    (project,) = _projects(slack_db, slack.team_id)
    assert (project.name, project.key) == ("Web", "WEB")


def test_create_shows_the_project_and_list_show_find_it(slack, slack_db):
    view = open_form(slack, "/project", "new")
    submit(
        slack,
        view,
        name="Web shop",
        key="WEB",
        description="The shop",
        default_priority="HIGH",
        include_tasks=False,
    )
    card = slack.fake.wait_response(view[RESPONSE_URL])
    assert "Project created." in card.text_of() and "Web shop" in card.text_of()
    (project,) = _projects(slack_db, slack.team_id)
    assert project.settings["default_priority"] == "HIGH"
    assert project.settings["include_tasks"] is False
    assert "WEB" in answer_to(slack, "/project", "list").text_of()
    shown = answer_to(slack, "/project", "show web shop").text_of()
    assert "The shop" in shown and "HIGH" in shown


def test_edit_opens_prefilled_and_saves_changes(slack, slack_db):
    create_project(slack, "Web shop", "WEB", description="old")
    view = open_form(slack, "/project", "edit WEB")
    initial = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert initial["name"]["initial_value"] == "Web shop"
    assert initial["description"]["initial_value"] == "old"
    assert submit(slack, view, description="new words").status == 200
    assert "Project updated." in slack.fake.wait_response(view[RESPONSE_URL]).text_of()
    (project,) = _projects(slack_db, slack.team_id)
    assert project.description == "new words"
