"""`/autodev backup [list]`: a verified backup now, or the newest backups (the admin check
is bot.commands')."""

from __future__ import annotations

from bot.commands import BackupAsked
from bot.ui import backup as ui
from bot.ui.text import human_size
from handlers.listening import Request
from storage.backup.files import BackupFailed, list_backups
from storage.backup.take import take_backup


def back_up(req: Request, asked: BackupAsked) -> None:
    """A verified backup now, with word when it starts and ends; or the newest backups."""
    settings = req.settings
    if asked.list_only:
        req.answer(ui.backups_listed(list_backups(settings.backup_dir)))
        return
    req.answer(ui.backup_started())
    try:
        report = take_backup(
            settings.database_url,
            settings.backup_dir,
            retention_days=settings.backup_retention_days,
        )
    except BackupFailed as exc:
        req.answer(ui.backup_failed(exc.message))
        return
    req.answer(ui.backup_done(report.file.name, human_size(report.file.size), report.seconds))
