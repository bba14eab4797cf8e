"""The `autodevhub` command line: serve, shell, db, check, backup, restore, export, import,
scheduler."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from bot.observe import open_database
from bot.settings import Settings
from storage.errors import DomainError
from storage.exchange.formats import EXPORT_FORMATS, IMPORT_FORMATS

log = logging.getLogger("autodevhub")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # name the setting and the rule, never echo a secret's value
        lines = []
        for err in exc.errors():
            name = err.get("loc", ("?",))[0]
            lines.append(f"  {name}: {err.get('msg')}")
        sys.exit("autodevhub: invalid settings:\n" + "\n".join(lines))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autodevhub", description="AutoDevHub: your agile backlog inside Slack."
    )
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the Slack app (HTTP or Socket Mode)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)

    sub.add_parser("shell", help="the same commands in a terminal, no Slack needed")

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", default=None)

    check = sub.add_parser("check", help="integrity, foreign keys, search index consistency")
    check.add_argument("--repair", action="store_true", help="rebuild the search index")
    check.add_argument(
        "--analyze", action="store_true", help="refresh the query planner's statistics"
    )

    backup = sub.add_parser("backup", help="take a verified backup now")
    backup.add_argument("--list", action="store_true", help="list the backups that exist")

    restore = sub.add_parser("restore", help="restore the database from a backup file")
    restore.add_argument("file", help="a backup file: autodevhub_*.db.gz (see backup --list)")
    restore.add_argument(
        "--force",
        action="store_true",
        help="even while other processes (serve, the shell, the scheduler) use the database: "
        "they carry on with the restored data",
    )

    export = sub.add_parser("export", help="write a project's stories to a file")
    export.add_argument("key", metavar="KEY", help="the project's key, e.g. WEB")
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default=None,
        help="csv (Jira's and Linear's importers read it; the default), markdown or json "
        "(everything, for `autodevhub import`); else the -o file's extension says",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (default KEY-stories-DATE.EXT; - is stdout)",
    )
    _workspace_options(export)

    imports = sub.add_parser("import", help="import a Jira, Linear or AutoDevHub export")
    imports.add_argument("file", metavar="FILE")
    imports.add_argument(
        "--project", metavar="KEY", required=True, help="the project to import into"
    )
    imports.add_argument(
        "--format", choices=IMPORT_FORMATS, default=None, help="default: told from the file itself"
    )
    imports.add_argument(
        "--dry-run",
        action="store_true",
        help="check every record and say what would happen; write nothing",
    )
    _workspace_options(imports)

    sub.add_parser("scheduler", help="run the scheduler alone (cleanup, backups, digests)")
    return parser


def _workspace_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team", metavar="TEAM_ID", help="the workspace, when several have a project of that key"
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="SLACK_USER_ID",
        help="the member it is done as (default: the project's owner)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    command = args.command or "serve"
    try:
        return _run(command, args, settings)
    except DomainError as exc:  # e.g. a restore is replacing the database: said, no traceback
        print(f"autodevhub {command}: {exc.message}", file=sys.stderr)
        return 1


def _run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    """Run one subcommand; its exit code."""
    if command == "serve":
        from bot.server import main as serve_main

        return serve_main(
            settings, host=getattr(args, "host", None), port=getattr(args, "port", None)
        )
    if command == "shell":
        from bot.console import main as shell_main

        return shell_main(settings)
    if command == "db":
        return _db(settings, args.action, args.revision)
    if command == "check":
        from storage.backup.hold import hold_database
        from storage.check import main as check_main

        with hold_database(settings.database_url, "autodevhub check"):  # restore waits
            return check_main(settings.database_url, repair=args.repair, analyze_too=args.analyze)
    if command == "backup":
        from bot.backup_cli import backup_main

        return backup_main(settings, list_only=args.list)
    if command == "restore":
        from bot.backup_cli import restore_main

        return restore_main(settings, args.file, force=args.force)
    if command == "export":
        from bot.exchange_cli import export_main

        return export_main(
            settings,
            args.key,
            format=args.format,
            output=args.output,
            team=args.team,
            as_user=args.as_user,
        )
    if command == "import":
        from bot.exchange_cli import import_main

        return import_main(
            settings,
            args.file,
            project=args.project,
            format=args.format,
            dry_run=args.dry_run,
            team=args.team,
            as_user=args.as_user,
        )
    if command == "scheduler":
        from bot.scheduler import main as scheduler_main

        return scheduler_main(settings)
    raise AssertionError(command)


def _db(settings: Settings, action: str, revision: str | None) -> int:

    db = open_database(settings, "autodevhub db")
    try:
        if action == "upgrade":
            db.upgrade(revision or "head")
        elif action == "downgrade":
            if not revision:
                print("autodevhub db downgrade needs a revision, e.g. -1 or base", file=sys.stderr)
                return 2
            db.downgrade(revision)
        print(f"database at revision {db.current_revision() or 'base (empty)'}")
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
