"""A command's Reply (bot.commands) as a Slack message: the one switch from reply to builder."""

from __future__ import annotations

import weakref
from typing import Any

from bot import commands
from bot.ui import digest, lists, live, messages, reports
from bot.ui import help as help_ui
from bot.ui.generation import generate_help
from bot.ui.readiness import move_held
from bot.ui.story_card import story_message

# The Block Kit of each list page still in use: bot/pages.py keeps pages, this their drawing
_LISTS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def message_for(reply: Any) -> dict[str, Any]:
    """Message kwargs (`text`, `blocks`, `response_type`) for every message-like reply."""
    public = False
    if isinstance(reply, commands.Note):
        body, public = messages.note(reply.text), reply.public
    elif isinstance(reply, commands.Usage):
        body = help_ui.usage(reply.command, reply.problem)
    elif isinstance(reply, commands.StoryShown):
        body = story_message(reply.story, note=reply.note, findings=reply.findings)
        public = reply.public
    elif isinstance(reply, commands.MoveHeld):
        body = move_held(reply.story, reply.status, reply.findings)
    elif isinstance(reply, commands.StoryListed):
        body = _LISTS.get(reply)
        if body is None:  # a page kept by bot.commands is drawn once, while it is kept
            body = _LISTS[reply] = lists.story_list(reply)
    elif isinstance(reply, commands.ProjectShown):
        body = lists.project_card(reply.project, note=reply.note)
    elif isinstance(reply, commands.ProjectsListed):
        body = lists.project_list(reply.projects)
    elif isinstance(reply, commands.ConfirmDelete):
        body = reports.confirm_delete(reply.kind, reply.target, reply.label)
    elif isinstance(reply, commands.ActivityShown):
        body = reports.activity(reply.activity, reply.slack_user_id)
    elif isinstance(reply, commands.AuditShown):
        body = reports.audit(reply.entries)
    elif isinstance(reply, commands.AdminGranted):
        body = reports.admin_granted(reply.slack_user_id)
    elif isinstance(reply, commands.Subscribed):
        body, public = live.subscribed(reply.subscription, reply.new), True
    elif isinstance(reply, commands.Unsubscribed):
        body = live.unsubscribed(reply.subscription)
    elif isinstance(reply, commands.SubscriptionsShown):
        body = live.subscriptions_shown(reply.subscriptions)
    elif isinstance(reply, commands.ExpansionSet):
        body, public = live.expansion_set(reply.on), True
    elif isinstance(reply, commands.GenerateHelp):
        body = generate_help()
    elif isinstance(reply, commands.DigestSet):
        body = digest.subscribed(reply.digest)
    elif isinstance(reply, commands.DigestsStopped):
        body = digest.unsubscribed(reply.digests, personal=reply.personal)
    elif isinstance(reply, commands.DigestsShown):
        body = digest.subscriptions_shown(reply.channel, reply.personal)
    else:
        raise TypeError(f"not a message reply: {type(reply).__name__}")
    return {**body, "response_type": "in_channel" if public else "ephemeral"}
