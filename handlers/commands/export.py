"""`/project export REF [FORMAT]`: the project's stories as a file, sent to the member in a
DM with the app (the grammar and the project check are bot.commands').

A DM, not the channel it was asked in: a file shared in a channel is seen by everyone in it,
and Slack has no ephemeral files (a response_url carries no file). Jira and Linear hand an
export to whoever asked for it, as a download of their own; the DM is that here, and the
channel gets only an ephemeral note saying where the file went.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.commands import ExportAsked
from bot.ui import exchange as ui
from handlers.listening import Request
from storage.errors import NotFound
from storage.exchange.export import export_project


def send_export(req: Request, asked: ExportAsked) -> None:
    """Make the file (a read beside writers), upload it to the member's DM, say so here."""
    with req.db.read() as s:
        actor = req.known_actor(s)  # the command's write made the member just before
        if actor is None:
            raise NotFound("You are not a member of this workspace's AutoDevHub yet.")
        exported = export_project(s, actor, asked.project_id, asked.format)
    try:
        dm = req.client.conversations_open(users=req.user_id)["channel"]["id"]
        req.client.files_upload_v2(
            channel=dm,
            content=exported.content,
            filename=exported.filename,
            title=exported.filename,
            initial_comment=ui.export_comment(exported),
        )
    except SlackApiError as exc:
        req.answer(ui.export_failed(exc.response.get("error")))
        return
    req.answer(ui.export_sent(exported))
