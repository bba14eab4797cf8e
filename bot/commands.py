"""The slash-command grammar, apart from Slack: words in, one domain operation, a Reply out.

Slack listeners and the console both call `run(...)`; each renders the Reply its own way
(Block Kit via bot/ui, or plain text), so every command behaves the same in both places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.forms import project_initial, story_initial
from bot.pages import KeptPages
from storage import projects, readiness, sessions, stories
from storage.activity import user_activity
from storage.audit import list_audit
from storage.db import is_read_only
from storage.digests import schedule, subscriptions
from storage.errors import DomainError, NotFound, ValidationFailed
from storage.exchange.formats import DEFAULT_EXPORT, export_format
from storage.fields import PRIORITIES, STATUSES, STORY_KEY, not_one_of, vocabulary_word
from storage.live import expansion
from storage.live import subscriptions as live
from storage.models import LIVE_EVENTS
from storage.permissions import require_admin
from storage.search import search_stories
from storage.users import Actor, grant_admin

PAGE_SIZE = 10
SEARCH_LIMIT = 20
PAGING_TTL = timedelta(days=1)
PAGING_KIND = "story_list"
MENTION = re.compile(r"^<@([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\|[^>]*)?>$")

USAGE = {
    "/project": [
        ("new", "create a project (opens a form)"),
        ("list", "all projects in this workspace"),
        ("show REF", "one project (REF: its key or name)"),
        ("edit REF", "change a project (owner or admin)"),
        ("delete REF", "delete a project and its stories (owner or admin)"),
        ("link REF", "make it this channel's default project"),
        (
            "subscribe REF [FILTERS]",
            "show its stories' changes here as they happen; filters: created moved assigned "
            "done deleted (the events) · priority:high · assignee:@user · tag:NAME · threads:off",
        ),
        ("unsubscribe REF", "stop showing them here"),
        ("subscriptions", "what this channel follows"),
        ("expand on|off", "story keys like WEB-7 in this channel's messages get their card"),
        (
            "export REF [csv|markdown|json]",
            "its stories as a file, sent to you in a DM: CSV (the default) for Jira's and "
            "Linear's importers, Markdown to read, JSON for `autodevhub import`",
        ),
        ("help", "this help"),
    ],
    "/story": [
        ("new [PROJECT]", "create a story (opens a form)"),
        ("list [PROJECT] [status:S] [priority:P] [mine]", "stories, CRITICAL first, newest first"),
        ("show KEY-N", "one story, e.g. WEB-7"),
        ("edit KEY-N", "change a story (opens a form)"),
        (
            "move KEY-N STATUS",
            "DRAFT, READY, IN_PROGRESS or DONE (held for a confirmation when the project "
            "requires stories to be ready)",
        ),
        ("assign KEY-N @user", "assign (or `nobody` to unassign, `me` for yourself)"),
        ("delete KEY-N", "delete a story (creator, project owner or admin)"),
        ("search TEXT", "full-text search over titles and descriptions"),
        (
            "improve KEY-N",
            "Claude rewrites the story against its readiness findings; you review it beside "
            "the current one before anything is replaced",
        ),
        ("help", "this help"),
    ],
    "/autodev": [
        ("generate [PROJECT] [FEATURE TEXT]", "draft stories with Claude"),
        ("digest on|off|now [daily|weekly] [HH:MM]", "this channel's project digest"),
        ("me", "your activity this week"),
        ("audit [N]", "the latest N changes (admins)"),
        ("backup", "take a verified backup now (admins)"),
        ("admin @user", "make someone a workspace admin (admins)"),
        ("help", "this help"),
    ],
}


# -- replies ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    """A short plain-text message (user text inside is escaped when rendered)."""

    text: str
    public: bool = False


@dataclass(frozen=True)
class Usage:
    """A command's help; `problem` says what was wrong with what was typed."""

    command: str
    problem: str | None = None


@dataclass(frozen=True)
class StoryShown:
    story: Any
    note: str | None = None
    public: bool = False
    findings: list[Any] | None = None  # the readiness check's, look-alikes included


@dataclass(frozen=True)
class MoveHeld:
    """The project's Definition of Ready (`require`) holds a move until it is confirmed."""

    story: Any
    status: str
    findings: list[Any]


# eq=False: a page is hashed and compared as the object it is, so a kept page (bot/pages.py)
# keeps the Block Kit made of it too (bot.ui.replies)
@dataclass(frozen=True, eq=False)
class StoryListed:
    title: str
    stories: list[Any]
    paging_token: str | None = None
    page: int = 1
    has_previous: bool = False
    has_next: bool = False
    empty_hint: str = "No stories match."
    note: str | None = None  # e.g. that Next was pressed on the last page


@dataclass(frozen=True)
class ProjectShown:
    project: Any
    note: str | None = None


@dataclass(frozen=True)
class ProjectsListed:
    projects: list[Any]


@dataclass(frozen=True)
class OpenForm:
    """Ask for a form: `form` is 'project' or 'story'; `target` is the id being edited."""

    form: str
    initial: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    projects: list[Any] = field(default_factory=list)
    note: str | None = None  # shown above the fields (e.g. what was cut to fit)
    editing: str | None = None  # what a form for `target` edits, as its title says ("WEB-7")


@dataclass(frozen=True)
class Subscribed:
    subscription: Any
    new: bool


@dataclass(frozen=True)
class Unsubscribed:
    subscription: Any


@dataclass(frozen=True)
class SubscriptionsShown:
    subscriptions: list[Any]


@dataclass(frozen=True)
class ExpansionSet:
    on: bool


@dataclass(frozen=True)
class ConfirmDelete:
    kind: str  # "story" | "project"
    target: str  # id
    label: str  # "WEB-7 Reset password" / "Web shop (WEB)"


@dataclass(frozen=True)
class ActivityShown:
    activity: Any
    slack_user_id: str


@dataclass(frozen=True)
class AuditShown:
    entries: list[Any]


@dataclass(frozen=True)
class AdminGranted:
    slack_user_id: str


@dataclass(frozen=True)
class GenerateAsked:
    """`/autodev generate [PROJECT] [FEATURE TEXT]`: ask for the generation form."""

    text: str


@dataclass(frozen=True)
class GenerateHelp:
    pass


@dataclass(frozen=True)
class DigestSet:
    """A digest turned on (or its schedule changed)."""

    digest: Any


@dataclass(frozen=True)
class DigestsStopped:
    digests: list[Any]
    personal: bool = False


@dataclass(frozen=True)
class DigestsShown:
    channel: list[Any]
    personal: Any | None


@dataclass(frozen=True)
class DigestNow:
    """Send this digest now (composed and posted outside the transaction)."""

    digest: Any


@dataclass(frozen=True)
class ExportAsked:
    """Send the member a project's stories as a file (made and uploaded after the ack)."""

    project_id: str
    project_key: str
    format: str


@dataclass(frozen=True)
class ImproveAsked:
    """`/story improve KEY-N`: Claude rewrites the story (asked for after the ack)."""

    story_id: str
    key: str


@dataclass(frozen=True)
class BackupAsked:
    """An admin asked for a verified backup now, or for the list of the newest."""

    list_only: bool


Reply = (
    Note
    | Usage
    | StoryShown
    | MoveHeld
    | StoryListed
    | ProjectShown
    | ProjectsListed
    | OpenForm
    | ConfirmDelete
    | Subscribed
    | Unsubscribed
    | SubscriptionsShown
    | ExpansionSet
    | ActivityShown
    | AuditShown
    | AdminGranted
    | GenerateAsked
    | GenerateHelp
    | DigestSet
    | DigestsStopped
    | DigestsShown
    | DigestNow
    | BackupAsked
    | ExportAsked
    | ImproveAsked
)


# -- the entry point ----------------------------------------------------------------------------
def run(
    s: Session,
    actor: Actor,
    command: str,
    text: str,
    *,
    channel_id: str | None,
    timezone: str = "UTC",
) -> Reply:
    """Carry out one slash command for `actor` inside the write transaction `s`.

    `channel_id` is where it was typed (None in the console); `timezone` is the default of
    digest schedules (AUTODEVHUB_TIMEZONE)."""
    words = (text or "").split()
    verb = words[0].lower() if words else "help"
    rest = words[1:]
    if command == "/project":
        return _project(s, actor, verb, rest, channel_id)
    if command == "/story":
        return _story(s, actor, verb, rest, channel_id, text)
    if command == "/autodev":
        return _autodev(s, actor, verb, rest, text, channel_id, timezone)
    return Note(f"Unknown command {command}.")


def _rest_text(text: str, verb: str) -> str:
    """The typed text after the verb, spacing kept."""
    stripped = (text or "").strip()
    return stripped[len(verb) :].strip() if stripped.lower().startswith(verb) else stripped


def _need(rest: list[str], command: str, what: str) -> str:
    if not rest:
        raise UsageProblem(command, f"Say which {what}.")
    return " ".join(rest)


class UsageProblem(DomainError):
    """What was typed does not fit the grammar; carries the command for its help."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(message)
        self.command = command


def usage_for(exc: UsageProblem) -> Usage:
    return Usage(exc.command, exc.message)


# -- /project -----------------------------------------------------------------------------------
def _project(s: Session, actor: Actor, verb: str, rest: list[str], channel_id: str | None) -> Reply:

    try:
        if verb == "help":
            return Usage("/project")
        if verb == "new":
            initial = project_initial()
            if rest:
                initial["name"] = " ".join(rest)
            return OpenForm("project", initial)
        if verb == "list":
            return ProjectsListed(projects.list_projects(s, actor))
        if verb == "show":
            return ProjectShown(projects.get_project(s, actor, _need(rest, "/project", "project")))
        if verb == "edit":
            project = projects.get_project(s, actor, _need(rest, "/project", "project"))
            return OpenForm(
                "project", project_initial(project), target=project.id, editing=project.key
            )
        if verb == "delete":
            project = projects.get_project(s, actor, _need(rest, "/project", "project"))
            return ConfirmDelete("project", project.id, f"{project.name} ({project.key})")
        if verb == "link":
            if not channel_id:
                return Note("Linking needs a channel: run /project link in the channel.")
            project = projects.link_channel(
                s, actor, _need(rest, "/project", "project"), channel_id
            )
            return ProjectShown(project, note=f"{project.name} is now this channel's project.")
        if verb == "subscribe":
            ref = _need(rest[:1], "/project", "project")
            view, new = live.subscribe(s, actor, ref, channel_id, parse_filters(rest[1:], actor))
            return Subscribed(view, new)
        if verb == "unsubscribe":
            ref = " ".join(rest) or _need(rest, "/project", "project")
            return Unsubscribed(live.unsubscribe(s, actor, ref, channel_id))
        if verb == "subscriptions":
            return SubscriptionsShown(live.channel_subscriptions(s, actor, channel_id))
        if verb == "expand":
            word = rest[0].lower() if rest else ""
            if word not in ("on", "off"):
                raise UsageProblem("/project", "Say `/project expand on` or `/project expand off`.")
            return ExpansionSet(expansion.set_expansion(s, actor, channel_id, word == "on"))
        if verb == "export":
            return _export(s, actor, rest)
    except UsageProblem as exc:
        return usage_for(exc)
    return Usage("/project", f"I don't know '{verb}'.")


def _export(s: Session, actor: Actor, rest: list[str]) -> ExportAsked:
    """`/project export REF [csv|markdown|json]`: the project is checked now, the file made
    after the ack. REF may be a name of several words; a last word that is no format is
    refused as one when REF is a single word before it."""
    if not rest:
        raise UsageProblem(
            "/project", "Say which project: /project export WEB [csv|markdown|json]."
        )
    words, format = rest, DEFAULT_EXPORT
    if len(rest) > 1:
        try:
            format, words = export_format(rest[-1]), rest[:-1]
        except ValidationFailed as exc:
            if len(rest) == 2:
                raise UsageProblem("/project", exc.message) from None
    project = projects.get_project(s, actor, " ".join(words))
    return ExportAsked(project.id, project.key, format)


# -- /story -------------------------------------------------------------------------------------
def _story(
    s: Session, actor: Actor, verb: str, rest: list[str], channel_id: str | None, text: str
) -> Reply:

    try:
        if verb == "help":
            return Usage("/story")
        if verb == "new":
            return new_story_form(s, actor, " ".join(rest) or None, channel_id)
        if verb == "list":
            return list_stories(s, actor, rest, channel_id)
        if verb == "show":
            story = stories.get_story(s, actor, _story_key(rest))
            if story.status == "DONE":  # shows no findings (readiness_of): no look-alike query
                return StoryShown(story)
            return StoryShown(story, findings=readiness.story_readiness(s, actor, story))
        if verb == "edit":
            return edit_story_form(stories.get_story(s, actor, _story_key(rest)))
        if verb == "move":
            key = _story_key(rest)
            words = rest[1:]
            anyway = len(words) > 1 and words[-1].lower() == "anyway"
            if anyway:  # the console's "Move anyway"
                words = words[:-1]
            if not words:
                raise UsageProblem("/story", "Say the new status: " + ", ".join(STATUSES) + ".")
            status = normalize_status(" ".join(words))
            try:
                moved = readiness.move_story(s, actor, key, status, override=anyway)
            except readiness.NotReady as held:
                return MoveHeld(held.story, held.status, held.findings)
            return StoryShown(moved.story, note=moved_note(moved), findings=moved.findings or None)
        if verb == "assign":
            key = _story_key(rest)
            if len(rest) < 2:
                raise UsageProblem("/story", "Say who: /story assign WEB-7 @maria.")
            assignee = parse_assignee(rest[1], actor)
            story = stories.assign_story(s, actor, key, assignee)
            note = f"{story.key} assigned." if assignee else f"{story.key} unassigned."
            return StoryShown(story, note=note)
        if verb == "improve":
            story = stories.get_story(s, actor, _story_key(rest))
            return ImproveAsked(story.id, story.key)
        if verb == "delete":
            story = stories.get_story(s, actor, _story_key(rest))
            return ConfirmDelete("story", story.id, f"{story.key} {story.title}")
        if verb == "search":
            query = _rest_text(text, "search")
            if not query:
                raise UsageProblem("/story", "Say what to search for: /story search password.")

            found = search_stories(s, actor, query, limit=SEARCH_LIMIT)
            return StoryListed(
                f"Stories matching “{query}”", found, empty_hint="Nothing matches that search."
            )
    except UsageProblem as exc:
        return usage_for(exc)
    return Usage("/story", f"I don't know '{verb}'.")


def moved_note(moved: readiness.Moved) -> str:
    """What a move says: where the story went, and, when the Definition of Ready let it pass
    with findings (warn) or was overridden (require), that it is not ready."""
    story = moved.story
    if moved.overridden:
        return (
            f"{story.key} moved to {story.status} anyway, "
            f"{readiness.things_to_fix(moved.findings).lower()}; the override is in the audit log."
        )
    if moved.findings:
        return (
            f"{story.key} moved to {story.status}, but it is not ready: "
            f"{readiness.things_to_fix(moved.findings).lower()} (below)."
        )
    return f"{story.key} moved to {story.status}."


def _story_key(rest: list[str]) -> str:
    if not rest:
        raise UsageProblem("/story", "Say which story, like WEB-7.")
    if not STORY_KEY.match(rest[0]):
        raise UsageProblem("/story", f"'{rest[0][:40]}' is not a story key; they look like WEB-7.")
    return rest[0]


def normalize_status(word: str) -> str:
    status = vocabulary_word(word)
    if status not in STATUSES:
        raise UsageProblem("/story", not_one_of("status", word, STATUSES))
    return status


def parse_filters(words: list[str], actor: Actor) -> live.Filters:
    """`events:created,done priority:high assignee:@maria tag:auth threads:off`."""
    given: dict[str, Any] = {}
    events: list[str] = []
    for word in words:
        name, _, value = word.partition(":")
        name = name.lower()
        if not value and name in LIVE_EVENTS:  # `created done`: the events, as words
            events.append(name)
        elif name == "events" and value:
            given["events"] = tuple(
                dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip())
            )
        elif name == "priority" and value:
            given["min_priority"] = value
        elif name == "assignee" and value:
            assignee = parse_assignee(value, actor)
            if assignee is None:
                raise UsageProblem("/project", "Say whose stories: assignee:@maria or assignee:me.")
            given["assignee_slack_id"] = assignee
        elif name == "tag" and value:
            given["tag"] = value
        elif name == "threads" and value.lower() in ("on", "off"):
            given["threads"] = value.lower() == "on"
        else:
            raise UsageProblem(
                "/project",
                f"'{word[:40]}' is not a filter. Filters: created moved assigned done deleted "
                "(the events) · priority:high · assignee:@user · tag:NAME · threads:off",
            )
    if events:
        given["events"] = tuple(dict.fromkeys([*given.get("events", ()), *events]))
    return live.Filters(**given)


def parse_assignee(word: str, actor: Actor) -> str | None:
    """`<@U123>` (Slack's escaped mention), `me`, or `nobody`/`none` to unassign."""
    lowered = word.lower()
    if lowered == "me":
        return actor.slack_user_id
    if lowered in ("nobody", "none", "-"):
        return None
    found = MENTION.match(word)
    if found:
        return found.group(1)
    raise UsageProblem(
        "/story", f"'{word[:40]}' is not a person: mention them (@maria), or say me or nobody."
    )


def new_story_form(
    s: Session,
    actor: Actor,
    project_ref: str | None,
    channel_id: str | None,
    *,
    note: str | None = None,
    **given: Any,
) -> OpenForm:
    """The story form, project preselected: the one named, else the channel's linked one."""

    project = projects.project_for_request(s, actor, project_ref, channel_id)
    choices = projects.list_projects(s, actor)
    if not choices:
        raise NotFound("There are no projects yet. Create one first with /project new.")
    return OpenForm(
        "story",
        story_initial(None, project=project.id if project else None, **given),
        projects=choices,
        note=note,
    )


def edit_story_form(story: Any) -> OpenForm:
    return OpenForm("story", story_initial(story), target=story.id, editing=story.key)


# Words that only read: Slack runs them in a read transaction, beside writers, not behind them.
READ_ONLY_WORDS = {
    "/story": {"show", "search", "help", "list"},
    "/project": {"list", "show", "help"},
    "/autodev": {"me", "audit", "help"},
}


def reads_only(command: str, text: str) -> bool:
    """True when `command text` changes nothing (`/story list` only remembers its paging)."""
    words = (text or "").split()
    verb = words[0].lower() if words else "help"
    return verb in READ_ONLY_WORDS.get(command, set())


def list_stories(s: Session, actor: Actor, rest: list[str], channel_id: str | None) -> StoryListed:
    """`/story list [PROJECT] [status:S] [priority:P] [mine]`: the first page (reads only).

    A first page keeps no state: its token (`first_page_token`) holds the filters, so a
    list costs no write. The state of the later pages is kept when Next is pressed."""

    filters: dict[str, Any] = {}
    words: list[str] = []
    for word in rest:
        low = word.lower()
        if low.startswith("status:"):
            filters["status"] = normalize_status(word.split(":", 1)[1])
        elif low.startswith("priority:"):
            priority = vocabulary_word(word.split(":", 1)[1])
            if priority not in PRIORITIES:
                raise UsageProblem("/story", not_one_of("priority", priority, PRIORITIES))
            filters["priority"] = priority
        elif low == "mine":
            filters["assignee_slack_id"] = actor.slack_user_id
        else:
            words.append(word)
    project = projects.request_ref(s, actor, " ".join(words), channel_id)
    if project is None:
        return _first_page(s, actor, filters)
    filters["project_ref"] = project.id
    if not is_read_only(s) or not project.content_version:  # 0: no stamp of its own yet
        return _first_page(s, actor, filters, project)
    # kept for this version of the project's stories (bot/pages.py): never stale
    key = (actor.team_id, project.id, project.content_version, project.key, project.name,
           first_page_token(filters))  # fmt: skip
    return FIRST_PAGES.get(key, lambda: _first_page(s, actor, filters, project))


# First pages of projects' lists, kept per version of the project's stories
FIRST_PAGES: KeptPages[StoryListed] = KeptPages()


# A first page's token: "~" (never in a session token) and the filters, dot-separated.
FIRST_PAGE = "~"
FILTER_KEYS = ("project_ref", "status", "priority", "assignee_slack_id")
FILTER_VALUE = re.compile(r"^[A-Za-z0-9_]{0,64}$")


def first_page_token(filters: dict[str, Any]) -> str:
    return FIRST_PAGE + ".".join(filters.get(key) or "" for key in FILTER_KEYS)


def _filters_of(token: str) -> dict[str, Any]:
    values = token[len(FIRST_PAGE) :].split(".")
    if len(values) != len(FILTER_KEYS) or not all(FILTER_VALUE.match(v) for v in values):
        raise NotFound(sessions.GONE)
    return {key: value for key, value in zip(FILTER_KEYS, values, strict=True) if value}


def _first_page(
    s: Session, actor: Actor, filters: dict[str, Any], project: Any | None = None
) -> StoryListed:
    project, result = _first_result(s, actor, filters, project)
    return StoryListed(
        _list_title(project, filters),
        list(result.items),
        paging_token=first_page_token(filters),
        has_next=bool(result.next_cursor),
    )


def _first_result(
    s: Session, actor: Actor, filters: dict[str, Any], project: Any | None = None
) -> tuple[Any | None, stories.StoryPage]:
    """The list's project (looked up when only its id is known) and its first page."""
    query = dict(filters)
    project_ref = query.pop("project_ref", None)
    if project_ref and project is None:
        project = projects.get_project(s, actor, project_ref)
    return project, stories.list_stories(s, actor, project_ref, limit=PAGE_SIZE, **query)


def _list_title(project: Any | None, filters: dict[str, Any]) -> str:
    parts = [f"{project.name} ({project.key})" if project else "All projects"]
    if filters.get("status"):
        parts.append(filters["status"])
    if filters.get("priority"):
        parts.append(filters["priority"])
    if filters.get("assignee_slack_id"):
        parts.append("assigned to me")
    return " · ".join(parts)


def page_of(s: Session, actor: Actor, token: str, state: dict[str, Any]) -> StoryListed:
    """The page `state['index']` of a paged list (and remember the next page's cursor)."""

    filters = dict(state["filters"])
    project_ref = filters.pop("project_ref", None)
    index = state["index"]
    result = stories.list_stories(
        s, actor, project_ref, limit=PAGE_SIZE, cursor=state["cursors"][index], **filters
    )
    cursors = list(state["cursors"])
    if result.next_cursor and len(cursors) == index + 1:
        cursors.append(result.next_cursor)
        state = {**state, "cursors": cursors}
        sessions.update_session(s, actor, token, state)
    return StoryListed(
        state["title"],
        list(result.items),
        paging_token=token,
        page=index + 1,
        has_previous=index > 0,
        has_next=bool(result.next_cursor),
    )


LAST_PAGE = "This is the last page."
FIRST_PAGE_NOTE = "This is the first page."


def turn_page(s: Session, actor: Actor, token: str, step: int) -> StoryListed:
    """Next (+1) or previous (-1) page of a paged list; leaving a first page starts keeping
    the list's state in a session (the page shown carries its token from then on). Past
    either end, the same page comes back with a note saying so (Slack shows no button
    there, but a console's `next` or an old message's button can still ask)."""

    if token.startswith(FIRST_PAGE):
        filters = _filters_of(token)
        if step <= 0:
            return replace(_first_page(s, actor, filters), note=FIRST_PAGE_NOTE)
        project, result = _first_result(s, actor, filters)
        if not result.next_cursor:
            return StoryListed(
                _list_title(project, filters),
                list(result.items),
                paging_token=token,
                note=LAST_PAGE,
            )
        state = {
            "filters": filters,
            "cursors": [None, result.next_cursor],
            "index": 0,
            "title": _list_title(project, filters),
        }
        token = sessions.create_session(s, actor, PAGING_KIND, state, PAGING_TTL)
    else:
        state = sessions.load_session(s, actor, token, PAGING_KIND)
    index = state["index"] + step
    if not 0 <= index < len(state["cursors"]):
        note = LAST_PAGE if step > 0 else FIRST_PAGE_NOTE
        return replace(page_of(s, actor, token, state), note=note)
    state = {**state, "index": index}
    sessions.update_session(s, actor, token, state)
    return page_of(s, actor, token, state)


# -- /autodev -----------------------------------------------------------------------------------
def _autodev(
    s: Session,
    actor: Actor,
    verb: str,
    rest: list[str],
    text: str,
    channel_id: str | None,
    timezone: str,
) -> Reply:
    try:
        if verb == "help":
            return Usage("/autodev")
        if verb == "generate":
            asked = _rest_text(text, verb)
            if asked.strip().lower() in ("help", "?"):
                return GenerateHelp()
            return GenerateAsked(asked)
        if verb == "digest":
            return _digest(s, actor, parse_digest(_rest_text(text, verb)), channel_id, timezone)
        if verb == "backup":
            word = _rest_text(text, verb).strip().lower()
            if word not in ("", "list"):
                raise UsageProblem(
                    "/autodev", "Say `/autodev backup` (take one now) or `/autodev backup list`."
                )
            require_admin(actor, "take or list backups")
            return BackupAsked(list_only=word == "list")
        if verb == "me":
            return ActivityShown(user_activity(s, actor), actor.slack_user_id)
        if verb == "audit":
            limit = 20
            if rest:
                # ASCII digits only: isdigit() also takes "²" and "٣", and int() refuses
                # 5000 digits; 1..100 is list_audit's rule.
                if not re.fullmatch(r"[0-9]{1,3}", rest[0]) or not 1 <= int(rest[0]) <= 100:
                    raise UsageProblem(
                        "/autodev", "Say how many entries as a number between 1 and 100: audit 20."
                    )
                limit = int(rest[0])
            return AuditShown(list_audit(s, actor, limit=limit))
        if verb == "admin":
            if not rest:
                raise UsageProblem("/autodev", "Say who: /autodev admin @maria.")
            found = MENTION.match(rest[0])
            if not found:
                raise UsageProblem(
                    "/autodev", f"'{rest[0][:40]}' is not a person: mention them, like @maria."
                )

            granted = grant_admin(s, actor, found.group(1))
            return AdminGranted(granted.slack_user_id)
    except UsageProblem as exc:
        return usage_for(exc)
    return Usage("/autodev", f"I don't know '{verb}'.")


# -- /autodev digest ---------------------------------------------------------------------------
DIGEST_USAGE = (
    "Usage: `/autodev digest` (what this channel gets) · "
    "`/autodev digest on [daily|weekly] [MONDAY] [HH:MM] [PROJECT] [Area/City]` · "
    "`/autodev digest off [PROJECT]` · `/autodev digest now [PROJECT]` · "
    "`/autodev digest me on|off|now [daily|weekly] [HH:MM]`"
)


@dataclass
class DigestRequest:
    """The words of `/autodev digest ...`, sorted into what they mean."""

    verb: str = "show"  # show, on, off, now, help
    personal: bool = False
    frequency: str | None = None
    time_of_day: str | None = None
    weekday: int | None = None
    timezone: str | None = None
    project: list[str] = field(default_factory=list)


def parse_digest(text: str) -> DigestRequest:
    words = text.split()
    request = DigestRequest()
    if words and words[0].lower() == "me":
        request.personal = True
        words = words[1:]
    if words:
        verb = words[0].lower()
        if verb not in ("on", "off", "now", "help"):
            raise ValidationFailed(f"'{words[0][:20]}' is not a digest command. {DIGEST_USAGE}")
        request.verb, words = verb, words[1:]
    for word in words:
        lower = word.lower()
        if request.verb != "on":
            request.project.append(word)
        elif lower in schedule.FREQUENCIES:
            request.frequency = lower
        elif re.fullmatch(r"\d{1,2}(:\d\d)?", word):
            request.time_of_day = schedule.parse_time_of_day(word)
        elif "/" in word or word.upper() == "UTC":
            request.timezone = schedule.check_timezone("UTC" if word.upper() == "UTC" else word)
        elif schedule.parse_weekday(word) is not None and not request.project:
            request.weekday = schedule.parse_weekday(word)
            request.frequency = request.frequency or "weekly"
        else:
            request.project.append(word)
    if request.personal and request.project:
        raise ValidationFailed(f"Your personal digest covers all your stories. {DIGEST_USAGE}")
    return request


def _digest(
    s: Session, actor: Actor, request: DigestRequest, channel_id: str | None, timezone: str
) -> Reply:
    if request.verb == "help":
        return Note(DIGEST_USAGE)
    channel_id = channel_id or ""
    project = " ".join(request.project) or None
    when = {
        "frequency": request.frequency,
        "time_of_day": request.time_of_day,
        "weekday": request.weekday,
        "timezone": request.timezone or timezone,
    }
    if request.verb == "now":
        if request.personal:
            return DigestNow(subscriptions.find_personal_subscription(s, actor))
        return DigestNow(subscriptions.find_channel_subscription(s, actor, channel_id, project))
    if request.personal and request.verb in ("on", "off"):
        view = subscriptions.set_personal_digest(s, actor, request.verb == "on", **when)
        return DigestSet(view) if view else DigestsStopped([], personal=True)
    if request.verb == "on":
        return DigestSet(
            subscriptions.subscribe_channel(s, actor, channel_id, project_ref=project, **when)
        )
    if request.verb == "off":
        return DigestsStopped(
            subscriptions.unsubscribe_channel(s, actor, channel_id, project_ref=project)
        )
    return DigestsShown(
        [] if request.personal else subscriptions.channel_subscriptions(s, actor, channel_id),
        subscriptions.personal_subscription(s, actor),
    )


# -- App Home -----------------------------------------------------------------------------------
HOME_ROWS = 30


@dataclass(frozen=True)
class HomeData:
    assigned: list[Any]
    created: list[Any]
    projects: list[Any]


def home_of(s: Session, actor: Actor) -> HomeData:
    """What a member's App Home shows: stories assigned to and created by them, projects."""

    me = actor.slack_user_id
    assigned = stories.list_stories(s, actor, None, assignee_slack_id=me, limit=HOME_ROWS)
    created = stories.list_stories(s, actor, None, created_by_slack_id=me, limit=HOME_ROWS)
    mine = [p for p in projects.list_projects(s, actor) if p.owner_slack_id == me]
    return HomeData(list(assigned.items), list(created.items), mine)


def page_of_token(s: Session, actor: Actor, token: str) -> StoryListed | None:
    """The page a paged list is showing now (to redraw it after a change), None if expired."""

    try:
        if token.startswith(FIRST_PAGE):
            return _first_page(s, actor, _filters_of(token))
        state = sessions.load_session(s, actor, token, PAGING_KIND)
    except NotFound:
        return None
    return page_of(s, actor, token, state)
