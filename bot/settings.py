"""Settings: one object, read from the environment or `.env`, ecosystem names where they exist."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import default_database_url, normalize_url


class Settings(BaseSettings):
    """Everything the process reads from its environment. Secrets are SecretStr: never logged."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default_factory=default_database_url, alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="AUTODEVHUB_SLACK_API_URL")
    anthropic_api_key: SecretStr | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    ai_model: str = Field(default="claude-sonnet-4-5", alias="AUTODEVHUB_AI_MODEL")
    ai_timeout_seconds: float = Field(default=60.0, alias="AUTODEVHUB_AI_TIMEOUT")
    ai_max_retries: int = Field(default=2, alias="AUTODEVHUB_AI_MAX_RETRIES")
    ai_workers: int = Field(default=16, alias="AUTODEVHUB_AI_WORKERS", ge=1, le=64)
    ai_rate_limit_per_minute: int = Field(default=10, alias="AUTODEVHUB_AI_RATE_LIMIT", ge=1)
    # a generation whose worker stopped heart-beating this long ago is re-queued (crash, kill -9)
    ai_lease_seconds: float = Field(default=30.0, alias="AUTODEVHUB_AI_LEASE", gt=0, le=3600)
    backup_dir: Path = Field(default=Path("backups"), alias="AUTODEVHUB_BACKUP_DIR")
    backup_retention_days: int = Field(default=30, alias="AUTODEVHUB_BACKUP_RETENTION_DAYS", ge=1)
    backup_time: str = Field(default="02:00", alias="AUTODEVHUB_BACKUP_TIME")
    timezone: str = Field(default="UTC", alias="AUTODEVHUB_TIMEZONE")
    host: str = Field(default="0.0.0.0", alias="AUTODEVHUB_HOST")
    port: int = Field(default=3000, alias="PORT", ge=1, le=65535)
    # HTTP threads run listeners up to their ack: CPU work and short reads. More of them
    # than cores only makes them fight over the GIL (bench/ack_path.py: 4 threads gave 20%
    # more lists per second than 16 and half the p99). Work threads run what follows acks:
    # mostly waits on Slack's Web API, so there are more of them.
    http_threads: int = Field(default=4, alias="AUTODEVHUB_HTTP_THREADS", ge=1, le=256)
    work_threads: int = Field(default=16, alias="AUTODEVHUB_WORK_THREADS", ge=1, le=256)
    # Seconds an App Home refresh waits so that a burst of changes costs one build (the
    # acting member's own Home, when the change came from it, is refreshed at once).
    home_delay: float = Field(default=2.0, alias="AUTODEVHUB_HOME_DELAY", ge=0, le=60)
    # a database statement slower than this is logged (its shape, never its values)
    slow_query_ms: float = Field(default=1000.0, alias="AUTODEVHUB_SLOW_QUERY_MS", gt=0)
    # live story cards: changes of one story within this many seconds become one update
    card_window: float = Field(default=2.0, alias="AUTODEVHUB_CARD_WINDOW", ge=0, le=60)
    card_workers: int = Field(default=2, alias="AUTODEVHUB_CARD_WORKERS", ge=1, le=16)
    # a card claimed this long ago by a worker that has not finished is taken over (kill -9,
    # a lost replica): longer than any delivery takes, as a live worker could be overtaken
    card_lease_seconds: float = Field(default=60.0, alias="AUTODEVHUB_CARD_LEASE", gt=0, le=3600)
    scheduler_enabled: bool = Field(default=True, alias="AUTODEVHUB_SCHEDULER")
    log_level: str = Field(default="INFO", alias="AUTODEVHUB_LOG_LEVEL")

    @field_validator("database_url")
    @classmethod
    def _normalize_db(cls, value: str) -> str:
        return normalize_url(value)

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("backup_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("AUTODEVHUB_BACKUP_TIME must be HH:MM, 24-hour, e.g. 02:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"AUTODEVHUB_TIMEZONE {value!r} is not an IANA time zone (e.g. Europe/Berlin)"
            ) from exc
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_configured(self) -> bool:
        """True when there is enough to talk to Slack (token mode or OAuth)."""
        return bool(self.slack_signing_secret or self.slack_app_token) and bool(
            self.slack_bot_token or self.oauth_enabled
        )
