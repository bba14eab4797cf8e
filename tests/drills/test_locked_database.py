"""Drill: another process holds the SQLite write lock for 2 s; commands wait, then succeed."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import func, select

from bot.ui import ids
from storage.db import Database
from storage.models import Session, UserStory
from tests.drills.conftest import signed_slack
from tests.fakes.slack_api import answer_of
from tests.handlers.flows import create_project, create_story, open_form, submit

HOLD_SECONDS = 2.0


def test_commands_wait_for_a_locked_database_and_succeed(serve, unreliable_slack, drill_db_url):
    server = serve()
    slack = signed_slack(server, unreliable_slack)
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    block_id = next(b for b in card.params["blocks"] if b["type"] == "actions")["block_id"]
    view = open_form(slack, "/story", "new WEB")

    # another writer (a migration, a restore check, a second tool) takes the write lock
    locker = sqlite3.connect(
        drill_db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    locker.execute("BEGIN IMMEDIATE")
    locked_at = time.monotonic()
    release = threading.Timer(HOLD_SECONDS, lambda: locker.execute("COMMIT"))
    release.start()
    try:
        submitted: dict = {}

        def submit_story() -> None:
            t0 = time.monotonic()
            submitted["reply"] = submit(
                slack,
                view,
                title="Written while waiting",
                description="Waits for the other writer.",
            )
            submitted["seconds"] = time.monotonic() - t0

        submitter = threading.Thread(target=submit_story)
        submitter.start()
        listed, _ = slack.command("/story", "list WEB")
        listed_at = time.monotonic()
        clicked, click_url = slack.block_action(
            ids.STORY_STATUS, selected_option="DONE", block_id=block_id
        )
        # the acks do not wait for the lock: a read answers in its ack from a read
        # transaction beside the writer; a change acks first, then does its work
        assert listed.status == 200 and clicked.status == 200
        assert listed_at < locked_at + HOLD_SECONDS * 0.9
        assert "Reset password" in listed.message().text_of()
        submitter.join(timeout=15)
    finally:
        release.join()
        locker.close()

    # the modal's write happens before its ack: it waited for the lock, inside Slack's 3 s
    assert submitted["reply"].status == 200 and not submitted["reply"].body
    assert HOLD_SECONDS * 0.8 < submitted["seconds"] < 3.0

    click_answer = unreliable_slack.wait_response(click_url, timeout=15)
    assert "Moved to DONE." in click_answer.text_of()
    # the change really waited for the other writer (and then succeeded)
    assert click_answer.at >= locked_at + HOLD_SECONDS * 0.9

    every_text = "\n".join(c.text_of() for c in unreliable_slack.calls)
    assert "database is locked" not in every_text.lower()
    assert "went wrong" not in every_text.lower()
    assert "database is locked" not in server.log_tail(100_000)

    db = Database(drill_db_url)
    try:
        with db.read() as s:
            count = s.scalar(select(func.count()).select_from(UserStory))
            statuses = set(s.scalars(select(UserStory.status)))
            # a list writes nothing (its first page keeps no state)
            pagings = s.scalar(
                select(func.count()).select_from(Session).where(Session.kind == "story_list")
            )
    finally:
        db.dispose()
    assert count == 2
    assert "DONE" in statuses
    assert pagings == 0


def test_reading_commands_answer_while_another_writer_holds_the_lock(
    serve, unreliable_slack, drill_db_url
):
    server = serve()
    slack = signed_slack(server, unreliable_slack)
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")

    locker = sqlite3.connect(
        drill_db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    locker.execute("BEGIN IMMEDIATE")  # held until every answer below has arrived
    try:
        answers = {}
        for command, text in [
            ("/story", "show WEB-1"),
            ("/story", "search password"),
            ("/project", "list"),
        ]:
            acked, url = slack.command(command, text)
            assert acked.status == 200
            answers[text] = answer_of(unreliable_slack, acked, url, timeout=10).text_of()
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert "Reset password" in answers["show WEB-1"]
    assert "Reset password" in answers["search password"]
    assert "Web shop" in answers["list"]
