"""Input rules shared by the domain operations: pydantic errors become ValidationFailed."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, ValidationInfo

from storage.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)

# Slack ids (users U…/W…, teams T…/E…, channels C…/G…/D…); lenient so tests and the
# console adapter may use readable ids, strict enough to refuse "@bob" or "<@U1>".
SLACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")

FIELD_LABELS = {
    "acceptance_criteria": "Acceptance criteria",
    "story_points": "Story points",
    "repository_url": "Repository URL",
    "default_priority": "Default priority",
    "auto_assign_points": "Auto-assign points",
    "include_tasks": "Include tasks",
    "story_template": "Story template",
    "ai_model": "AI model",
    "meta": "Metadata",
}


def label(field: str) -> str:
    """A field as people read it: `story_points` -> Story points (a nested one by its last
    part: `settings.default_priority` -> Default priority)."""
    field = field.rsplit(".", 1)[-1]
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "is not valid"))
    # pydantic prefixes custom ValueError messages with "Value error, "
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind, ctx = err.get("type"), err.get("ctx") or {}
    plain = {
        "extra_forbidden": "is not something that can be set",
        "missing": "is required",
        "string_type": "must be text",
        "string_too_short": "must not be empty",
        "string_pattern_mismatch": "has characters that are not allowed",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "bool_type": "must be yes or no",
        "bool_parsing": "must be yes or no",
        "list_type": "must be a list",
        "dict_type": "must be a set of named values",
        "model_type": "must be a set of named values",
    }
    if kind in plain:
        return plain[kind]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    return msg[:1].lower() + msg[1:]


def failed_from(exc: ValidationError, *, prefix: str = "") -> ValidationFailed:
    """One ValidationFailed naming each bad field (first problem per field)."""
    field_errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = prefix + (loc[0] if loc else "input")
        if field in field_errors:
            continue
        detail = _message(err)
        if len(loc) > 1 and loc[1].isdigit():
            detail = f"item {int(loc[1]) + 1} {detail}"
        elif len(loc) > 1:  # a nested field, named in full: settings.default_priority
            field = f"{field}.{loc[1]}"
            if field in field_errors:
                continue
        field_errors[field] = detail
    message = "; ".join(f"{label(f.removeprefix(prefix))} {m}" for f, m in field_errors.items())
    return ValidationFailed(message + ".", field_errors)


def parse(model: type[M], data: M | dict[str, Any], *, context: dict[str, Any] | None = None) -> M:
    """Validate `data` (a dict or an instance) as `model`, raising ValidationFailed;
    `context` reaches the model's validators (e.g. the stored values of an edit)."""
    if isinstance(data, model):
        data = data.model_dump()
    if not isinstance(data, dict):
        raise ValidationFailed("Input must be a set of named fields.")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise failed_from(exc) from None


def stored_value(info: ValidationInfo, field: str) -> Any:
    """The value the row being edited holds now (None when creating), from the `stored`
    context `parse` passes: a stored value an edit leaves as it is stays valid, even when a
    limit has since become tighter."""
    return (info.context or {}).get("stored", {}).get(field)


def check_slack_id(value: object, what: str = "Slack user id") -> str:
    if not isinstance(value, str) or not SLACK_ID.match(value):
        raise ValidationFailed(f"'{str(value)[:40]}' is not a valid {what}.", {"slack_id": what})
    return value
