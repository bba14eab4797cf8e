"""The shapes of AI story generation: what a user asks for and what Claude must answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from storage.fields import (
    AUDIENCE_MAX,
    CRITERIA,
    DESCRIPTION_MAX,
    FEATURE_MAX,
    FEEDBACK_MAX,
    MAX_STORIES,
    POINT_SCALE,
    TAG_CHARS,
    TASKS,
    TITLE_MAX,
    Lines,
    Priority,
)

# The seed's points scale; anything else is a schema break, not a rounding problem.
Points = Literal[0, 1, 2, 3, 5, 8, 13, 21]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
assert Points.__args__ == POINT_SCALE  # one points scale in the product
MAX_CRITERIA = 12
MAX_TASKS = 15
# Claude's lists fit the story form: every item and the whole, one per line.
assert min(CRITERIA.item_chars, TASKS.item_chars) >= 300
assert CRITERIA.max_items >= MAX_CRITERIA and TASKS.max_items >= MAX_TASKS


def _fits(items: list[str], limit: Lines, plural: str) -> list[str]:
    if limit.joined_length(items) > limit.total_chars:
        raise ValueError(f"the {plural} together must be at most {limit.total_chars} characters")
    return items


class DraftMetadata(BaseModel):
    """The seed's story metadata, as Claude estimates it."""

    model_config = ConfigDict(extra="ignore")

    ai_confidence: float = Field(ge=0, le=1, description="How sure you are, 0 to 1.")
    estimated_hours: float = Field(ge=0, le=400, description="Rough effort in hours.")
    complexity: Literal["low", "medium", "high"]
    dependencies: list[ShortText] = Field(
        default_factory=list,
        max_length=10,
        description="Titles or keys of stories this one depends on.",
    )


class StoryDraft(BaseModel):
    """One generated user story, before a person saves it."""

    model_config = ConfigDict(extra="ignore")

    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=TITLE_MAX)
    ] = Field(description="Short imperative title, under 80 characters.")
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=DESCRIPTION_MAX)
    ] = Field(description='"As a <role>, I want <goal>, so that <benefit>."')
    acceptance_criteria: list[ShortText] = Field(
        min_length=1,
        max_length=MAX_CRITERIA,
        description='Each one "Given <context>, When <action>, Then <outcome>".',
    )
    tasks: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_TASKS,
        description="Implementation tasks, when asked for.",
    )
    story_points: Points = Field(description="Fibonacci points: 0, 1, 2, 3, 5, 8, 13 or 21.")
    priority: Priority
    tags: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_CHARS)]
    ] = Field(default_factory=list, max_length=8, description="Lowercase, hyphenated.")
    metadata: DraftMetadata

    @field_validator("acceptance_criteria")
    @classmethod
    def _criteria_fit(cls, items: list[str]) -> list[str]:
        return _fits(items, CRITERIA, "acceptance criteria")

    @field_validator("tasks")
    @classmethod
    def _tasks_fit(cls, items: list[str]) -> list[str]:
        return _fits(items, TASKS, "tasks")

    @field_validator("tags")
    @classmethod
    def _lower_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(t.lower().replace(" ", "-") for t in tags))


class DraftBatch(BaseModel):
    """Claude's whole answer: the stories, in the order it suggests doing them."""

    model_config = ConfigDict(extra="ignore")

    stories: list[StoryDraft] = Field(min_length=1, max_length=MAX_STORIES)


class ProjectContext(BaseModel):
    """What the prompt tells Claude about the project the stories are for."""

    key: str
    name: str
    description: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    existing_titles: list[str] = Field(default_factory=list)


class GenerationBrief(BaseModel):
    """One generation job as the worker sees it: the ask plus the project's context."""

    feature: str
    count: int = Field(ge=1, le=MAX_STORIES)
    audience: str | None = None
    include_tasks: bool = True
    feedback: str | None = None
    split_story: dict[str, Any] | None = None  # a draft or story to split into smaller ones
    # Improve with Claude: the story to rewrite and the readiness check's findings on it
    improve_story: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)
    # the Slack thread the feature came from ({"user", "text"} each, oldest first)
    conversation: list[dict[str, Any]] = Field(default_factory=list)
    project: ProjectContext


class GenerationAsk(BaseModel):
    """What the user typed into the generate modal, validated at the edge."""

    model_config = ConfigDict(str_strip_whitespace=True)

    project_ref: str = Field(max_length=100)
    feature: str
    count: int = Field(default=3, ge=1, le=MAX_STORIES)
    audience: str | None = Field(default=None, max_length=AUDIENCE_MAX)
    include_tasks: bool = True
    feedback: str | None = Field(default=None, max_length=FEEDBACK_MAX)

    @field_validator("project_ref")
    @classmethod
    def _project_named(cls, value: str) -> str:
        if not value:
            raise ValueError("Choose a project.")
        return value

    @field_validator("feature")
    @classmethod
    def _feature_cap(cls, value: str) -> str:
        if not value:
            raise ValueError("Describe the feature in a sentence or two.")
        if len(value) > FEATURE_MAX:
            raise ValueError(
                f"The feature description is {len(value)} characters; the limit is "
                f"{FEATURE_MAX}. Summarise it, or generate from one part at a time."
            )
        return value

    @field_validator("audience")
    @classmethod
    def _blank_audience(cls, value: str | None) -> str | None:
        return value or None
