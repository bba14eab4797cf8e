"""Every field's vocabulary and limits, in one place.

The domain rules (storage/), Slack's modals and the console (bot/forms.py) and the AI
schemas (bot/ai/schemas.py) all read these, so a value one of them accepts is never refused
by another: a description the domain takes fits the modal that edits it, and the modal's
`max_length` is one Slack accepts. Slack's own limit for a typed field is the ceiling of
every text a person edits in a form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

# Slack refuses a plain_text_input whose max_length (or initial_value) is over 3000.
SLACK_INPUT_MAX = 3000

# -- vocabularies -----------------------------------------------------------------------------
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
STATUSES = ("DRAFT", "READY", "IN_PROGRESS", "DONE")
Priority = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
Status = Literal["DRAFT", "READY", "IN_PROGRESS", "DONE"]
# CRITICAL first, as the seed's list query orders stories
PRIORITY_RANK = {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "LOW": 4}

DEFAULT_PRIORITY: Priority = "MEDIUM"
DEFAULT_STATUS: Status = "DRAFT"
DEFAULT_STORY_TEMPLATE = "agile"
# A project's Definition of Ready (issue 16): what moving a story to READY or IN_PROGRESS does
# while the readiness check has findings. warn: it moves and says what is missing (nothing a
# team did before is blocked); require: it asks for a confirmation, and records who overrode.
READY_CHECKS = ("off", "warn", "require")
ReadyCheck = Literal["off", "warn", "require"]
DEFAULT_READY_CHECK: ReadyCheck = "warn"
READY_GATED = ("READY", "IN_PROGRESS")


def vocabulary_word(value: Any) -> Any:
    """A typed status or priority as the vocabulary spells it ("in progress" -> IN_PROGRESS)."""
    if isinstance(value, str):
        return re.sub(r"[\s-]+", "_", value.strip()).upper()
    return value


def not_one_of(what: str, value: Any, allowed: tuple[str, ...]) -> str:
    """The one refusal of a word outside its vocabulary."""
    article = "an" if what[:1] in "aeiou" else "a"
    return f"'{str(value)[:40]}' is not {article} {what}; use one of {', '.join(allowed)}."


# -- names --------------------------------------------------------------------------------------
# A project key: 2–10 capitals or digits, a letter first (WEB). Stories are KEY-N (WEB-7), and
# are named in any case and with spaces around ("web-7 ").
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
STORY_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})\s*$")
ROW_ID = re.compile(r"^[0-9a-f]{32}$")  # a row's id, as buttons and tokens carry it

# Points: any whole number in MIN_POINTS..MAX_POINTS is stored; forms offer the scale.
MIN_POINTS, MAX_POINTS = 0, 21
POINT_SCALE = (0, 1, 2, 3, 5, 8, 13, 21)
# Above this many points a story is too big for one sprint: the readiness check asks to split it.
SPLIT_ABOVE_POINTS = 8
# How many acceptance criteria a ready story has.
READY_CRITERIA = (2, 6)


@dataclass(frozen=True)
class Lines:
    """A list of one-line items (acceptance criteria, tasks) that a form shows one per line."""

    max_items: int
    item_chars: int
    total_chars: int  # the items joined by newlines: what one form field holds

    def joined_length(self, items: list[str]) -> int:
        return sum(len(item) for item in items) + max(len(items) - 1, 0)


# -- stories ------------------------------------------------------------------------------------
TITLE_MAX = 200
DESCRIPTION_MAX = SLACK_INPUT_MAX
CRITERIA = Lines(max_items=50, item_chars=500, total_chars=SLACK_INPUT_MAX)
TASKS = Lines(max_items=50, item_chars=500, total_chars=SLACK_INPUT_MAX)
TAGS_MAX = 20
TAG_CHARS = 50
# tags as a form shows them: "auth, mobile, …"
TAGS_TEXT_MAX = TAGS_MAX * (TAG_CHARS + 2)
META_BYTES_MAX = 10_000

# -- projects -----------------------------------------------------------------------------------
PROJECT_NAME_MAX = 100
PROJECT_KEY_MAX = 10
PROJECT_DESCRIPTION_MAX = SLACK_INPUT_MAX
REPOSITORY_URL_MAX = 500
STORY_TEMPLATE_MAX = 50

# -- AI generation ------------------------------------------------------------------------------
FEATURE_MAX = 2000
AUDIENCE_MAX = 100
FEEDBACK_MAX = 500
MAX_STORIES = 10

# Every limit a form field takes from here must be one Slack accepts.
FORM_LIMITS = (
    TITLE_MAX,
    DESCRIPTION_MAX,
    CRITERIA.total_chars,
    TAGS_TEXT_MAX,
    PROJECT_NAME_MAX,
    PROJECT_DESCRIPTION_MAX,
    REPOSITORY_URL_MAX,
    STORY_TEMPLATE_MAX,
    FEATURE_MAX,
    AUDIENCE_MAX,
    FEEDBACK_MAX,
)
assert all(0 < limit <= SLACK_INPUT_MAX for limit in FORM_LIMITS)
assert Priority.__args__ == PRIORITIES and Status.__args__ == STATUSES
assert ReadyCheck.__args__ == READY_CHECKS and set(READY_GATED) <= set(STATUSES)
