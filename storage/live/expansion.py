"""Story keys in messages (WEB-7): which channels expand them, and which keys a thread has
already had expanded (once per key per thread)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import and_, delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audit
from storage.live.subscriptions import check_channel
from storage.models import ChannelExpansion, KeyExpansion, Project, UserStory, utcnow
from storage.stories import StoryView, story_views_query, view_from_row
from storage.users import Actor

MAX_KEYS = 3  # per message: a pasted list of keys does not become a wall of cards
# A key as people type it in a sentence: capitals, as Jira's and Linear's apps read them.
KEY_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9_-])([A-Z][A-Z0-9]{1,9})-([1-9][0-9]{0,8})(?![A-Za-z0-9_])"
)


def keys_in(text: str | None) -> list[tuple[str, int]]:
    """The distinct story keys in a message, in order, at most MAX_KEYS."""
    found: list[tuple[str, int]] = []
    for match in KEY_IN_TEXT.finditer(text or ""):
        key = (match.group(1), int(match.group(2)))
        if key not in found:
            found.append(key)
        if len(found) == MAX_KEYS:
            break
    return found


def set_expansion(s: Session, actor: Actor, channel_id: str | None, on: bool) -> bool:
    """Turn key expansion on or off in a channel (any member; audited). Returns `on`."""
    channel_id = check_channel(channel_id, "Key expansion is set per channel")
    row = s.scalars(
        select(ChannelExpansion).where(
            ChannelExpansion.team_id == actor.team_id, ChannelExpansion.channel_id == channel_id
        )
    ).one_or_none()
    if on and row is None:
        s.add(
            ChannelExpansion(
                team_id=actor.team_id,
                channel_id=channel_id,
                enabled_by=actor.user_id,
                created_at=utcnow(),
            )
        )
    elif not on and row is not None:
        s.delete(row)
    else:
        return on
    s.flush()
    action = "expansion.on" if on else "expansion.off"
    audit.record(s, actor, action, "channel", channel_id, {"channel_id": channel_id})
    return on


def expands(s: Session, team_id: str, channel_id: str) -> bool:
    return (
        s.scalar(
            select(ChannelExpansion.id).where(
                ChannelExpansion.team_id == team_id, ChannelExpansion.channel_id == channel_id
            )
        )
        is not None
    )


def stories_to_expand(
    s: Session, team_id: str, channel_id: str, thread_ts: str, keys: list[tuple[str, int]]
) -> list[StoryView]:
    """The workspace's stories named by `keys` that this thread has not shown yet, each
    recorded as shown (a key of another workspace, or no story, is skipped)."""
    if not keys:
        return []
    rows = s.execute(
        story_views_query().where(
            UserStory.team_id == team_id,
            Project.team_id == team_id,
            tuple_(Project.key, UserStory.number).in_(keys),
        )
    ).all()
    by_key = {(r[1], r[0].number): view_from_row(r) for r in rows}
    shown = set(
        s.scalars(
            select(KeyExpansion.story_id).where(
                and_(KeyExpansion.channel_id == channel_id, KeyExpansion.thread_ts == thread_ts)
            )
        )
    )
    fresh = []
    for key in keys:
        story = by_key.get(key)
        if story is None or story.id in shown:
            continue
        try:
            with s.begin_nested():
                s.add(
                    KeyExpansion(
                        team_id=team_id,
                        channel_id=channel_id,
                        thread_ts=thread_ts,
                        story_id=story.id,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:  # the same message delivered twice at once: shown once
            continue
        fresh.append(story)
    return fresh


def prune(s: Session, *, before: datetime) -> int:
    """Forget which keys threads expanded before then (a thread that old may again)."""
    return s.execute(
        delete(KeyExpansion)
        .where(KeyExpansion.created_at < before)
        .execution_options(synchronize_session=False)
    ).rowcount
