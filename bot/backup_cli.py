"""`autodevhub backup [--list]` and `autodevhub restore FILE [--force]` on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.progress import ProgressShown
from bot.settings import Settings
from bot.ui.text import human_size
from storage.backup.files import BackupFailed, list_backups
from storage.backup.restore import RESTORING, UNPACKING, RestoreRefused, restore_backup
from storage.backup.sqlite_copy import COPYING, PACKING
from storage.backup.take import take_backup

# the stages counted in bytes and in pages; the rest count rows ("records")
UNITS = {UNPACKING: "B", PACKING: "B", COPYING: " pages", RESTORING: " rows"}


def backup_main(settings: Settings, list_only: bool = False) -> int:
    """Take a verified backup now (or list what exists). Exit code 0 on success, 1 on failure."""
    backup_dir = Path(settings.backup_dir)
    if list_only:
        backups = list_backups(backup_dir)
        if not backups:
            print(f"No backups in {backup_dir.resolve()} yet. Take one with `autodevhub backup`.")
            return 0
        print(f"Backups in {backup_dir.resolve()} (newest first, times in {settings.timezone}):")
        for b in backups:
            when = b.taken_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
            print(f"  {b.name}  {when}  {human_size(b.size):>10}  {b.kind}")
        return 0
    progress = ProgressShown(units=UNITS)
    try:
        report = take_backup(
            settings.database_url,
            backup_dir,
            retention_days=settings.backup_retention_days,
            progress=progress,
        )
    except BackupFailed as exc:
        progress.close()
        print(f"autodevhub backup: {exc.message}", file=sys.stderr)
        return 1
    progress.close()
    print(
        f"Backup written and verified: {report.file.path} ({human_size(report.file.size)}, "
        f"database {human_size(report.database_bytes)}, {report.seconds:.2f}s)."
    )
    if report.pruned:
        print(
            f"Removed {len(report.pruned)} backup(s) older than "
            f"{settings.backup_retention_days} days."
        )
    return 0


def restore_main(settings: Settings, file: str, force: bool = False) -> int:
    """Restore the SQLite database from FILE; refuses (exit 1) and changes nothing if unsafe."""
    progress = ProgressShown(units=UNITS)
    try:
        report = restore_backup(settings.database_url, Path(file), force=force, progress=progress)
    except RestoreRefused as exc:
        progress.close()
        print(f"autodevhub restore: {exc.message} Nothing was changed.", file=sys.stderr)
        return 1
    progress.close()
    print(f"Restored {report.database} from {file}.")
    if report.previous:
        print(f"The database it replaced is kept as {report.previous}.")
    if report.stories_only_kept:
        n = report.stories_only_kept
        print(
            f"{n} {'story' if n == 1 else 'stories'} written since the backup "
            f"{'is' if n == 1 else 'are'} only in that copy; new stories will be given "
            "their keys again."
        )
    print(f"Schema at revision {report.revision}.")
    if report.problems:
        print("Checks found problems:", file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("Integrity and search index checks: ok.")
    if force:
        print("The processes using it carry on with the restored data.")
    return 0
