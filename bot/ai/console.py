"""`/autodev generate` in the terminal console: ask, generate now, review, save chosen drafts."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import ValidationError

from bot.ai.generator import StoryGenerator
from bot.ai.schemas import GenerationAsk
from bot.ai.worker import GenerationWorkerPool
from bot.settings import Settings
from bot.ui.text import counted
from storage.db import Database
from storage.errors import ValidationFailed
from storage.generation import queue
from storage.generation.drafts import DraftReview, open_drafts, save_drafts
from storage.generation.form import generate_form
from storage.generation.lookalikes import draft_lookalikes
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
    project = form.initial["project"] or ask("Project (key or name): ").strip()
    feature = form.initial["feature"] or ask("Feature description: ").strip()
    try:
        wanted = GenerationAsk(
            project_ref=project,
            feature=feature,
            count=ask("How many stories, 1 to 10 [3]: ").strip() or 3,
            audience=ask("Audience (empty for none): ").strip() or None,
            include_tasks=ask("Include tasks? [Y/n]: ").strip().lower() not in ("n", "no"),
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
    picked = _chosen(ask("Save which drafts? (all, none, or numbers like 1,3): "), review)
    if picked == []:
        say("Nothing saved.")
        return
    with db.write() as s:
        review = save_drafts(s, actor, review.token, picked)
    keys = [d.key for d in review.drafts if d.state == "saved"]
    say("Saved " + ", ".join(str(k) for k in keys) + ".")
