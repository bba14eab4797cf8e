"""Property tests: any input is either accepted within the rules or refused cleanly; search
with any text never fails and never returns another workspace's story."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage import projects, search, stories
from storage.errors import Conflict, ValidationFailed
from storage.models import AuditLog, UserStory
from storage.stories import StoryInput
from storage.validation import parse

DB_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.lists(st.text(max_size=60), max_size=35),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
story_fields = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.text(max_size=220), anything),
        "description": st.one_of(st.text(min_size=1, max_size=50), anything),
        "acceptance_criteria": anything,
        "priority": st.one_of(st.sampled_from(["LOW", "high", "Critical ", "URGENT"]), anything),
        "story_points": st.one_of(st.integers(-3, 25), st.text(max_size=3), anything),
        "tasks": anything,
        "tags": st.one_of(st.lists(st.text(max_size=60), max_size=25), anything),
        "status": st.one_of(st.sampled_from(["DRAFT", "in progress", "done", "x"]), anything),
        "meta": anything,
    },
)


def _assert_within_rules(story) -> None:
    assert story.title == story.title.strip() and 1 <= len(story.title) <= 200
    assert "\n" not in story.title
    assert story.description.strip() == story.description and story.description
    assert 0 <= story.story_points <= 21
    assert story.status in ("DRAFT", "READY", "IN_PROGRESS", "DONE")
    assert story.priority in (None, "LOW", "MEDIUM", "HIGH", "CRITICAL")
    for items in (story.acceptance_criteria, story.tasks):
        assert len(items) <= 30 and all(0 < len(i) <= 500 and i == i.strip() for i in items)
    assert len(story.tags) <= 20 and len(set(story.tags)) == len(story.tags)
    assert all(0 < len(t) <= 50 and t == t.lower() and " " not in t for t in story.tags)


@settings(max_examples=150, deadline=None)
@given(story_fields)
def test_story_input_is_valid_or_refused_with_a_message(fields) -> None:
    try:
        data = parse(StoryInput, fields)
    except ValidationFailed as exc:
        assert exc.message and exc.field_errors
        assert set(exc.field_errors) <= set(StoryInput.model_fields)
        return
    _assert_within_rules(data)


@DB_SETTINGS
@given(fields=story_fields)
def test_create_story_stores_valid_data_or_changes_nothing(world, fields) -> None:
    if not getattr(world, "_web", None):
        world.project(world.alice, "Web", key="WEB")
        world._web = True
    with world.db.read() as s:
        before = (
            s.scalar(select(func.count()).select_from(UserStory)),
            s.scalar(select(func.count()).select_from(AuditLog)),
        )
    try:
        created = world.story(world.bob, "web", **fields)
    except ValidationFailed:
        with world.db.read() as s:
            after = (
                s.scalar(select(func.count()).select_from(UserStory)),
                s.scalar(select(func.count()).select_from(AuditLog)),
            )
        assert after == before
        return
    _assert_within_rules(created)
    with world.db.read() as s:
        assert stories.get_story(s, world.bob, created.key) == created


@DB_SETTINGS
@given(name=st.text(max_size=110), key=st.one_of(st.none(), st.text(max_size=12)))
def test_project_names_and_keys(world, name, key) -> None:
    try:
        p = world.project(world.alice, name, key=key)
    except (ValidationFailed, Conflict) as exc:
        assert exc.message
        return
    assert re.fullmatch(r"[A-Z][A-Z0-9]{1,9}", p.key)
    with world.db.read() as s:
        assert projects.get_project(s, world.bob, p.key).id == p.id
        assert projects.get_project(s, world.bob, p.name.upper()).id == p.id


WORDS = [
    "login",
    "password",
    "reset",
    "vault",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "*",
    '"',
    "(",
    ")",
    ":",
    "^",
    "-",
    "+",
    "'",
    "\\",
    "\x00",
    "é",
    "ß",
    "日本",
    "\u0301",
    "_",
    "title:",
]


@pytest.fixture
def two_backlogs(world):
    world.project(world.alice, "Web", key="WEB")
    world.project(world.eve, "Web", key="WEB")
    for actor in (world.bob, world.eve):
        for title in ["Password reset", "Login page", "Vault of secrets", "Café ß 日本"]:
            world.story(actor, "WEB", title=title, description=f"{title} AND OR NEAR login")
    return world


@DB_SETTINGS
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
        st.lists(st.sampled_from(WORDS), max_size=8).map("".join),
    )
)
def test_search_any_text_never_fails_nor_crosses_workspaces(two_backlogs, text) -> None:
    with two_backlogs.db.read() as s:
        ours = search.search_stories(s, two_backlogs.bob, text)
        theirs = search.search_stories(s, two_backlogs.eve, text, project_ref="web")
    assert all(v.created_by_slack_id == "UBOB" for v in ours)
    assert all(v.created_by_slack_id == "UEVE" for v in theirs)
    assert [v.title for v in ours] == [v.title for v in theirs] or not search.search_words(text)
