"""The bounded pool of generation workers: claim a request, call the generator, record it."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from bot.ai.generator import GenerationFailed, StoryGenerator, story_generator
from bot.ai.schemas import GenerationBrief, ProjectContext
from bot.observe import open_database
from bot.settings import Settings
from storage.db import Database
from storage.errors import DomainError
from storage.generation import queue
from storage.generation.queue import RequestView

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_POLL_SECONDS = 2.0
# A finished request whose "Generating…" message was never recorded after this long is
# sent to its asker as a DM (the listener that queued it died before showing it).
UNSHOWN_AFTER = timedelta(minutes=2)
INTERNAL_FAILURE = (
    "Something went wrong on our side while generating, so nothing was saved. Press Retry."
)

Deliver = Callable[[RequestView], None]

GENERATIONS = Counter(
    "autodevhub_generations_total", "AI generations finished, by outcome.", ["outcome"]
)
GENERATION_SECONDS = Histogram(
    "autodevhub_generation_seconds",
    "Time from claim to drafts for completed AI generations.",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)

# Pools running in this process, so a listener that queued a request can wake them.
_running: list[GenerationWorkerPool] = []


def wake_workers() -> None:
    """Tell this process's pools a request was just queued (others find it by polling)."""
    for pool in list(_running):
        pool.wake()


def gone_from_this_host(claimer: str) -> bool:
    """Whether a worker name (`host:pid:...`) is of a process of this host that no longer
    runs (killed, crashed): its claims need not wait for their lease to run out."""
    host, _, rest = claimer.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def brief_from(context: dict[str, Any]) -> GenerationBrief:
    """The generator's brief from a request's stored ask and its project's context."""
    ask = context["request"]
    return GenerationBrief(
        feature=ask.get("feature") or "",
        count=ask.get("count") or 3,
        audience=ask.get("audience"),
        include_tasks=bool(ask.get("include_tasks", True)),
        feedback=ask.get("feedback"),
        split_story=ask.get("split_story"),
        improve_story=ask.get("improve_story"),
        findings=ask.get("findings") or [],
        conversation=ask.get("conversation") or [],
        project=ProjectContext(**context["project"]),
    )


class GenerationWorkerPool:
    """N worker threads plus one keeper thread (claim heartbeats, stale re-queueing).

    Any number of pools, in one process or many, may share a database: a request is
    claimed by exactly one worker at a time, and a claim whose heartbeat stops (the process
    died) is re-queued after `lease_seconds`, at most `max_attempts` times in all.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        generator: StoryGenerator | None = None,
        deliver: Deliver | None = None,
        workers: int | None = None,
        name: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        max_attempts: int = queue.DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.db = db
        self.settings = settings
        self.generator = generator or story_generator(settings)
        self.deliver = deliver
        self.size = workers or settings.ai_workers
        host = socket.gethostname()[:40]
        self.name = name or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self._stop = threading.Event()
        # one release wakes one idle worker: a queued request does not stampede the pool
        self._wake = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._held: dict[str, str] = {}  # request id -> claimer, for heartbeats
        self._held_lock = threading.Lock()

    @property
    def offline(self) -> bool:
        from bot.ai.offline import OfflineGenerator

        return isinstance(self.generator, OfflineGenerator)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> GenerationWorkerPool:
        """Re-queue what a previous run left behind, then start the threads."""
        self.keep()
        for i in range(self.size):
            t = threading.Thread(
                target=self._work, args=(f"{self.name}:w{i}",), name=f"ai-worker-{i}", daemon=True
            )
            t.start()
            self._threads.append(t)
        keeper = threading.Thread(target=self._keep_loop, name="ai-keeper", daemon=True)
        keeper.start()
        self._threads.append(keeper)
        _running.append(self)
        log.info("generation workers started: %d (%s)", self.size, self.name)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work; wait up to `timeout` for requests in flight to finish."""
        self._stop.set()
        for _ in range(self.size):
            self._wake.release()
        if self in _running:
            _running.remove(self)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        # Requests still in flight go back to the queue now, not after the lease: the next
        # start (or another replica) takes them at once, and a late answer here is fenced off.
        with self._held_lock:
            held = dict(self._held)
        if held:
            with self.db.write() as s:
                for request_id, claimer in held.items():
                    queue.release_claim(s, request_id, claimer)
            log.info("handed %d unfinished generation(s) back to the queue", len(held))

    def wake(self) -> None:
        """A request was queued: one idle worker looks now instead of at the next poll."""
        self._wake.release()

    # -- the work --------------------------------------------------------------------------

    def _work(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once(worker)
            except Exception:  # a database hiccup must not kill the worker thread
                log.exception("generation worker %s: claim failed", worker)
                handled = False
            if not handled:
                self._wake.acquire(timeout=self.poll_seconds)

    def run_once(self, worker: str | None = None) -> bool:
        """Claim and process one request; False when the queue had nothing pending."""
        claimer = f"{worker or self.name}:{uuid.uuid4().hex[:8]}"
        with self.db.read() as s:
            if not queue.has_pending(s):
                return False
        with self.db.write() as s:
            request = queue.claim_next(s, claimer)
        if request is None:
            return False
        self._run(request, claimer)
        return True

    def run_request(self, request_id: str) -> bool:
        """Process one given request now (the console); False if someone else has it."""
        claimer = f"{self.name}:{uuid.uuid4().hex[:8]}"
        with self.db.write() as s:
            request = queue.claim_request(s, request_id, claimer)
        if request is None:
            return False
        self._run(request, claimer)
        return True

    def _run(self, request: RequestView, claimer: str) -> None:
        with self._held_lock:
            self._held[request.id] = claimer
        try:
            finished = self._process(request, claimer)
        finally:
            with self._held_lock:
                self._held.pop(request.id, None)
        if finished is not None:
            self._deliver(finished)

    def _process(self, request: RequestView, claimer: str) -> RequestView | None:
        started = time.monotonic()
        model: str | None = None
        try:
            with self.db.read() as s:
                context = queue.request_context(s, request.id)
            brief = brief_from(context)
            model = context["project"]["settings"].get("ai_model") or self.settings.ai_model
            result = self.generator.generate(brief, model=model)
        except GenerationFailed as failed:
            return self._fail(
                request,
                claimer,
                failed.reason,
                started,
                model=failed.ai_model or model,
                tokens=(failed.input_tokens, failed.output_tokens),
            )
        except DomainError as refused:
            return self._fail(request, claimer, refused.message, started, model=model)
        except ValidationError:
            return self._fail(
                request, claimer, "The stored request is not valid any more.", started, model=model
            )
        except Exception:
            log.exception("generation %s failed unexpectedly", request.id)
            return self._fail(request, claimer, INTERNAL_FAILURE, started, model=model)
        elapsed = time.monotonic() - started
        drafts = result.drafts
        if not context["project"]["settings"].get("auto_assign_points", True):
            drafts = [d.model_copy(update={"story_points": 0}) for d in drafts]
        GENERATIONS.labels("completed").inc()
        GENERATION_SECONDS.observe(elapsed)
        response = {
            "stories": [d.model_dump(mode="json") for d in drafts],
            "offline": result.offline,
            **({"extra": result.extra} if result.extra else {}),
        }
        with self.db.write() as s:
            done = queue.complete_request(
                s,
                request.id,
                claimer,
                response_data=response,
                processing_time=round(elapsed, 3),
                ai_model=result.ai_model,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
            )
        if done is None:
            log.warning("generation %s: claim lost before completion; result dropped", request.id)
        return done

    def _fail(
        self,
        request: RequestView,
        claimer: str,
        reason: str,
        started: float,
        *,
        model: str | None,
        tokens: tuple[int | None, int | None] = (None, None),
    ) -> RequestView | None:
        log.info("generation %s failed: %s", request.id, reason)
        GENERATIONS.labels("failed").inc()
        with self.db.write() as s:
            return queue.fail_request(
                s,
                request.id,
                claimer,
                error_message=reason,
                processing_time=round(time.monotonic() - started, 3),
                ai_model=model,
                input_tokens=tokens[0],
                output_tokens=tokens[1],
            )

    def _deliver(self, request: RequestView) -> None:
        if self.deliver is None:
            return
        try:
            self.deliver(request)
        except Exception:
            log.exception("generation %s: delivering the result to Slack failed", request.id)

    # -- heartbeats and stale claims -------------------------------------------------------

    def keep(self) -> queue.RequeueReport:
        """Renew this pool's claims, then re-queue (or fail) claims whose lease ran out."""
        with self._held_lock:
            held = dict(self._held)
        with self.db.write() as s:
            for request_id, claimer in held.items():
                queue.renew_claim(s, request_id, claimer)
            dead = [c for c in queue.claimers(s) if gone_from_this_host(c)]
            report = queue.requeue_stale(
                s, stale_after=self.lease, max_attempts=self.max_attempts, dead=dead
            )
        if report.requeued:
            log.info("re-queued %d interrupted generation(s)", len(report.requeued))
            for _ in report.requeued:
                self._wake.release()
        with self.db.read() as s:
            unshown = queue.unshown_requests(s, older_than=UNSHOWN_AFTER)
        for request_id in unshown:
            with self.db.write() as s:
                request = queue.claim_unshown(s, request_id)
            if request is not None:
                log.info("generation %s finished unseen; sending it as a DM", request.id)
                self._deliver(request)
        for request_id in report.failed:
            with self.db.read() as s:
                failed = queue.load_request(s, request_id)
            if failed is not None:
                self._deliver(failed)
        return report

    def _keep_loop(self) -> None:
        interval = max(0.05, self.lease.total_seconds() / 3)
        while not self._stop.wait(interval):
            try:
                self.keep()
            except Exception:
                log.exception("generation keeper: heartbeat or re-queue failed")


def start_generation_workers(
    settings: Settings, db: Database, *, deliver: Deliver | None = None
) -> GenerationWorkerPool:
    """What `serve` calls: a started pool of `settings.ai_workers` workers showing outcomes
    in Slack. Stop it with `.stop()` when the server stops."""
    if deliver is None:
        from bot.ai.delivery import slack_delivery

        deliver = slack_delivery(settings, db)
    pool = GenerationWorkerPool(
        db, settings, deliver=deliver, lease_seconds=settings.ai_lease_seconds
    )
    mode = "offline (no ANTHROPIC_API_KEY)" if pool.offline else f"Claude ({settings.ai_model})"
    log.info("AI generation: %s", mode)
    return pool.start()


def main(argv: list[str] | None = None) -> int:
    """Run a pool on its own until SIGTERM/SIGINT (tests and one-off drains use it)."""
    parser = argparse.ArgumentParser(prog="python -m bot.ai.worker")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS)
    parser.add_argument("--poll", type=float, default=DEFAULT_POLL_SECONDS)
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = Settings()
    try:
        db = open_database(settings, "autodevhub AI worker")
    except DomainError as exc:  # a restore is replacing the database
        print(f"AI worker: {exc.message}", file=sys.stderr)
        return 1
    pool = GenerationWorkerPool(
        db,
        settings,
        workers=args.workers,
        name=args.name,
        lease_seconds=args.lease,
        poll_seconds=args.poll,
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    pool.start()
    print(f"ready {pool.name}", flush=True)
    done.wait()
    pool.stop()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
