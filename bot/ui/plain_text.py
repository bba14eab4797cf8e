"""The console's rendering: the same replies as plain text for a terminal."""

from __future__ import annotations

import re
from typing import Any

from bot import commands
from bot.ui.story_card import readiness_of
from bot.ui.text import counted
from storage.projects import effective_settings
from storage.readiness import check_story, things_to_fix

WIDTH = 72


def story_text(story: Any, note: str | None = None, findings: list[Any] | None = None) -> str:
    assignee = f"@{story.assignee_slack_id}" if story.assignee_slack_id else "unassigned"
    lines = []
    if note:
        lines.append(note)
    lines.append(f"{story.key}  {story.title}")
    lines.append(
        f"  {story.priority} · {counted(story.story_points, 'point')} · {story.status} · {assignee}"
        f" · {story.project_name}"
    )
    shown = readiness_of(story, findings)
    if shown is not None:
        lines.append(f"  {'✓' if not shown else '!'} {things_to_fix(shown)}")
        lines += [f"    - {finding.message}" for finding in shown]
    if story.description:
        lines += ["  " + line for line in story.description.splitlines()]
    for criterion in story.acceptance_criteria or []:
        lines.append(f"  ✓ {criterion}")
    for task in story.tasks or []:
        lines.append(f"  • {task}")
    if story.tags:
        lines.append("  tags: " + ", ".join(story.tags))
    return "\n".join(lines)


def story_line(story: Any) -> str:
    """A list's line; a story that is not ready ends with "! 2 to fix", as Slack's rows do."""
    assignee = f" @{story.assignee_slack_id}" if story.assignee_slack_id else ""
    findings = [] if story.status == "DONE" else check_story(story)
    mark = f"  ! {len(findings)} to fix" if findings else ""
    return f"{story.key:<10} {story.priority:<8} {story.status:<11} {story.title}{assignee}{mark}"


def project_text(project: Any, note: str | None = None) -> str:
    lines = [note] if note else []
    lines.append(f"{project.key}  {project.name}")
    if project.description:
        lines.append("  " + project.description)
    if project.repository_url:
        lines.append("  repository: " + project.repository_url)
    settings = effective_settings(project.settings)
    lines.append(
        f"  owner @{project.owner_slack_id} · default priority "
        f"{settings['default_priority']} · template {settings['story_template']}"
        f" · Definition of Ready {settings['ready_check']}"
    )
    return "\n".join(lines)


def usage_text(command: str, problem: str | None = None) -> str:
    from bot.ui.help import usage_lines

    lines = [problem] if problem else []
    return "\n".join(lines + usage_lines(command))


def text_for(reply: Any) -> str:
    """A Reply (bot.commands) as terminal text."""
    if isinstance(reply, commands.Note):
        return reply.text
    if isinstance(reply, commands.Usage):
        return usage_text(reply.command, reply.problem)
    if isinstance(reply, commands.StoryShown):
        return story_text(reply.story, reply.note, reply.findings)
    if isinstance(reply, commands.MoveHeld):
        story = reply.story
        return "\n".join(
            [
                f"{story.key} is not ready for {reply.status}: "
                f"{things_to_fix(reply.findings).lower()}.",
                *[f"  - {finding.message}" for finding in reply.findings],
                "This project's Definition of Ready requires it. To move it anyway (recorded in "
                f"the audit log): /story move {story.key} {reply.status} anyway",
            ]
        )
    if isinstance(reply, commands.StoryListed):
        lines = [reply.note] if reply.note else []
        lines.append(reply.title + (f" (page {reply.page})" if reply.paging_token else ""))
        lines += [story_line(s) for s in reply.stories] or [reply.empty_hint]
        more = []
        if reply.has_previous:
            more.append("`prev` for the previous page")
        if reply.has_next:
            more.append("`next` for the next page")
        if more:
            lines.append("(" + ", ".join(more) + ")")
        return "\n".join(lines)
    if isinstance(reply, commands.ProjectShown):
        return project_text(reply.project, reply.note)
    if isinstance(reply, commands.ProjectsListed):
        if not reply.projects:
            return "No projects yet. Create one with /project new."
        return "\n".join(f"{p.key:<10} {p.name}" for p in reply.projects)
    if isinstance(reply, commands.ActivityShown):
        a = reply.activity
        last = a.last_story_created.strftime("%Y-%m-%d %H:%M UTC") if a.last_story_created else "-"
        return (
            f"Stories created this week: {a.stories_this_week}\n"
            f"Generation requests this week: {a.requests_this_week}\n"
            f"Last story created: {last}"
        )
    if isinstance(reply, commands.AuditShown):
        if not reply.entries:
            return "No changes recorded yet."
        from bot.ui.reports import audit_detail

        lines = []
        for e in reply.entries:
            who = f"@{e.actor_slack_id}" if e.actor_slack_id else "someone"
            detail = audit_detail(e)
            line = f"{e.created_at:%Y-%m-%d %H:%M} {who} {e.action} {e.subject}"
            lines.append(line + (f" — {detail}" if detail else ""))
        return "\n".join(lines)
    if isinstance(reply, commands.AdminGranted):
        return f"@{reply.slack_user_id} is now a workspace admin."
    from bot.ui.replies import message_for

    return slack_text(message_for(reply))


def slack_text(message: dict[str, Any]) -> str:
    """A Slack message's sections as terminal text (mrkdwn marks and emoji codes dropped)."""
    lines = [
        (block.get("text") or {}).get("text", "")
        for block in message.get("blocks") or []
        if block.get("type") == "section"
    ]
    text = "\n".join(line for line in lines if line) or message.get("text", "")
    text = re.sub(r":[a-z0-9_+-]+: ?", "", text)
    text = re.sub(r"<#([A-Z0-9]+)>", r"#\1", text)
    text = re.sub(r"<@([A-Za-z0-9_.-]+)>", r"@\1", text)
    return text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
