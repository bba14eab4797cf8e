"""`/autodev digest now`: the digest composed and posted at once (the grammar and the on/off
changes are bot.commands')."""

from __future__ import annotations

from bot.commands import DigestNow
from bot.scheduler import deliver_digest
from bot.ui import digest as ui
from handlers.listening import Request


def send_now(req: Request, asked: DigestNow) -> None:
    """The digest composed and posted now; the member is told whether it went out."""
    digest = asked.digest
    delivery = deliver_digest(req.db, req.client, digest.id)
    if delivery.outcome == "posted":
        req.answer(ui.digest_sent(digest))
    else:
        req.answer(ui.not_sent(delivery.detail))
