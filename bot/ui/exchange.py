"""Block Kit for `/project export`: the file's comment in the DM, and the notes where it was
asked (sent, or why not)."""

from __future__ import annotations

from typing import Any

from bot.ui.messages import note
from bot.ui.text import escape

FORMAT_NAMES = {"csv": "CSV", "markdown": "Markdown", "json": "JSON"}
HOW_TO_USE = {
    "csv": "Import it in Jira (Settings → System → External system import → CSV) or in "
    "Linear (Settings → Import/Export → Jira CSV).",
    "markdown": "It reads as it is, or in any Markdown viewer.",
    "json": "Everything about each story: `autodevhub import FILE --project KEY` reads it back.",
}
# What Slack's refusal of an upload means for the member, when it is theirs or an admin's to fix
UPLOAD_ERRORS = {
    "file_uploads_disabled": "file uploads are turned off in this workspace",
    "file_uploads_except_images_disabled": "this workspace only takes images as uploads",
    "file_upload_size_restricted": "the file is larger than this workspace allows",
    "missing_scope": "the app lacks the files:write scope; reinstall it from manifest.yml",
    "not_allowed_token_type": "the app's token cannot upload files",
}


def _what(exported: Any) -> str:
    count = f"{exported.stories:,} {'story' if exported.stories == 1 else 'stories'}"
    return f"{escape(exported.project_name)} ({exported.project_key}): {count}"


def export_comment(exported: Any) -> str:
    """The message that comes with the file in the member's DM (mrkdwn, names escaped)."""
    name = FORMAT_NAMES[exported.format]
    return f":page_facing_up: {_what(exported)} as {name}. {HOW_TO_USE[exported.format]}"


def export_sent(exported: Any) -> dict[str, Any]:
    """Where the export was asked: the file went to the member's DM."""
    text = (
        f"Sent you {exported.project_key}'s export ({exported.stories:,} stories, "
        f"{FORMAT_NAMES[exported.format]}) in a direct message from AutoDevHub."
    )
    return note(text, mrkdwn=":inbox_tray: " + escape(text))


def export_failed(error: str | None) -> dict[str, Any]:
    """Slack refused the upload: why, in words, when we know them."""
    reason = UPLOAD_ERRORS.get(error or "", f"Slack answered `{error or 'an error'}`")
    text = f"I could not send you the export: {reason}. Nothing was shared."
    return note(text, mrkdwn=":x: " + escape(text))
