"""Live subscriptions and their outbox: filters, permissions, one batch per card, claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage import outbox, projects, stories
from storage.errors import PermissionDenied, ValidationFailed
from storage.live import deliveries
from storage.live.subscriptions import Filters, channel_subscriptions, subscribe, unsubscribe
from storage.models import AuditLog, CardUpdate, StoryChange
from storage.users import ensure_user

NOW = timedelta(0)
LEASE = timedelta(seconds=60)


def _team(db):
    with db.write() as s:
        ana = ensure_user(s, "T0L", "U0ANA")  # first member: admin, owns WEB
        bob = ensure_user(s, "T0L", "U0BOB")
        cat = ensure_user(s, "T0L", "U0CAT")
        projects.create_project(s, ana, {"name": "Web shop", "key": "WEB"})
    return ana, bob, cat


def _claim(db, claimer="w1"):
    with db.write() as s:
        return deliveries.claim(s, claimer, window=NOW, lease=LEASE)


def test_only_matching_changes_reach_a_channel_until_it_shows_the_story(db):
    ana, bob, _ = _team(db)
    with db.write() as s:
        subscribe(s, bob, "WEB", "C0HIGH", Filters(min_priority="high"))
        subscribe(s, bob, "WEB", "C0DONE", Filters(events=("done",)))
        low = stories.create_story(
            s, ana, "WEB", {"title": "Typo", "description": "x", "priority": "LOW"}
        )
        high = stories.create_story(
            s, ana, "WEB", {"title": "Down", "description": "x", "priority": "HIGH"}
        )
    with db.read() as s:  # each change is one row, whoever follows the project
        assert s.scalar(select(func.count()).select_from(StoryChange)) == 2
        assert s.scalar(select(func.count()).select_from(CardUpdate)) == 0
    with db.write() as s:
        assert outbox.fan_out(s) == 2
    with db.read() as s:
        assert s.scalar(select(StoryChange.id)) is None
        rows = s.execute(select(CardUpdate.story_id, CardUpdate.kind)).all()
    assert rows == [(high.id, "created")]  # LOW is below the floor; C0DONE wants only done
    with db.write() as s:
        stories.move_story(s, ana, low.key, "DONE")
        outbox.fan_out(s)
    with db.read() as s:
        kinds = sorted(s.execute(select(CardUpdate.kind)).scalars())
    assert kinds == ["created", "done"]


def test_a_burst_of_changes_is_one_batch_and_a_card_is_held_by_one_worker(db):
    ana, bob, _ = _team(db)
    with db.write() as s:
        subscribe(s, bob, "WEB", "C0WEB", Filters())
        story = stories.create_story(s, ana, "WEB", {"title": "Reset", "description": "x"})
        stories.move_story(s, ana, story.key, "READY")
        stories.assign_story(s, ana, story.key, "U0CAT")
    batch = _claim(db)
    assert [c.kind for c in batch.changes] == ["created", "moved", "assigned"]
    with db.write() as s:
        stories.move_story(s, ana, story.key, "IN_PROGRESS")  # arrives during the delivery
    assert _claim(db, "w2") is None  # the card is held
    assert batch.marked and batch.posting_since is None  # first post: the claim marks it
    with db.write() as s:
        deliveries.finish(s, batch, "w1", posted_ts="1700000000.000100")
    second = _claim(db, "w2")
    assert [c.kind for c in second.changes] == [
        "moved"
    ] and second.message_ts == "1700000000.000100"
    assert not second.retry


def test_a_dead_workers_batch_is_taken_again_whole_after_its_lease(db):
    ana, bob, _ = _team(db)
    with db.write() as s:
        subscribe(s, bob, "WEB", "C0WEB", Filters())
        stories.create_story(s, ana, "WEB", {"title": "Reset", "description": "x"})
    first = _claim(db, "dead")  # marked "posting" by the claim; it dies, posted or not
    assert _claim(db, "w2") is None
    with db.write() as s:
        later = deliveries.claim(s, "w2", window=NOW, lease=timedelta(seconds=-1))
    # the same batch, and told to look for a post of its predecessor before posting
    assert later.id == first.id and later.retry and later.posting_since is not None
    assert not later.marked
    with db.write() as s:
        deliveries.finish(s, first, "dead")  # the dead one wakes up: fenced off, changes nothing
    with db.read() as s:
        assert set(s.scalars(select(CardUpdate.state))) == {"claimed"}


def test_who_may_change_a_subscription_and_every_change_is_audited(db):
    ana, bob, cat = _team(db)
    with db.write() as s:
        view, new = subscribe(s, bob, "WEB", "C0WEB", Filters(tag="#Auth"))
    assert new and view.filters.tag == "auth" and view.created_by_slack_id == "U0BOB"
    with db.write() as s, pytest.raises(PermissionDenied):
        subscribe(s, cat, "WEB", "C0WEB", Filters())
    with db.write() as s:
        view, new = subscribe(s, ana, "WEB", "C0WEB", Filters(threads=False))  # owner and admin
    assert not new and view.filters.threads is False
    with db.write() as s:
        assert [v.project_key for v in channel_subscriptions(s, cat, "C0WEB")] == ["WEB"]
        with pytest.raises(PermissionDenied):
            unsubscribe(s, cat, "WEB", "C0WEB")
    with db.write() as s:
        unsubscribe(s, bob, "WEB", "C0WEB")
    with db.read() as s:
        actions = list(
            s.scalars(select(AuditLog.action).where(AuditLog.resource_type == "subscription"))
        )
    assert actions == ["subscription.create", "subscription.update", "subscription.delete"]


def test_bad_filters_are_refused_with_what_would_work():
    with pytest.raises(ValidationFailed, match="'exploded' is not an event; use one of created"):
        Filters(events=("moved", "exploded"))
    with pytest.raises(ValidationFailed, match="priority"):
        Filters(min_priority="urgent")
    with pytest.raises(ValidationFailed):
        Filters(events=())


def test_delivered_updates_and_old_expansions_are_pruned(db):
    from datetime import UTC, datetime

    from storage.live import expansion
    from storage.models import KeyExpansion

    ana, bob, _ = _team(db)
    with db.write() as s:
        subscribe(s, bob, "WEB", "C0WEB", Filters())
        story = stories.create_story(s, ana, "WEB", {"title": "Reset", "description": "x"})
        stories.move_story(s, ana, story.key, "READY")
    batch = _claim(db)
    with db.write() as s:
        deliveries.finish(s, batch, "w1")
        stories.move_story(s, ana, story.key, "DONE")  # still waiting: kept
        assert outbox.fan_out(s) == 1
        expansion.stories_to_expand(s, "T0L", "C0WEB", "1.2", [("WEB", 1)])
    later = datetime(2999, 1, 1, tzinfo=UTC)
    with db.write() as s:
        assert deliveries.prune(s, delivered_before=later) == 2
        assert expansion.prune(s, before=later) == 1
    with db.read() as s:
        assert list(s.scalars(select(CardUpdate.kind))) == ["done"]
        assert s.scalar(select(KeyExpansion.id)) is None


def test_an_unsubscribe_meanwhile_never_fails_a_fan_out(db):
    """PostgreSQL writes side by side: a channel unsubscribing while a change of its project
    is being fanned out waits for it, instead of pulling the subscription from under it."""
    import threading

    from sqlalchemy import event

    if db.dialect != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    ana, bob, _ = _team(db)
    with db.write() as s:
        subscribe(s, bob, "WEB", "C0WEB", Filters())
        story = stories.create_story(s, ana, "WEB", {"title": "Reset", "description": "x"})
        outbox.fan_out(s)
    with db.write() as s:
        stories.move_story(s, ana, story.key, "READY")
    outcome: list[str] = []

    def unsubscribe_now() -> None:
        with db.write() as s2:
            unsubscribe(s2, bob, "WEB", "C0WEB")
        outcome.append("unsubscribed")

    threads: list[threading.Thread] = []

    def before_the_updates(conn, cursor, statement, *args) -> None:
        # the fan-out is about to write the change's card updates
        if not threads and statement.startswith("INSERT INTO card_updates"):
            threads.append(threading.Thread(target=unsubscribe_now))
            threads[0].start()
            threads[0].join(0.5)  # before the fix it committed here, and the insert failed

    event.listen(db.write_engine, "before_cursor_execute", before_the_updates)
    try:
        with db.write() as s:
            assert outbox.fan_out(s) == 1
    finally:
        event.remove(db.write_engine, "before_cursor_execute", before_the_updates)
    threads[0].join(10)
    assert outcome == ["unsubscribed"]
    with db.read() as s:
        assert stories.get_story(s, ana, story.key).status == "READY"
        assert channel_subscriptions(s, ana, "C0WEB") == []


def test_a_project_nobody_follows_queues_nothing(db):
    """The console, and workspaces without subscriptions: no outbox row piles up."""
    ana, bob, _ = _team(db)
    with db.write() as s:
        projects.create_project(s, ana, {"name": "Quiet", "key": "QT"})
        subscribe(s, bob, "WEB", "C0WEB", Filters())
        stories.create_story(s, ana, "QT", {"title": "Unseen", "description": "x"})
        stories.create_story(s, ana, "WEB", {"title": "Seen", "description": "x"})
    with db.read() as s:
        waiting = s.execute(
            select(StoryChange.kind, StoryChange.details, StoryChange.team_id)
        ).all()
    # one row, of the project's workspace (every row belongs to one)
    assert [(kind, d["title"], team) for kind, d, team in waiting] == [("created", "Seen", "T0L")]
