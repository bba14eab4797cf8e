"""Block Kit for digests: the channel and personal digest, and the `/autodev digest` replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import SlackFile

from bot.ui.text import SECTION_LIMIT, clip, counted, escape, mention
from storage.digests.flow import FLOW_DAYS

TITLE_CHARS = 80
STATUS_LABEL = {"DRAFT": "Draft", "READY": "Ready", "IN_PROGRESS": "In progress", "DONE": "Done"}
PRIORITY_EMOJI = {"CRITICAL": ":red_circle:", "HIGH": ":large_orange_circle:"}
# chat.postMessage errors that retrying will not fix: the subscription is paused, and why.
REFUSALS = {
    "channel_not_found": "the channel no longer exists or I cannot see it",
    "not_in_channel": "I am not a member of the channel",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "user_not_found": "the user no longer exists",
    "user_disabled": "the user's account is deactivated",
    "cannot_dm_bot": "the recipient is a bot",
    "restricted_action": "the workspace does not allow me to post there",
    "account_inactive": "the app was removed from the workspace",
    "token_revoked": "the app was removed from the workspace",
}


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT))).to_dict()


def _context(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 2000))]).to_dict()


def _when(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


def _title(title: str) -> str:
    return escape(clip(title, TITLE_CHARS))


def _more(shown: int, total: int) -> str:
    return f"\n_…and {total - shown} more_" if total > shown else ""


def _pts(points: int) -> str:
    return f"{points} pt" if points == 1 else f"{points} pts"


def _created_line(story: Any) -> str:
    return _story_line(story, by=True)


def _story_line(line: Any, *, by: bool = False) -> str:
    parts = [f"`{escape(line.key)}` {_title(line.title)}"]
    detail = [PRIORITY_EMOJI.get(line.priority, "") + line.priority.lower(), _pts(line.points)]
    if line.assignee_slack_id:
        detail.append(f"for {mention(line.assignee_slack_id)}")
    if by and line.by_slack_id:
        detail.append(f"by {mention(line.by_slack_id)}")
    return "• " + parts[0] + " — " + " · ".join(d.strip() for d in detail)


def _change_line(change: Any) -> str:
    head = f"• `{escape(change.key)}` {_title(change.title)}"
    if change.action == "story.move":
        what = (
            f"{STATUS_LABEL.get(change.from_status, change.from_status)} → "
            f"*{STATUS_LABEL.get(change.to_status, change.to_status)}*"
        )
    elif change.action == "story.assign":
        what = "assigned to you"
    else:
        what = "edited"
    by = f" ({mention(change.by_slack_id)})" if change.by_slack_id else ""
    return f"{head}: {what}{by}"


def _finished_line(change: Any) -> str:
    by = mention(change.by_slack_id) if change.by_slack_id else "someone"
    return f"• `{escape(change.key)}` {_title(change.title)} — {by}"


def digest_message(digest: Any) -> dict[str, Any]:
    """The digest as a Slack message (`text` for notifications, `blocks` to show)."""
    if digest.kind == "personal":
        return _personal(digest)
    label = f"{escape(digest.project_key)} — {escape(digest.project_name)}"
    period = "week" if digest.frequency == "weekly" else "day"
    open_part = (
        f"{counted(digest.open_count, 'open story', 'open stories')} ({_pts(digest.open_points)})"
    )
    if digest.not_ready:
        open_part += f", {digest.not_ready} not ready"
    if digest.quiet:
        line = (
            f":zzz: Quiet {period} on *{label}*: nothing created, moved or finished. {open_part}."
        )
        return {
            "text": f"Quiet {period} on {digest.project_key}: nothing changed.",
            "blocks": [_section(line)],
        }
    title = f"{digest.frequency.capitalize()} digest · {digest.project_key}"
    blocks: list[dict[str, Any]] = [
        HeaderBlock(text=clip(f"{title} — {digest.project_name}", 150)).to_dict(),
        _context(
            f"Since {_when(digest.since, digest.timezone)} ({escape(digest.timezone)}) · "
            f"{digest.created_total} created · {digest.moved_total} moved · "
            f"{digest.finished_total} finished"
        ),
    ]
    kinds = (
        (":new: *Created", digest.created, digest.created_total, _created_line),
        (":arrow_right: *Moved", digest.moved, digest.moved_total, _change_line),
        (":white_check_mark: *Finished", digest.finished, digest.finished_total, _finished_line),
    )
    for heading, items, total, line in kinds:
        if items:
            lines = "\n".join(line(item) for item in items)
            blocks.append(_section(f"{heading} ({total})*\n{lines}" + _more(len(items), total)))
    if digest.totals:
        totals = " · ".join(
            f"{STATUS_LABEL.get(t.status, t.status)} *{t.count}* ({_pts(t.points)})"
            for t in digest.totals
        )
        blocks.append(_section(f":bar_chart: *By status*: {totals}"))
    if digest.not_ready:
        blocks.append(
            _section(
                f":warning: *Not ready*: {counted(digest.not_ready, 'open story', 'open stories')}"
                f" of {digest.open_count} {'has' if digest.not_ready == 1 else 'have'} things to "
                f"fix before they are built; `/story list {escape(digest.project_key)}` marks "
                "which, and each card says what."
            )
        )
    if digest.urgent:
        lines = "\n".join(_story_line(s) for s in digest.urgent)
        blocks.append(
            _section(
                f":rotating_light: *Critical and high, not done ({digest.urgent_total})*\n{lines}"
                + _more(len(digest.urgent), digest.urgent_total)
            )
        )
    blocks.append(_context("`/autodev digest off` stops this digest in this channel."))
    text = (
        f"{title}: {digest.created_total} created, {digest.moved_total} moved, "
        f"{digest.finished_total} finished"
    )
    return {"text": text, "blocks": blocks}


def _personal(digest: Any) -> dict[str, Any]:
    period = "week" if digest.frequency == "weekly" else "day"
    if digest.quiet:
        line = (
            f":zzz: Quiet {period}: nobody else changed your stories. You have "
            f"{counted(digest.open_total, 'open story', 'open stories')}."
        )
        return {"text": f"Quiet {period} on your stories.", "blocks": [_section(line)]}
    blocks: list[dict[str, Any]] = [
        HeaderBlock(text=f"Your {digest.frequency} digest").to_dict(),
        _context(f"Since {_when(digest.since, digest.timezone)} ({escape(digest.timezone)})"),
        _section(
            f":pencil2: *Changed on your stories ({digest.moved_total})*\n"
            + "\n".join(_change_line(c) for c in digest.moved)
            + _more(len(digest.moved), digest.moved_total)
        ),
    ]
    if digest.open_stories:
        blocks.append(
            _section(
                f":clipboard: *Your open stories ({digest.open_total})*\n"
                + "\n".join(_story_line(s) for s in digest.open_stories)
                + _more(len(digest.open_stories), digest.open_total)
            )
        )
    blocks.append(_context("`/autodev digest me off` stops your personal digest."))
    return {
        "text": f"Your {digest.frequency} digest: "
        f"{counted(digest.moved_total, 'change')} on your stories",
        "blocks": blocks,
    }


# ---------------------------------------------------------------- the weekly chart

# Slack's limits: an image block's alt_text 2000 characters, an upload's alt_txt 1000.
ALT_TEXT_CHARS = 1000


def chart_title(digest: Any, flow: Any) -> str:
    """ "WEB — cumulative flow, last 4 weeks" (or "since 06 Mar" for a younger project)."""
    whole = len(flow.days) == FLOW_DAYS
    span = f"last {FLOW_DAYS // 7} weeks" if whole else f"since {flow.days[0]:%d %b}"
    return f"{digest.project_key} — cumulative flow, {span}"


def chart_alt_text(digest: Any, flow: Any) -> str:
    """What the chart shows, in words: for screen readers, and wherever images are off."""
    first, last = flow.days[0], flow.days[-1]
    start, now = flow.on(first), flow.on(last)
    parts = ", ".join(
        f"{now[status]} {STATUS_LABEL[status].lower()}"
        for status in ("DRAFT", "READY", "IN_PROGRESS", "DONE")
    )
    text = (
        f"Cumulative flow of {digest.project_key} from {first:%d %b} to {last:%d %b}: "
        f"{_stories(sum(start.values()))} ({start['DONE']} done) on {first:%d %b}, "
        f"{_stories(sum(now.values()))} on {last:%d %b}: {parts}."
    )
    return clip(text, ALT_TEXT_CHARS)


def _stories(n: int) -> str:
    return counted(n, "story", "stories")


def chart_block(file_id: str, alt_text: str, title: str) -> dict[str, Any]:
    """The uploaded chart, shown in the message (`slack_file`: a file this app uploaded)."""
    return ImageBlock(
        slack_file=SlackFile(id=file_id), alt_text=alt_text, title=clip(title, 2000)
    ).to_dict()


def with_chart(message: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """The digest with its chart after the totals (before the closing note)."""
    blocks = list(message["blocks"])
    blocks.insert(max(len(blocks) - 1, 0), block)
    return {**message, "blocks": blocks}


# ---------------------------------------------------------------- command replies


def schedule_phrase(view: Any) -> str:
    when = f"at {view.time_of_day} ({escape(view.timezone)})"
    if view.frequency == "weekly":
        return f"every {view.weekday_name} {when}"
    return f"every day {when}"


def _subscription_line(view: Any) -> str:
    what = f"*{escape(view.project_key)}* — {escape(view.project_name)}"
    state = f"{view.frequency}, {schedule_phrase(view)}"
    if not view.active:
        return f"• {what}: :double_vertical_bar: paused. {escape(view.paused_reason or '')}"
    return f"• {what}: {state}"


def subscribed(view: Any) -> dict[str, Any]:
    if view.kind == "personal":
        line = (
            f":white_check_mark: You will get a personal {view.frequency} digest by DM "
            f"{schedule_phrase(view)}: your open stories and what others changed on them."
        )
    else:
        line = (
            f":white_check_mark: <#{escape(view.channel_id)}> will get a {view.frequency} digest "
            f"of *{escape(view.project_key)}* {schedule_phrase(view)}."
        )
    return {"text": "Digest scheduled.", "blocks": [_section(line)]}


def unsubscribed(views: list[Any], *, personal: bool = False) -> dict[str, Any]:
    if personal:
        line = ":no_bell: Your personal digest is off."
    else:
        keys = ", ".join(f"*{escape(v.project_key)}*" for v in views)
        line = f":no_bell: This channel no longer gets the digest of {keys}."
    return {"text": "Digest stopped.", "blocks": [_section(line)]}


def subscriptions_shown(views: list[Any], personal: Any | None) -> dict[str, Any]:
    """`/autodev digest` alone: what this channel gets, and the member's own digest."""
    if views:
        text = "*Digests in this channel*\n" + "\n".join(_subscription_line(v) for v in views)
    else:
        text = (
            "This channel gets no digest. `/autodev digest on [daily|weekly] [HH:MM] [PROJECT]` "
            "starts one for the channel's project."
        )
    blocks = [_section(text)]
    if personal is not None:
        state = (
            f"{personal.frequency}, {schedule_phrase(personal)}"
            if personal.active
            else f"paused. {escape(personal.paused_reason or '')}"
        )
        blocks.append(_context(f"Your personal digest: {state}"))
    else:
        blocks.append(_context("`/autodev digest me on` sends you a personal digest by DM."))
    return {"text": "Digest subscriptions", "blocks": blocks}


def digest_sent(view: Any) -> dict[str, Any]:
    where = "your DMs" if view.kind == "personal" else f"<#{escape(view.channel_id)}>"
    return {
        "text": "Digest sent.",
        "blocks": [_section(f":outbox_tray: Sent the digest to {where}.")],
    }


def pause_reason(error: str, now: datetime) -> str:
    """Why a digest was paused (kept with the subscription): when, and what Slack refused."""
    why = REFUSALS.get(error, f"Slack answered {error}")
    return f"Paused {now:%Y-%m-%d %H:%M} UTC: {why} ({error})."


def paused_note(view: Any, reason: str) -> dict[str, Any]:
    """The DM to a subscription's creator when Slack refuses to deliver it."""
    if view.kind == "personal":
        what = "your personal digest"
        fix = "Turn it on again with `/autodev digest me on`."
    else:
        what = (
            f"the {view.frequency} digest of *{escape(view.project_key)}* "
            f"in <#{escape(view.channel_id)}>"
        )
        fix = (
            "Invite me to the channel (`/invite @AutoDevHub`) and run `/autodev digest on` "
            "there to resume it."
        )
    line = f":double_vertical_bar: I paused {what}. {escape(reason)} {fix}"
    return {"text": "A digest was paused.", "blocks": [_section(line)]}


def not_sent(error: str) -> dict[str, Any]:
    line = (
        f":warning: Slack did not take the digest ({escape(error)}). If I am not in the channel, "
        "invite me with `/invite @AutoDevHub` and try again."
    )
    return {"text": "The digest was not sent.", "blocks": [_section(line)]}
