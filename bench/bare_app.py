"""The baseline of benchmark 1: a bare Bolt app that only acks, on the same server stack.

    python -m bench.bare_app --port 3001     (reads the same settings as `autodevhub serve`)

Same Bolt version, same settings, same WSGI wrapper (bot.server.make_wsgi_app) and the same
waitress settings as `autodevhub serve`; the only difference is that every command,
action and view submission is acked and nothing else happens.
"""

from __future__ import annotations

import argparse
import re
import sys

from slack_bolt import Ack, App

from bot.clients import web_client
from bot.server import make_wsgi_app, waitress_settings
from bot.settings import Settings
from storage.db import Database


def bare_app(settings: Settings) -> App:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret.get_secret_value()  # type: ignore[union-attr]
    app = App(
        client=web_client(settings, token),
        signing_secret=secret,
        process_before_response=True,  # as `autodevhub serve` (bot.app.create_app)
        request_verification_enabled=False,  # likewise: make_wsgi_app checks the signature
        name="bare",
    )

    def only_ack(ack: Ack) -> None:
        ack()

    for command in ("/story", "/project", "/autodev"):
        app.command(command)(only_ack)
    app.action(re.compile(".*"))(only_ack)
    app.view(re.compile(".*"))(only_ack)
    app.shortcut(re.compile(".*"))(only_ack)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bare ack-only Bolt app on waitress")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = Settings()
    db = Database(settings.database_url)
    wsgi = make_wsgi_app(settings, db, bare_app(settings))
    from waitress import serve

    adjustments = {**waitress_settings(settings.http_threads), "ident": "bare"}
    serve(wsgi, host=args.host, port=args.port, **adjustments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
