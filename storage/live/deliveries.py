"""Claiming and recording the delivery of card updates, so each is shown once.

A worker claims one card (a story in a channel) at a time, with every update waiting for
it: the changes of a few seconds become one batch, one update of the card. The claim is a
lease on the `story_cards` row: any number of workers, in one process or several replicas,
never update the same card at once, and a worker that died is replaced when its lease
runs out. A batch keeps its id when it is retried, so the worker that retries it can tell
whether its thread line was already posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import outbox
from storage.live.subscriptions import SubscriptionView, subscription_view
from storage.models import (
    CardUpdate,
    LiveSubscription,
    StoryCard,
    StoryChange,
    UserStory,
    new_id,
    utcnow,
)
from storage.stories import StoryView, story_views_query, view_from_row

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Change:
    kind: str
    actor_slack_id: str | None
    details: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class Batch:
    """The updates of one card a worker delivers together."""

    id: str
    card_id: str
    subscription: SubscriptionView
    story_id: str
    story: StoryView | None  # None: the story is deleted
    message_ts: str | None  # the card's message, once posted
    posting_since: datetime | None  # a post was started and its ts never recorded
    claimed_at: datetime
    marked: bool  # the claim marked the card "posting" (no message yet): post without a write
    changes: list[Change]
    retry: bool  # a worker took this batch before and did not finish it
    attempts: int


def claim(
    s: Session,
    claimer: str,
    *,
    window: timedelta,
    lease: timedelta,
    now: datetime | None = None,
) -> Batch | None:
    """Take the card whose oldest waiting update is the oldest, once `window` has passed
    since it (so a burst of changes becomes one update); None when nothing is due.

    The workers look for due cards with `due_cards` in a read and `take` one in a short
    write: on SQLite a search inside the write would hold the one writer's lock while it
    reads the outbox, and every change a member makes waits behind it."""
    now = now or utcnow()
    while outbox.fan_out(s):
        pass
    return take(s, claimer, due_cards(s, window=window, lease=lease, now=now), lease=lease, now=now)


def due_cards(
    s: Session,
    *,
    window: timedelta,
    lease: timedelta,
    now: datetime | None = None,
    limit: int = 8,
) -> list[tuple[str, str]]:
    """(subscription, story) of up to `limit` cards with updates due and no live claim,
    the oldest first: the pending updates in the order of `idx_card_updates_due` (no sort
    of the whole outbox), and those a worker claimed and left when its lease ran out."""
    now = now or utcnow()
    free = or_(StoryCard.claimed_by.is_(None), StoryCard.claimed_at < now - lease)

    def oldest(state: str, n: int) -> list[tuple[str, str, datetime]]:
        return [
            (row.subscription_id, row.story_id, row.due_at)
            for row in s.execute(
                select(CardUpdate.subscription_id, CardUpdate.story_id, CardUpdate.due_at)
                .join(LiveSubscription, LiveSubscription.id == CardUpdate.subscription_id)
                .outerjoin(
                    StoryCard,
                    and_(
                        StoryCard.subscription_id == CardUpdate.subscription_id,
                        StoryCard.story_id == CardUpdate.story_id,
                    ),
                )
                .where(
                    CardUpdate.state == state,
                    CardUpdate.due_at <= now - window,
                    LiveSubscription.paused_at.is_(None),
                    free,
                )
                .order_by(CardUpdate.due_at)
                .limit(n)
            )
        ]

    # rows, not cards: a card with many waiting updates fills several rows, hence the margin
    rows = sorted(oldest("claimed", limit) + oldest("pending", limit * 8), key=lambda r: r[2])
    cards: list[tuple[str, str]] = []
    for subscription_id, story_id, _due in rows:
        if (subscription_id, story_id) not in cards:
            cards.append((subscription_id, story_id))
            if len(cards) == limit:
                break
    return cards


def take(
    s: Session,
    claimer: str,
    cards: list[tuple[str, str]],
    *,
    lease: timedelta,
    now: datetime | None = None,
) -> Batch | None:
    """Claim the first of `cards` (from `due_cards`) no other worker took meanwhile, with
    every update waiting for it; None if all were taken."""
    now = now or utcnow()
    for subscription_id, story_id in cards:
        following = select(LiveSubscription.id).where(LiveSubscription.id == subscription_id)
        if s.scalar(following.with_for_update(read=True)) is None:
            continue  # unsubscribed meanwhile (its updates went with it)
        card_id = _card(s, subscription_id, story_id)
        took = s.execute(
            update(StoryCard)
            .where(
                StoryCard.id == card_id,
                or_(StoryCard.claimed_by.is_(None), StoryCard.claimed_at < now - lease),
            )
            .values(claimed_by=claimer, claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if took:
            batch = _batch(s, card_id, subscription_id, story_id, now)
            if batch.changes:
                return batch
            card = s.get(StoryCard, card_id)  # delivered by another worker meanwhile
            card.claimed_by = card.claimed_at = None  # type: ignore[union-attr]
    return None


def _card(s: Session, subscription_id: str, story_id: str) -> str:
    """The card row of a story in a channel, made on its first update."""
    found = s.scalar(
        select(StoryCard.id).where(
            StoryCard.subscription_id == subscription_id, StoryCard.story_id == story_id
        )
    )
    if found:
        return found
    channel = s.scalar(
        select(LiveSubscription.channel_id).where(LiveSubscription.id == subscription_id)
    )
    card = StoryCard(subscription_id=subscription_id, story_id=story_id, channel_id=channel)
    try:
        with s.begin_nested():
            s.add(card)
        return card.id
    except IntegrityError:  # another replica made it meanwhile
        return s.scalar(
            select(StoryCard.id).where(
                StoryCard.subscription_id == subscription_id, StoryCard.story_id == story_id
            )
        )


def _batch(s: Session, card_id: str, subscription_id: str, story_id: str, now: datetime) -> Batch:
    mine = and_(CardUpdate.subscription_id == subscription_id, CardUpdate.story_id == story_id)
    unfinished = s.scalars(
        select(CardUpdate)
        .where(mine, CardUpdate.state == "claimed")
        .order_by(CardUpdate.created_at)
    ).all()
    retry = bool(unfinished)
    if retry:  # a worker died (or gave up) with this batch: the same batch, again
        rows = list(unfinished)
        batch_id = rows[0].batch_id or new_id()
    else:
        rows = list(
            s.scalars(
                select(CardUpdate)
                .where(mine, CardUpdate.state == "pending")
                .order_by(CardUpdate.created_at, CardUpdate.id)
            )
        )
        batch_id = new_id()
    for row in rows:
        row.state, row.batch_id, row.attempts = "claimed", batch_id, row.attempts + 1
    card = s.get(StoryCard, card_id)
    assert card is not None
    posting_since = card.posting_since  # a predecessor's mark: look for its post first
    # a card with no message will be posted by this batch: marked now, in the claim's own
    # write, rather than in a write of its own before the post (SQLite has one writer)
    marked = card.message_ts is None and posting_since is None
    if marked:
        card.posting_since = now
    s.flush()
    return Batch(
        id=batch_id,
        card_id=card_id,
        subscription=subscription_view(s, subscription_id),  # type: ignore[arg-type]
        story_id=story_id,
        story=story_for_card(s, story_id),
        message_ts=card.message_ts,
        posting_since=posting_since,
        claimed_at=now,
        marked=marked,
        changes=[
            Change(r.kind, r.actor_slack_id, dict(r.details or {}), r.created_at) for r in rows
        ],
        retry=retry,
        attempts=max((r.attempts for r in rows), default=1),
    )


def story_for_card(s: Session, story_id: str) -> StoryView | None:
    row = s.execute(story_views_query().where(UserStory.id == story_id)).one_or_none()
    return view_from_row(row) if row else None


def _held(s: Session, card_id: str, claimer: str) -> StoryCard | None:
    """The card if this worker still holds its claim (else another took it over)."""
    # locked (PostgreSQL): an unsubscribe deleting it meanwhile waits for this transaction
    card = s.get(StoryCard, card_id, with_for_update=True)
    return card if card is not None and card.claimed_by == claimer else None


def start_posting(s: Session, card_id: str, claimer: str) -> bool:
    """Note that the card is about to be posted (a crash after the post is then recovered
    by looking for it, not by posting again); False if the claim was lost."""
    card = _held(s, card_id, claimer)
    if card is None:
        return False
    card.posting_since = card.posting_since or utcnow()
    return True


def surely_held(batch: Batch, lease: timedelta) -> bool:
    """Within half its lease a claim is certainly still its worker's: no one may take a card
    before the lease runs out (the other half covers clocks that differ between replicas)."""
    return utcnow() - batch.claimed_at < lease / 2


def still_held(s: Session, batch: Batch, claimer: str) -> bool:
    """Whether the claim is still this worker's, as the database says."""
    return _held(s, batch.card_id, claimer) is not None


def finish(
    s: Session, batch: Batch, claimer: str, *, state: str = "done", posted_ts: str | None = None
) -> None:
    """The batch was shown (or, `state="skipped"`, will never be): release the card, and
    record the card's message if this batch posted it (`posted_ts`)."""
    card = _held(s, batch.card_id, claimer)
    if card is None:
        return  # another worker holds it now and will deliver the batch again, safely
    if posted_ts is not None:
        card.message_ts, card.posting_since, card.updated_at = posted_ts, None, utcnow()
    s.execute(
        update(CardUpdate)
        .where(CardUpdate.batch_id == batch.id, CardUpdate.state == "claimed")
        .values(state=state, delivered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    card.claimed_by = card.claimed_at = None


def release(s: Session, batch: Batch, claimer: str, *, retry_in: timedelta) -> None:
    """Give the batch back to be tried again after `retry_in` (a 429, Slack down); after
    MAX_ATTEMPTS it is dropped."""
    card = _held(s, batch.card_id, claimer)
    if card is None:
        return
    if batch.attempts >= MAX_ATTEMPTS:
        finish(s, batch, claimer, state="skipped")
        return
    s.execute(
        update(CardUpdate)
        .where(CardUpdate.batch_id == batch.id, CardUpdate.state == "claimed")
        .values(due_at=utcnow() + retry_in)
        .execution_options(synchronize_session=False)
    )
    card.claimed_by = card.claimed_at = None


def skip_paused(s: Session, subscription_id: str) -> int:
    """Drop what waits for a paused subscription: a resumed one starts from what changes
    next (its cards are updated by the next change of their story)."""
    return s.execute(
        update(CardUpdate)
        .where(
            CardUpdate.subscription_id == subscription_id,
            CardUpdate.state.in_(("pending", "claimed")),
        )
        .values(state="skipped")
        .execution_options(synchronize_session=False)
    ).rowcount


def prune(s: Session, *, delivered_before: datetime) -> int:
    """Forget card updates delivered (or dropped) before then: they are history."""
    return s.execute(
        delete(CardUpdate)
        .where(CardUpdate.state.in_(("done", "skipped")), CardUpdate.created_at < delivered_before)
        .execution_options(synchronize_session=False)
    ).rowcount


def counts(s: Session) -> dict[str, int]:
    """Card updates by state, and under "unfanned" the changes not yet fanned out to them
    (the drills wait for nothing unfanned, pending or claimed)."""
    found = dict(s.execute(select(CardUpdate.state, func.count()).group_by(CardUpdate.state)).all())
    unfanned = s.scalar(select(func.count()).select_from(StoryChange))
    return {**found, "unfanned": unfanned} if unfanned else found
