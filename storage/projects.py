"""Projects of a workspace: create, find by key/name/id, list, edit, delete, link a channel."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audit, homes
from storage.errors import Conflict, NotFound, ValidationFailed
from storage.fields import (
    DEFAULT_PRIORITY,
    DEFAULT_READY_CHECK,
    DEFAULT_STORY_TEMPLATE,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_KEY,
    PROJECT_NAME_MAX,
    REPOSITORY_URL_MAX,
    ROW_ID,
    STORY_TEMPLATE_MAX,
    Priority,
    ReadyCheck,
)
from storage.models import Project, ProjectVersion, User, UserStory, utcnow
from storage.permissions import require_project_editor
from storage.users import Actor
from storage.validation import check_slack_id, parse, stored_value

EDITABLE_FIELDS = ("name", "key", "description", "repository_url", "settings")


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ProjectSettings(BaseModel):
    """The seed's project settings schema, with its defaults.

    `ai_model` None means "the app's configured model" (AUTODEVHUB_AI_MODEL): the seed's
    example value "claude-3" is not a model the API serves.
    """

    model_config = ConfigDict(extra="forbid")

    ai_model: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    story_template: Annotated[
        str,
        Field(min_length=1, max_length=STORY_TEMPLATE_MAX, pattern=r"^[a-z][a-z0-9_-]*$"),
    ] = DEFAULT_STORY_TEMPLATE
    default_priority: Priority = DEFAULT_PRIORITY
    auto_assign_points: bool = True
    include_tasks: bool = True
    # the Definition of Ready: what a move to READY or IN_PROGRESS does while the readiness
    # check has findings (storage/readiness.py)
    ready_check: ReadyCheck = DEFAULT_READY_CHECK

    @field_validator("default_priority", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("ready_check", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("ai_model", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value


class ProjectInput(BaseModel):
    """What a person gives to create a project; `key` is derived from the name when absent."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=PROJECT_NAME_MAX)]
    key: str | None = None
    description: str | None = None
    repository_url: Annotated[str, Field(max_length=REPOSITORY_URL_MAX)] | None = None
    settings: ProjectSettings = Field(default_factory=ProjectSettings)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        value = _clean_text(value)
        if isinstance(value, str):
            value = re.sub(r"\s+", " ", value)
            if any(unicodedata.category(c).startswith("C") for c in value):
                raise ValueError("must not contain control characters")
            if value and not any(c.isalnum() for c in value):
                raise ValueError("must contain a letter or digit")
            if len(value.casefold()) > PROJECT_NAME_MAX:
                raise ValueError(f"must be at most {PROJECT_NAME_MAX} characters")
        if value == "":
            raise ValueError("must not be empty")
        return value

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, value: Any) -> Any:
        value = _clean_text(value)
        if value in ("", None):
            return None
        if not isinstance(value, str):
            raise ValueError("must be text")
        value = value.upper()
        if not PROJECT_KEY.match(value):
            raise ValueError(
                "must be 2–10 capital letters or digits, starting with a letter (e.g. WEB)"
            )
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any, info: ValidationInfo) -> Any:
        value = _clean_text(value)
        stored = stored_value(info, "description")
        if isinstance(value, str) and len(value) > PROJECT_DESCRIPTION_MAX and value != stored:
            raise ValueError(
                f"must be at most {PROJECT_DESCRIPTION_MAX} characters (this is {len(value)})"
            )
        return value or None

    @field_validator("repository_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        value = _clean_text(value)
        if not value:
            return None
        if not isinstance(value, str):
            raise ValueError("must be text")
        if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
            raise ValueError("must be an http(s) address, e.g. https://github.com/acme/web")
        return value

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, value: Any) -> Any:
        return {} if value is None else value


@dataclass(frozen=True)
class ProjectView:
    id: str
    key: str
    name: str
    description: str | None
    repository_url: str | None
    settings: dict[str, Any]
    channel_id: str | None
    owner_slack_id: str | None
    created_at: datetime
    updated_at: datetime | None = None
    owner_id: str | None = None


def effective_settings(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Stored settings over the schema's defaults (unknown or bad keys fall back)."""
    try:
        return ProjectSettings.model_validate(stored or {}).model_dump()
    except ValueError:
        defaults = ProjectSettings().model_dump()
        for key, value in (stored or {}).items():
            try:
                defaults.update(
                    ProjectSettings.model_validate({key: value}).model_dump(include={key})
                )
            except ValueError:
                continue
        return defaults


def _view(project: Project, owner_slack_id: str | None) -> ProjectView:
    return ProjectView(
        id=project.id,
        key=project.key,
        name=project.name,
        description=project.description,
        repository_url=project.repository_url,
        settings=effective_settings(project.settings),
        channel_id=project.channel_id,
        owner_slack_id=owner_slack_id,
        created_at=project.created_at,
        updated_at=project.updated_at,
        owner_id=project.owner_id,
    )


def _owner_slack_id(s: Session, project: Project) -> str | None:
    return s.scalar(select(User.slack_user_id).where(User.id == project.owner_id))


def view_of(s: Session, project: Project) -> ProjectView:
    return _view(project, _owner_slack_id(s, project))


# ---- key derivation ---------------------------------------------------------------


def _ascii_words(name: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return [w.upper() for w in re.findall(r"[A-Za-z0-9]+", folded)]


def key_candidates(name: str) -> list[str]:
    """Keys for a name, best first: initials ("Web Store" -> WS), then WEB, WEBS, ..."""
    words = [w.lstrip("0123456789") or w for w in _ascii_words(name)]
    letters_first = [w for w in words if w[:1].isalpha()]
    candidates: list[str] = []
    if len(letters_first) >= 2:
        candidates.append("".join(w[0] for w in letters_first)[:10])
    joined = "".join(letters_first) or "PRJ"
    if len(joined) == 1:
        joined += "X"
    for size in (3, 2, *range(4, 11)):
        if size <= len(joined):
            candidates.append(joined[:size])
    seen: list[str] = []
    for key in candidates:
        if PROJECT_KEY.match(key) and key not in seen:
            seen.append(key)
    return seen or ["PRJ"]


def derive_key(name: str, taken: set[str]) -> str:
    candidates = key_candidates(name)
    for key in candidates:
        if key not in taken:
            return key
    base = candidates[0][:8]
    for number in range(2, 10**6):
        key = f"{base}{number}"[:10]
        if key not in taken:
            return key
    raise Conflict("Could not find a free project key; give one explicitly.")


# ---- lookups ------------------------------------------------------------------------


# built once: building a statement's expressions costs more than running it on a hot path.
# The workspace is bound as "team" and the reference as "ref": an UPDATE's parameter named
# after one of the table's columns would set that column.
_IN_TEAM = Project.team_id == bindparam("team")
# how a reference may name a project, in the order tried (see _lookups)
_WAYS = (("id", Project.id), ("key", Project.key), ("name", Project.name_folded))
_PROJECT = {way: select(Project).where(_IN_TEAM, column == bindparam("ref")).limit(1)
            for way, column in _WAYS}  # fmt: skip
# a list's project (ProjectRef): its names and content version, as one row
_REF = (
    select(Project.id, Project.key, Project.name, func.coalesce(ProjectVersion.version, 0))
    .outerjoin(ProjectVersion, ProjectVersion.project_id == Project.id)
    .where(_IN_TEAM)
)
_PROJECT_REF = {way: _REF.where(column == bindparam("ref")).limit(1) for way, column in _WAYS}
# a new story's project and its number in one statement: the number handed out atomically
# (never reused), with what the story's view shows of its project
_PROJECTS = Project.__table__
_NUMBERED = {
    way: _PROJECTS.update()
    .where(_IN_TEAM, column == bindparam("ref"))
    .values(last_story_number=_PROJECTS.c.last_story_number + 1)
    .returning(
        _PROJECTS.c.id,
        _PROJECTS.c.key,
        _PROJECTS.c.name,
        _PROJECTS.c.settings,
        _PROJECTS.c.last_story_number,
    )
    for way, column in _WAYS
}


class NumberedProject(NamedTuple):
    """A project as a new story sees it, with the story's number (number_next_story)."""

    id: str
    key: str
    name: str
    settings: dict[str, Any] | None
    last_story_number: int


def _lookups(ref: str) -> Iterator[tuple[str, str]]:
    """How a reference may name a project, in the order tried: id, key, name."""
    if ROW_ID.match(ref):
        yield "id", ref
    if len(ref) <= 10:
        yield "key", ref.upper()
    yield "name", re.sub(r"\s+", " ", ref).casefold()


def _named(s: Session, actor: Actor, ref: str, statements: dict[str, Any], found: Any) -> Any:
    """The first of `statements` (by id, key, name) to find the project `ref` names, as
    `found(result)` gives it, else NotFound."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationFailed("Name a project by its key or name.", {"project": "required"})
    ref = ref.strip()
    for way, value in _lookups(ref):
        project = found(s.execute(statements[way], {"team": actor.team_id, "ref": value}))
        if project is not None:
            return project
    raise NotFound(_not_found_message(s, actor, ref))


def number_next_story(s: Session, actor: Actor, ref: str) -> NumberedProject:
    """The project `ref` names (as find_project finds it), its next story number handed out
    in the same statement."""
    return _named(s, actor, ref, _NUMBERED, lambda result: _numbered(result.first()))


def _numbered(row: Any) -> NumberedProject | None:
    return NumberedProject(*row) if row is not None else None


def find_project(s: Session, actor: Actor, ref: str) -> Project:
    """The workspace's project named by key, name (case-insensitive) or id, else NotFound."""
    return _named(s, actor, ref, _PROJECT, lambda result: result.scalars().first())


def _not_found_message(s: Session, actor: Actor, ref: str) -> str:
    shown = ref if len(ref) <= 60 else ref[:60] + "…"
    rows = s.execute(
        select(Project.name, Project.name_folded, Project.key).where(
            Project.team_id == actor.team_id
        )
    ).all()
    by_word: dict[str, str] = {}
    for name, folded, key in rows:
        by_word.setdefault(folded, name)
        by_word.setdefault(key.casefold(), name)
    close = difflib.get_close_matches(ref.casefold(), list(by_word), n=1, cutoff=0.6)
    if close:
        return f"No project named '{shown}'. Did you mean '{by_word[close[0]]}'?"
    return f"No project named '{shown}' in this workspace."


def get_project(s: Session, actor: Actor, ref: str) -> ProjectView:
    return view_of(s, find_project(s, actor, ref))


def list_projects(s: Session, actor: Actor) -> list[ProjectView]:
    rows = s.execute(
        select(Project, User.slack_user_id)
        .outerjoin(User, User.id == Project.owner_id)
        .where(Project.team_id == actor.team_id)
        .order_by(Project.name_folded, Project.id)
    ).all()
    return [_view(project, owner) for project, owner in rows]


def project_for_channel(s: Session, actor: Actor, channel_id: str) -> ProjectView | None:
    """The project linked to a channel of the actor's workspace, if any."""
    project = _linked(s, actor, channel_id)
    return view_of(s, project) if project else None


def _linked(s: Session, actor: Actor, channel_id: str | None) -> Project | None:
    if not channel_id:
        return None
    return s.scalars(
        select(Project).where(Project.team_id == actor.team_id, Project.channel_id == channel_id)
    ).one_or_none()


@dataclass(frozen=True)
class ProjectRef:
    """A project as a list of its stories needs it: its names, and the version of its
    stories (a new stamp with every change to them, migration 0007)."""

    id: str
    key: str
    name: str
    content_version: int


_LINKED_REF = _REF.where(Project.channel_id == bindparam("channel_id"))


def find_project_ref(s: Session, actor: Actor, ref: str) -> ProjectRef:
    """The project find_project finds, as its ids and names (one Core row), else NotFound."""
    return ProjectRef(*_named(s, actor, ref, _PROJECT_REF, lambda result: result.first()))


def request_ref(
    s: Session, actor: Actor, ref: str | None, channel_id: str | None
) -> ProjectRef | None:
    """`project_for_request` as a list needs it, in one query: the project `ref` names,
    else the channel's linked one, else None; with its content version."""
    if ref:
        return find_project_ref(s, actor, ref)
    elif channel_id:
        row = s.execute(_LINKED_REF, {"team": actor.team_id, "channel_id": channel_id}).first()
    else:
        return None
    return ProjectRef(*row) if row is not None else None


def project_for_request(
    s: Session,
    actor: Actor,
    ref: str | None,
    channel_id: str | None,
    *,
    required_usage: str | None = None,
) -> ProjectView | None:
    """The project a request is about: the one `ref` names, else the channel's linked one.

    A `ref` that names no project is refused (find_project's NotFound). With neither, the
    answer is None, unless `required_usage` (the command naming a project, e.g.
    `/autodev digest on daily 09:00 WEB`) says one is needed: then the refusal shows it.
    """
    if ref:
        return view_of(s, find_project(s, actor, ref))
    linked = project_for_channel(s, actor, channel_id) if channel_id else None
    if linked is None and required_usage is not None:
        raise ValidationFailed(
            f"This channel has no linked project. Name one, e.g. `{required_usage}`, or link "
            "one first with `/project link WEB`.",
            {"project": "required"},
        )
    return linked


# ---- changes --------------------------------------------------------------------------


def check_free(s: Session, actor: Actor, *, name: str | None, key: str | None, skip: str | None):
    """Refuse (Conflict) a name or key another project of the workspace (not `skip`) has."""
    team = Project.team_id == actor.team_id
    others = Project.id != skip if skip else True
    if name is not None:
        clash = s.scalar(
            select(Project.name).where(team, others, Project.name_folded == name.casefold())
        )
        if clash is not None:
            raise Conflict(f"A project named '{clash}' already exists in this workspace.")
    if key is not None:
        clash = s.scalar(select(Project.name).where(team, others, Project.key == key))
        if clash is not None:
            raise Conflict(f"The key {key} is already used by project '{clash}'.")


def _flush_unique(s: Session, what: str) -> None:
    """Flush; a uniqueness race lost to a concurrent writer becomes a Conflict."""
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError:
        raise Conflict(f"{what} was just taken by someone else; try again.") from None


def create_project(s: Session, actor: Actor, data: ProjectInput | dict[str, Any]) -> ProjectView:
    """Create a project owned by the actor (name unique per workspace, any case)."""
    data = parse(ProjectInput, data)
    check_free(s, actor, name=data.name, key=data.key, skip=None)
    key = data.key
    if key is None:
        taken = set(s.scalars(select(Project.key).where(Project.team_id == actor.team_id)))
        key = derive_key(data.name, taken)
    settings = data.settings.model_dump()
    now = utcnow()
    project = Project(
        team_id=actor.team_id,
        key=key,
        name=data.name,
        name_folded=data.name.casefold(),
        description=data.description,
        owner_id=actor.user_id,
        repository_url=data.repository_url,
        settings=settings,
        created_at=now,
        updated_at=now,
    )
    s.add(project)
    _flush_unique(s, f"The name '{data.name}' or key {key}")
    audit.record(
        s,
        actor,
        "project.create",
        "project",
        project.id,
        {"name": project.name, "key": key, "settings": settings},
    )
    homes.touch(s, actor.team_id, [actor.slack_user_id])
    return _view(project, actor.slack_user_id)


def update_project(s: Session, actor: Actor, ref: str, changes: dict[str, Any]) -> ProjectView:
    """Change name, key, description, repository URL or settings (owner or admin).

    `settings` may be partial: given keys are merged over the current settings.
    """
    project = find_project(s, actor, ref)
    require_project_editor(actor, project)
    if not isinstance(changes, dict):
        raise ValidationFailed("Changes must be a set of named fields.")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed(
            f"These project fields cannot be changed: {', '.join(map(str, unknown))}.",
            {str(f): "cannot be changed" for f in unknown},
        )
    current = {
        "name": project.name,
        "key": project.key,
        "description": project.description,
        "repository_url": project.repository_url,
        "settings": effective_settings(project.settings),
    }
    merged = dict(current)
    for field, value in changes.items():
        if field == "settings" and isinstance(value, dict):
            merged["settings"] = {**current["settings"], **value}
        else:
            merged[field] = value
    data = parse(ProjectInput, merged, context={"stored": current})
    new = {
        "name": data.name,
        "key": data.key or project.key,
        "description": data.description,
        "repository_url": data.repository_url,
        "settings": data.settings.model_dump(),
    }
    diff = {f: {"from": current[f], "to": new[f]} for f in new if new[f] != current[f]}
    if not diff:
        return view_of(s, project)
    name_changed = new["name"].casefold() != project.name_folded
    check_free(
        s,
        actor,
        name=new["name"] if name_changed else None,
        key=new["key"] if "key" in diff else None,
        skip=project.id,
    )
    project.name = new["name"]
    project.name_folded = new["name"].casefold()
    project.key = new["key"]
    project.description = new["description"]
    project.repository_url = new["repository_url"]
    project.settings = new["settings"]
    project.updated_at = utcnow()
    _flush_unique(s, f"The name '{new['name']}' or key {new['key']}")
    audit.record(s, actor, "project.update", "project", project.id, {"changes": diff})
    view = view_of(s, project)
    # the owner's Home lists the project; its stories' rows there show its key
    people = _story_people(s, project.id) if "key" in diff else []
    homes.touch(s, actor.team_id, [view.owner_slack_id, *people])
    return view


def delete_project(s: Session, actor: Actor, ref: str) -> ProjectView:
    """Delete a project and, by cascade, its stories (owner or admin). Returns what it was."""
    project = find_project(s, actor, ref)
    require_project_editor(actor, project, "delete")
    view = view_of(s, project)
    stories = s.scalar(
        select(func.count()).select_from(UserStory).where(UserStory.project_id == project.id)
    )
    homes.touch(s, actor.team_id, [view.owner_slack_id, *_story_people(s, project.id)])
    s.delete(project)
    s.flush()
    audit.record(
        s,
        actor,
        "project.delete",
        "project",
        view.id,
        {"name": view.name, "key": view.key, "stories_deleted": stories},
    )
    return view


def _story_people(s: Session, project_id: str) -> list[str]:
    """The members whose Home shows a story of the project: its assignees and creators."""
    people = select(UserStory.assignee_id.label("id")).where(UserStory.project_id == project_id)
    people = people.union(select(UserStory.created_by).where(UserStory.project_id == project_id))
    return list(
        s.scalars(select(User.slack_user_id).where(User.id.in_(people.subquery().select())))
    )


def link_channel(s: Session, actor: Actor, ref: str, channel_id: str | None) -> ProjectView:
    """Make the project the channel's default (one project per channel); None unlinks."""
    project = find_project(s, actor, ref)
    require_project_editor(actor, project, "link a channel to")
    if channel_id is not None:
        check_slack_id(channel_id, "channel id")
    if project.channel_id == channel_id:
        return view_of(s, project)
    if channel_id is not None:
        previous = s.scalars(
            select(Project).where(
                Project.team_id == actor.team_id,
                Project.channel_id == channel_id,
                Project.id != project.id,
            )
        ).one_or_none()
        if previous is not None:
            previous.channel_id = None
            previous.updated_at = utcnow()
            s.flush()
            audit.record(
                s,
                actor,
                "project.unlink_channel",
                "project",
                previous.id,
                {"channel_id": channel_id, "replaced_by": project.key},
            )
    before = project.channel_id
    project.channel_id = channel_id
    project.updated_at = utcnow()
    _flush_unique(s, "That channel")
    audit.record(
        s,
        actor,
        "project.link_channel" if channel_id else "project.unlink_channel",
        "project",
        project.id,
        {"channel_id": {"from": before, "to": channel_id}},
    )
    return view_of(s, project)
