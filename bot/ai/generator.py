"""Story generators: Claude through the anthropic SDK, and the choice between it and offline."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic
from anthropic import transform_schema
from pydantic import ValidationError

from bot.ai.prompt import system_blocks, user_turn
from bot.ai.schemas import DraftBatch, GenerationBrief, StoryDraft
from bot.settings import Settings

log = logging.getLogger(__name__)

# Room for ten full stories with tasks; the schema caps everything else.
MAX_OUTPUT_TOKENS = 8000
OUTPUT_FORMAT = {"type": "json_schema", "schema": transform_schema(DraftBatch)}
IMPROVE_NEEDS_CLAUDE = (
    "Improve with Claude needs Claude: ask an admin to set ANTHROPIC_API_KEY. Meanwhile the "
    "story's card lists what to fix by hand."
)


class GenerationFailed(Exception):
    """Generation did not produce usable drafts. `reason` is shown to the user as is."""

    def __init__(self, reason: str, *, ai_model: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ai_model = ai_model
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None


@dataclass(frozen=True)
class GenerationResult:
    """Validated drafts plus what the call cost."""

    drafts: list[StoryDraft]
    ai_model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    offline: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class StoryGenerator(Protocol):
    def generate(self, brief: GenerationBrief, *, model: str | None = None) -> GenerationResult:
        """Drafts for the brief, or GenerationFailed with a reason a person can read."""
        ...


def _status_reason(exc: anthropic.APIStatusError) -> str:
    code = exc.status_code
    if code == 429:
        return (
            "Claude is rate-limiting AutoDevHub right now (HTTP 429). "
            "Wait a minute, then press Retry."
        )
    if code == 529 or isinstance(exc, anthropic.OverloadedError):
        return "Claude is overloaded right now (HTTP 529). Try again in a few minutes."
    if code >= 500:
        return f"Claude's service had an internal error (HTTP {code}). Press Retry in a moment."
    if code == 401:
        return (
            "The Anthropic API key was refused (HTTP 401). Ask an admin to check ANTHROPIC_API_KEY."
        )
    if code == 403:
        return "The Anthropic API key may not use this model (HTTP 403). Ask an admin."
    if code == 404:
        return "Claude does not know the model set for this project (HTTP 404). Check ai_model."
    if code in (400, 413):
        return f"Claude refused the request as malformed or too large (HTTP {code})."
    return f"Claude answered with an error (HTTP {code})."


class ClaudeGenerator:
    """Writes stories with Claude: structured JSON output, validated with pydantic anyway."""

    def __init__(self, settings: Settings, *, client: anthropic.Anthropic | None = None) -> None:
        if client is None:
            if settings.anthropic_api_key is None:
                raise ValueError("ClaudeGenerator needs ANTHROPIC_API_KEY; use the offline one")
            client = anthropic.Anthropic(
                api_key=settings.anthropic_api_key.get_secret_value(),
                timeout=settings.ai_timeout_seconds,
                max_retries=settings.ai_max_retries,
            )
        self.client = client
        self.default_model = settings.ai_model
        self.timeout = settings.ai_timeout_seconds

    def generate(self, brief: GenerationBrief, *, model: str | None = None) -> GenerationResult:
        model = model or self.default_model
        try:
            message = self.client.messages.create(
                model=model,
                max_tokens=MAX_OUTPUT_TOKENS,
                system=system_blocks(),
                messages=[{"role": "user", "content": user_turn(brief)}],
                output_config={"format": OUTPUT_FORMAT},
            )
        except anthropic.APITimeoutError as exc:
            raise GenerationFailed(
                f"Claude did not answer within {self.timeout:g} seconds. Press Retry, or "
                "ask for fewer stories.",
                ai_model=model,
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise GenerationFailed(
                "Could not connect to Claude (the connection was refused or dropped). "
                "Press Retry in a moment.",
                ai_model=model,
            ) from exc
        except anthropic.APIStatusError as exc:
            log.warning(
                "claude call failed: HTTP %s request-id=%s", exc.status_code, exc.request_id
            )
            raise GenerationFailed(_status_reason(exc), ai_model=model) from exc

        usage = getattr(message, "usage", None)
        input_tokens = getattr(usage, "input_tokens", None)
        output_tokens = getattr(usage, "output_tokens", None)
        try:
            drafts = self._drafts(message, brief)
        except GenerationFailed as failed:
            failed.ai_model = message.model or model
            failed.input_tokens, failed.output_tokens = input_tokens, output_tokens
            raise
        extra = {
            "message_id": message.id,
            "stop_reason": message.stop_reason,
            "cache_read_input_tokens": getattr(usage, "cache_read_input_tokens", None),
            "cache_creation_input_tokens": getattr(usage, "cache_creation_input_tokens", None),
        }
        return GenerationResult(
            drafts=drafts,
            ai_model=message.model or model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            extra=extra,
        )

    def _drafts(self, message: Any, brief: GenerationBrief) -> list[StoryDraft]:
        if message.stop_reason == "refusal":
            raise GenerationFailed("Claude declined to write stories for this description.")
        text = "".join(
            block.text for block in message.content if getattr(block, "type", None) == "text"
        ).strip()
        tool_input = next(
            (b.input for b in message.content if getattr(b, "type", None) == "tool_use"), None
        )
        if not text and tool_input is None:
            raise GenerationFailed("Claude returned an empty answer. Press Retry.")
        if message.stop_reason == "max_tokens":
            raise GenerationFailed(
                "Claude's answer was cut off before it finished. Ask for fewer stories, "
                "or leave out tasks, and retry."
            )
        try:
            payload = tool_input if tool_input is not None else json.loads(text)
            batch = DraftBatch.model_validate(payload)
        except json.JSONDecodeError as exc:
            raise GenerationFailed(
                "Claude's answer was not the JSON we asked for, so nothing was saved. Press Retry."
            ) from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
            raise GenerationFailed(
                "Claude's answer did not fit the story format "
                f"({where}: {first.get('msg', 'invalid')}), so nothing was saved. Press Retry."
            ) from exc
        return batch.stories[: brief.count]


def story_generator(settings: Settings) -> StoryGenerator:
    """Claude when an API key is set, else the offline generator (which says it is offline)."""
    if settings.anthropic_api_key is not None and settings.anthropic_api_key.get_secret_value():
        return ClaudeGenerator(settings)
    from bot.ai.offline import OfflineGenerator

    return OfflineGenerator()
