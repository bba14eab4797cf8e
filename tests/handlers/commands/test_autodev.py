"""/autodev through signed HTTP: help, me, audit, admin, and the words of other features."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from storage.models import GenerationRequest, User
from tests.handlers.flows import answer_to, create_project, create_story


def test_help_lists_every_word(slack):
    text = answer_to(slack, "/autodev", "help").text_of()
    for word in ("generate", "digest", "me", "audit", "backup", "admin"):
        assert f"/autodev {word}" in text
    assert "I don't know 'dance'" in answer_to(slack, "/autodev", "dance").text_of()


def test_me_counts_my_week(slack):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "One")
    create_story(slack, "WEB", "Two")
    text = answer_to(slack, "/autodev", "me").text_of()
    assert "Stories created this week: *2*" in text
    assert "Generation requests this week: *0*" in text


def test_audit_for_admins_only(slack):
    create_project(slack, "Web shop", "WEB")
    text = answer_to(slack, "/autodev", "audit 5").text_of()
    assert "project.create" in text and "Web shop" in text
    assert "as a number" in answer_to(slack, "/autodev", "audit lots").text_of()
    assert "between 1 and 100" in answer_to(slack, "/autodev", "audit 500").text_of()
    other = slack.as_user("U_OTHER")
    refused = answer_to(other, "/autodev", "audit")
    assert "Only a workspace admin" in refused.text_of()
    assert "project.create" not in refused.text_of()


def test_admin_grants_and_refuses(slack, slack_db):
    other = slack.as_user("U_OTHER")
    answer_to(slack, "/autodev", "me")  # first member: admin
    refused = answer_to(other, "/autodev", "admin <@U_THIRD>")
    assert "Only a workspace admin" in refused.text_of()
    assert "mention them" in answer_to(slack, "/autodev", "admin bob").text_of()
    granted = answer_to(slack, "/autodev", "admin <@U_OTHER|other>")
    assert "<@U_OTHER> is now a workspace admin" in granted.text_of()
    with slack_db.read() as s:
        role = s.scalar(
            select(User.role).where(
                User.slack_team_id == slack.team_id, User.slack_user_id == "U_OTHER"
            )
        )
    assert role == "ADMIN"
    assert "project.create" not in answer_to(other, "/autodev", "audit").text_of()


def test_words_owned_by_other_features_answer(slack):
    for word in ("generate WEB dark mode", "digest on daily 09:00", "backup"):
        answer = answer_to(slack, "/autodev", word)
        assert answer.params["response_type"] == "ephemeral"
        assert answer.text_of()


HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


def test_audit_names_stories_and_projects_as_people_do(slack):
    """Story keys and project keys, never a row's internal id."""
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    answer_to(slack, "/story", "move WEB-1 ready")
    answer_to(slack, "/project", "link WEB")  # an entry that carries only the project's id
    text = answer_to(slack, "/autodev", "audit").text_of()
    assert "story.create WEB-1 — Reset password" in text
    assert "story.move WEB-1 — DRAFT → READY" in text
    assert "project.link_channel WEB" in text and "project.create WEB — Web shop" in text
    assert not HEX_ID.search(text), text


def test_generate_with_a_key_no_project_has_is_refused_and_opens_nothing(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_project(slack, "Mobile app", "MOB")
    opened = len(slack.fake.calls_to("views.open"))
    text = answer_to(slack, "/autodev", "generate WBE Export as CSV").text_of()
    assert "No project has the key WBE. Did you mean WEB?" in text
    assert "MOB (Mobile app)" in text and "WEB (Web shop)" in text
    assert "Nothing was generated" in text
    assert len(slack.fake.calls_to("views.open")) == opened
    with slack_db.read() as s:
        assert s.scalar(select(func.count()).select_from(GenerationRequest)) == 0
    # a first word that is no key-like word is the feature's own
    slack.command("/autodev", "generate Export as CSV")
    view = slack.fake.wait_for("views.open", count=opened + 1).params["view"]
    feature = next(b for b in view["blocks"] if b.get("block_id") == "feature")
    assert feature["element"]["initial_value"] == "Export as CSV"
