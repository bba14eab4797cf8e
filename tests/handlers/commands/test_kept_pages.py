"""`/story list` of a project answered from the page kept for its content version
(bot/pages.py, migration 0007): a repeated list does not read the stories again, and every
change shows in the next list, whoever made it, in this process or outside it."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database
from tests.handlers.flows import answer_to, create_project, create_story
from tests.statements import statements


def rows(slack, words: str = "list WEB") -> list[str]:
    answer = answer_to(slack, "/story", words)
    return [
        b["text"]["text"]
        for b in answer.params["blocks"]
        if b.get("block_id", "").startswith("story:")
    ]


def title(slack, words: str = "list WEB") -> str:
    answer = answer_to(slack, "/story", words)
    return next(b["text"]["text"] for b in answer.params["blocks"] if b["type"] == "header")


def test_a_repeated_list_does_not_read_the_stories_again(slack, slack_db) -> None:
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Log in")
    first = answer_to(slack, "/story", "list WEB")
    with statements(slack_db) as sent:
        again = answer_to(slack, "/story", "list WEB")
    assert again.params["blocks"] == first.params["blocks"]
    assert sent and not [s for s in sent if "user_stories" in s], sent  # the project's row only


def test_a_change_through_the_app_shows_in_the_next_list(slack) -> None:
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Log in")
    assert "DRAFT" in rows(slack)[0]
    answer_to(slack, "/story", "move WEB-1 READY")
    assert "READY" in rows(slack)[0]
    create_story(slack, "WEB", "Log out")
    assert len(rows(slack)) == 2
    answer_to(slack, "/story", "delete WEB-2")  # asks first: nothing changes yet
    assert len(rows(slack)) == 2


def test_a_change_made_outside_this_process_shows_in_the_next_list(slack, slack_db) -> None:
    """Another process (a replica, the scheduler, an operator's SQL) shares no memory with
    the server: the version its change gave the project is what retires the kept page."""
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Log in")
    assert "Log in" in rows(slack)[0]
    elsewhere = Database(slack_db.url)
    try:
        with elsewhere.write() as s:
            s.execute(text("UPDATE user_stories SET title = 'Sign in' WHERE team_id = :t"),
                      {"t": slack.team_id})  # fmt: skip
        assert "Sign in" in rows(slack)[0]
        with elsewhere.write() as s:  # the project itself: its names are part of the page
            s.execute(text("UPDATE projects SET name = 'Storefront' WHERE team_id = :t"),
                      {"t": slack.team_id})  # fmt: skip
        assert title(slack).startswith("Storefront")
    finally:
        elsewhere.dispose()


def test_pages_are_per_member_filter_and_workspace(slack) -> None:
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Mine", assignee=slack.user_id)
    create_story(slack, "WEB", "Nobody's")
    mine = rows(slack, "list WEB mine")
    assert len(mine) == 1 and "Mine" in mine[0]
    other = slack.as_user("U0OTHER")
    answer_to(other, "/story", "help")  # a first request makes the member
    assert rows(other, "list WEB mine") == []
    assert len(rows(other, "list WEB")) == 2
    # another workspace with a project of the same key sees its own, never the kept page
    tenant = slack.as_workspace(team_id=slack.team_id + "X", user_id="U0TENANT")
    create_project(tenant, "Their shop", "WEB")
    assert rows(tenant) == []
    assert title(tenant).startswith("Their shop")
