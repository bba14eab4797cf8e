"""App Home refreshes: off the listener threads, coalesced per member, never stale."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.homes import HomeRefresher
from storage import projects, stories
from storage.users import ensure_user
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI


def test_changes_during_a_build_cost_one_more_build_that_shows_the_last_change(sqlite_db):
    with sqlite_db.write() as s:
        ana = ensure_user(s, "T0HOME", "U0ANA")
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
        story = stories.create_story(s, ana, "WEB", {"title": "Reset", "description": "A link"})
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        homes = HomeRefresher(workers=2, delay=0)
        fake.hold("views.publish")
        homes.refresh(sqlite_db, client, "T0HOME", "U0ANA")
        fake.wait_for("views.publish")  # the first build is publishing, and held there
        for status in ("READY", "IN_PROGRESS", "DONE"):  # three changes meanwhile
            with sqlite_db.write() as s:
                stories.move_story(s, ana, story.key, status)
            homes.refresh(sqlite_db, client, "T0HOME", "U0ANA")
        fake.release("views.publish")
        assert homes.wait_idle(10)
        published = fake.calls_to("views.publish")
    assert len(published) == 2  # the held one, then one more for all three changes
    assert "*Draft* (1)" in published[0].text_of()
    assert "*Done* (1)" in published[-1].text_of()


def _home_fixture(sqlite_db):
    with sqlite_db.write() as s:
        ana = ensure_user(s, "T0HOME", "U0ANA")
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
        story = stories.create_story(s, ana, "WEB", {"title": "Reset", "description": "A link"})
    return ana, story


def test_a_burst_of_changes_within_the_delay_costs_one_build_showing_the_last(sqlite_db):
    import time

    ana, story = _home_fixture(sqlite_db)
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        homes = HomeRefresher(workers=2, delay=0.5)
        started = time.monotonic()
        for status in ("READY", "IN_PROGRESS", "DONE"):
            with sqlite_db.write() as s:
                stories.move_story(s, ana, story.key, status)
            homes.refresh(sqlite_db, client, "T0HOME", "U0ANA")
        call = fake.wait_for("views.publish")
        assert call.at - started >= 0.45  # it waited for the burst to end
        fake.settle(quiet=0.7)
        published = fake.calls_to("views.publish")
    assert len(published) == 1
    assert "*Done* (1)" in published[0].text_of()


def test_a_member_looking_at_their_home_is_not_kept_waiting(sqlite_db):
    import time

    _home_fixture(sqlite_db)
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        homes = HomeRefresher(workers=2, delay=30)
        homes.refresh(sqlite_db, client, "T0HOME", "U0ANA")  # waits 30 s...
        started = time.monotonic()
        homes.refresh(sqlite_db, client, "T0HOME", "U0ANA", delay=0)  # ...until asked at once
        call = fake.wait_for("views.publish", timeout=5)
        assert call.at - started < 5
        assert homes.wait_idle(5)
        assert len(fake.calls_to("views.publish")) == 1


def test_waiting_for_idle_publishes_what_is_waiting_now(sqlite_db):
    _home_fixture(sqlite_db)
    with FakeSlackAPI() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        homes = HomeRefresher(workers=2, delay=60)
        homes.refresh(sqlite_db, client, "T0HOME", "U0ANA")
        assert homes.wait_idle(5)  # a shutdown publishes it rather than dropping it
        assert len(fake.calls_to("views.publish")) == 1
