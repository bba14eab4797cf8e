"""What the modal submissions share: refusals as inline errors in the ack, never a crash."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from bot.forms import FormField, field_errors_for
from storage.errors import DomainError, ValidationFailed

log = logging.getLogger("autodevhub.handlers")


@contextlib.contextmanager
def inline_errors(
    ack: Callable[..., Any], form: tuple[FormField, ...], shown: list[str], *, fallback: str
) -> Iterator[dict[str, bool]]:
    """Run a submission's write; on refusal ack with `response_action: errors` (nothing saved).

    `shown` are the block ids present in this view; `fallback` the one for errors that
    name no field. The yielded dict's "ok" says whether the write went through.
    """
    outcome = {"ok": False}
    try:
        yield outcome
        outcome["ok"] = True
    except ValidationFailed as exc:
        errors = {k: v for k, v in field_errors_for(form, exc.field_errors).items() if k in shown}
        if exc.field_errors and not errors:
            errors = {fallback: _clip(exc.message)}
        ack(response_action="errors", errors=errors or {fallback: _clip(exc.message)})
    except DomainError as exc:
        ack(response_action="errors", errors={fallback: _clip(exc.message)})
    except Exception:
        log.exception("modal submission failed")
        ack(
            response_action="errors",
            errors={fallback: "Sorry, something went wrong on our side; nothing was saved."},
        )


def _clip(message: str) -> str:
    return message if len(message) <= 2000 else message[:1999] + "…"


def block_ids(view: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in view.get("blocks") or [] if b.get("type") == "input"]
