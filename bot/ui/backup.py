"""Block Kit for backups from Slack: started, written, failed (the admins' DM too)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.ui.text import SECTION_LIMIT, clip, escape


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT))).to_dict()


def backup_done(name: str, size: str, seconds: float) -> dict[str, Any]:
    line = f":floppy_disk: Backup written and verified: `{escape(name)}` ({size}, {seconds:.1f}s)."
    return {"text": "Backup written.", "blocks": [_section(line)]}


def backup_failed(message: str) -> dict[str, Any]:
    line = f":x: The backup failed and nothing was written: {escape(message)}"
    return {"text": "The backup failed.", "blocks": [_section(line)]}


def backup_started() -> dict[str, Any]:
    line = ":hourglass_flowing_sand: Taking a verified backup; I will tell you when it is done."
    return {"text": "Backup started.", "blocks": [_section(line)]}


def backups_listed(backups: list[Any]) -> dict[str, Any]:
    """The newest backups (at most 10), name, size and kind."""
    if not backups:
        return {"text": "No backups yet.", "blocks": [_section("No backups yet.")]}
    lines = [f"• `{escape(b.name)}` {b.size / 2**20:.1f} MiB ({b.kind})" for b in backups[:10]]
    more = f"\n_…and {len(backups) - 10} older_" if len(backups) > 10 else ""
    return {
        "text": f"{len(backups)} backups",
        "blocks": [_section("*Backups, newest first*\n" + "\n".join(lines) + more)],
    }
