"""Live story cards in channels: the card, its thread lines, and the subscription replies."""

from __future__ import annotations

from typing import Any

from bot.ui.messages import note
from bot.ui.story_card import story_message, summary_line
from bot.ui.text import SECTION_LIMIT, clip, escape, mention

EVENT_WORDS = {
    "created": "new stories",
    "moved": "status changes",
    "assigned": "assignments",
    "done": "finished stories",
    "deleted": "deletions",
}

# Slack errors that mean the app cannot post in the channel: the subscription pauses and its
# subscriber is told what to do (chat.postMessage's and chat.update's error lists).
PAUSING = {
    "not_in_channel": "I'm not a member of {channel}: invite me there with `/invite @AutoDevHub`",
    "channel_not_found": "{channel} cannot be found (deleted, or private and I'm not in it)",
    "is_archived": "{channel} is archived",
}


def card(
    story: Any | None, deleted: dict[str, Any] | None = None, *, tracked: bool = False
) -> dict[str, Any]:
    """The story's card as a channel shows it (`tracked`: in the thread of the message it
    was made from); a deleted story's, struck through."""
    if story is not None:
        return story_message(story, note=f"Tracked as {story.key}." if tracked else None)
    deleted = deleted or {}
    label = f"{deleted.get('key', '')} {deleted.get('title', '')}".strip()
    by = deleted.get("by")
    said = f":wastebasket: ~{escape(label)}~ deleted" + (f" by {mention(by)}" if by else "")
    return note(f"{label} deleted.", mrkdwn=said + ".")


def change_line(change: Any) -> str:
    """One change, for the card's thread: "@maria moved WEB-7 to IN_PROGRESS" (mrkdwn)."""
    who = mention(change.actor_slack_id) if change.actor_slack_id else "Someone"
    d = change.details
    key = f"*{escape(d.get('key', ''))}*"
    if change.kind == "created":
        return f"{who} created {key}"
    if change.kind in ("moved", "done"):
        done = " :white_check_mark:" if change.kind == "done" else ""
        return f"{who} moved {key} to {escape(d.get('to', ''))}{done}"
    if change.kind == "assigned":
        to = d.get("to")
        return f"{who} assigned {key} to {mention(to)}" if to else f"{who} unassigned {key}"
    if change.kind == "deleted":
        return f"{who} deleted {key}"
    return f"{who} edited {key}"


THREAD_SECTIONS = 40  # a message holds 50 blocks; a backlog of changes stays in one reply


def thread_message(lines: list[str]) -> dict[str, Any]:
    """The lines of one batch of changes: as many sections as they need (a section holds
    3,000 characters), so a long backlog (after an outage) loses no line."""
    sections: list[str] = []
    for line in lines:
        line = clip(line, SECTION_LIMIT)
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    if len(sections) > THREAD_SECTIONS:
        left = sum(s.count("\n") + 1 for s in sections[THREAD_SECTIONS - 1 :])
        sections = [*sections[: THREAD_SECTIONS - 1], f"… and {left} more changes"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    return {"text": clip("\n".join(lines), SECTION_LIMIT), "blocks": blocks}


def filters_phrase(view: Any) -> str:
    f = view.filters
    events = ", ".join(EVENT_WORDS[e] for e in f.events)
    parts = [events]
    if f.min_priority:
        parts.append(f"priority {escape(f.min_priority)} and above")
    if f.assignee_slack_id:
        parts.append(f"assigned to {mention(f.assignee_slack_id)}")
    if f.tag:
        parts.append(f"tagged `{escape(f.tag)}`")
    parts.append("updates in the card's thread" if f.threads else "no thread replies")
    return " · ".join(parts)


def subscribed(view: Any, new: bool) -> dict[str, Any]:
    verb = "now follows" if new else "follows"
    text = (
        f":satellite_antenna: <#{escape(view.channel_id)}> {verb} *{escape(view.project_key)}*: "
        f"one card per story, updated in place.\n{filters_phrase(view)}"
    )
    return note(f"This channel follows {view.project_key}.", mrkdwn=text)


def unsubscribed(view: Any) -> dict[str, Any]:
    text = f":no_bell: This channel no longer follows *{escape(view.project_key)}*."
    return note(f"This channel no longer follows {view.project_key}.", mrkdwn=text)


def subscriptions_shown(views: list[Any]) -> dict[str, Any]:
    if not views:
        return note(
            "This channel follows no project. `/project subscribe KEY` shows a project's "
            "changes here as they happen."
        )
    lines = []
    for view in views:
        paused = f" — *paused*: {escape(view.paused_reason)}" if view.paused else ""
        lines.append(f"• *{escape(view.project_key)}*: {filters_phrase(view)}{paused}")
    text = "This channel follows:\n" + "\n".join(lines)
    return note("This channel's subscriptions.", mrkdwn=clip(text, SECTION_LIMIT))


def paused_notice(view: Any, error: str) -> tuple[str, dict[str, Any]]:
    """(reason kept with the subscription, the DM to its subscriber)."""
    channel = f"<#{escape(view.channel_id)}>"
    reason = PAUSING.get(error, "Slack refused ({error})").format(channel=channel, error=error)
    text = (
        f":pause_button: I stopped showing *{escape(view.project_key)}*'s changes in "
        f"{channel}: {reason}. Then run `/project subscribe {escape(view.project_key)}` "
        "there to resume."
    )
    return reason, note(f"Updates of {view.project_key} are paused.", mrkdwn=text)


def expansion_set(on: bool) -> dict[str, Any]:
    if on:
        text = (
            ":link: Story keys like WEB-7 in this channel's messages now get the story's card "
            "in their thread (up to three per message, once per thread)."
        )
    else:
        text = ":link: Story keys in this channel's messages are no longer expanded."
    return note("Key expansion " + ("on." if on else "off."), mrkdwn=text)


def compact_card(story: Any) -> dict[str, Any]:
    """A story in a few lines, for a thread that mentioned its key."""
    title = f"*{escape(story.key)}*  {escape(story.title)}"
    project = f"{escape(story.project_name)} ({escape(story.project_key)})"
    return {
        "text": clip(escape(f"{story.key} {story.title}"), 300),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": clip(title, SECTION_LIMIT)}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": summary_line(story) + " · " + project}],
            },
        ],
    }
