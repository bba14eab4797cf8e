"""User stories: validated create/edit, KEY-N numbering, move, assign, delete, paged lists."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Connection, Select, bindparam, literal, select, tuple_, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storage import audit, homes, outbox
from storage.errors import NotFound, ValidationFailed
from storage.fields import (
    CRITERIA,
    DEFAULT_STATUS,
    DESCRIPTION_MAX,
    MAX_POINTS,
    META_BYTES_MAX,
    MIN_POINTS,
    PRIORITIES,
    PRIORITY_RANK,
    ROW_ID,
    STATUSES,
    STORY_KEY,
    TAG_CHARS,
    TAGS_MAX,
    TASKS,
    TITLE_MAX,
    Lines,
    Priority,
    Status,
    not_one_of,
    vocabulary_word,
)
from storage.models import Project, User, UserStory, new_id, utcnow
from storage.permissions import require_story_deleter
from storage.projects import effective_settings, find_project, number_next_story
from storage.users import Actor, get_or_create_user
from storage.validation import check_slack_id, parse, stored_value

MAX_PAGE = 100
EDITABLE_FIELDS = (
    "title",
    "description",
    "acceptance_criteria",
    "priority",
    "story_points",
    "tasks",
    "tags",
    "status",
    "meta",
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Characters that show nothing or reorder what follows (Trojan Source): a title holding one
# could look blank, or read as something other than what it is.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
ZWJ = "\u200d"


def _no_controls(value: str, *, allow_newlines: bool) -> str:
    allowed = {"\n", "\t"} if allow_newlines else set()
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValueError("must not contain control characters")
    return value


def _no_invisibles(value: str) -> str:
    """Refuse zero-width and direction-changing characters; a zero-width joiner only inside an
    emoji sequence (👩‍💻), where it joins two pictures into one."""
    for found in INVISIBLE.finditer(value):
        i = found.start()
        if value[i] == ZWJ and _joins_emoji(value, i):
            continue
        raise ValueError(
            f"must not contain invisible or direction-changing characters "
            f"(U+{ord(value[i]):04X} at position {i + 1})"
        )
    return value


def _joins_emoji(value: str, i: int) -> bool:
    before = value[i - 1] if i > 0 else ""
    after = value[i + 1] if i + 1 < len(value) else ""
    pictures = ("So", "Sk")
    return (
        bool(before)
        and bool(after)
        and (unicodedata.category(before) in pictures or before == "\ufe0f")
        and unicodedata.category(after) in pictures
    )


def _text_items(value: Any, what: str, plural: str, limit: Lines, stored: Any = None) -> Any:
    """A list of non-blank lines: a list, or text with one item per line."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        return value
    items = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"must each be text (one {what} per line)")
        item = _no_controls(item.strip(), allow_newlines=False)
        if item:
            items.append(item)
    if items == stored:
        return items
    if any(len(item) > limit.item_chars for item in items):
        raise ValueError(f"must each be at most {limit.item_chars} characters")
    if len(items) > limit.max_items:
        raise ValueError(f"must be at most {limit.max_items} {plural}")
    if limit.joined_length(items) > limit.total_chars:
        raise ValueError(
            f"must be at most {limit.total_chars} characters in all, one {what} per line "
            f"(these are {limit.joined_length(items)})"
        )
    return items


class StoryInput(BaseModel):
    """A story as a person (or Claude) gives it, checked by the seed's rules.

    Validate with `context={"stored": {...}}` when editing: a stored value the edit leaves
    as it is passes even if a limit has since become tighter."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1)]
    description: Annotated[str, Field(min_length=1)]
    acceptance_criteria: list[str] = Field(default_factory=list)
    priority: Priority | None = None
    story_points: Annotated[int, Field(ge=MIN_POINTS, le=MAX_POINTS, strict=False)] = 0
    tasks: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    status: Status = DEFAULT_STATUS
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = _no_controls(re.sub(r"\s+", " ", value).strip(), allow_newlines=False)
            if not value:
                raise ValueError("must not be empty")
            if value == stored_value(info, "title"):
                return value
            _no_invisibles(value)
            if len(value) > TITLE_MAX:
                raise ValueError(f"must be at most {TITLE_MAX} characters")
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = _no_controls(value.strip(), allow_newlines=True)
            if not value:
                raise ValueError("is required")
            if len(value) > DESCRIPTION_MAX and value != stored_value(info, "description"):
                raise ValueError(
                    f"must be at most {DESCRIPTION_MAX} characters (this is {len(value)})"
                )
        return value

    @field_validator("acceptance_criteria", mode="before")
    @classmethod
    def _criteria(cls, value: Any, info: ValidationInfo) -> Any:
        stored = stored_value(info, "acceptance_criteria")
        return _text_items(value, "criterion", "criteria", CRITERIA, stored)

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, value: Any, info: ValidationInfo) -> Any:
        return _text_items(value, "task", "tasks", TASKS, stored_value(info, "tasks"))

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = re.split(r"[,\s]+", value)
        if not isinstance(value, list | tuple):
            return value
        tags: list[str] = []
        for tag in value:
            if not isinstance(tag, str):
                raise ValueError("must each be text")
            tag = re.sub(r"\s+", "-", tag.strip().lstrip("#").strip()).lower()
            _no_controls(tag, allow_newlines=False)
            if len(tag) > TAG_CHARS:
                raise ValueError(f"must each be at most {TAG_CHARS} characters")
            if tag and tag not in tags:
                tags.append(tag)
        if len(tags) > TAGS_MAX:
            raise ValueError(f"must be at most {TAGS_MAX} tags")
        return tags

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        value = vocabulary_word(value)
        if value == "":
            return None
        if isinstance(value, str) and value not in PRIORITIES:
            raise ValueError(f"must be one of {', '.join(PRIORITIES)}")
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        value = vocabulary_word(value)
        if isinstance(value, str) and value not in STATUSES:
            raise ValueError(f"must be one of {', '.join(STATUSES)}")
        return value

    @field_validator("story_points", mode="before")
    @classmethod
    def _points(cls, value: Any) -> Any:
        whole = f"must be a whole number from {MIN_POINTS} to {MAX_POINTS}"
        if isinstance(value, bool):
            raise ValueError(whole)
        if isinstance(value, str):
            value = value.strip() or "0"
            if not re.fullmatch(r"[0-9]{1,3}", value):  # ASCII digits: \d takes "٣" too
                raise ValueError(whole)
            value = int(value)
        if isinstance(value, int) and not MIN_POINTS <= value <= MAX_POINTS:
            raise ValueError(f"must be between {MIN_POINTS} and {MAX_POINTS}")
        return value

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            try:
                size = len(json.dumps(value, allow_nan=False))
            except (TypeError, ValueError):
                raise ValueError("must be plain JSON data") from None
            if size > META_BYTES_MAX:
                raise ValueError(f"must be at most {META_BYTES_MAX} bytes of JSON")
        return value


@dataclass(frozen=True)
class StoryView:
    id: str
    key: str
    project_id: str
    project_key: str
    project_name: str
    number: int
    title: str
    description: str
    acceptance_criteria: list[str]
    priority: str
    story_points: int
    tasks: list[str]
    tags: list[str]
    status: str
    meta: dict[str, Any]
    created_by_slack_id: str | None
    assignee_slack_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StoryPage:
    items: list[StoryView]
    next_cursor: str | None


Creator = aliased(User, name="creator")
Assignee = aliased(User, name="assignee")


def story_views_query() -> Select:
    """Stories with project key/name and creator/assignee Slack ids, in one query."""
    return (
        select(
            UserStory,
            Project.key,
            Project.name,
            Creator.slack_user_id,
            Assignee.slack_user_id,
        )
        .join(Project, Project.id == UserStory.project_id)
        .outerjoin(Creator, Creator.id == UserStory.created_by)
        .outerjoin(Assignee, Assignee.id == UserStory.assignee_id)
    )


def view_from_row(row: Any) -> StoryView:
    story, project_key, project_name, creator, assignee = row
    return StoryView(
        id=story.id,
        key=f"{project_key}-{story.number}",
        project_id=story.project_id,
        project_key=project_key,
        project_name=project_name,
        number=story.number,
        title=story.title,
        description=story.description,
        acceptance_criteria=list(story.acceptance_criteria or []),
        priority=story.priority,
        story_points=story.story_points,
        tasks=list(story.tasks or []),
        tags=list(story.tags or []),
        status=story.status,
        meta=dict(story.meta or {}),
        created_by_slack_id=creator,
        assignee_slack_id=assignee,
        created_at=story.created_at,
        updated_at=story.updated_at,
    )


_VIEWS_OF_IDS = story_views_query().where(
    UserStory.team_id == bindparam("team_id"), UserStory.id.in_(bindparam("ids", expanding=True))
)


def story_views(s: Session, actor: Actor, ids: list[str]) -> list[StoryView]:
    """Views of the given story ids of the actor's workspace, in the order given."""
    if not ids:
        return []
    rows = s.execute(_VIEWS_OF_IDS, {"team_id": actor.team_id, "ids": ids}).all()
    by_id = {row[0].id: view_from_row(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


_VIEW_OF = story_views_query().where(UserStory.id == bindparam("story_id"))


def _view(s: Session, story: UserStory) -> StoryView:
    s.flush()
    return view_from_row(s.execute(_VIEW_OF, {"story_id": story.id}).one())


def _parsed_ref(ref: Any) -> tuple[str, int] | str:
    """(KEY, N) of a "KEY-N" (any case), or a story id; ValidationFailed for anything else."""
    if not isinstance(ref, str):
        raise ValidationFailed("Name a story by its key, e.g. WEB-7.", {"story": "KEY-N"})
    match = STORY_KEY.match(ref)
    if match:
        return match.group(1).upper(), int(match.group(2))
    if ROW_ID.match(ref.strip()):
        return ref.strip()
    shown = ref.strip()[:40]
    raise ValidationFailed(
        f"'{shown}' is not a story key; stories are named like WEB-7.", {"story": "KEY-N"}
    )


def _not_found(parsed: tuple[str, int] | str) -> NotFound:
    if isinstance(parsed, tuple):
        return NotFound(f"No story {parsed[0]}-{parsed[1]} in this workspace.")
    return NotFound("No such story in this workspace.")


def _by_ref(query: Select) -> tuple[Select, Select]:
    """`query` narrowed to one story of a workspace: by project key and number, or by id
    (bound parameters: built once, so a request does not build the statement again)."""
    team = UserStory.team_id == bindparam("team_id")
    by_key = query.where(
        team,
        Project.team_id == bindparam("team_id"),
        Project.key == bindparam("key"),
        UserStory.number == bindparam("number"),
    )
    return by_key, query.where(team, UserStory.id == bindparam("story_id"))


def _ref_params(actor: Actor, parsed: tuple[str, int] | str) -> dict[str, Any]:
    if isinstance(parsed, tuple):
        return {"team_id": actor.team_id, "key": parsed[0], "number": parsed[1]}
    return {"team_id": actor.team_id, "story_id": parsed}


_STORY_BY_KEY, _STORY_BY_ID = _by_ref(
    select(UserStory, Project).join(Project, Project.id == UserStory.project_id)
)


def find_story(s: Session, actor: Actor, ref: str) -> tuple[UserStory, Project]:
    """The workspace's story named "KEY-N" (any case) or by id, with its project."""
    row = _found(s, actor, ref, _STORY_BY_KEY, _STORY_BY_ID)
    return row[0], row[1]


def _found(s: Session | Connection, actor: Actor, ref: str, by_key: Select, by_id: Select) -> Any:
    """The row of `by_key` or `by_id` (see `_by_ref`) for "KEY-N" or an id, else NotFound."""
    parsed = _parsed_ref(ref)
    query = by_key if isinstance(parsed, tuple) else by_id
    row = s.execute(query, _ref_params(actor, parsed)).one_or_none()
    if row is None:
        raise _not_found(parsed)
    return row


@dataclass(frozen=True)
class Found:
    """A story found to be changed: its view, and its project's settings."""

    view: StoryView
    settings: dict[str, Any]


# What a story's view shows, and its project's settings, as plain columns: a move (the hot
# write) loads no ORM object, so it has none to flush or keep in step
_STORY = UserStory.__table__.c
_FOUND_BY_KEY, _FOUND_BY_ID = _by_ref(
    select(
        *(_STORY[name] for name in ("id", "project_id", "number", "title", "description")),
        *(_STORY[name] for name in ("acceptance_criteria", "priority", "story_points", "tasks")),
        *(_STORY[name] for name in ("tags", "status", "created_at", "updated_at")),
        _STORY.metadata.label("meta"),
        Project.key.label("project_key"),
        Project.name.label("project_name"),
        Creator.slack_user_id.label("creator"),
        Assignee.slack_user_id.label("assignee"),
        Project.settings.label("settings"),
    )
    .join(Project, Project.id == UserStory.project_id)
    .outerjoin(Creator, Creator.id == UserStory.created_by)
    .outerjoin(Assignee, Assignee.id == UserStory.assignee_id)
)


def find_story_view(s: Session, actor: Actor, ref: str) -> Found:
    """The story `find_story` finds, as its view (one query, on the session's connection)."""
    s.flush()  # what the session holds is written first, as an ORM query would
    row = _found(s.connection(), actor, ref, _FOUND_BY_KEY, _FOUND_BY_ID)
    view = view_from_row((row, row.project_key, row.project_name, row.creator, row.assignee))
    return Found(view, row.settings or {})


def get_story(s: Session, actor: Actor, ref: str) -> StoryView:
    """The view of a story named as find_story names it, in one query (project, people)."""
    return find_story_view(s, actor, ref).view


# a new story is one Core INSERT (no unit of work: it runs while SQLite's writer is held)
_INSERT_STORY = UserStory.__table__.insert()
_STORY_COLUMNS = {"meta": "metadata"}  # attribute -> column, where they differ


class _NewStory(NamedTuple):
    """A story's row as create_story inserts it (and view_from_row reads it)."""

    id: str
    team_id: str
    project_id: str
    number: int
    created_by: str
    assignee_id: str | None
    title: str
    description: str
    acceptance_criteria: list[str]
    priority: str
    story_points: int
    tasks: list[str]
    tags: list[str]
    status: str
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def create_story(
    s: Session, actor: Actor, project_ref: str, data: StoryInput | dict[str, Any]
) -> StoryView:
    """Create a story in a project of the actor's workspace, numbered KEY-N."""
    data = parse(StoryInput, data)
    project = number_next_story(s, actor, project_ref)
    priority = data.priority or effective_settings(project.settings)["default_priority"]
    number = project.last_story_number
    now = utcnow()
    story = _NewStory(
        id=new_id(),
        team_id=actor.team_id,
        project_id=project.id,
        number=number,
        created_by=actor.user_id,
        assignee_id=None,
        title=data.title,
        description=data.description,
        acceptance_criteria=data.acceptance_criteria,
        priority=priority,
        story_points=data.story_points,
        tasks=data.tasks,
        tags=data.tags,
        status=data.status,
        meta=data.meta,
        created_at=now,
        updated_at=now,
    )
    s.flush()  # what the session holds goes first, as a flush of the story would
    s.execute(_INSERT_STORY, {_STORY_COLUMNS.get(k, k): v for k, v in story._asdict().items()})
    key = f"{project.key}-{number}"
    audit.record(
        s,
        actor,
        "story.create",
        "story",
        story.id,
        {"key": key, "title": data.title, "priority": priority, "status": data.status},
    )
    # everything the view shows is at hand: no second query on the hot path
    view = view_from_row((story, project.key, project.name, actor.slack_user_id, None))
    outbox.record(s, actor.slack_user_id, view, "created")
    return _touches(s, actor, view)


def _touches(s: Session, actor: Actor, view: StoryView, *also: str | None) -> StoryView:
    """Note the Homes that show this story (its assignee's and creator's), and `also`."""
    homes.touch(s, actor.team_id, (view.assignee_slack_id, view.created_by_slack_id, *also))
    return view


def _current(story: UserStory) -> dict[str, Any]:
    return {
        "title": story.title,
        "description": story.description,
        "acceptance_criteria": list(story.acceptance_criteria or []),
        "priority": story.priority,
        "story_points": story.story_points,
        "tasks": list(story.tasks or []),
        "tags": list(story.tags or []),
        "status": story.status,
        "meta": dict(story.meta or {}),
    }


def _apply(
    s: Session, actor: Actor, story: UserStory, project: Project, new: dict[str, Any], action: str
) -> StoryView:
    current = _current(story)
    diff = {f: {"from": current[f], "to": new[f]} for f in new if new[f] != current[f]}
    if not diff:
        return _view(s, story)
    for field in diff:
        setattr(story, field, new[field])
    story.updated_at = utcnow()
    s.flush()
    details: dict[str, Any] = {"key": f"{project.key}-{story.number}"}
    if action == "story.move":
        details.update(diff["status"])
    else:
        details["changes"] = diff
    audit.record(s, actor, action, "story", story.id, details)
    view = _view(s, story)
    if action == "story.move":
        kind = "done" if view.status == "DONE" else "moved"
        outbox.record(s, actor.slack_user_id, view, kind, dict(diff["status"]))
    else:
        outbox.record(s, actor.slack_user_id, view, "edited", {"fields": sorted(diff)})
    return _touches(s, actor, view)


def update_story(s: Session, actor: Actor, ref: str, changes: dict[str, Any]) -> StoryView:
    """Edit a story's fields (anyone in the workspace); the same rules as creating."""
    story, project = find_story(s, actor, ref)
    if not isinstance(changes, dict):
        raise ValidationFailed("Changes must be a set of named fields.")
    unknown = sorted(set(map(str, changes)) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed(
            f"These story fields cannot be changed: {', '.join(unknown)}.",
            {f: "cannot be changed" for f in unknown},
        )
    current = _current(story)
    data = parse(StoryInput, {**current, **changes}, context={"stored": current})
    new = data.model_dump()
    if new["priority"] is None:
        new["priority"] = story.priority
    return _apply(s, actor, story, project, new, "story.update")


def normalized_status(value: Any) -> str:
    """A status as the vocabulary spells it, or ValidationFailed naming the statuses."""
    word = vocabulary_word(value)
    if word not in STATUSES:
        raise ValidationFailed(not_one_of("status", value, STATUSES), {"status": "enum"})
    return word


def move_story(s: Session, actor: Actor, ref: str, status: str) -> StoryView:
    """Move a story to DRAFT, READY, IN_PROGRESS or DONE."""
    status = normalized_status(status)
    return move_found(s, actor, find_story_view(s, actor, ref), status)


def move_found(s: Session, actor: Actor, found: Found, status: str) -> StoryView:
    """Move a story found by `find_story_view` to `status` (a word of STATUSES).

    A move is the hot write (a card's status select): while it holds the writer it sends
    the update, the audit row and the change, each one prebuilt statement, and reads
    nothing back (the view it returns is the one found, moved)."""
    before = found.view
    if status == before.status:
        return before
    now = utcnow()
    moved = s.connection().execute(_MOVE, {"story_id": before.id, "to_status": status, "now": now})
    if moved.rowcount != 1:  # deleted since it was found (PostgreSQL: by a commit in between)
        raise NotFound(f"No story {before.key} in this workspace.")
    kept = s.identity_map.get(identity_key(UserStory, before.id))
    if kept is not None:  # the session holds the story's row as an object: keep it in step
        set_committed_value(kept, "status", status)
        set_committed_value(kept, "updated_at", now)
    moved = {"from": before.status, "to": status}
    audit.record(s, actor, "story.move", "story", before.id, {"key": before.key, **moved})
    view = replace(before, status=status, updated_at=now)
    outbox.record(s, actor.slack_user_id, view, "done" if status == "DONE" else "moved", moved)
    return _touches(s, actor, view)


_MOVE = (
    update(UserStory.__table__)
    .where(_STORY.id == bindparam("story_id"))
    .values(
        {
            _STORY.status: bindparam("to_status"),
            _STORY.updated_at: bindparam("now", type_=_STORY.updated_at.type),
        }
    )
)


def assign_story(s: Session, actor: Actor, ref: str, slack_user_id: str | None) -> StoryView:
    """Assign a story to a workspace member (created if unseen); None or "" unassigns."""
    if slack_user_id == "":
        slack_user_id = None
    if slack_user_id is not None:
        check_slack_id(slack_user_id)
    story, project = find_story(s, actor, ref)
    before = s.scalar(select(User.slack_user_id).where(User.id == story.assignee_id))
    assignee = (
        None if slack_user_id is None else get_or_create_user(s, actor.team_id, slack_user_id)
    )
    new_id = assignee.id if assignee else None
    if story.assignee_id == new_id:
        return _view(s, story)
    story.assignee_id = new_id
    story.updated_at = utcnow()
    s.flush()
    audit.record(
        s,
        actor,
        "story.assign",
        "story",
        story.id,
        {"key": f"{project.key}-{story.number}", "from": before, "to": slack_user_id},
    )
    view = _view(s, story)
    outbox.record(s, actor.slack_user_id, view, "assigned", {"from": before, "to": slack_user_id})
    return _touches(s, actor, view, before)


def delete_story(s: Session, actor: Actor, ref: str) -> StoryView:
    """Delete a story (its creator, the project owner or an admin). Returns what it was."""
    story, project = find_story(s, actor, ref)
    require_story_deleter(actor, story, project)
    view = _view(s, story)
    s.delete(story)
    s.flush()
    audit.record(s, actor, "story.delete", "story", view.id, {"key": view.key, "title": view.title})
    outbox.record(s, actor.slack_user_id, view, "deleted")
    return _touches(s, actor, view)


# ---- listing --------------------------------------------------------------------------


def _encode_cursor(story: StoryView) -> str:
    micros = (story.created_at - EPOCH) // timedelta(microseconds=1)
    rank = PRIORITY_RANK[story.priority]
    raw = f"{rank}.{micros}.{story.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, datetime, str]:
    bad = ValidationFailed("That page of the list has expired; list the stories again.")
    if not isinstance(cursor, str) or len(cursor) > 120:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        rank_s, micros_s, story_id = raw.split(".")
        rank, micros = int(rank_s), int(micros_s)
        created = EPOCH + timedelta(microseconds=micros)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError, OSError):
        raise bad from None
    if rank not in PRIORITY_RANK.values() or not ROW_ID.match(story_id):
        raise bad
    return rank, created, story_id


def _filter_word(value: Any, allowed: tuple[str, ...], what: str) -> str:
    word = vocabulary_word(value)
    if word not in allowed:
        raise ValidationFailed(not_one_of(what, value, allowed), {what: "enum"})
    return word


def list_stories(
    s: Session,
    actor: Actor,
    project_ref: str | None = None,
    *,
    status: str | None = None,
    priority: str | None = None,
    assignee_slack_id: str | None = None,
    created_by_slack_id: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> StoryPage:
    """A page of stories, CRITICAL first then newest, with an opaque cursor to the next."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"A page holds 1 to {MAX_PAGE} stories.", {"limit": "range"})
    query = story_views_query()
    if project_ref is not None:
        # the workspace's project (find_project). Not team_id as well: on a database without
        # statistics SQLite would then walk idx_stories_team_page (the workspace's rank) as
        # readily as the project's idx_stories_page
        query = query.where(UserStory.project_id == find_project(s, actor, project_ref).id)
    else:
        query = query.where(UserStory.team_id == actor.team_id)
    if status is not None:
        query = query.where(UserStory.status == _filter_word(status, STATUSES, "status"))
    ranks = sorted(PRIORITY_RANK.values())
    if priority is not None:
        ranks = [PRIORITY_RANK[_filter_word(priority, PRIORITIES, "priority")]]
    if assignee_slack_id is not None:
        query = query.where(Assignee.slack_user_id == assignee_slack_id)
    if created_by_slack_id is not None:
        query = query.where(Creator.slack_user_id == created_by_slack_id)
    after: tuple[int, datetime, str] | None = _decode_cursor(cursor) if cursor else None
    if after is not None:
        ranks = [r for r in ranks if r >= after[0]]
    # One query per priority rank: within a rank the order (created_at DESC, id DESC) is a
    # backward walk of idx_stories_page(_status), so no page ever sorts the whole backlog.
    items: list[StoryView] = []
    for rank in ranks:
        part = query.where(UserStory.priority_rank == rank)
        if after is not None and rank == after[0]:
            # a row-value comparison, which both databases turn into an index range
            newest_after = tuple_(literal(after[1], UserStory.created_at.type), literal(after[2]))
            part = part.where(tuple_(UserStory.created_at, UserStory.id) < newest_after)
        part = part.order_by(UserStory.created_at.desc(), UserStory.id.desc())
        items += [view_from_row(row) for row in s.execute(part.limit(limit + 1 - len(items)))]
        if len(items) > limit:
            break
    next_cursor = _encode_cursor(items[limit - 1]) if len(items) > limit else None
    return StoryPage(items=items[:limit], next_cursor=next_cursor)
