"""manifest.yml stays in step with the code: it declares what the app uses, and no more.

What the code uses is read from the code itself, not from a list kept beside it:

- slash commands, shortcuts, events, block actions and view callbacks: from what
  `handlers.register` (which `bot.app.create_app` calls, and nothing else registers listeners)
  registers on a small recording stand-in for the Bolt App, with token and with OAuth settings;
- Web API methods: from the source of bot/, handlers/ and storage/, parsed with `ast`
  (`client.chat_postMessage(...)`, `.api_call("x.y")`, WebhookClient posts to a response_url),
  plus what Bolt itself calls for the features the code turns on (auth.test for the bot token,
  oauth.v2.access for OAuth installs, apps.connections.open for Socket Mode) and for the
  arguments listeners and middleware ask it for (`say`, `respond`, `ack`: their parameters);
- each method's bot scopes: from WEB_API_SCOPES, a table copied from Slack's method reference.

Then it holds that:

- every registered command, shortcut and event is declared in manifest.yml, and every declared
  one is registered and answered over HTTP (commands, shortcuts, events), with the kind of
  shortcut the manifest names;
- the bot scopes needed are exactly manifest.yml's `oauth_config.scopes.bot`, and exactly
  bot/app.py's BOT_SCOPES, which the OAuth install asks for;
- each command's usage hint names every subcommand of its `bot.commands.USAGE` entry;
- the manifest respects the limits of Slack's manifest reference (MANIFEST_LIMITS).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.web.base_client import BaseClient

import handlers
from bot.app import BOT_SCOPES, create_app
from bot.commands import USAGE
from bot.homes import HomeRefresher
from bot.ui import ids
from tests.fakes.slack_api import slack_settings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
FEATURES = MANIFEST["features"]
SETTINGS = MANIFEST["settings"]
DECLARED_COMMANDS = {c["command"]: c for c in FEATURES.get("slash_commands", [])}
DECLARED_SHORTCUTS = {s["callback_id"]: s for s in FEATURES.get("shortcuts", [])}
DECLARED_EVENTS = SETTINGS["event_subscriptions"].get("bot_events", [])
DECLARED_SCOPES = MANIFEST["oauth_config"]["scopes"].get("bot", [])
SOURCE_DIRS = ("bot", "handlers", "storage")

RESPONSE_URL = "response_url"  # a POST to the request's response_url: no token, no scope

# Web API method -> the bot-token scopes Slack's method reference says it requires.
WEB_API_SCOPES: dict[str, tuple[str, ...]] = {
    # docs.slack.dev/reference/scopes/chat.write lists chat.postMessage, chat.postEphemeral
    # and chat.update among its compatible methods (channels the bot is in, and its DMs).
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    # docs.slack.dev/reference/methods/conversations.history and .replies: channels:history
    # (public channels) and groups:history (private ones); live cards read them to find a
    # card or thread line a crashed worker posted (bot/live.py)
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
    # api.slack.com/methods/chat.getPermalink: "Bot tokens: No scope required"
    "chat.getPermalink": (),
    # docs.slack.dev/reference/methods/views.open: "No scopes required"
    "views.open": (),
    # api.slack.com/methods/views.publish lists no scope (it needs the Home tab enabled)
    "views.publish": (),
    # docs.slack.dev/reference/methods/auth.test: "No scopes required"
    "auth.test": (),
    # api.slack.com/methods/oauth.v2.access: authenticated by client id and secret, no token
    "oauth.v2.access": (),
    # docs.slack.dev/reference/methods/apps.connections.open: no scopes on the bot token; the
    # app-level token (SLACK_APP_TOKEN) needs connections:write, which is not in a manifest
    "apps.connections.open": (),
    # docs.slack.dev/reference/methods/files.getUploadURLExternal and
    # files.completeUploadExternal: files:write (the two steps of files_upload_v2: the
    # weekly digest's chart, bot/scheduler.py, and /project export's file)
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    # docs.slack.dev/reference/methods/conversations.open: im:write opens a DM with one member
    # (channels:manage, groups:write and mpim:write are for the other kinds, unused here)
    "conversations.open": ("im:write",),
    RESPONSE_URL: (),
}
# docs.slack.dev/reference/scopes/commands: "Add shortcuts and slash commands that people can use"
COMMANDS_SCOPE = "commands"
# Event -> the scopes its reference page requires. app_home_opened (api.slack.com/events/
# app_home_opened) needs a bot user and no scope; app_uninstalled lists none; tokens_revoked
# (docs.slack.dev/reference/events/tokens_revoked): "No scopes required!"
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_uninstalled": (),
    "tokens_revoked": (),
    # docs.slack.dev/reference/events/message.channels: channels:history;
    # docs.slack.dev/reference/events/message.groups: groups:history
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
}
# A subscription name -> the event type its payloads carry (what a listener registers for):
# Slack subscribes to `message` per kind of conversation (docs.slack.dev/reference/events/
# message: "message.channels", "message.groups", "message.im", "message.mpim").
EVENT_TYPE_OF = {"message.channels": "message", "message.groups": "message"}
SUBSCRIBED_TYPES = {EVENT_TYPE_OF.get(e, e) for e in DECLARED_EVENTS}

# A class or function the code calls -> the Web API methods Bolt or slack_sdk then call for it.
FEATURE_CALLS: dict[str, tuple[str, ...]] = {
    "App": ("auth.test",),  # Bolt's authorization asks who the bot token is
    "OAuthSettings": ("oauth.v2.access", "auth.test"),  # the install callback
    "SocketModeHandler": ("apps.connections.open",),
    "WebhookClient": (RESPONSE_URL,),
}
# What a listener or middleware asks Bolt for (by parameter name) -> the Web API methods Bolt
# calls when it is used. A name missing here fails the test: look it up and add it.
BOLT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "ack": (),  # the HTTP response to Slack's request
    "respond": (RESPONSE_URL,),
    "say": ("chat.postMessage",),
    "client": (),  # a WebClient: what the code calls on it is found in the source
    **dict.fromkeys(("body", "payload", "context", "logger", "next", "request", "response"), ()),
    **dict.fromkeys(("command", "action", "view", "shortcut", "event", "message", "options"), ()),
}

# Limits from Slack's app manifest reference, as its typed copies state them
# (@slack/web-api src/types/request/manifest.ts; SchemaStore slack-app-manifest.json).
MANIFEST_LIMITS = {
    "app name": 35,
    "app description": 140,
    "bot display name": 80,
    "slash commands": 50,
    "command": 32,  # including the leading "/"
    "command description": 2000,
    "usage hint": 1000,
    "shortcuts": 10,
    "shortcut callback_id": 255,
    "shortcut description": 150,  # the shortcut's name has no documented limit
    "bot events": 100,
    "bot scopes": 255,
}


# -- what the Bolt app listens for -------------------------------------------------------------
# slack_bolt.App's method that registers a listener -> what the listener matches
REGISTRATION_KINDS = {
    "command": "command",
    "shortcut": "shortcut",  # either kind of shortcut
    "global_shortcut": "global",
    "message_shortcut": "message",
    "action": "action",
    "block_action": "action",
    "view": "view",  # a view_submission, for an exact callback_id
    "view_submission": "view",
    "view_closed": "view_closed",
    "event": "event",
    "options": "options",
    "block_suggestion": "options",
}


@dataclass
class Registration:
    kind: str
    constraint: Any
    functions: list[Callable[..., Any]]  # the listener (ack) function, then any lazy ones
    middleware: list[Callable[..., Any]] = field(default_factory=list)


class RecordingApp:
    """Stands in for slack_bolt.App in `handlers.register`: records every listener and every
    middleware registered, with Bolt's signatures (`app.action(id)(fn)`, `app.use(fn)`)."""

    def __init__(self) -> None:
        self.listeners: list[Registration] = []
        self.global_middleware: list[Callable[..., Any]] = []

    def use(self, *functions: Callable[..., Any]) -> Callable[..., Any]:
        self.global_middleware += functions
        return functions[0]

    middleware = use

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        assert name in REGISTRATION_KINDS, (
            f"handlers.register calls app.{name}: add it to REGISTRATION_KINDS"
        )

        def registration(constraint: Any, matchers: Any = None, middleware: Any = None):
            def register(*functions: Callable[..., Any], **named: Any) -> Callable[..., Any]:
                found = list(functions) or [named["ack"], *named.get("lazy", [])]
                entry = Registration(REGISTRATION_KINDS[name], constraint, found)
                entry.middleware = list(middleware or [])
                self.listeners.append(entry)
                return found[0]

            return register

        return registration


def registered(settings: Any, db: Any) -> RecordingApp:
    """What `handlers.register` registers on an app with these settings."""
    app = RecordingApp()
    with ThreadPoolExecutor(1) as work:
        handlers.register(app, db, settings, work, HomeRefresher())  # type: ignore[arg-type]
    assert app.listeners, "handlers.register registered no listener"
    return app


def listened_for(app: RecordingApp) -> dict[str, set[str]]:
    """What each registered listener matches, by kind: {"command": {"/story", ...}, ...}."""
    found: dict[str, set[str]] = defaultdict(set)
    for listener in app.listeners:
        assert isinstance(listener.constraint, str), (
            f"{listener.functions[0].__qualname__} listens for {listener.constraint!r}: only "
            "exact ids can be checked against manifest.yml"
        )
        found[listener.kind].add(listener.constraint)
    return found


def oauth_settings(fake_slack, slack_db) -> Any:
    return slack_settings(
        fake_slack,
        slack_db,
        SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="oauth-client-secret",
    )


@pytest.fixture(scope="module")
def token_registrations(fake_slack, slack_db) -> RecordingApp:
    return registered(slack_settings(fake_slack, slack_db), slack_db)


@pytest.fixture(scope="module")
def oauth_registrations(fake_slack, slack_db) -> RecordingApp:
    return registered(oauth_settings(fake_slack, slack_db), slack_db)


@pytest.fixture(scope="module")
def listening(token_registrations) -> dict[str, set[str]]:
    return listened_for(token_registrations)


def test_listeners_are_registered_only_by_handlers_register():
    """What the recording stand-in sees is all the server listens for: bot/ and storage/ call
    no registration method on an app themselves."""
    names = {*REGISTRATION_KINDS, "use", "middleware"}
    found = []
    for folder in ("bot", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in names
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "app"
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"register these in handlers/ instead: {found}"


@pytest.fixture(scope="module")
def oauth_app(fake_slack, slack_db):
    """The app as an OAuth install (many workspaces) builds it."""
    app = create_app(oauth_settings(fake_slack, slack_db), slack_db)
    yield app
    app.listener_pool.shutdown()


# -- what the code calls on the Web API --------------------------------------------------------
def _web_client_methods() -> dict[str, set[str]]:
    """WebClient's Python method -> the Web API methods it calls, read from slack_sdk: by
    `api_call`, or through its other methods (files_upload_v2 calls two of them)."""
    tree = ast.parse(Path(inspect.getsourcefile(WebClient)).read_text())
    client = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "WebClient")
    methods: dict[str, set[str]] = {}
    for fn in client.body:
        if isinstance(fn, ast.FunctionDef):
            called = {
                node.args[0].value
                for node in ast.walk(fn)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "api_call"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            }
            if called:
                methods[fn.name] = called
    for fn in client.body:
        if isinstance(fn, ast.FunctionDef) and fn.name not in methods:
            through = {
                method
                for node in ast.walk(fn)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "self"
                for method in methods.get(node.func.attr, ())
            }
            if through:
                methods[fn.name] = through
    return methods


def source_calls() -> dict[str, list[str]]:
    """Web API method -> where bot/, handlers/ and storage/ call it ("path:line")."""
    methods = _web_client_methods()
    api_methods = set(dir(WebClient)) - set(dir(BaseClient))
    calls: dict[str, list[str]] = defaultdict(list)
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if name in methods:
                    for method in methods[name]:
                        calls[method].append(where)
                elif name == "api_call":
                    first = node.args[0] if node.args else None
                    assert isinstance(first, ast.Constant), (
                        f"{where}: api_call with a computed name"
                    )
                    calls[first.value].append(where)
                elif name in FEATURE_CALLS:
                    for method in FEATURE_CALLS[name]:
                        calls[method].append(f"{where} ({name})")
                else:
                    assert name not in api_methods, (
                        f"{where}: WebClient.{name} calls no known method"
                    )
    return calls


def bolt_argument_calls(app: RecordingApp) -> dict[str, list[str]]:
    """Web API method -> the listeners and middleware whose Bolt arguments make Bolt call it.

    Bolt gives a function the arguments its parameters name (slack_bolt.kwargs_injection)."""
    functions = [*app.global_middleware]
    for listener in app.listeners:
        functions += [*listener.functions, *listener.middleware]
    calls: dict[str, list[str]] = defaultdict(list)
    for func in functions:
        for arg in inspect.signature(func).parameters:
            assert arg in BOLT_ARGUMENTS, (
                f"{func.__qualname__} takes {arg!r}: add it to BOLT_ARGUMENTS"
            )
            for method in BOLT_ARGUMENTS[arg]:
                calls[method].append(f"{func.__qualname__}({arg})")
    return calls


@pytest.fixture(scope="module")
def used_methods(token_registrations, oauth_registrations) -> dict[str, list[str]]:
    used: dict[str, list[str]] = defaultdict(list)
    for calls in (
        source_calls(),
        bolt_argument_calls(token_registrations),
        bolt_argument_calls(oauth_registrations),
    ):
        for method, where in calls.items():
            used[method] += where
    return used


# -- commands, shortcuts, events ---------------------------------------------------------------
def test_every_registered_command_is_declared_and_every_declared_one_registered(listening):
    assert set(DECLARED_COMMANDS) == listening["command"], (
        f"listened for but not in manifest.yml: {listening['command'] - set(DECLARED_COMMANDS)}; "
        f"in manifest.yml but no listener: {set(DECLARED_COMMANDS) - listening['command']}"
    )


def test_every_registered_shortcut_is_declared_with_a_kind_its_listener_takes(listening):
    registered = listening["shortcut"] | listening["global"] | listening["message"]
    assert set(DECLARED_SHORTCUTS) == registered, (
        f"listened for but not in manifest.yml: {registered - set(DECLARED_SHORTCUTS)}; "
        f"in manifest.yml but no listener: {set(DECLARED_SHORTCUTS) - registered}"
    )
    for callback_id, shortcut in DECLARED_SHORTCUTS.items():
        assert shortcut["type"] in ("global", "message")
        if callback_id not in listening["shortcut"]:  # app.shortcut(id) takes both kinds
            assert callback_id in listening[shortcut["type"]], (
                f"{callback_id} is declared as a {shortcut['type']} shortcut"
            )


def test_every_registered_event_is_subscribed_and_every_subscribed_one_registered(
    listening, oauth_registrations
):
    assert len(DECLARED_EVENTS) == len(set(DECLARED_EVENTS))
    for events in (listening["event"], listened_for(oauth_registrations)["event"]):
        assert events == SUBSCRIBED_TYPES, (
            f"listened for but not subscribed: {events - SUBSCRIBED_TYPES}; "
            f"subscribed but no listener: {set(DECLARED_EVENTS) - events}"
        )


def test_the_ids_list_exactly_the_actions_and_modals_listened_for(listening):
    # the HTTP checks below go through ids.ACTIONS and ids.VIEWS
    assert set(ids.ACTIONS) == listening["action"]
    assert set(ids.VIEWS) == listening["view"]
    assert not listening["view_closed"]  # none: views are not opened with notify_on_close


def test_interactivity_and_the_home_tab_are_on_for_what_the_code_uses(listening, used_methods):
    if listening["action"] or listening["view"] or DECLARED_SHORTCUTS:
        assert SETTINGS["interactivity"]["is_enabled"] is True
        assert SETTINGS["interactivity"]["request_url"].endswith("/slack/events")
    if "views.publish" in used_methods:  # Slack answers not_enabled without the Home tab
        assert FEATURES["app_home"]["home_tab_enabled"] is True
    if "app_home_opened" in DECLARED_EVENTS:  # Slack sends it only to apps with a bot user
        assert FEATURES["bot_user"]["display_name"]
    assert SETTINGS["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert MANIFEST["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")


# -- scopes ------------------------------------------------------------------------------------
def test_every_web_api_method_used_has_its_scopes_looked_up(used_methods):
    unknown = {m: where for m, where in used_methods.items() if m not in WEB_API_SCOPES}
    assert not unknown, (
        f"look up the bot scopes these need and add them to WEB_API_SCOPES: {unknown}"
    )
    stale = set(WEB_API_SCOPES) - set(used_methods)
    assert not stale, f"WEB_API_SCOPES lists methods nothing calls any more: {stale}"


def test_the_manifest_and_the_oauth_install_ask_for_exactly_the_scopes_needed(
    listening, used_methods, oauth_app
):
    needed = {scope for method in used_methods for scope in WEB_API_SCOPES.get(method, ())}
    needed |= {scope for event in DECLARED_EVENTS for scope in EVENT_SCOPES[event]}
    if listening["command"] or DECLARED_SHORTCUTS:
        needed.add(COMMANDS_SCOPE)

    assert len(DECLARED_SCOPES) == len(set(DECLARED_SCOPES))
    assert needed <= set(DECLARED_SCOPES), (
        f"missing from manifest.yml: {needed - set(DECLARED_SCOPES)}"
    )
    assert set(DECLARED_SCOPES) <= needed, f"declared but unneeded: {set(DECLARED_SCOPES) - needed}"
    assert not MANIFEST["oauth_config"]["scopes"].get("user")
    assert sorted(BOT_SCOPES) == sorted(DECLARED_SCOPES)
    # the OAuth install asks Slack for BOT_SCOPES, and no user scopes (Bolt's default is [""])
    assert oauth_app.oauth_flow.settings.scopes == BOT_SCOPES
    assert not any(oauth_app.oauth_flow.settings.user_scopes)


# -- the manifest's own text -------------------------------------------------------------------
def test_usage_hints_name_every_subcommand_of_the_help(listening):
    assert set(USAGE) == listening["command"]  # the help covers each command listened for
    for command, usage in USAGE.items():
        hint = DECLARED_COMMANDS[command]["usage_hint"]
        words = set(re.split(r"[^\w-]+", hint))
        missing = [form for form, _ in usage if form.split()[0] not in words]
        assert not missing, f"{command}'s usage_hint in manifest.yml lacks {missing}"


def test_commands_are_escaped_and_sent_to_our_url():
    for command in DECLARED_COMMANDS.values():
        assert command["url"].endswith("/slack/events")
        assert command["should_escape"] is True  # mentions arrive as <@U…>


def test_the_manifest_respects_slacks_limits():
    limits = MANIFEST_LIMITS
    info = MANIFEST["display_information"]
    assert len(info["name"]) <= limits["app name"]
    assert len(info.get("description", "")) <= limits["app description"]
    assert re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", info.get("background_color", "#000"))
    assert len(FEATURES["bot_user"]["display_name"]) <= limits["bot display name"]

    assert len(DECLARED_COMMANDS) <= limits["slash commands"]
    for name, command in DECLARED_COMMANDS.items():
        assert name.startswith("/") and len(name) <= limits["command"], name
        assert 0 < len(command["description"]) <= limits["command description"], name
        assert 0 < len(command["usage_hint"]) <= limits["usage hint"], name

    assert len(DECLARED_SHORTCUTS) <= limits["shortcuts"]
    for callback_id, shortcut in DECLARED_SHORTCUTS.items():
        assert len(callback_id) <= limits["shortcut callback_id"]
        assert shortcut["name"], callback_id
        assert 0 < len(shortcut["description"]) <= limits["shortcut description"], callback_id

    assert len(DECLARED_EVENTS) <= limits["bot events"]
    assert len(DECLARED_SCOPES) <= limits["bot scopes"]


# -- and each declared one is answered over HTTP -----------------------------------------------
@pytest.mark.parametrize("command", sorted(DECLARED_COMMANDS))
def test_each_declared_command_is_handled(slack, command):
    reply, url = slack.command(command, "help")
    assert reply.status == 200
    slack.fake.wait_response(url)


@pytest.mark.parametrize("callback_id", sorted(DECLARED_SHORTCUTS))
def test_each_declared_shortcut_is_handled_as_its_declared_kind(slack, callback_id):
    if DECLARED_SHORTCUTS[callback_id]["type"] == "global":
        reply = slack.shortcut(callback_id)
    else:
        reply, _ = slack.message_action(callback_id, "some text")
    assert reply.status == 200  # Bolt answers 404 to what no listener takes


@pytest.mark.parametrize("event", DECLARED_EVENTS)
def test_each_declared_event_is_handled(slack, event):
    payload = {"type": EVENT_TYPE_OF.get(event, event), "user": slack.user_id, "tab": "home"}
    reply = slack.event({**payload, "tokens": {}, "channel": "C0001", "text": "hi", "ts": "1.2"})
    assert reply.status == 200


@pytest.mark.parametrize("action_id", ids.ACTIONS)
def test_each_action_id_is_handled(slack, action_id):
    reply, _ = slack.block_action(action_id, value="x")
    assert reply.status == 200


def test_an_undeclared_action_is_not_handled(slack):
    reply, _ = slack.block_action("no_such_action", value="x")
    assert reply.status == 404


@pytest.mark.parametrize("callback_id", ids.VIEWS)
def test_each_modal_callback_is_handled(slack, callback_id):
    reply = slack.view_submission(callback_id, {}, private_metadata="gone")
    assert reply.status == 200
    assert reply.json["response_action"] == "errors"
