"""Each change reports whose App Home shows what it changed (storage/homes.py)."""

from __future__ import annotations

from storage import projects, stories
from storage.homes import touched_homes
from storage.users import ensure_user


def _people(db):
    with db.write() as s:
        ana = ensure_user(s, "T0H", "U0ANA")  # owns the project
        bob = ensure_user(s, "T0H", "U0BOB")  # writes the story
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
    return ana, bob


def test_story_changes_touch_its_creator_and_assignees_before_and_after(db):
    ana, bob = _people(db)
    with db.write() as s:
        story = stories.create_story(s, bob, "WEB", {"title": "Reset", "description": "A link"})
        assert touched_homes(s) == [("T0H", "U0BOB")]
    with db.write() as s:
        stories.assign_story(s, ana, story.key, "U0CAT")
        assert set(touched_homes(s)) == {("T0H", "U0BOB"), ("T0H", "U0CAT")}
    with db.write() as s:
        stories.assign_story(s, ana, story.key, "U0DAN")  # Cat's Home loses it
        assert set(touched_homes(s)) == {("T0H", u) for u in ("U0BOB", "U0CAT", "U0DAN")}
    with db.write() as s:
        stories.move_story(s, ana, story.key, "DONE")
        assert set(touched_homes(s)) == {("T0H", "U0BOB"), ("T0H", "U0DAN")}
    with db.write() as s:
        stories.move_story(s, ana, story.key, "DONE")  # no change: no Home to redraw
        assert touched_homes(s) == []


def test_deleting_a_project_touches_everyone_whose_home_shows_one_of_its_stories(db):
    ana, bob = _people(db)
    with db.write() as s:
        story = stories.create_story(s, bob, "WEB", {"title": "Reset", "description": "A link"})
        stories.assign_story(s, bob, story.key, "U0CAT")
    with db.write() as s:
        projects.update_project(s, ana, "WEB", {"description": "Shop"})
        assert touched_homes(s) == [("T0H", "U0ANA")]  # only the owner's lists the project
    with db.write() as s:
        projects.delete_project(s, ana, "WEB")
        assert set(touched_homes(s)) == {("T0H", u) for u in ("U0ANA", "U0BOB", "U0CAT")}
