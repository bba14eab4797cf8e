"""Sessions: opaque tokens, only hashes stored, expiry, owner-only, cleanup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage import sessions
from storage.errors import NotFound, ValidationFailed
from storage.models import Session, utcnow


def test_round_trip_and_only_hash_stored(world) -> None:
    with world.db.write() as s:
        token = sessions.create_session(s, world.bob, "draft", {"title": "x"}, timedelta(hours=1))
    assert len(token) == 32
    with world.db.read() as s:
        assert sessions.load_session(s, world.bob, token, "draft") == {"title": "x"}
        stored = s.scalars(select(Session)).one()
        assert stored.token_hash == sessions.token_hash(token) and token not in stored.token_hash
    with world.db.write() as s:
        sessions.update_session(s, world.bob, token, {"title": "y"})
    with world.db.read() as s:
        assert sessions.load_session(s, world.bob, token, "draft") == {"title": "y"}
    with world.db.write() as s:
        sessions.delete_session(s, world.bob, token)
    with pytest.raises(NotFound), world.db.read() as s:
        sessions.load_session(s, world.bob, token, "draft")


def test_refuses_other_user_other_kind_expired_and_unknown(world) -> None:
    with world.db.write() as s:
        token = sessions.create_session(s, world.bob, "draft", {"a": 1}, timedelta(minutes=5))
    later = utcnow() + timedelta(minutes=6)
    with world.db.read() as s:
        for actor, kind, now in [
            (world.carol, "draft", None),
            (world.eve, "draft", None),
            (world.bob, "page", None),
            (world.bob, "draft", later),
        ]:
            with pytest.raises(NotFound, match="expired"):
                sessions.load_session(s, actor, token, kind, now=now)
        with pytest.raises(NotFound):
            sessions.load_session(s, world.bob, "not-a-token", "draft")
    with world.db.write() as s:
        sessions.delete_session(s, world.carol, token)  # not carol's: stays
        with pytest.raises(NotFound):
            sessions.update_session(s, world.carol, token, {"stolen": True})
    with world.db.read() as s:
        assert sessions.load_session(s, world.bob, token, "draft") == {"a": 1}


def test_a_token_taken_is_spent_once_and_only_by_its_owner_for_its_kind(world) -> None:
    with world.db.write() as s:
        token = sessions.create_session(s, world.bob, "modal", {"a": [1]}, timedelta(minutes=5))
    later = utcnow() + timedelta(minutes=6)
    for actor, kind, given, now in [
        (world.carol, "modal", token, None),
        (world.eve, "modal", token, None),
        (world.bob, "page", token, None),
        (world.bob, "modal", token, later),
        (world.bob, "modal", "not-a-token", None),
        (world.bob, "modal", "x" * 201, None),
        (world.bob, "modal", "", None),
    ]:
        with pytest.raises(NotFound, match="expired"), world.db.write() as s:
            sessions.take_session(s, actor, given, kind, now=now)
    with world.db.read() as s:  # none of those spent it
        assert sessions.load_session(s, world.bob, token, "modal") == {"a": [1]}
    with pytest.raises(RuntimeError), world.db.write() as s:
        assert sessions.take_session(s, world.bob, token, "modal") == {"a": [1]}
        raise RuntimeError("the form's save fails after the token was taken")
    with world.db.write() as s:  # rolled back with its transaction: still there
        assert sessions.take_session(s, world.bob, token, "modal") == {"a": [1]}
    with pytest.raises(NotFound), world.db.write() as s:
        sessions.take_session(s, world.bob, token, "modal")
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Session)) == 0


def test_cleanup_deletes_only_expired(world) -> None:
    with world.db.write() as s:
        short = sessions.create_session(s, world.bob, "draft", {}, timedelta(hours=1))
        long = sessions.create_session(s, world.eve, "draft", {}, timedelta(hours=3))
    with world.db.write() as s:
        assert sessions.cleanup_expired(s, utcnow() + timedelta(hours=2)) == 1
    with world.db.read() as s:
        assert sessions.load_session(s, world.eve, long, "draft") == {}
        with pytest.raises(NotFound):
            sessions.load_session(s, world.bob, short, "draft")


def test_bad_session_input(world) -> None:
    bad = [
        ("", {}, timedelta(hours=1)),
        ("draft", {"x": object()}, timedelta(hours=1)),
        ("draft", {"x": "y" * 70_000}, timedelta(hours=1)),
        ("draft", [], timedelta(hours=1)),
        ("draft", {}, timedelta(0)),
        ("draft", {}, timedelta(days=31)),
        ("draft", {}, 3600),
    ]
    for kind, data, ttl in bad:
        with pytest.raises(ValidationFailed), world.db.write() as s:
            sessions.create_session(s, world.bob, kind, data, ttl)
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Session)) == 0
