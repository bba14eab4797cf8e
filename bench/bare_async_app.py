"""Issue 14's other floor: a bare Bolt AsyncApp that only acks, on uvicorn (bench/stacks.py).

    python -m bench.bare_async_app --port 3002 [--loop uvloop|asyncio] [--http httptools|h11]
        (reads the same settings as `autodevhub serve`)

The async twin of bench/bare_app.py: the same token mode (one auth.test to the fake Web API
on the first request, cached after it), the same listeners acking every command, action,
view submission and shortcut, and `process_before_response=True` as `autodevhub serve`.
Bolt's own ASGI adapter (slack_bolt.adapter.asgi, no web framework under it) serves
POST /slack/events; Bolt's AsyncRequestVerification checks each request's v0 signature and
its 5-minute timestamp, as Slack requires (our WSGI wrapper does that for the sync app).
GET /healthz answers "ok" (no database: the app never uses one). One uvicorn worker, in
this process.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.bare_listeners import answering_everything
from bot.settings import Settings

ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]],
                   Awaitable[None]]  # fmt: skip


def bare_async_app(settings: Settings) -> AsyncApp:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret.get_secret_value()  # type: ignore[union-attr]
    app = AsyncApp(
        # AsyncApp makes no call when built: its auth.test waits for the first request
        client=AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=10),
        signing_secret=secret,
        process_before_response=True,  # as `autodevhub serve` and bench/bare_app.py
        request_verification_enabled=True,  # nothing in front of Bolt checks the signature
        name="bare-async",
    )

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    return answering_everything(app, only_ack)


def asgi_app(app: AsyncApp) -> ASGIApp:
    """Bolt's ASGI adapter on /slack/events, and GET /healthz for bench.serve_process."""
    bolt = AsyncSlackRequestHandler(app, path="/slack/events")

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": b"ok\n"})
            return
        await bolt(scope, receive, send)

    return serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bare ack-only Bolt AsyncApp on uvicorn")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper())
    import uvicorn

    uvicorn.run(
        asgi_app(bare_async_app(settings)),
        host=args.host,
        port=args.port,
        workers=1,
        loop=args.loop,
        http=args.http,
        lifespan="off",  # the app has nothing to start or stop
        access_log=False,  # waitress logs no access either
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
