"""manifest.yml declares every command, shortcut and event the app listens for, and no more."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.app import BOT_SCOPES
from bot.ui import ids

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())


def test_commands_are_declared_with_escaping_and_our_url():
    declared = {c["command"]: c for c in MANIFEST["features"]["slash_commands"]}
    assert set(declared) == set(ids.COMMANDS)
    for command in declared.values():
        assert command["url"].endswith("/slack/events")
        assert command["should_escape"] is True  # mentions arrive as <@U…>
        assert len(command["description"]) <= 2000 and command["usage_hint"]


def test_shortcuts_are_declared_with_their_kinds():
    declared = {s["callback_id"]: s["type"] for s in MANIFEST["features"]["shortcuts"]}
    assert declared == ids.SHORTCUTS
    for shortcut in MANIFEST["features"]["shortcuts"]:
        assert len(shortcut["description"]) <= 150 and len(shortcut["name"]) <= 50


def test_events_home_interactivity_and_minimal_scopes():
    settings = MANIFEST["settings"]
    assert settings["event_subscriptions"]["bot_events"] == list(ids.EVENTS)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["oauth_config"]["scopes"]["bot"] == BOT_SCOPES
    assert MANIFEST["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")


def test_the_app_listens_for_exactly_what_the_ids_name(slack_server):
    listeners = slack_server.bolt_app._listeners
    expected = (
        len(ids.COMMANDS) + len(ids.SHORTCUTS) + len(ids.EVENTS) + len(ids.ACTIONS) + len(ids.VIEWS)
    )
    assert len(listeners) == expected


@pytest.mark.parametrize("command", ids.COMMANDS)
def test_each_declared_command_is_handled(slack, command):
    reply, url = slack.command(command, "help")
    assert reply.status == 200
    slack.fake.wait_response(url)


@pytest.mark.parametrize("callback_id", sorted(ids.SHORTCUTS))
def test_each_declared_shortcut_is_handled(slack, callback_id):
    if ids.SHORTCUTS[callback_id] == "global":
        reply = slack.shortcut(callback_id)
    else:
        reply, _ = slack.message_action(callback_id, "some text")
    assert reply.status == 200


@pytest.mark.parametrize("event", ids.EVENTS)
def test_each_declared_event_is_handled(slack, event):
    reply = slack.event({"type": event, "user": slack.user_id, "tab": "home", "tokens": {}})
    assert reply.status == 200


@pytest.mark.parametrize("action_id", ids.ACTIONS)
def test_each_action_id_is_handled(slack, action_id):
    reply, _ = slack.block_action(action_id, value="x")
    assert reply.status == 200  # Bolt answers 404 to what no listener takes


def test_an_undeclared_action_is_not_handled(slack):
    reply, _ = slack.block_action("no_such_action", value="x")
    assert reply.status == 404


@pytest.mark.parametrize("callback_id", ids.VIEWS)
def test_each_modal_callback_is_handled(slack, callback_id):
    reply = slack.view_submission(callback_id, {}, private_metadata="gone")
    assert reply.status == 200
    assert reply.json["response_action"] == "errors"
