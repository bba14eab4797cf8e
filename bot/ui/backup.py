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
