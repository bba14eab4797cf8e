"""The one home of field limits: what the domain accepts fits the forms that edit it; titles
show what they are; values stored under older limits survive an edit that leaves them be."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.forms import PROJECT_FORM, STORY_FORM, story_data
from storage import fields, projects, stories
from storage.errors import ValidationFailed
from storage.models import Project, UserStory


def test_every_form_field_holds_what_the_domain_accepts_and_slack_allows():
    limits = {
        "title": fields.TITLE_MAX,
        "description": fields.DESCRIPTION_MAX,
        "acceptance_criteria": fields.CRITERIA.total_chars,
        "tags": fields.TAGS_TEXT_MAX,
    }
    for field in STORY_FORM:
        if field.name in limits:
            assert field.max_length == limits[field.name], field.name
    for field in STORY_FORM + PROJECT_FORM:
        if field.kind in ("text", "multiline"):
            assert field.max_length is not None and field.max_length <= fields.SLACK_INPUT_MAX
    project = {f.name: f.max_length for f in PROJECT_FORM}
    assert project["description"] == fields.PROJECT_DESCRIPTION_MAX
    assert project["name"] == fields.PROJECT_NAME_MAX


def test_the_longest_tags_the_domain_takes_fit_the_tags_field(world):
    world.project(world.alice, "Web", key="WEB")
    tags = [f"{i:02d}" + "t" * (fields.TAG_CHARS - 2) for i in range(fields.TAGS_MAX)]
    story = world.story(world.bob, "WEB", tags=tags)
    assert len(", ".join(story.tags)) <= fields.TAGS_TEXT_MAX


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner, not between two emoji
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",  # right-to-left override
    "\u2060",
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\ufeff",
]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_titles_refuse_invisible_and_direction_changing_characters(world, char):
    world.project(world.alice, "Web", key="WEB")
    with pytest.raises(ValidationFailed) as refused:
        world.story(world.bob, "WEB", title=f"Pay{char} invoices")
    assert "invisible or direction-changing" in refused.value.field_errors["title"]
    with pytest.raises(ValidationFailed):
        world.story(world.bob, "WEB", title=char * 3)  # would look blank
    with world.db.read() as s:
        assert s.scalars(select(UserStory)).all() == []


def test_an_edit_cannot_slip_a_bidi_override_into_a_title(world):
    world.project(world.alice, "Web", key="WEB")
    story = world.story(world.bob, "WEB", title="Refund")
    with world.db.write() as s, pytest.raises(ValidationFailed):
        stories.update_story(s, world.bob, story.key, {"title": "\u202etxt.exe"})
    with world.db.read() as s:
        assert stories.get_story(s, world.bob, story.key).title == "Refund"


def test_emoji_sequences_joined_by_zwj_are_still_titles(world):
    world.project(world.alice, "Web", key="WEB")
    story = world.story(world.bob, "WEB", title="👩‍💻 Developer onboarding 🏳️‍🌈")
    assert story.title == "👩‍💻 Developer onboarding 🏳️‍🌈"


def test_a_description_longer_than_slack_can_edit_is_refused_with_its_length(world):
    world.project(world.alice, "Web", key="WEB")
    with pytest.raises(ValidationFailed) as refused:
        world.story(world.bob, "WEB", description="d" * (fields.DESCRIPTION_MAX + 1))
    message = refused.value.field_errors["description"]
    assert f"at most {fields.DESCRIPTION_MAX}" in message and "3001" in message


def test_criteria_together_must_fit_the_form(world):
    world.project(world.alice, "Web", key="WEB")
    criteria = ["Given c" + "x" * 493] * 7  # each 500: allowed alone, 3506 together
    with pytest.raises(ValidationFailed) as refused:
        world.story(world.bob, "WEB", acceptance_criteria=criteria)
    assert "in all" in refused.value.field_errors["acceptance_criteria"]
    many = [f"Given case {i}, then it works" for i in range(40)]
    assert len(world.story(world.bob, "WEB", acceptance_criteria=many).acceptance_criteria) == 40


def test_values_stored_under_older_limits_survive_an_edit_that_leaves_them(world):
    """A story saved when descriptions could be 10,000 characters (and its project's 4,000)
    can still be moved and retitled; the long text stays whole; changing it to another
    over-long text is refused."""
    world.project(world.alice, "Web", key="WEB")
    story = world.story(world.bob, "WEB")
    long_description = "As a user " + "x" * 9_000
    long_criteria = ["Given c" + "x" * 493] * 30
    with world.db.write() as s:
        row = s.get(UserStory, story.id)
        row.description, row.acceptance_criteria = long_description, long_criteria
        s.get(Project, row.project_id).description = "p" * 4_000
    with world.db.write() as s:
        edited = stories.update_story(s, world.bob, story.key, {"title": "Renamed"})
        stories.move_story(s, world.bob, story.key, "DONE")
        projects.update_project(s, world.alice, "WEB", {"name": "Web shop"})
    assert edited.title == "Renamed" and edited.description == long_description
    assert edited.acceptance_criteria == long_criteria
    with world.db.write() as s, pytest.raises(ValidationFailed):
        stories.update_story(s, world.bob, story.key, {"description": long_description + "!"})
    with world.db.read() as s:
        assert stories.get_story(s, world.bob, story.key).description == long_description
        assert s.get(Project, edited.project_id).description == "p" * 4_000


@pytest.mark.parametrize("typed", ["²", "٣", "１", "9" * 5000, "-1", "3.0", "22"])
def test_story_points_from_a_forged_form_get_a_clear_refusal(world, typed):
    world.project(world.alice, "Web", key="WEB")
    data = story_data({"title": "T", "description": "D", "story_points": typed})
    with pytest.raises(ValidationFailed) as refused:
        world.story(world.bob, "WEB", **data)
    assert "Story points" in refused.value.message
    assert len(refused.value.message) < 200
