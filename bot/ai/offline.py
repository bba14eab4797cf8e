"""The offline story generator: honest skeleton stories from the feature text, no Claude needed."""

from __future__ import annotations

import re

from bot.ai.generator import GenerationResult
from bot.ai.schemas import DraftMetadata, GenerationBrief, StoryDraft
from storage.projects import effective_settings

OFFLINE_MODEL = "offline"
OFFLINE_NOTE = "Made offline (no ANTHROPIC_API_KEY set): a skeleton for a person to finish."

_SPLIT = re.compile(r"(?:[.;\n]+|,\s*(?:and\s+)?|\s+and\s+|\s+then\s+)", re.IGNORECASE)
_LEAD = re.compile(
    r"^(?:(?:we|users?|they|i|you)\s+(?:want|need|should|must|can|could|would like)\s+"
    r"(?:to\s+)?|(?:add|allow|let|support|enable|build|create|make)\s+)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z][a-z0-9-]{3,}")
_STOP = {
    "that",
    "this",
    "with",
    "from",
    "have",
    "they",
    "their",
    "them",
    "when",
    "into",
    "users",
    "user",
    "want",
    "should",
    "able",
    "also",
    "will",
    "then",
    "like",
    "need",
}


def _clauses(feature: str) -> list[str]:
    parts = [p.strip(" -*•\t") for p in _SPLIT.split(feature)]
    return [p for p in parts if len(p.split()) >= 2] or [feature.strip()]


def _title(clause: str) -> str:
    goal = _LEAD.sub("", clause).strip()
    goal = goal[:1].upper() + goal[1:]
    return (goal if len(goal) <= 80 else goal[:77].rstrip() + "...") or "Untitled story"


def _tags(text: str) -> list[str]:
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in _STOP and word not in seen:
            seen.append(word)
    return seen[:3] or ["offline"]


class OfflineGenerator:
    """Turns each clause of the feature text into a story with criteria skeletons."""

    def generate(self, brief: GenerationBrief, *, model: str | None = None) -> GenerationResult:
        role = brief.audience or "user"
        if brief.split_story:
            base = str(brief.split_story.get("title") or brief.feature)
            clauses = [f"{base} (part {i + 1})" for i in range(brief.count)]
        else:
            clauses = _clauses(brief.feature)
        priority = effective_settings(brief.project.settings)["default_priority"]
        drafts = []
        for i in range(brief.count):
            clause = clauses[i % len(clauses)]
            title = _title(clause)
            if i >= len(clauses):
                title = f"{title} (variant {i // len(clauses) + 1})"
            goal = _LEAD.sub("", clause).strip().rstrip(".")
            tasks = (
                ["Design the change", "Implement it", "Write tests", "Update documentation"]
                if brief.include_tasks
                else []
            )
            drafts.append(
                StoryDraft(
                    title=title[:200],
                    description=(
                        f"As a {role}, I want to {goal[:1].lower() + goal[1:]}, so that "
                        "[the benefit - to fill in]. (" + OFFLINE_NOTE + ")"
                    ),
                    acceptance_criteria=[
                        f"Given [context], When I {goal[:200]}, Then [expected outcome]",
                        "Given [an error case], When [action], Then [what the user sees]",
                    ],
                    tasks=tasks,
                    story_points=0,
                    priority=priority,
                    tags=_tags(clause),
                    metadata=DraftMetadata(
                        ai_confidence=0, estimated_hours=0, complexity="medium", dependencies=[]
                    ),
                )
            )
        return GenerationResult(
            drafts=drafts,
            ai_model=OFFLINE_MODEL,
            input_tokens=0,
            output_tokens=0,
            offline=True,
            extra={"note": OFFLINE_NOTE},
        )
