"""Listener tests drive the real server over signed HTTP; fixtures come from
tests/fakes/slack_api.py. tests/handlers/<kind>/ mirrors handlers/<kind>/."""

from tests.fakes.slack_api import fake_slack, slack, slack_db, slack_server  # noqa: F401
