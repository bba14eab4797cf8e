"""`autodevhub shell`: the slash commands in a terminal, on the same database and domain rules."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from bot import commands
from bot.forms import FORMS, FormField, save_project, save_story
from bot.observe import open_database
from bot.settings import Settings
from bot.ui.plain_text import project_text, story_text, text_for
from storage.db import Database
from storage.errors import DomainError, ValidationFailed
from storage.fields import vocabulary_word
from storage.users import Actor, ensure_user

CONSOLE_TEAM = "TCONSOLE"
MAX_ATTEMPTS = 3
WELCOME = """\
AutoDevHub console — the Slack commands, typed here. Try `/project new`, `/story list`,
`/autodev help`. Also: `next`/`prev` (pages), `as NAME` (act as someone else), `quit`."""
SLASH = {"project": "/project", "story": "/story", "autodev": "/autodev"}


class EndOfInput(Exception):
    """stdin ran out in the middle of a question."""


class Console:
    """One terminal session: reads lines, runs them as commands, prints replies as text."""

    def __init__(
        self,
        db: Database,
        *,
        stdin: TextIO,
        stdout: TextIO,
        user: str,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or Settings(_env_file=None, DATABASE_URL=db.url)
        self.stdin = stdin
        self.stdout = stdout
        self.user = user
        self.paging_token: str | None = None

    # -- terminal ----------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def ask(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise EndOfInput
        return line.rstrip("\n")

    # -- loop --------------------------------------------------------------------------------
    def run(self) -> int:
        self.say(WELCOME)
        while True:
            try:
                line = self.ask(f"{self.user}> ").strip()
            except (EndOfInput, KeyboardInterrupt):
                self.say("")
                return 0
            if not line:
                continue
            if line in ("quit", "exit", "/quit"):
                return 0
            try:
                self.handle(line)
            except EndOfInput:
                self.say("(input ended; nothing saved)")
                return 0
            except DomainError as exc:
                self.say(exc.message)

    def handle(self, line: str) -> None:
        words = line.split()
        first = words[0].lower()
        if first in ("help", "/help"):
            for command in commands.USAGE:
                self.say(text_for(commands.Usage(command)))
            return
        if first == "as" and len(words) == 2:
            self.user = _console_id(words[1])
            self.say(f"Now acting as @{self.user}.")
            return
        if first in ("next", "prev", "previous"):
            self.turn_page(1 if first == "next" else -1)
            return
        command = SLASH.get(first.lstrip("/"))
        if command is None:
            self.say(f"Unknown command '{words[0]}'. Try /project, /story, /autodev or help.")
            return
        text = _mentions(line.split(None, 1)[1] if len(words) > 1 else "")
        with self.db.write() as s:
            actor = self.actor(s)
            reply = commands.run(
                s, actor, command, text, channel_id=None, timezone=self.settings.timezone
            )
        self.show(reply)

    def actor(self, s: Any) -> Actor:
        return ensure_user(s, CONSOLE_TEAM, self.user)

    def show(self, reply: Any) -> None:
        if isinstance(reply, commands.OpenForm):
            self.fill_form(reply)
        elif isinstance(reply, commands.ConfirmDelete):
            self.confirm_delete(reply)
        elif isinstance(reply, commands.GenerateAsked):
            self.generate(reply.text)
        elif isinstance(reply, commands.BackupAsked):
            self.say("In a terminal, run `autodevhub backup` (or `autodevhub backup list`).")
        elif isinstance(reply, commands.ExportAsked):
            self.say(
                f"In a terminal, run `autodevhub export {reply.project_key} --format "
                f"{reply.format}` (it writes the file here)."
            )
        elif isinstance(reply, commands.DigestNow):
            self.say("Digests are posted in Slack; `/autodev digest now` works there.")
        else:
            if isinstance(reply, commands.StoryListed) and reply.paging_token:
                self.paging_token = reply.paging_token
            self.say(text_for(reply))

    def generate(self, text: str) -> None:
        """`/autodev generate`: the same queue and generator as Slack, reviewed right here."""
        from bot.ai.console import generate_in_console

        with self.db.write() as s:
            actor = self.actor(s)
        generate_in_console(self.db, self.settings, actor, text, ask=self.ask, say=self.say)

    def turn_page(self, step: int) -> None:
        if not self.paging_token:
            self.say("No list to page through: run /story list first.")
            return
        with self.db.write() as s:
            listed = commands.turn_page(s, self.actor(s), self.paging_token, step)
        self.paging_token = listed.paging_token
        self.say(text_for(listed))

    # -- forms, asked field by field ---------------------------------------------------------
    def fill_form(self, form: commands.OpenForm) -> None:
        fields = FORMS[form.form]
        if form.target and form.form == "story":
            fields = tuple(f for f in fields if f.kind != "project")
        values = dict(form.initial)
        self.say(("Editing" if form.target else "New") + f" {form.form} (empty keeps [value]):")
        ask = list(fields)
        for _attempt in range(MAX_ATTEMPTS):
            for field in ask:
                values[field.name] = self.ask_field(field, values.get(field.name), form.projects)
            try:
                self.say(self.save(form, values))
                return
            except ValidationFailed as exc:
                from bot.forms import field_errors_for

                errors = field_errors_for(fields, exc.field_errors)
                for name, message in errors.items():
                    self.say(f"  {name}: {message}")
                if not errors:
                    self.say(exc.message)
                ask = [f for f in fields if f.name in errors] or list(fields)
                self.say("Please correct:")
        self.say("Nothing saved.")

    def ask_field(self, field: FormField, current: Any, projects: list[Any]) -> Any:
        if field.kind == "project" and current in (None, "") and len(projects) == 1:
            current = projects[0].id  # the only project is the obvious choice
        shown = "" if current in (None, "") else f" [{_shown(field, current, projects)}]"
        if field.kind == "select":
            prompt = f"{field.label} ({'/'.join(field.options)}){shown}: "
        elif field.kind == "flag":
            prompt = f"{field.label}? (y/n){shown}: "
        elif field.kind == "project":
            keys = "/".join(p.key for p in projects)
            prompt = f"{field.label} ({keys}){shown}: "
        elif field.kind == "user":
            prompt = f"{field.label} (@name, - for nobody){shown}: "
        elif field.kind == "multiline":
            prompt = f"{field.label} (use \\n for new lines){shown}: "
        else:
            prompt = f"{field.label}{shown}: "
        answer = self.ask("  " + prompt).strip()
        if not answer:
            return current
        if field.kind == "select":
            return vocabulary_word(answer) if field.name != "story_points" else answer
        if field.kind == "flag":
            return answer.lower() in ("y", "yes", "true", "1", "on")
        if field.kind == "project":
            match = [p for p in projects if answer.lower() in (p.key.lower(), p.name.lower())]
            return match[0].id if match else answer
        if field.kind == "user":
            return None if answer in ("-", "nobody", "none") else _console_id(answer)
        if field.kind == "multiline":
            return answer.replace("\\n", "\n")
        return answer

    def save(self, form: commands.OpenForm, values: dict[str, Any]) -> str:
        """The same save as the Slack modal's (bot.forms)."""
        with self.db.write() as s:
            actor = self.actor(s)
            if form.form == "project":
                project = save_project(s, actor, form.target, values)
                return project_text(
                    project, "Project updated." if form.target else "Project created."
                )
            story = save_story(s, actor, form.target, values)
            return story_text(story, "Updated." if form.target else "New story.")

    def confirm_delete(self, reply: commands.ConfirmDelete) -> None:
        from storage import projects, stories

        answer = self.ask(f"Delete {reply.kind} {reply.label}? (y/N): ").strip().lower()
        if answer not in ("y", "yes"):
            self.say("Nothing deleted.")
            return
        remove: Callable[..., Any] = (
            stories.delete_story if reply.kind == "story" else projects.delete_project
        )
        with self.db.write() as s:
            remove(s, self.actor(s), reply.target)
        self.say(f"Deleted {reply.label}.")


def _shown(field: FormField, value: Any, projects: list[Any]) -> str:
    if field.kind == "project":
        return next((p.key for p in projects if p.id == value), str(value))
    if field.kind == "flag":
        return "y" if value else "n"
    if field.kind == "user":
        return "@" + str(value)
    return str(value).replace("\n", "\\n")


def _console_id(name: str) -> str:
    """A console member's id: the name typed (leading @ dropped), as a Slack-like id."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "", name.lstrip("@"))[:32]
    return cleaned or "console"


def _mentions(text: str) -> str:
    """`@maria` typed in the console becomes the mention Slack would send (`<@maria>`)."""
    return re.sub(r"(?<![<\w])@([A-Za-z0-9][A-Za-z0-9_.-]*)", r"<@\1>", text)


def main(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    user: str | None = None,
) -> int:
    """Run the console on the configured database until `quit` or end of input."""
    db = open_database(settings)
    try:
        db.upgrade()
        name = user or _console_id(_login_name())
        console = Console(
            db, stdin=stdin or sys.stdin, stdout=stdout or sys.stdout, user=name, settings=settings
        )
        return console.run()
    finally:
        db.dispose()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console"
