"""storage/events.py: an event id is handled once; old ids can be forgotten (both databases)."""

from __future__ import annotations

from datetime import timedelta

from storage.events import first_delivery, forget_events_before
from storage.models import utcnow


def test_first_delivery_once_then_forgotten(db):
    with db.write() as s:
        assert first_delivery(s, "Ev1", "T1") is True
    with db.write() as s:
        assert first_delivery(s, "Ev1", "T1") is False
        assert first_delivery(s, "Ev2", "T1") is True
    with db.write() as s:
        assert forget_events_before(s, utcnow() - timedelta(hours=1)) == 0
        assert forget_events_before(s, utcnow() + timedelta(seconds=1)) == 2
    with db.write() as s:
        assert first_delivery(s, "Ev1", "T1") is True
