"""`/autodev backup [list]`: a verified backup now, or the newest backups (workspace admins).

Called after the ack, in the /autodev listener's worker thread, as

    handle_backup(*, text: str, body: dict, context: BoltContext,
                respond: Respond, client: WebClient) -> None

Errors: a storage.errors.DomainError, shown ephemerally by the caller.
"""

from __future__ import annotations

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.backup_cli import human_size
from bot.ui import backup as ui
from handlers.listening import acting_member, database, settings_of
from storage.backup.files import BackupFailed, list_backups
from storage.backup.take import take_backup
from storage.errors import ValidationFailed
from storage.permissions import require_admin


def handle_backup(
    *, text: str, body: dict, context: BoltContext, respond: Respond, client: WebClient
) -> None:
    word = text.strip().lower()
    if word not in ("", "list"):
        raise ValidationFailed("Usage: `/autodev backup` (take one now) or `/autodev backup list`.")
    db, settings = database(context), settings_of(context)
    with db.write() as s:
        actor = acting_member(s, context)
        require_admin(actor, "take or list backups")
    if word == "list":
        respond(response_type="ephemeral", **ui.backups_listed(list_backups(settings.backup_dir)))
        return
    respond(response_type="ephemeral", **ui.backup_started())
    try:
        report = take_backup(
            settings.database_url,
            settings.backup_dir,
            retention_days=settings.backup_retention_days,
        )
    except BackupFailed as exc:
        respond(response_type="ephemeral", **ui.backup_failed(exc.message))
        return
    respond(
        response_type="ephemeral",
        **ui.backup_done(report.file.name, human_size(report.file.size), report.seconds),
    )
