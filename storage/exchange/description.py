"""A story's description, acceptance criteria and tasks as one text, and back.

Jira and Linear have one description field: an export writes the criteria and tasks into it
under their own headings, as bullets, which both render as lists (Jira's wiki markup and
Linear's Markdown read `- item` alike), and an import takes them out again, so a story makes
the round trip whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CRITERIA_HEADING = "Acceptance criteria:"
TASKS_HEADING = "Tasks:"
# A heading as people and trackers write it: "Acceptance criteria:", "*Acceptance Criteria*",
# "h3. Acceptance criteria", "## Tasks", "**Tasks:**"
_HEADING = re.compile(
    r"^\s*(?:h[1-6]\.\s*|#{1,6}\s*)?[*_]{0,2}\s*(acceptance criteria|tasks|sub-?tasks)\s*:?\s*"
    r"[*_]{0,2}\s*:?\s*$",
    re.IGNORECASE,
)
# A list item's marker: "- ", "* ", "# ", "• ", "1. ", "- [ ] ", "[x] "
_BULLET = re.compile(r"^\s*(?:[-*#•]+|\d+[.)])?\s*(?:\[[ xX]?\]\s*)?")


@dataclass
class Parts:
    description: str
    acceptance_criteria: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)


def compose(description: str, criteria: list[str], tasks: list[str]) -> str:
    """One text: the description, then the criteria and the tasks as bullet lists."""
    parts = [description.strip()]
    if criteria:
        parts.append(CRITERIA_HEADING + "\n" + "\n".join(f"- {c}" for c in criteria))
    if tasks:
        parts.append(TASKS_HEADING + "\n" + "\n".join(f"- {t}" for t in tasks))
    return "\n\n".join(p for p in parts if p)


def split(text: str) -> Parts:
    """The description with its "Acceptance criteria" and "Tasks" sections taken out: each
    non-blank line under such a heading is one item, its bullet marker removed."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    parts = Parts("")
    section: list[str] | None = None
    for line in lines:
        heading = _HEADING.match(line)
        if heading:
            word = heading.group(1).lower()
            section = parts.acceptance_criteria if word.startswith("acceptance") else parts.tasks
            continue
        if section is None:
            kept.append(line)
            continue
        item = _BULLET.sub("", line, count=1).strip()
        if item:
            section.append(item)
    parts.description = "\n".join(kept).strip()
    return parts
