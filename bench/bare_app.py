"""The baseline of benchmark 1: a bare Bolt app that only acks, on the same server stack.

    python -m bench.bare_app --port 3001     (reads the same settings as `autodevhub serve`)

Same Bolt version, same settings, same WSGI wrapper (bot.server.make_wsgi_app) and the same
waitress settings as `autodevhub serve`; the only difference is that every command,
action and view submission is acked and nothing else happens. `--server gunicorn` serves
the same WSGI app on gunicorn's gthread worker instead (one worker process, as many
threads as waitress has), for bench/stacks.py.
"""

from __future__ import annotations

import argparse
import gc
import sys

from slack_bolt import Ack, App

from bench.bare_listeners import answering_everything
from bot.clients import web_client
from bot.server import WSGIApp, make_wsgi_app, waitress_settings
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

    return answering_everything(app, only_ack)


def serve_gunicorn(wsgi: WSGIApp, host: str, port: int, threads: int) -> None:
    """One gunicorn gthread worker (a child of gunicorn's arbiter) serving `wsgi`."""
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 5,  # seconds; the load generator's connections never idle
                "accesslog": None,  # waitress logs no access either
                "loglevel": "warning",
            }
            for key, value in settings.items():
                self.cfg.set(key, value)  # type: ignore[union-attr]

        def load(self) -> WSGIApp:
            return wsgi

    Gunicorn().run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bare ack-only Bolt app on waitress")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    args = parser.parse_args(argv)
    settings = Settings()
    db = Database(settings.database_url)
    wsgi = make_wsgi_app(settings, db, bare_app(settings))
    if args.server == "gunicorn":
        serve_gunicorn(wsgi, args.host, args.port, settings.http_threads)
        return 0
    from waitress import serve

    gc.freeze()  # as `autodevhub serve`
    adjustments = {**waitress_settings(settings.http_threads), "ident": "bare"}
    serve(wsgi, host=args.host, port=args.port, **adjustments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
