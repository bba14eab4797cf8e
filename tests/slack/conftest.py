"""Slack tests drive the real server over HTTP; fixtures come from tests/fakes/slack_api.py."""

from tests.fakes.slack_api import fake_slack, slack, slack_db, slack_server  # noqa: F401
