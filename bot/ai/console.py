"""`/autodev generate` in the terminal console: ask, generate now, review, save chosen drafts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from bot.ai.generator import StoryGenerator
from bot.ai.schemas import GenerationAsk
from bot.ai.worker import GenerationWorkerPool
from bot.forms import yes_or_no
from bot.settings import Settings
from bot.ui.text import counted
from storage.db import Database
from storage.errors import DomainError, ValidationFailed
from storage.fields import AUDIENCE_MAX, FEATURE_MAX, MAX_STORIES
from storage.generation import queue
from storage.generation.drafts import DraftReview, open_drafts, save_drafts
from storage.generation.form import generate_form
from storage.generation.lookalikes import draft_lookalikes
from storage.projects import find_project
from storage.users import Actor

WAIT_FOR_OTHER_WORKER = 300.0  # seconds: a running server may have taken the request


def draft_lines(review: DraftReview) -> list[str]:
    """The drafts as numbered plain text (the terminal needs no escaping)."""
    source = (
        "Made offline (no ANTHROPIC_API_KEY): skeletons for you to finish."
        if review.offline
        else f"Written by {review.ai_model}. Review before saving."
    )
    drafts = counted(len(review.drafts), "draft")
    lines = [f"{drafts} for {review.project_name} ({review.project_key})."]
    lines.append(source)
    for draft in review.drafts:
        story = draft.story
        points = story.get("story_points", 0)
        state = {"saved": f" [saved as {draft.key}]", "discarded": " [discarded]"}.get(
            draft.state, ""
        )
        lines.append(f"{draft.index + 1}. {story.get('title')}{state}")
        lines.append(f"   {story.get('priority')} · {counted(points, 'point')}")
        lines.append(f"   {story.get('description')}")
        lines += [f"   ✓ {c}" for c in story.get("acceptance_criteria") or []]
        lines += [f"   - {t}" for t in story.get("tasks") or []]
        if draft.similar:
            looks = ", ".join(f"{s['key']} ({s['title']})" for s in draft.similar)
            lines.append(f"   ! looks like {looks}")
    return lines


def _chosen(answer: str, review: DraftReview) -> list[int] | None:
    """'all' -> None (every open draft); '1,3' -> [0, 2]; '' or 'none' -> []."""
    answer = answer.strip().lower()
    if answer == "all":
        return None
    if answer in ("", "none", "no"):
        return []
    picked = []
    for part in answer.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= len(review.drafts):
            raise ValidationFailed(f"Choose drafts by number, 1 to {len(review.drafts)}.")
        picked.append(int(part) - 1)
    return picked


def _feature(answer: str) -> str:
    if not answer:
        raise ValueError("Describe the feature in a sentence or two.")
    if answer.startswith("/"):  # a command typed at the question, not a feature
        raise ValueError(
            "That looks like a command. Describe the feature, or press Ctrl-C to cancel."
        )
    if len(answer) > FEATURE_MAX:
        raise ValueError(f"That is {len(answer)} characters; the limit is {FEATURE_MAX}.")
    return answer


def _count(answer: str) -> int:
    if not answer:
        return 3
    if not re.fullmatch(r"[0-9]{1,2}", answer) or not 1 <= int(answer) <= MAX_STORIES:
        raise ValueError(f"Say how many as a number from 1 to {MAX_STORIES}.")
    return int(answer)


def _audience(answer: str) -> str | None:
    if len(answer) > AUDIENCE_MAX:
        raise ValueError(f"An audience is at most {AUDIENCE_MAX} characters.")
    return answer or None


def _yes_no(answer: str) -> bool:
    chosen = yes_or_no(answer, True)
    if chosen is None:
        raise ValueError(f"'{answer[:40]}' is not a yes or no: answer y or n.")
    return chosen


def generate_in_console(
    db: Database,
    settings: Settings,
    actor: Actor,
    text: str,
    *,
    ask: Callable[[str], str],
    say: Callable[[str], None],
    generator: StoryGenerator | None = None,
) -> None:
    """The console's `/autodev generate [PROJECT] [FEATURE TEXT]`, start to finish."""
    limit = settings.ai_rate_limit_per_minute
    with db.read() as s:
        form = generate_form(s, actor, text, channel_id=None, rate_limit_per_minute=limit)
    if form.note:
        say(form.note)

    def until_taken(prompt: str, take: Callable[[str], Any]) -> Any:
        """Ask until `take` accepts the answer; a refusal says why and asks that again."""
        while True:
            try:
                return take(ask(prompt).strip())
            except (ValueError, DomainError) as exc:
                say(exc.message if isinstance(exc, DomainError) else str(exc))

    def project_named(answer: str) -> str:
        with db.read() as s:
            return find_project(s, actor, answer).key

    keys = "/".join(p.key for p in form.projects)
    project = form.initial["project"] or until_taken(f"Project ({keys}): ", project_named)
    feature = form.initial["feature"] or until_taken("Feature description: ", _feature)
    try:
        wanted = GenerationAsk(
            project_ref=project,
            feature=feature,
            count=until_taken(f"How many stories, 1 to {MAX_STORIES} [3]: ", _count),
            audience=until_taken("Audience (empty for none): ", _audience),
            include_tasks=until_taken("Include tasks? [Y/n]: ", _yes_no),
        )
    except ValidationError as exc:
        raise ValidationFailed(str(exc.errors()[0].get("msg", "invalid"))) from None
    with db.write() as s:
        request = queue.enqueue_generation(
            s,
            actor,
            wanted.project_ref,
            wanted.model_dump(exclude={"project_ref", "feedback"}),
            rate_limit_per_minute=limit,
        )
        # shown here, so no worker should also send it as a DM
        queue.attach_reply(s, request.id, {"console": True})
    say("Generating…")
    pool = GenerationWorkerPool(db, settings, generator=generator, workers=1)
    if not pool.run_request(request.id):  # a running server took it: wait for it
        deadline = time.monotonic() + WAIT_FOR_OTHER_WORKER
        while time.monotonic() < deadline:
            with db.read() as s:
                if queue.load_request(s, request.id).finished:  # type: ignore[union-attr]
                    break
            time.sleep(0.2)
    with db.read() as s:
        done = queue.load_request(s, request.id)
    if done is None or done.status != "COMPLETED":
        reason = done.error_message if done else "The request disappeared."
        say(f"Generation failed: {reason} Nothing was saved.")
        return
    with db.read() as s:
        lookalikes = draft_lookalikes(s, actor, request.id)
    with db.write() as s:
        review = open_drafts(s, actor, request.id, lookalikes=lookalikes)
    for line in draft_lines(review):
        say(line)
    picked = until_taken(
        "Save which drafts? (all, none, or numbers like 1,3): ", lambda a: _chosen(a, review)
    )
    if picked == []:
        say("Nothing saved.")
        return
    with db.write() as s:
        review = save_drafts(s, actor, review.token, picked)
    keys = [d.key for d in review.drafts if d.state == "saved"]
    say("Saved " + ", ".join(str(k) for k in keys) + ".")
