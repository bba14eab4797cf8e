"""Short replies: refusals, failures, notes; each a dict of `text` + `blocks` for Slack."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.ui.text import SECTION_LIMIT, clip, escape

# The one apology for a failure on our side (the details go to the log, never to the member).
SORRY = "Sorry, something went wrong on our side."
SORRY_NOTHING_SAVED = "Sorry, something went wrong on our side; nothing was saved."


def note(text: str, *, mrkdwn: str | None = None) -> dict[str, Any]:
    """A one-section message. `text` is escaped; `mrkdwn` (already safe) is used as is."""
    body = mrkdwn if mrkdwn is not None else escape(text)
    return {
        "text": clip(escape(text), SECTION_LIMIT),
        "blocks": [SectionBlock(text=MarkdownTextObject(text=clip(body, SECTION_LIMIT))).to_dict()],
    }


def refusal(message: str) -> dict[str, Any]:
    """A domain refusal (not found, not allowed, invalid): the message, escaped, nothing else."""
    return note(message, mrkdwn=":warning: " + escape(message))


def failure() -> dict[str, Any]:
    """Something broke on our side: say so without any internals."""
    text = f"{SORRY} Please try again in a moment."
    return {
        "text": text,
        "blocks": [
            SectionBlock(text=MarkdownTextObject(text=":x: " + text)).to_dict(),
            ContextBlock(
                elements=[MarkdownTextObject(text="The details are in the app's log.")]
            ).to_dict(),
        ],
    }
