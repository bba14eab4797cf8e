"""Text for Slack: the one escaping function for mrkdwn, and length limits."""

from __future__ import annotations

SECTION_LIMIT = 3000
PLAIN_LIMIT = 150  # option texts, button labels
TITLE_LIMIT = 24  # modal titles


def escape(value: object) -> str:
    """User text made safe for mrkdwn: `&`, `<`, `>` escaped, so `<!channel>` pings nobody."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_pieces(value: object, limit: int = SECTION_LIMIT) -> list[str]:
    """User text escaped for mrkdwn and cut into pieces of at most `limit` characters: at line
    ends where it can, never inside an escape (escaping can make a text 5 times longer)."""
    pieces: list[str] = []
    piece = ""
    for line in ("" if value is None else str(value)).splitlines(keepends=True):
        escaped = escape(line)
        if len(piece) + len(escaped) <= limit:
            piece += escaped
            continue
        if piece:
            pieces.append(piece)
        piece = ""
        for char in line:  # a line longer than a piece: cut it between characters
            escaped = escape(char)
            if len(piece) + len(escaped) > limit:
                pieces.append(piece)
                piece = ""
            piece += escaped
    if piece.strip():
        pieces.append(piece)
    return [p.rstrip("\n") for p in pieces if p.strip()]


def fit(value: object, limit: int) -> str:
    """User text escaped for mrkdwn and cut to at most `limit` characters (an ellipsis when it
    was longer), never inside an escape."""
    pieces = escaped_pieces(value, limit - 1)
    if len(pieces) <= 1:
        whole = pieces[0] if pieces else ""
        return whole if len(whole) <= limit else whole[: limit - 1] + "…"
    return pieces[0] + "…"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 draft", "3 drafts", "0 stories": a number with its noun in the right form."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(slack_user_id: str | None) -> str:
    """A user mention (ids come from Slack, never from typed text), or 'nobody'."""
    if not slack_user_id:
        return "nobody"
    return f"<@{escape(slack_user_id)}>"


def human_size(n: float) -> str:
    """A size in bytes as a person reads it: "412 B", "3.4 MiB"."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
