"""The shapes of AI story generation: what a user asks for and what Claude must answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from storage.generation import FEATURE_MAX_CHARS
from storage.models import PRIORITIES

# The seed's points scale; anything else is a schema break, not a rounding problem.
POINT_SCALE = (0, 1, 2, 3, 5, 8, 13, 21)
FEEDBACK_MAX_CHARS = 500
AUDIENCE_MAX_CHARS = 100
MAX_STORIES = 10
# Stories over this many points get a "Split" button.
SPLIT_ABOVE_POINTS = 8

Priority = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
Points = Literal[0, 1, 2, 3, 5, 8, 13, 21]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
assert tuple(Priority.__args__) == PRIORITIES  # one list of priorities in the product


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
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)
    ] = Field(description="Short imperative title, under 80 characters.")
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
    ] = Field(description='"As a <role>, I want <goal>, so that <benefit>."')
    acceptance_criteria: list[ShortText] = Field(
        min_length=1,
        max_length=12,
        description='Each one "Given <context>, When <action>, Then <outcome>".',
    )
    tasks: list[ShortText] = Field(
        default_factory=list, max_length=15, description="Implementation tasks, when asked for."
    )
    story_points: Points = Field(description="Fibonacci points: 0, 1, 2, 3, 5, 8, 13 or 21.")
    priority: Priority
    tags: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    ] = Field(default_factory=list, max_length=8, description="Lowercase, hyphenated.")
    metadata: DraftMetadata

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
    project: ProjectContext


class GenerationAsk(BaseModel):
    """What the user typed into the generate modal, validated at the edge."""

    model_config = ConfigDict(str_strip_whitespace=True)

    project_ref: str = Field(max_length=100)
    feature: str
    count: int = Field(default=3, ge=1, le=MAX_STORIES)
    audience: str | None = Field(default=None, max_length=AUDIENCE_MAX_CHARS)
    include_tasks: bool = True
    feedback: str | None = Field(default=None, max_length=FEEDBACK_MAX_CHARS)

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
        if len(value) > FEATURE_MAX_CHARS:
            raise ValueError(
                f"The feature description is {len(value)} characters; the limit is "
                f"{FEATURE_MAX_CHARS}. Summarise it, or generate from one part at a time."
            )
        return value

    @field_validator("audience")
    @classmethod
    def _blank_audience(cls, value: str | None) -> str | None:
        return value or None
