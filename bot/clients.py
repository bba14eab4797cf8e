"""The per-workspace Web API clients: one on AUTODEVHUB_SLACK_API_URL, per bot token."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from bot.settings import Settings
from storage.db import Database

ClientFor = Callable[[str], WebClient | None]


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client on AUTODEVHUB_SLACK_API_URL that retries 429s and dropped connections."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def installation_store(settings: Settings, db: Database) -> SQLAlchemyInstallationStore:
    """slack_sdk's store of OAuth installations, in our database."""
    return SQLAlchemyInstallationStore(
        client_id=settings.slack_client_id or "",
        engine=db.engine,
        bots_table_name="slack_bots",
        installations_table_name="slack_installations",
    )


def workspace_clients(settings: Settings, db: Database) -> ClientFor | None:
    """workspace id -> a Web API client with its bot token (token mode or OAuth installs);
    None when neither is configured. For work outside a request (digests, AI deliveries)."""
    if settings.slack_bot_token is not None:
        client = web_client(settings, settings.slack_bot_token.get_secret_value())
        return lambda _team_id: client
    if not settings.oauth_enabled:
        return None
    store = installation_store(settings, db)

    def for_team(team_id: str) -> WebClient | None:
        bot = store.find_bot(enterprise_id=None, team_id=team_id)
        return web_client(settings, bot.bot_token) if bot and bot.bot_token else None

    return for_team


def one_client_per_workspace(client_for: ClientFor) -> ClientFor:
    """`client_for` that makes each workspace's client once: for one run of a job, so its
    messages share a client (one token lookup, one connection pool) per workspace."""
    made: dict[str, WebClient | None] = {}

    def cached(team_id: str) -> WebClient | None:
        if team_id not in made:
            made[team_id] = client_for(team_id)
        return made[team_id]

    return cached
