"""Drill: Slack's Web API rate-limits, fails and stalls; users still get an answer, once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Session, UserStory
from tests.drills.conftest import signed_slack
from tests.handlers.flows import create_project, open_form, submit

FAILURE = "something went wrong"


def _count(db_url: str, model, **where) -> int:
    db = Database(db_url)
    try:
        with db.read() as s:
            query = select(func.count()).select_from(model)
            for column, value in where.items():
                query = query.where(getattr(model, column) == value)
            return s.scalar(query)
    finally:
        db.dispose()


@pytest.fixture
def workspace(serve, unreliable_slack):
    """A running server and a member whose workspace has the project WEB."""
    server = serve()
    slack = signed_slack(server, unreliable_slack)
    create_project(slack, "Web shop", "WEB")
    unreliable_slack.reset()
    return server, slack


def test_rate_limited_call_is_retried_after_retry_after(workspace, unreliable_slack, drill_db_url):
    _, slack = workspace
    unreliable_slack.rate_limit("views.open", retry_after=1)
    reply, _ = slack.command("/story", "new WEB")
    assert reply.status == 200
    second = unreliable_slack.wait_for("views.open", count=2, timeout=10)
    first = unreliable_slack.calls_to("views.open")[0]
    assert second.at - first.at >= 0.9  # Retry-After was honoured
    # the same modal (same session token) was asked for twice; one session was written
    assert first.params["view"]["private_metadata"] == second.params["view"]["private_metadata"]
    assert _count(drill_db_url, Session, team_id=slack.team_id, kind="modal") == 1
    time.sleep(0.5)
    assert len(unreliable_slack.calls_to("views.open")) == 2


def test_failed_answer_falls_back_to_a_dm_and_the_story_is_written_once(
    workspace, unreliable_slack, drill_db_url
):
    _, slack = workspace
    view = open_form(slack, "/story", "new WEB")
    unreliable_slack.server_error("response_url")
    reply = submit(slack, view, title="Checkout page", description="Pay for the basket.")
    assert reply.status == 200 and not reply.body
    dm = unreliable_slack.wait_for("chat.postMessage", timeout=10)
    assert dm.params["channel"] == slack.user_id
    assert "Checkout page" in dm.text_of()
    assert _count(drill_db_url, UserStory, team_id=slack.team_id) == 1


def test_web_api_server_error_gives_a_clear_failure_and_no_duplicate(
    workspace, unreliable_slack, drill_db_url
):
    _, slack = workspace
    unreliable_slack.server_error("views.open", times=5)
    reply, response_url = slack.command("/story", "new WEB")
    assert reply.status == 200
    answer = unreliable_slack.wait_response(response_url, timeout=10)
    assert FAILURE in answer.text_of().lower()
    assert len(unreliable_slack.calls_to("views.open")) == 1  # a 500 is not blindly retried
    assert _count(drill_db_url, Session, team_id=slack.team_id, kind="modal") == 1


def test_a_stalled_web_api_times_out_with_a_clear_failure(
    workspace, unreliable_slack, drill_db_url
):
    _, slack = workspace
    unreliable_slack.stall("views.open", 13.0)  # the app's Web API client waits 10 s
    started = time.monotonic()
    reply, response_url = slack.command("/story", "new WEB")
    assert reply.status == 200
    assert time.monotonic() - started < 3.0  # the ack never waits for Slack's Web API
    answer = unreliable_slack.wait_response(response_url, timeout=25)
    assert FAILURE in answer.text_of().lower()
    # a timed-out call may have reached Slack: it is not retried, nothing is written twice
    assert len(unreliable_slack.calls_to("views.open")) == 1
    assert _count(drill_db_url, Session, team_id=slack.team_id, kind="modal") == 1


def test_a_stalled_answer_after_a_write_still_shows_the_story(
    workspace, unreliable_slack, drill_db_url
):
    _, slack = workspace
    view = open_form(slack, "/story", "new WEB")
    unreliable_slack.stall("response_url", 13.0)  # the card's post times out (10 s)
    reply = submit(slack, view, title="Refund flow", description="Money back.")
    assert reply.status == 200 and not reply.body
    dm = unreliable_slack.wait_for("chat.postMessage", timeout=25)
    assert _count(drill_db_url, UserStory, team_id=slack.team_id) == 1
    # the member learns the story exists, not that they should try (and create it) again
    assert "Refund flow" in dm.text_of()
    assert "try again" not in dm.text_of().lower()
