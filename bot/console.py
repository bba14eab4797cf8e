"""`autodevhub shell`: the slash commands in a terminal, on the same database and domain rules."""

from __future__ import annotations

import contextlib
import getpass
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot import commands
from bot.forms import (
    FORMS,
    FormField,
    answer_problem,
    field_errors_for,
    save_project,
    save_story,
    yes_or_no,
)
from bot.observe import open_database
from bot.settings import Settings
from bot.ui.messages import SORRY_NOTHING_SAVED
from bot.ui.plain_text import project_text, story_text, text_for
from storage.db import Database
from storage.errors import DomainError, ValidationFailed
from storage.fields import not_one_of, vocabulary_word
from storage.projects import find_project
from storage.users import Actor, ensure_user, get_actor

CONSOLE_TEAM = "TCONSOLE"
MAX_SAVES = 3  # a save refused again after its fields were asked again gives up
# The command history: ~/.autodevhub_history (typed commands only, not form answers).
HISTORY_FILE = Path("~/.autodevhub_history")
HISTORY_LENGTH = 1000
WELCOME = """\
AutoDevHub console — the Slack commands, typed here. Try `/project new`, `/story list`,
`/autodev help`. Also: `next`/`prev` (pages), `as NAME` (act as someone else), `quit`.
Ctrl-C cancels a question or form, Ctrl-D leaves; arrow keys recall earlier commands."""
SLASH = {"project": "/project", "story": "/story", "autodev": "/autodev"}
WORDS = ["/project", "/story", "/autodev", "help", "next", "prev", "as", "quit"]


log = logging.getLogger("autodevhub.console")


class EndOfInput(Exception):
    """stdin ran out (Ctrl-D, or the end of piped input)."""


class Refused(Exception):
    """An answer that cannot be taken; the message says why (the question is asked again)."""


class LineEditing:
    """readline in a real terminal: editing keys, arrow keys through the history (kept in
    HISTORY_FILE between sessions) and Tab completion of the command words."""

    def __init__(self, readline: Any, history: Path) -> None:
        self.readline = readline
        self.history = history

    @classmethod
    def start(cls, history: Path) -> LineEditing | None:
        try:
            import readline
        except ImportError:  # a Python built without it: plain lines still work
            return None
        editing = cls(readline, history)
        readline.set_auto_history(False)
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):  # none yet, or unreadable: start afresh
            readline.read_history_file(history)
        readline.set_completer_delims(" \t\n")
        readline.set_completer(editing.complete)
        libedit = "libedit" in (readline.__doc__ or "")  # macOS's readline speaks otherwise
        readline.parse_and_bind("bind ^I rl_complete" if libedit else "tab: complete")
        return editing

    def remember(self, line: str) -> None:
        """Add a typed command to the history (and its file, so a crash loses none)."""
        line = line.strip()
        count = self.readline.get_current_history_length()
        if not line or (count and self.readline.get_history_item(count) == line):
            return
        self.readline.add_history(line)
        with contextlib.suppress(OSError):  # a read-only home: history for this session only
            self.readline.append_history_file(1, self.history)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # rewritten whole: the newest HISTORY_LENGTH lines
            self.readline.write_history_file(self.history)

    def complete(self, text: str, state: int) -> str | None:
        before = self.readline.get_line_buffer()[: self.readline.get_begidx()].split()
        options: list[str] = []
        if not before:
            options = WORDS
        elif len(before) == 1 and before[0].lstrip("/").lower() in SLASH:
            usage = commands.USAGE[SLASH[before[0].lstrip("/").lower()]]
            options = [words.split()[0] for words, _ in usage]
        matches = [word + " " for word in options if word.startswith(text)]
        return matches[state] if state < len(matches) else None


class Console:
    """One terminal session: reads lines, runs them as commands, prints replies as text.

    With `line_editing` (a real terminal), lines are read with readline: editing, arrow
    keys, history and Tab completion of commands."""

    def __init__(
        self,
        db: Database,
        *,
        stdin: TextIO,
        stdout: TextIO,
        user: str,
        settings: Settings | None = None,
        line_editing: LineEditing | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or Settings(_env_file=None, DATABASE_URL=db.url)
        self.stdin = stdin
        self.stdout = stdout
        self.user = user
        self.paging_token: str | None = None
        self.line_editing = line_editing

    # -- terminal ----------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def ask(self, prompt: str, *, command: bool = False) -> str:
        """One line typed after `prompt`; EndOfInput at Ctrl-D or the end of input. A
        `command` line goes into the history (form answers do not)."""
        if self.line_editing is not None:
            try:
                line = input(prompt)
            except EOFError:
                raise EndOfInput from None
            if command:
                self.line_editing.remember(line)
            return line
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
                line = self.ask(f"{self.user}> ", command=True).strip()
            except EndOfInput:
                self.say("")
                return 0
            except KeyboardInterrupt:  # as in a shell: drop the line, a fresh prompt
                self.say("")
                continue
            if not line:
                continue
            if line in ("quit", "exit", "/quit"):
                return 0
            try:
                self.handle(line)
            except EndOfInput:
                self.say("\n(input ended; nothing saved)")
                return 0
            except KeyboardInterrupt:
                self.say("\nCancelled.")
            except DomainError as exc:
                self.say(exc.message)
            except Exception as exc:  # a fault of ours (or the database's): one line, no trace
                cause = getattr(exc, "orig", None) or exc
                first = str(cause).splitlines()[0][:200] if str(cause) else ""
                log.error("%s failed: %s: %s", line.split()[0][:40], type(cause).__name__, first)
                self.say(SORRY_NOTHING_SAVED)

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
        elif isinstance(reply, commands.ImproveAsked):
            self.say(
                f"Improve with Claude is reviewed side by side in Slack: `/story improve "
                f"{reply.key}` there, or the Improve button on its card."
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
        # past either end the page on screen stays: only say so
        self.say(listed.note or text_for(listed))

    # -- forms, asked field by field ---------------------------------------------------------
    def fill_form(self, form: commands.OpenForm) -> None:
        """Ask each field, checking each answer by the domain's rules as it is typed (a bad
        one is asked again at once, with the last good value as its default); then save,
        asking again only what the save refused. Ctrl-C leaves the form, nothing saved."""
        fields = FORMS[form.form]
        if form.target and form.form == "story":
            fields = tuple(f for f in fields if f.kind != "project")
        values = dict(form.initial)
        stored = dict(form.initial) if form.target else None
        what = f"{form.form} {form.editing}" if form.editing else form.form
        self.say(("Editing" if form.target else "New") + f" {what} (empty keeps [value]):")
        if form.note:
            self.say(form.note)
        try:
            for field in fields:
                values[field.name] = self.ask_field(form, field, values, stored)
            for _save in range(MAX_SAVES):
                try:
                    self.say(self.save(form, values))
                    return
                except ValidationFailed as exc:
                    errors = field_errors_for(fields, exc.field_errors)
                    if not errors:
                        self.say(exc.message)
                        break
                for message in errors.values():
                    self.say("  " + message)
                for field in fields:
                    if field.name in errors:
                        # the refused value is never offered back: the form's own, if other
                        kept = form.initial.get(field.name)
                        values[field.name] = None if kept == values[field.name] else kept
                        values[field.name] = self.ask_field(form, field, values, stored)
        except KeyboardInterrupt:
            self.say("\nCancelled; nothing saved.")
            return
        except DomainError as exc:  # not allowed, or taken meanwhile: nothing to ask again
            self.say(exc.message)
        self.say("Nothing saved.")

    def ask_field(
        self,
        form: commands.OpenForm,
        field: FormField,
        values: dict[str, Any],
        stored: dict[str, Any] | None,
    ) -> Any:
        """Ask one field until its answer is one the domain takes; returns the value."""
        current = values.get(field.name)
        if field.kind == "project" and current in (None, "") and len(form.projects) == 1:
            current = form.projects[0].id  # the only project is the obvious choice
        prompt = "  " + _prompt(field, current, form.projects)
        while True:
            answer = self.ask(prompt).strip()
            try:
                value = self.read_answer(field, answer, current, form.projects)
                problem = self.answer_problem(form, field, {**values, field.name: value}, stored)
            except Refused as exc:
                problem = str(exc)
            except DomainError as exc:  # e.g. no such project (and the closest one)
                problem = exc.message
            if problem is None:
                return value
            self.say("  " + problem)

    def read_answer(self, field: FormField, answer: str, current: Any, projects: list[Any]) -> Any:
        """A typed answer as the form's value (empty keeps `current`); Refused if unclear."""
        if field.kind == "flag":
            chosen = yes_or_no(answer, bool(current) if current is not None else None)
            if chosen is None:
                shown = f"'{answer[:40]}' is not" if answer else "Empty is not"
                raise Refused(f"{shown} a yes or no: answer y or n.")
            return chosen
        if field.kind == "project":
            return self.choose_project(answer, current, projects)
        if not answer:
            return current
        if field.kind == "select" and field.name != "story_points":  # points: any 0–21
            word = vocabulary_word(answer)
            chosen = next((o for o in field.options if o.upper() == word), None)
            if chosen is None:  # a vocabulary in capitals (HIGH) or not (warn), any case typed
                raise Refused(not_one_of(field.label.lower(), answer, field.options))
            return chosen
        if field.kind == "user":
            return None if answer.lower() in ("-", "nobody", "none") else _console_id(answer)
        if field.kind == "multiline":
            return answer.replace("\\n", "\n")
        return answer

    def choose_project(self, answer: str, current: Any, projects: list[Any]) -> str:
        """The project named (key or name, any case), refused at once with the closest."""
        if not answer:
            if current:
                return current
            raise Refused("Choose a project: " + ", ".join(p.key for p in projects) + ".")
        found = [p for p in projects if answer.lower() in (p.key.lower(), p.name.lower())]
        if found:
            return found[0].id
        with self.db.read() as s:  # the domain's lookup, and its "Did you mean"
            return find_project(s, self.reader(s), answer).id

    def answer_problem(
        self,
        form: commands.OpenForm,
        field: FormField,
        values: dict[str, Any],
        stored: dict[str, Any] | None,
    ) -> str | None:
        if field.kind == "project":
            return None  # chosen from the workspace's projects already
        with self.db.read() as s:
            return answer_problem(
                s, self.reader(s), form.form, form.target, values, field.name, stored
            )

    def reader(self, s: Any) -> Actor:
        """The acting member, in a read (they exist: the form was opened by them)."""
        return get_actor(s, CONSOLE_TEAM, self.user)

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

        while True:
            sure = yes_or_no(self.ask(f"Delete {reply.kind} {reply.label}? (y/N): "), False)
            if sure is not None:
                break
            self.say("Answer y or n.")
        if not sure:
            self.say("Nothing deleted.")
            return
        remove: Callable[..., Any] = (
            stories.delete_story if reply.kind == "story" else projects.delete_project
        )
        with self.db.write() as s:
            remove(s, self.actor(s), reply.target)
        self.say(f"Deleted {reply.label}.")


def _prompt(field: FormField, current: Any, projects: list[Any]) -> str:
    shown = "" if current in (None, "") else f" [{_shown(field, current, projects)}]"
    if field.kind == "select":
        return f"{field.label} ({'/'.join(field.options)}){shown}: "
    if field.kind == "flag":
        return f"{field.label}? (y/n){shown}: "
    if field.kind == "project":
        return f"{field.label} ({'/'.join(p.key for p in projects)}){shown}: "
    if field.kind == "user":
        return f"{field.label} (@name, - for nobody){shown}: "
    if field.kind == "multiline":
        return f"{field.label} (use \\n for new lines){shown}: "
    return f"{field.label}{shown}: "


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
    """Run the console on the configured database until `quit`, Ctrl-D or end of input."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no migration chatter at start
    terminal = stdin is None and stdout is None and sys.stdin.isatty() and sys.stdout.isatty()
    line_editing = LineEditing.start(HISTORY_FILE.expanduser()) if terminal else None
    db = open_database(settings, "autodevhub shell")
    try:
        db.upgrade()
        name = user or _console_id(_login_name())
        console = Console(
            db,
            stdin=stdin or sys.stdin,
            stdout=stdout or sys.stdout,
            user=name,
            settings=settings,
            line_editing=line_editing,
        )
        return console.run()
    except KeyboardInterrupt:  # while starting (migrations): leave quietly
        print(file=stdout or sys.stdout)
        return 130
    finally:
        if line_editing is not None:
            line_editing.close()
        db.dispose()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console"
