"""The project and story forms: fields shared by Slack modals and the console's questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage import projects, readiness, stories
from storage.errors import Conflict, ValidationFailed
from storage.fields import (
    CRITERIA,
    DEFAULT_PRIORITY,
    DEFAULT_READY_CHECK,
    DEFAULT_STATUS,
    DEFAULT_STORY_TEMPLATE,
    DESCRIPTION_MAX,
    POINT_SCALE,
    PRIORITIES,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_KEY_MAX,
    PROJECT_NAME_MAX,
    READY_CHECKS,
    REPOSITORY_URL_MAX,
    SLACK_INPUT_MAX,
    STATUSES,
    STORY_TEMPLATE_MAX,
    TAGS_TEXT_MAX,
    TITLE_MAX,
)
from storage.users import Actor
from storage.validation import label, parse

POINTS = tuple(str(points) for points in POINT_SCALE)


@dataclass(frozen=True)
class FormField:
    """One question. `kind`: text, multiline, select, flag, user, project."""

    name: str
    label: str
    kind: str = "text"
    options: tuple[str, ...] = ()
    optional: bool = True
    hint: str | None = None
    max_length: int | None = None
    placeholder: str | None = None

    @property
    def holds(self) -> int:
        """The most characters this field's input takes (Slack's ceiling when unset)."""
        return self.max_length or SLACK_INPUT_MAX


PROJECT_FORM = (
    FormField("name", "Name", optional=False, max_length=PROJECT_NAME_MAX, placeholder="Web shop"),
    FormField(
        "key",
        "Key",
        max_length=PROJECT_KEY_MAX,
        hint="2–10 capitals that prefix story numbers (WEB-7). Empty: made from the name.",
        placeholder="WEB",
    ),
    FormField("description", "Description", "multiline", max_length=PROJECT_DESCRIPTION_MAX),
    FormField(
        "repository_url",
        "Repository URL",
        max_length=REPOSITORY_URL_MAX,
        placeholder="https://github.com/…",
    ),
    FormField("default_priority", "Default priority", "select", PRIORITIES, optional=False),
    FormField(
        "story_template",
        "Story template",
        max_length=STORY_TEMPLATE_MAX,
        hint="How generated stories are written, e.g. agile.",
    ),
    FormField("include_tasks", "Include tasks in generated stories", "flag"),
    FormField("auto_assign_points", "Estimate points for generated stories", "flag"),
    FormField(
        "ready_check",
        "Definition of Ready",
        "select",
        READY_CHECKS,
        optional=False,
        hint=(
            "Moving a story that is not ready to READY or IN_PROGRESS: warn says what is "
            "missing; require asks to confirm (and records who did); off checks nothing."
        ),
    ),
)
PROJECT_SETTINGS = (
    "default_priority",
    "story_template",
    "include_tasks",
    "auto_assign_points",
    "ready_check",
)

STORY_FORM = (
    FormField("project", "Project", "project", optional=False),
    FormField("title", "Title", optional=False, max_length=TITLE_MAX),
    FormField(
        "description",
        "Description",
        "multiline",
        optional=False,
        max_length=DESCRIPTION_MAX,
        placeholder="As a …, I want …, so that …",
    ),
    FormField(
        "acceptance_criteria",
        "Acceptance criteria",
        "multiline",
        hint="One per line, e.g. Given … When … Then …",
        max_length=CRITERIA.total_chars,
    ),
    # no value for a new story: the domain gives it its project's default priority (a form
    # cannot know which project will be chosen when it opens)
    FormField("priority", "Priority", "select", PRIORITIES, hint="Empty: the project's default."),
    FormField("story_points", "Story points", "select", POINTS, optional=False),
    FormField("tags", "Tags", hint="Comma-separated, e.g. auth, mobile", max_length=TAGS_TEXT_MAX),
    FormField("status", "Status", "select", STATUSES, optional=False),
    FormField("assignee", "Assignee", "user"),
)

FORMS = {"project": PROJECT_FORM, "story": STORY_FORM}


YES = ("y", "yes", "true", "on", "1")
NO = ("n", "no", "false", "off", "0")


def yes_or_no(answer: str, default: bool | None = None) -> bool | None:
    """A typed yes/no: True or False for a clear answer (empty: `default`), None otherwise,
    so "maybe" is asked again rather than taken as no."""
    word = answer.strip().lower()
    if not word:
        return default
    return True if word in YES else False if word in NO else None


def project_initial(project: Any | None = None) -> dict[str, Any]:
    """Form values for a new project, or the values of an existing ProjectView."""
    if project is None:
        return {
            "default_priority": DEFAULT_PRIORITY,
            "story_template": DEFAULT_STORY_TEMPLATE,
            "include_tasks": True,
            "auto_assign_points": True,
            "ready_check": DEFAULT_READY_CHECK,
        }
    settings = project.settings or {}
    return {
        "name": project.name,
        "key": project.key,
        "description": project.description,
        "repository_url": project.repository_url,
        "default_priority": settings.get("default_priority", DEFAULT_PRIORITY),
        "story_template": settings.get("story_template", DEFAULT_STORY_TEMPLATE),
        "include_tasks": bool(settings.get("include_tasks", True)),
        "auto_assign_points": bool(settings.get("auto_assign_points", True)),
        "ready_check": settings.get("ready_check", DEFAULT_READY_CHECK),
    }


def project_data(values: dict[str, Any]) -> dict[str, Any]:
    """Form values -> the domain's project input (settings nested)."""
    # only the fields the form showed: one it left out (too long to edit there) stays as is
    data: dict[str, Any] = {
        f: values.get(f) for f in ("name", "key", "description", "repository_url") if f in values
    }
    data["settings"] = {f: values[f] for f in PROJECT_SETTINGS if values.get(f) is not None}
    return data


def story_initial(story: Any | None = None, **given: Any) -> dict[str, Any]:
    """Form values for a new story (defaults + `given`), or those of an existing StoryView."""
    if story is None:
        values: dict[str, Any] = {
            "story_points": "0",
            "status": DEFAULT_STATUS,
        }
        values.update({k: v for k, v in given.items() if v is not None})
        return values
    return {
        "project": story.project_id,
        "title": story.title,
        "description": story.description,
        "acceptance_criteria": "\n".join(story.acceptance_criteria or []),
        "priority": story.priority,
        "story_points": str(story.story_points),
        "tags": ", ".join(story.tags or []),
        "status": story.status,
        "assignee": story.assignee_slack_id,
    }


def story_data(values: dict[str, Any]) -> dict[str, Any]:
    """Form values -> the domain's story fields (criteria one per line, tags by comma)."""
    data: dict[str, Any] = {}
    for name in ("title", "description", "status"):
        if name in values:
            data[name] = values[name] if values[name] is not None else ""
    if values.get("priority") is not None:  # none chosen: the project's default
        data["priority"] = values["priority"]
    if "acceptance_criteria" in values:
        lines = (values.get("acceptance_criteria") or "").splitlines()
        data["acceptance_criteria"] = [line.strip() for line in lines if line.strip()]
    if "tags" in values:
        tags = (values.get("tags") or "").replace("\n", ",").split(",")
        data["tags"] = [tag.strip() for tag in tags if tag.strip()]
    if values.get("story_points") not in (None, ""):
        # as typed: the domain reads it (ASCII digits only; "²".isdigit() is True, int() fails)
        data["story_points"] = str(values["story_points"]).strip()
    return data


def save_story(s: Session, actor: Actor, target: str | None, values: dict[str, Any]) -> Any:
    """A submitted story form (Slack's modal or the console's questions): update the story
    `target`, or create one in the chosen project; then its assignee. Returns its StoryView."""
    data = story_data(values)
    if target:
        story = readiness.update_story(s, actor, target, data)
    else:
        if not values.get("project"):
            raise ValidationFailed("Choose a project.", {"project": "Choose a project."})
        story = readiness.create_story(s, actor, values["project"], data)
    if "assignee" in values and values["assignee"] != story.assignee_slack_id:
        story = stories.assign_story(s, actor, story.id, values["assignee"])
    return story


def save_project(s: Session, actor: Actor, target: str | None, values: dict[str, Any]) -> Any:
    """A submitted project form: update the project `target`, or create one."""
    data = project_data(values)
    if target:
        return projects.update_project(s, actor, target, data)
    return projects.create_project(s, actor, data)


def field_errors_for(form: tuple[FormField, ...], errors: dict[str, str]) -> dict[str, str]:
    """Domain field errors -> {form field: message naming the field as people read it}.

    A nested field is named in full (`settings.default_priority`) and lands on its own
    question; one the form does not show lands on its first field, named in the message."""
    names = [f.name for f in form]
    labels = {f.name: f.label for f in form}
    shown: dict[str, str] = {}
    for field, message in errors.items():
        name = field.rsplit(".", 1)[-1]
        if name not in names:
            name = names[1] if names[0] == "project" and len(names) > 1 else names[0]
            if not message[:1].isupper():
                message = f"{label(field)} {message}"
        text = message if message[:1].isupper() else f"{labels[name]} {message}"
        shown[name] = (shown[name] + " " + text) if name in shown else text
    return shown


def answer_problem(
    s: Session,
    actor: Actor,
    form: str,
    target: str | None,
    values: dict[str, Any],
    name: str,
    stored: dict[str, Any] | None = None,
) -> str | None:
    """What the domain would refuse in the answer to `name` (the other answers as they are),
    before anything is saved, or None: a form asks one question again, not all of them.

    `stored` are the values the edited row holds now (a stored value kept as it is passes
    even under a tighter limit). Project names and keys are also checked for clashes."""
    fields = FORMS[form]
    model: Any = projects.ProjectInput if form == "project" else stories.StoryInput
    data = project_data(values) if form == "project" else story_data(values)
    if stored is not None:
        stored = project_data(stored) if form == "project" else story_data(stored)
    try:
        parsed = parse(model, data, context={"stored": stored} if stored else None)
    except ValidationFailed as exc:
        mine = {f: m for f, m in exc.field_errors.items() if f.rsplit(".", 1)[-1] == name}
        return field_errors_for(fields, mine).get(name)
    if form == "project" and name in ("name", "key"):
        try:
            projects.check_free(
                s,
                actor,
                name=parsed.name if name == "name" else None,
                key=parsed.key if name == "key" else None,
                skip=target,
            )
        except Conflict as exc:
            return exc.message
    return None
