"""Text for Slack: the one escaping function for mrkdwn, and length limits."""

from __future__ import annotations

SECTION_LIMIT = 3000
PLAIN_LIMIT = 150  # option texts, button labels
TITLE_LIMIT = 24  # modal titles


def escape(value: object) -> str:
    """User text made safe for mrkdwn: `&`, `<`, `>` escaped, so `<!channel>` pings nobody."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(slack_user_id: str | None) -> str:
    """A user mention (ids come from Slack, never from typed text), or 'nobody'."""
    if not slack_user_id:
        return "nobody"
    return f"<@{escape(slack_user_id)}>"
