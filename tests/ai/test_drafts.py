"""Reviewing drafts on SQLite and PostgreSQL: save, edit, discard, split, regenerate, retry."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.errors import NotFound, ValidationFailed
from storage.generation import queue
from storage.generation.drafts import (
    DraftReview,
    discard_draft,
    load_drafts,
    open_drafts,
    regenerate,
    save_drafts,
    split_draft,
)
from storage.generation.form import generate_form
from storage.generation.lookalikes import draft_lookalikes
from storage.models import GenerationRequest, UserStory
from storage.stories import create_story
from storage.users import ensure_user
from tests.ai.conftest import seed_project
from tests.fakes.anthropic_api import sample_story
from tests.statements import statements

ASK = {"feature": "Reset password by email", "count": 2, "include_tasks": True}


def completed(db: Database, actor, stories: list[dict]) -> str:
    with db.write() as s:
        rid = queue.enqueue_generation(s, actor, "WEB", ASK, rate_limit_per_minute=100).id
        queue.claim_next(s, "w")
        queue.complete_request(
            s,
            rid,
            "w",
            response_data={"stories": stories, "offline": False},
            processing_time=1.0,
            ai_model="claude-x",
            input_tokens=5,
            output_tokens=9,
        )
    return rid


def open_review(db: Database, actor, rid: str) -> DraftReview:
    """Open the review as the app does: look-alikes in a read, then a short write."""
    with db.read() as s:
        lookalikes = draft_lookalikes(s, actor, rid)
    with db.write() as s:
        return open_drafts(s, actor, rid, lookalikes=lookalikes)


def test_review_save_edit_discard(db: Database) -> None:
    actor = seed_project(db)
    with db.write() as s:
        create_story(s, actor, "WEB", {"title": "Reset password by email", "description": "d"})
    three = [
        sample_story(0, "x") | {"title": "Reset the password by email link"},
        sample_story(1, "y") | {"title": "Lock account after failures"},
        sample_story(2, "z") | {"title": "Audit password changes"},
    ]
    rid = completed(db, actor, three)
    review = open_review(db, actor, rid)
    assert [d.state for d in review.drafts] == ["open", "open", "open"]
    assert review.drafts[0].similar == [{"key": "WEB-1", "title": "Reset password by email"}]
    assert review.drafts[1].similar == []

    with db.write() as s:
        review = save_drafts(
            s, actor, review.token, [1], changes={"title": "Lock the account after 5 failures"}
        )
        review = discard_draft(s, actor, review.token, 2)
    assert [(d.state, d.key) for d in review.drafts] == [
        ("open", None),
        ("saved", "WEB-2"),
        ("discarded", None),
    ]
    with pytest.raises(ValidationFailed), db.write() as s:
        save_drafts(s, actor, review.token, [2])  # discarded: nothing saved
    with db.write() as s:
        review = save_drafts(s, actor, review.token)  # "Save all": the open one
    with db.read() as s:
        saved = {u.number: u for u in s.scalars(select(UserStory))}
    assert saved[2].title == "Lock the account after 5 failures"
    assert saved[2].meta["generation_request_id"] == rid
    assert saved[2].meta["complexity"] == "medium"
    assert saved[3].title == "Reset the password by email link"
    assert saved[3].tasks == ["Build the API", "Build the UI", "Write tests"]
    assert review.open_drafts == []


def test_lookalikes_cost_one_query_per_draft_and_none_in_the_write(db: Database) -> None:
    actor = seed_project(db)
    with db.write() as s:
        create_story(s, actor, "WEB", {"title": "Reset password by email", "description": "d"})
        create_story(s, actor, "WEB", {"title": "Export the backlog to CSV", "description": "d"})
        create_story(s, actor, "WEB", {"title": "Unrelated", "description": "password email"})
    titles = [
        "Reset the forgotten password by email link within fifteen minutes of asking",
        "Export every story of the backlog as a CSV spreadsheet file for the finance team",
        "Show a weekly burndown chart of points finished per sprint on the project home page",
        "Warn before a deleted story takes its tasks and acceptance criteria along with it",
        "And the",  # no word to look for: no query
    ]
    rid = completed(db, actor, [sample_story(i, "x") | {"title": t} for i, t in enumerate(titles)])
    with statements(db) as sent, db.read() as s:
        lookalikes = draft_lookalikes(s, actor, rid)
    assert lookalikes == [
        [{"key": "WEB-1", "title": "Reset password by email"}],
        [{"key": "WEB-2", "title": "Export the backlog to CSV"}],
        [],
        [],
        [],
    ]
    searches = [q for q in sent if "stories_fts" in q or "search_vector" in q]
    assert len(searches) == 4, sent  # one per draft with words, however many words
    assert len(sent) <= 4 + 2, sent  # and the request (with BEGIN or the plan setting)
    with statements(db) as sent, db.write() as s:
        review = open_drafts(s, actor, rid, lookalikes=lookalikes)
    assert not [q for q in sent if "user_stories" in q], sent  # no look-up in the write
    assert review.drafts[1].similar == [{"key": "WEB-2", "title": "Export the backlog to CSV"}]


def test_saving_is_all_or_nothing(db: Database) -> None:
    actor = seed_project(db)
    bad = sample_story(1, "y") | {"title": "   "}  # the story rules refuse an empty title
    rid = completed(db, actor, [sample_story(0, "x"), bad])
    token = open_review(db, actor, rid).token
    with pytest.raises(ValidationFailed), db.write() as s:
        save_drafts(s, actor, token)
    with db.read() as s:
        assert s.scalars(select(UserStory)).all() == []
        assert [d.state for d in load_drafts(s, actor, token).drafts] == ["open", "open"]


def test_drafts_are_the_askers_alone(db: Database) -> None:
    actor = seed_project(db)
    rid = completed(db, actor, [sample_story(0, "x")])
    token = open_review(db, actor, rid).token
    with db.write() as s:
        colleague = ensure_user(s, "T1", "U2")
        stranger = ensure_user(s, "T2", "U3")
    for other in (colleague, stranger):
        with pytest.raises(NotFound), db.write() as s:
            save_drafts(s, other, token)
    with pytest.raises(NotFound), db.write() as s:
        open_drafts(s, stranger, rid, lookalikes=[[]])
    with pytest.raises(NotFound), db.read() as s:
        draft_lookalikes(s, stranger, rid)


def test_split_and_regenerate_queue_new_requests_carrying_drafts(db: Database) -> None:
    actor = seed_project(db)
    big = sample_story(1, "y") | {"story_points": 21}
    rid = completed(db, actor, [sample_story(0, "x"), big])
    token = open_review(db, actor, rid).token
    with db.write() as s:
        save_drafts(s, actor, token, [0])
        split = split_draft(s, actor, token, 1, rate_limit_per_minute=100)
        again = regenerate(s, actor, token, "fewer points", rate_limit_per_minute=100)
    assert split.request_data["split_story"]["story_points"] == 21
    assert split.request_data["count"] == 3
    assert [d["state"] for d in split.request_data["carry"]] == ["saved"]
    assert again.request_data["feedback"] == "fewer points"
    assert [d["key"] for d in again.request_data["carry"]] == ["WEB-1"]
    with db.read() as s:
        states = [d.state for d in load_drafts(s, actor, token).drafts]
    assert states == ["saved", "splitting"]
    with pytest.raises(ValidationFailed), db.write() as s:
        regenerate(s, actor, token, "  ", rate_limit_per_minute=100)


def test_retry_only_a_failed_request(db: Database) -> None:
    actor = seed_project(db)
    rid = completed(db, actor, [sample_story(0, "x")])
    with pytest.raises(ValidationFailed), db.write() as s:
        queue.retry_request(s, actor, rid, rate_limit_per_minute=100)
    with db.write() as s:
        failed = queue.enqueue_generation(s, actor, "WEB", ASK, rate_limit_per_minute=100)
        queue.claim_next(s, "w")
        queue.fail_request(s, failed.id, "w", error_message="Claude is overloaded")
        retried = queue.retry_request(s, actor, failed.id, rate_limit_per_minute=100)
    assert retried.status == "PENDING" and retried.request_data["retry_of"] == failed.id
    with db.read() as s:
        assert len(s.scalars(select(GenerationRequest)).all()) == 3


def test_generate_form_reads_project_and_feature(db: Database) -> None:
    actor = seed_project(db)
    with db.read() as s:
        form = generate_form(
            s, actor, "web Users export CSV", channel_id=None, rate_limit_per_minute=10
        )
        only = generate_form(
            s, actor, "Users export CSV", channel_id=None, rate_limit_per_minute=10
        )
    assert form.initial["feature"] == "Users export CSV"
    assert form.initial["project"] == form.projects[0].id
    assert only.initial["feature"] == "Users export CSV"  # the only project is chosen
    assert only.initial["project"] == form.projects[0].id
