"""The readiness check: whether a story is worth building, as named findings a person can act on.

`check_story` is pure and fast (no session, no network): lists and App Home mark dozens of
stories with it per request. The one finding that needs the database, a look-alike already in
the backlog, is a separate step (`story_lookalikes`) whose result is handed to the check; the
full readiness of one story (card, move, improve) is `story_readiness`. The project's
Definition of Ready (`ready_check`: off | warn | require) gates moves to READY and IN_PROGRESS
in `move_story`, the one way stories are moved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit, stories
from storage.errors import DomainError, ValidationFailed
from storage.fields import POINT_SCALE, READY_CRITERIA, READY_GATED, SPLIT_ABOVE_POINTS
from storage.generation.lookalikes import title_lookalikes
from storage.models import UserStory
from storage.projects import effective_settings, find_project
from storage.stories import StoryView
from storage.users import Actor

# -- the findings' names (stable: tests, the audit log and the improve prompt use them) ---------
USER_VALUE = "user_value"  # no role / goal / benefit, nor who benefits
BENEFIT = "benefit"  # "As a …, I want …" without "so that …"
CRITERIA_COUNT = "criteria_count"  # not 2 to 6 acceptance criteria
CRITERIA_TESTABLE = "criteria_testable"  # a criterion that is a task, not an outcome
POINTS_SCALE = "points_scale"  # points off the Fibonacci scale
TOO_BIG = "too_big"  # more than 8 points: split it
TITLE_VAGUE = "title_vague"  # "fix stuff"
TITLE_IS_DESCRIPTION = "title_is_description"  # the whole description as a title
LOOKALIKE = "lookalike"  # a story in the backlog with nearly the same title
NAMES = (
    USER_VALUE,
    BENEFIT,
    CRITERIA_COUNT,
    CRITERIA_TESTABLE,
    POINTS_SCALE,
    TOO_BIG,
    TITLE_VAGUE,
    TITLE_IS_DESCRIPTION,
    LOOKALIKE,
)
TITLE_MAX_WORDS = 16
TITLE_MAX_CHARS = 120


@dataclass(frozen=True)
class Finding:
    """One thing that keeps a story from being ready: `name` (one of NAMES) and a short
    `message` that says what to do."""

    name: str
    message: str


# -- the pure check -------------------------------------------------------------------------
_STORY_FORM = re.compile(
    r"^\W*as\s+(?:an?|the|one|some)?\s*\S.*?\bi\s+(?:want|need|would\s+like|can|should)\b",
    re.IGNORECASE | re.DOTALL,
)
_WHY = re.compile(
    r"\b(?:so\s+that|so\s+(?:i|we|they|you|he|she|it|people|users)\s+can|in\s+order\s+to|"
    r"because|which\s+(?:lets|helps|allows)|to\s+help)\b",
    re.IGNORECASE,
)
_GIVEN_WHEN_THEN = re.compile(r"\b(?:given|when|if)\b.*\bthen\b", re.IGNORECASE | re.DOTALL)
# A criterion that starts like an instruction to a developer is a task ("Use JWT").
_TASK = re.compile(
    r"^\W*(?:use|using|implement|add|create|build|refactor|write|set\s*up|setup|configure|install|"
    r"migrate|deploy|fix|update|integrate|store|call|wire|rename|remove|design|research|"
    r"investigate|spike|todo|make|upgrade|switch|introduce|extract|split|move|replace|hook|"
    r"cache|index|mock|stub|code|develop)\b",
    re.IGNORECASE,
)
# ...and one that says what a person sees or what data results is an outcome.
_OUTCOME = re.compile(
    r"\b(?:sees?|seen|shown|shows?|displays?|displayed|receives?|received|gets?|returns?|"
    r"returned|is|are|was|were|can|cannot|can't|must|will|appears?|saved|sent|stored|kept|"
    r"logged|recorded|refused|rejected|redirected|notified|listed|within|under|less|more|"
    r"fewer|at\s+most|at\s+least|errors?|messages?|works?|fails?|succeeds?|loads?|has|have)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "my",
        "our",
    ]
)
_VAGUE_WORDS = frozenset(
    [
        "stuff",
        "thing",
        "things",
        "misc",
        "miscellaneous",
        "various",
        "issue",
        "issues",
        "bug",
        "bugs",
        "fix",
        "fixes",
        "fixing",
        "todo",
        "tbd",
        "update",
        "updates",
        "changes",
        "change",
        "improvements",
        "improve",
        "improvement",
        "work",
        "task",
        "tasks",
        "story",
        "stories",
        "feature",
        "features",
        "new",
        "asap",
        "wip",
        "test",
        "tests",
        "tmp",
        "temp",
        "etc",
        "some",
        "more",
        "everything",
        "problem",
        "problems",
        "cleanup",
        "clean",
        "tweak",
        "tweaks",
        "do",
        "make",
        "minor",
        "small",
        "quick",
        "general",
        "generic",
    ]
)


def _field(story: Any, name: str) -> Any:
    return story.get(name) if isinstance(story, Mapping) else getattr(story, name, None)


def _normal(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def _is_testable(criterion: str) -> bool:
    if _GIVEN_WHEN_THEN.search(criterion):
        return True
    return not _TASK.match(criterion) and bool(_OUTCOME.search(criterion))


def _numbered(indexes: list[int]) -> str:
    shown = [str(i + 1) for i in indexes[:5]]
    if len(indexes) > 5:
        shown.append("…")
    if len(shown) == 1:
        return f"criterion {shown[0]} is"
    return f"criteria {', '.join(shown[:-1])} and {shown[-1]} are"


def _quoted(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= limit else text[: limit - 1] + "…") + "”"


def _description_findings(description: str) -> list[Finding]:
    if _STORY_FORM.search(description):
        if _WHY.search(description):
            return []
        return [Finding(BENEFIT, "Say why it matters: end the description with “so that …”.")]
    if _WHY.search(description):
        return []  # not the template, but it says who benefits and why
    return [
        Finding(
            USER_VALUE,
            "Say who it is for and why: “As a <role>, I want <goal>, so that <benefit>.”",
        )
    ]


def _criteria_findings(criteria: Sequence[str]) -> list[Finding]:
    fewest, most = READY_CRITERIA
    n = len(criteria)
    found: list[Finding] = []
    if n == 0:
        found.append(
            Finding(
                CRITERIA_COUNT,
                f"No acceptance criteria: add {fewest} to {most}, each “Given …, When …, Then …”.",
            )
        )
    elif n < fewest:
        found.append(
            Finding(
                CRITERIA_COUNT,
                "Only 1 acceptance criterion: add another (an error or an edge case).",
            )
        )
    elif n > most:
        found.append(
            Finding(
                CRITERIA_COUNT,
                f"{n} acceptance criteria: keep {fewest} to {most} (merge some, or split the "
                "story).",
            )
        )
    tasks = [i for i, c in enumerate(criteria) if not _is_testable(c)]
    if tasks:
        example = _quoted(criteria[tasks[0]])
        found.append(
            Finding(
                CRITERIA_TESTABLE,
                f"Acceptance {_numbered(tasks)} not testable ({example}): say what a person "
                "sees or what results, e.g. “Given …, When …, Then …”; move the how to tasks.",
            )
        )
    return found


def _points_findings(points: Any) -> list[Finding]:
    if not isinstance(points, int) or isinstance(points, bool):
        return []
    found: list[Finding] = []
    if points not in POINT_SCALE:
        scale = ", ".join(str(p) for p in POINT_SCALE)
        found.append(Finding(POINTS_SCALE, f"{points} points is not on the scale: use {scale}."))
    if points > SPLIT_ABOVE_POINTS:
        found.append(
            Finding(
                TOO_BIG,
                f"{points} points is too big for one sprint: split it into stories of "
                f"{SPLIT_ABOVE_POINTS} points or fewer.",
            )
        )
    return found


def _title_findings(title: str, description: str) -> list[Finding]:
    words = _WORDS.findall(title.casefold())
    meaningful = [w for w in words if w not in _SMALL_WORDS and w not in _VAGUE_WORDS]
    if (
        len(words) > TITLE_MAX_WORDS
        or len(title) > TITLE_MAX_CHARS
        or (len(words) > 3 and _normal(title) == _normal(description))
        or _STORY_FORM.search(title)
    ):
        return [
            Finding(
                TITLE_IS_DESCRIPTION,
                "The title reads like the description: name just what changes, in under 80 "
                "characters.",
            )
        ]
    if len(meaningful) < 2:
        return [
            Finding(
                TITLE_VAGUE,
                f"The title {_quoted(title)} does not say what changes: name the thing and the "
                "change, e.g. “Reset password by email”.",
            )
        ]
    return []


def _lookalike_findings(lookalikes: Iterable[Mapping[str, str]]) -> list[Finding]:
    found = list(lookalikes)
    if not found:
        return []
    first = found[0]
    also = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return [
        Finding(
            LOOKALIKE,
            f"Looks like {first.get('key')} {_quoted(first.get('title') or '')}{also}: merge "
            "them, or say in the title how this one differs.",
        )
    ]


def check_story(story: Any, *, lookalikes: Iterable[Mapping[str, str]] = ()) -> list[Finding]:
    """The findings on one story (a StoryView, a draft or a dict of its fields), in the order a
    person would fix them; none means ready. `lookalikes` ({key, title}: `story_lookalikes`)
    are the backlog's stories it looks like. Pure: no session, no network."""
    title = str(_field(story, "title") or "")
    description = str(_field(story, "description") or "")
    criteria = [str(c) for c in (_field(story, "acceptance_criteria") or [])]
    return [
        *_title_findings(title, description),
        *_description_findings(description),
        *_criteria_findings(criteria),
        *_points_findings(_field(story, "story_points")),
        *_lookalike_findings(lookalikes),
    ]


def things_to_fix(findings: Sequence[Finding]) -> str:
    """ "Ready", "1 thing to fix", "3 things to fix"."""
    if not findings:
        return "Ready"
    return f"{len(findings)} thing{'' if len(findings) == 1 else 's'} to fix"


def finding_names(findings: Iterable[Finding]) -> list[str]:
    return [f.name for f in findings]


# -- with the backlog -------------------------------------------------------------------------
def story_lookalikes(s: Session, actor: Actor, story: StoryView) -> list[dict[str, str]]:
    """The stories of the same project whose titles look like this one's (one query), but
    its siblings: drafts saved from one generation are slices of one feature, written to
    differ, and share its words by design (a second query, only for such a story)."""
    found = title_lookalikes(s, actor, story.project_id, story.title, exclude_key=story.key)
    request = (story.meta or {}).get("generation_request_id")
    if not (request and found):
        return found
    prefix = story.key.rsplit("-", 1)[0]
    numbers = [int(f["key"].rsplit("-", 1)[1]) for f in found]
    siblings = {
        f"{prefix}-{number}"
        for number, meta in s.execute(
            select(UserStory.number, UserStory.meta).where(
                UserStory.project_id == story.project_id, UserStory.number.in_(numbers)
            )
        )
        if (meta or {}).get("generation_request_id") == request
    }
    return [f for f in found if f["key"] not in siblings]


def story_readiness(s: Session, actor: Actor, story: StoryView) -> list[Finding]:
    """Every finding on one story, the look-alike one included (one query)."""
    return check_story(story, lookalikes=story_lookalikes(s, actor, story))


# -- the Definition of Ready -------------------------------------------------------------------
class NotReady(DomainError):
    """A move the project's Definition of Ready (`require`) holds back until confirmed."""

    def __init__(self, story: StoryView, status: str, findings: list[Finding]) -> None:
        listed = "; ".join(f.message for f in findings)
        super().__init__(
            f"{story.key} is not ready for {status}: {things_to_fix(findings).lower()}. {listed}"
        )
        self.story = story
        self.status = status
        self.findings = findings


@dataclass(frozen=True)
class Moved:
    """A story moved, with the findings it still has when the move was gated (warn or an
    override), and whether the Definition of Ready was overridden."""

    story: StoryView
    findings: list[Finding]
    mode: str
    overridden: bool = False
    gated: bool = False  # a move the Definition of Ready looks at (to READY or IN_PROGRESS)


def move_story(
    s: Session,
    actor: Actor,
    ref: str,
    status: str,
    *,
    override: bool = False,
    warn_later: bool = False,
) -> Moved:
    """Move a story (stories.move_story), held to its project's Definition of Ready.

    A move to READY or IN_PROGRESS of a story with findings: `warn` moves it and returns the
    findings; `require` raises NotReady unless `override`, and an override is recorded in
    the audit log (who, which findings). `off` and other moves are not checked.

    `warn_later`: under `warn` the findings are left for the caller to read after the
    write (`story_readiness`), so the look-alike query does not hold SQLite's writer; the
    returned Moved says `gated`."""
    found = stories.find_story_view(s, actor, ref)
    target = stories.normalized_status(status)
    mode = effective_settings(found.settings)["ready_check"]
    findings: list[Finding] = []
    gated = mode != "off" and target in READY_GATED and target != found.view.status
    if gated and not (warn_later and mode == "warn"):
        findings = story_readiness(s, actor, found.view)
        if findings and mode == "require" and not override:
            raise NotReady(found.view, target, findings)
    moved = stories.move_found(s, actor, found, target)
    overridden = bool(findings) and mode == "require"
    if overridden:
        audit.record(
            s,
            actor,
            "story.ready_override",
            "story",
            moved.id,
            {"key": moved.key, "to": target, "findings": finding_names(findings)},
        )
    return Moved(moved, findings, mode, overridden, gated)


def update_story(s: Session, actor: Actor, ref: str, data: dict[str, Any]) -> StoryView:
    """Edit a story (stories.update_story), held to the Definition of Ready as a move is: under
    `require`, an edit that also moves the story to READY or IN_PROGRESS is refused, on its
    status field, while the story as edited still has findings (nothing is saved). The form
    has no "anyway": the fields to fix are in it, and `/story move` confirms a move."""
    story, project = stories.find_story(s, actor, ref)
    before = story.status
    updated = stories.update_story(s, actor, ref, data)
    if updated.status != before:
        _hold_to_the_definition(s, actor, project, updated)
    return updated


def create_story(s: Session, actor: Actor, project_ref: str, data: dict[str, Any]) -> StoryView:
    """Create a story (stories.create_story); under `require`, one created straight into
    READY or IN_PROGRESS must be ready (refused on its status field otherwise)."""
    made = stories.create_story(s, actor, project_ref, data)
    if made.status in READY_GATED:  # most stories start as DRAFT: no project read for them
        _hold_to_the_definition(s, actor, find_project(s, actor, made.project_id), made)
    return made


def _hold_to_the_definition(s: Session, actor: Actor, project: Any, story: StoryView) -> None:
    mode = effective_settings(project.settings)["ready_check"]
    if mode != "require" or story.status not in READY_GATED:
        return
    findings = story_readiness(s, actor, story)
    if findings:
        listed = "; ".join(f.message for f in findings)
        message = (
            f"Not ready for {story.status} ({things_to_fix(findings).lower()}): {listed} "
            f"Fix them here, or save it without this status and confirm the move with "
            f"/story move {story.key} {story.status}."
        )
        raise ValidationFailed(message, {"status": message})
