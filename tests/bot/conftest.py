"""Tests of bot/ parts that need Slack (live cards) drive the real server over signed HTTP;
fixtures come from tests/fakes/slack_api.py."""

from tests.fakes.slack_api import fake_slack, slack, slack_db, slack_server  # noqa: F401
