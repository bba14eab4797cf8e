"""Scheduler tests: settings pointing at a test database, a backup dir, and the fake Slack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.settings import Settings
from tests.fakes.slack_api import BOT_TOKEN, fake_slack, slack_db  # noqa: F401


def scheduler_settings(db: Any, tmp_path: Path, fake: Any = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db.url,
        "AUTODEVHUB_BACKUP_DIR": str(tmp_path / "backups"),
        "AUTODEVHUB_TIMEZONE": "UTC",
        "SLACK_BOT_TOKEN": BOT_TOKEN if fake is not None else None,
        "AUTODEVHUB_SLACK_API_URL": fake.api_url if fake is not None else "http://127.0.0.1:9/",
        "SLACK_SIGNING_SECRET": None,
        "SLACK_APP_TOKEN": None,
        "SLACK_CLIENT_ID": None,
        "SLACK_CLIENT_SECRET": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)
