"""`autodevhub export KEY` and `autodevhub import FILE --project KEY` on the command line."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bot.observe import open_database
from bot.progress import ProgressShown
from bot.settings import Settings
from storage.errors import DomainError
from storage.exchange.command_line import command_line_actor
from storage.exchange.export import export_project
from storage.exchange.formats import DEFAULT_EXPORT, EXTENSIONS, export_format
from storage.exchange.imports import ImportRefused, import_stories

REFUSALS_SHOWN = 200  # past this many, the rest are counted, not listed
SKIPS_SHOWN = 10


def export_main(
    settings: Settings,
    key: str,
    *,
    format: str | None,
    output: str | None,
    team: str | None = None,
    as_user: str | None = None,
) -> int:
    """Write project KEY's stories to `output` (default: KEY-stories-DATE.EXT here; `-` is
    stdout). Exit code 0, or 1 with the reason on stderr and nothing written."""
    db = open_database(settings, "autodevhub export")
    progress = ProgressShown()
    try:
        format = export_format(format or _format_of(output) or DEFAULT_EXPORT)
        with db.read() as s:
            actor = command_line_actor(s, key, team_id=team, slack_user_id=as_user)
            exported = export_project(s, actor, key, format, progress=progress)
    except DomainError as exc:
        progress.close()
        print(f"autodevhub export: {exc.message}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    progress.close()
    if output == "-":
        sys.stdout.buffer.write(exported.content)
        sys.stdout.flush()
        return 0
    target = Path(output or exported.filename)
    try:
        _write_whole(target, exported.content)
    except OSError as exc:
        print(f"autodevhub export: cannot write {target}: {exc.strerror}.", file=sys.stderr)
        return 1
    print(
        f"Exported {exported.stories:,} stories of {exported.project_name} "
        f"({exported.project_key}) as {format} to {target}."
    )
    return 0


def import_main(
    settings: Settings,
    file: str,
    *,
    project: str,
    format: str | None = None,
    dry_run: bool = False,
    team: str | None = None,
    as_user: str | None = None,
) -> int:
    """Import FILE into project KEY, all records or none. Exit code 0, or 1 with every
    refused record on stderr and nothing changed."""
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        print(f"autodevhub import: cannot read {file}: {exc.strerror}.", file=sys.stderr)
        return 1
    db = open_database(settings, "autodevhub import")
    progress = ProgressShown()
    try:
        with db.write() as s:
            actor = command_line_actor(s, project, team_id=team, slack_user_id=as_user)
            report = import_stories(
                s,
                actor,
                project,
                data,
                filename=file,
                format=format,
                dry_run=dry_run,
                progress=progress,
            )
    except ImportRefused as exc:
        progress.close()
        print(f"autodevhub import: {exc.message}", file=sys.stderr)
        for refused in exc.refused[:REFUSALS_SHOWN]:
            print(f"  {refused}", file=sys.stderr)
        if len(exc.refused) > REFUSALS_SHOWN:
            print(f"  … and {len(exc.refused) - REFUSALS_SHOWN:,} more.", file=sys.stderr)
        return 1
    except DomainError as exc:
        progress.close()
        print(f"autodevhub import: {exc.message} Nothing was changed.", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    progress.close()
    where = f"{report.project_name} ({report.project_key})"
    keys = f" as {report.first_key} … {report.last_key}" if report.imported else ""
    if dry_run:
        print(
            f"Dry run: {report.imported:,} of {report.records:,} records would be imported "
            f"into {where}{keys}. Nothing was written."
        )
    else:
        print(f"Imported {report.imported:,} stories into {where}{keys} ({report.format}).")
    if report.skipped:
        verb = "would be" if dry_run else "were"
        print(f"{len(report.skipped):,} records {verb} skipped, imported before:")
        for skipped in report.skipped[:SKIPS_SHOWN]:
            print(f"  {skipped.where} ({skipped.source_key}) is {skipped.story_key}")
        if len(report.skipped) > SKIPS_SHOWN:
            print(f"  … and {len(report.skipped) - SKIPS_SHOWN:,} more.")
    return 0


def _format_of(output: str | None) -> str | None:
    """The format an output file's extension names (out.md: markdown), if any."""
    if not output or output == "-":
        return None
    suffix = Path(output).suffix.lstrip(".").lower()
    return next((f for f, ext in EXTENSIONS.items() if ext == suffix), None)


def _write_whole(target: Path, content: bytes) -> None:
    """Write the file whole or not at all (a temporary file renamed over it)."""
    folder = target.parent if str(target.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
