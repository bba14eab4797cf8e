"""The generate form: which project and feature text `/autodev generate` opens with."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage.errors import NotFound, ValidationFailed
from storage.fields import FEATURE_MAX, PROJECT_KEY
from storage.generation.rate_limit import check_rate_limit
from storage.projects import list_projects, project_for_request
from storage.users import Actor


@dataclass(frozen=True)
class GenerateForm:
    """What the generate modal opens with: the workspace's projects and the prefilled ask."""

    projects: list[Any]
    initial: dict[str, Any]
    note: str | None


def generate_form(
    s: Session, actor: Actor, text: str, *, channel_id: str | None, rate_limit_per_minute: int
) -> GenerateForm:
    """Read `[PROJECT] [FEATURE TEXT]`: a first word naming a project picks it, else the
    channel's linked project; the rest is the feature. Refuses early when rate-limited,
    and when the first word looks like a project key (WEBB) that no project has."""
    projects = list_projects(s, actor)
    if not projects:
        raise NotFound("There are no projects yet: create one with `/project new` first.")
    check_rate_limit(s, actor, rate_limit_per_minute)
    text = (text or "").strip()
    named = None
    first, _, rest = text.partition(" ")
    if first:
        try:
            named = project_for_request(s, actor, first, channel_id)
            text = rest.strip()
        except (NotFound, ValidationFailed):  # the first word is the feature's, not a project
            if PROJECT_KEY.match(first):  # ...unless it looks like a key: a typo, not text
                raise NotFound(unknown_key(first, projects)) from None
            named = None
    project = named or project_for_request(s, actor, None, channel_id)
    project_id = project.id if project else None
    if project_id is None and len(projects) == 1:
        project_id = projects[0].id
    chosen = next((p for p in projects if p.id == project_id), None)
    include_tasks = bool((chosen.settings if chosen else {}).get("include_tasks", True))
    note = None
    if len(text) > FEATURE_MAX:
        note = (
            f"The text was {len(text)} characters; a feature description is at most "
            f"{FEATURE_MAX}, so only the start is filled in below. Edit it as you like."
        )
        text = text[:FEATURE_MAX]
    initial = {"project": project_id, "feature": text, "count": 3, "include_tasks": include_tasks}
    return GenerateForm(projects=projects, initial=initial, note=note)


SHOWN_PROJECTS = 10


def unknown_key(word: str, projects: list[Any]) -> str:
    """The refusal of a key-like first word no project has: the projects, the closest."""
    keys = [p.key for p in projects]
    close = difflib.get_close_matches(word, keys, n=1, cutoff=0.4)
    listed = ", ".join(f"{p.key} ({p.name})" for p in projects[:SHOWN_PROJECTS])
    if len(projects) > SHOWN_PROJECTS:
        listed += f" and {len(projects) - SHOWN_PROJECTS} more"
    guess = f" Did you mean {close[0]}?" if close else ""
    example = close[0] if close else keys[0]
    return (
        f"No project has the key {word}.{guess} Projects here: {listed}. Nothing was "
        f"generated. To describe a feature that starts with {word}, name the project first: "
        f"`/autodev generate {example} {word} …`"
    )
