"""The scheduler: session cleanup, verified backups, digests; each slot claimed once in the db."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import Counter, Gauge
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clients import ClientFor, one_client_per_workspace, workspace_clients
from bot.observe import open_database
from bot.settings import Settings
from bot.ui import backup as backup_ui
from bot.ui import charts
from bot.ui import digest as digest_ui
from storage.backup.files import BackupFailed, list_backups
from storage.backup.take import BackupReport, take_backup
from storage.check import optimize
from storage.db import Database
from storage.digests.compose import Digest, compose_digest
from storage.digests.due import DueDigest, due_digests, mark_sent, pause_subscription
from storage.digests.flow import CumulativeFlow, digest_flow
from storage.digests.schedule import latest_slot
from storage.digests.subscriptions import DigestView, subscription
from storage.errors import DomainError
from storage.events import forget_events_before
from storage.live import deliveries, expansion
from storage.models import utcnow
from storage.scheduler_runs import claim_slot, finish_slot, prune_runs
from storage.sessions import cleanup_expired
from storage.users import workspace_admins

log = logging.getLogger("autodevhub.scheduler")

SESSIONS_DELETED = Counter(
    "autodevhub_sessions_expired_deleted_total", "Expired sessions deleted by the cleanup job."
)
SLOT_RUNS = Counter(
    "autodevhub_scheduler_slots_total",
    "Scheduled slots by job and outcome (ran, failed, skipped = claimed by another process).",
    ["job", "outcome"],
)
BACKUPS = Counter("autodevhub_backups_total", "Backups by outcome (ok, failed).", ["outcome"])
LAST_BACKUP = Gauge(
    "autodevhub_last_backup_timestamp_seconds", "When this process last wrote a verified backup."
)
DIGESTS = Counter(
    "autodevhub_digests_total",
    "Digests by outcome (posted, paused = Slack refused, failed = will try next slot).",
    ["outcome"],
)
CHARTS = Counter(
    "autodevhub_digest_charts_total",
    "Weekly digest charts by outcome (attached; failed = drawing or upload; refused = the "
    "message with the image was refused and went out as text).",
    ["outcome"],
)

SESSION_CLEANUP_EVERY = timedelta(minutes=5)
# Interval slots are counted from a fixed instant so every process computes the same ones.
SLOT_ANCHOR = datetime(2020, 1, 1, tzinfo=UTC)
RUN_CLAIMS_KEPT = timedelta(days=14)
EVENT_IDS_KEPT = timedelta(days=1)
CARD_UPDATES_KEPT = timedelta(days=7)
EXPANSIONS_KEPT = timedelta(days=90)
# A digest claim still RUNNING after this is presumed abandoned (its process died).
DIGEST_CLAIM_STALE = timedelta(minutes=10)
BACKUP_MAX_AGE = timedelta(days=1)

Clock = Callable[[], datetime]


# ---------------------------------------------------------------- digest delivery


@dataclass(frozen=True)
class Delivery:
    """What happened to one digest: posted, paused (Slack refused) or failed (try again)."""

    subscription_id: str
    outcome: str
    detail: str = ""


def deliver_digest(
    db: Database, client: WebClient, subscription_id: str, *, now: datetime | None = None
) -> Delivery:
    """Compose the digest since the last one, post it, and record it as sent.

    A weekly channel digest carries its project's cumulative-flow chart when one can be
    drawn and uploaded; without it (drawing failed, Slack refused the file) it goes out as
    text all the same. A refusal that retrying will not fix (channel gone, not a member,
    archived) pauses the subscription and tells its creator by DM; other errors leave it
    due for the next slot.
    """
    now = now or utcnow()
    flow: CumulativeFlow | None = None
    with db.read() as s:
        view = subscription(s, subscription_id)
        if view is None or not view.active:
            return Delivery(subscription_id, "skipped", "gone or paused")
        digest = compose_digest(s, subscription_id, until=now)
        if _charted(digest):
            flow = digest_flow(s, subscription_id, until=now)
    message = digest_ui.digest_message(digest)
    chart = _chart_block(client, digest, flow) if flow is not None else None
    try:
        try:
            _post_digest(client, view, digest_ui.with_chart(message, chart) if chart else message)
        except SlackApiError as exc:
            if chart is None or exc.response.get("error") != "invalid_blocks":
                raise
            # Slack would not show the file (still processing, or not ours to show)
            log.warning("digest %s: chart refused (invalid_blocks), sent as text", subscription_id)
            CHARTS.labels("refused").inc()
            _post_digest(client, view, message)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "unknown_error")
        if error in digest_ui.REFUSALS:
            reason = digest_ui.pause_reason(error, now)
            with db.write() as s:
                pause_subscription(s, subscription_id, reason, now, error=error)
            log.warning("digest %s paused: Slack answered %s", subscription_id, error)
            _tell_creator(client, view, reason)
            DIGESTS.labels("paused").inc()
            return Delivery(subscription_id, "paused", error)
        log.error("digest %s not posted: Slack answered %s", subscription_id, error)
        DIGESTS.labels("failed").inc()
        return Delivery(subscription_id, "failed", error)
    with db.write() as s:
        mark_sent(s, subscription_id, now)
    DIGESTS.labels("posted").inc()
    return Delivery(subscription_id, "posted", "quiet" if digest.quiet else "")


def _post_digest(client: WebClient, view: DigestView, message: dict[str, Any]) -> None:
    client.chat_postMessage(
        channel=view.channel_id,
        text=message["text"],
        blocks=message["blocks"],
        unfurl_links=False,
        unfurl_media=False,
    )


def _charted(digest: Digest) -> bool:
    """Only a weekly channel digest with news gets a chart (a quiet week's would be flat)."""
    return digest.kind == "channel" and digest.frequency == "weekly" and not digest.quiet


def _chart_block(client: WebClient, digest: Digest, flow: CumulativeFlow) -> dict[str, Any] | None:
    """Draw the flow, upload it (privately: the message shows it) and return its image block;
    None, with a warning in the log, when there is too little to draw or any step fails."""
    if flow.empty or len(flow.days) < 2:
        return None
    title = digest_ui.chart_title(digest, flow)
    alt_text = digest_ui.chart_alt_text(digest, flow)
    try:
        png = charts.cumulative_flow_png(flow, title=title)
        uploaded = client.files_upload_v2(
            file=png,
            filename=f"{digest.project_key.lower()}-flow-{digest.until:%Y-%m-%d}.png",
            title=title,
            alt_txt=alt_text,
        )
        file_id = str(uploaded["file"]["id"])
    except Exception as exc:  # a chart never costs the digest
        # the type and Slack's error code only: an upload URL or response body is no log line
        if isinstance(exc, SlackApiError):
            error = exc.response.get("error")
        else:
            error = str(exc) if isinstance(exc, charts.ChartFailed) else None
        log.warning(
            "digest of %s: no chart (%s%s), sent as text",
            digest.project_key,
            type(exc).__name__,
            f": {error}" if error else "",
        )
        CHARTS.labels("failed").inc()
        return None
    CHARTS.labels("attached").inc()
    return digest_ui.chart_block(file_id, alt_text, title)


def _tell_creator(client: WebClient, view: DigestView, reason: str) -> None:
    if not view.created_by_slack_id or (
        view.kind == "personal" and view.channel_id == view.created_by_slack_id
    ):
        return  # a refused DM cannot be followed by another DM to the same person
    note = digest_ui.paused_note(view, reason)
    try:
        client.chat_postMessage(channel=view.created_by_slack_id, **note)
    except SlackApiError as exc:
        log.warning(
            "could not tell %s about the paused digest: %s",
            view.created_by_slack_id,
            exc.response.get("error"),
        )


# ---------------------------------------------------------------- the jobs


class Jobs:
    """The scheduled work, each callable for an explicit slot (the scheduler, CLI and tests)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack_client_factory: ClientFor | None = None,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack_client_factory
        self.clock = clock

    # slots -----------------------------------------------------------------------------
    def cleanup_slot(self, now: datetime) -> datetime:
        step = SESSION_CLEANUP_EVERY
        return SLOT_ANCHOR + ((now - SLOT_ANCHOR) // step) * step

    def backup_slot(self, now: datetime) -> datetime:
        return latest_slot("daily", self.settings.backup_time, 0, self.settings.timezone, now)

    @staticmethod
    def minute_slot(now: datetime) -> datetime:
        return now.replace(second=0, microsecond=0)

    def claimed(
        self,
        job_id: str,
        slot: datetime,
        run: Callable[[], str | None],
        *,
        stale_after: timedelta | None = None,
    ) -> bool:
        """Run `run` only if this process wins (job_id, slot); record how it ended."""
        if not claim_slot(self.db, job_id, slot, stale_after=stale_after):
            SLOT_RUNS.labels(job_id.split(":")[0], "skipped").inc()
            return False
        try:
            detail = run()
        except Exception as exc:
            if isinstance(exc, DomainError):  # an expected refusal: its message says it all
                log.error("scheduled job %s (%s) failed: %s", job_id, slot.isoformat(), exc)
            else:
                log.exception("scheduled job %s (%s) failed", job_id, slot.isoformat())
            SLOT_RUNS.labels(job_id.split(":")[0], "failed").inc()
            finish_slot(
                self.db, job_id, slot, status="FAILED", detail=f"{type(exc).__name__}: {exc}"[:500]
            )
            return True
        SLOT_RUNS.labels(job_id.split(":")[0], "ran").inc()
        finish_slot(self.db, job_id, slot, status="DONE", detail=detail)
        return True

    # session cleanup --------------------------------------------------------------------
    def cleanup_sessions(self) -> int:
        """Delete expired sessions now; returns how many went (also to the log and /metrics)."""
        now = self.clock()
        with self.db.write() as s:
            deleted = cleanup_expired(s, now=now)
        SESSIONS_DELETED.inc(deleted)
        log.info("session cleanup: %d expired session(s) deleted", deleted)
        # the claims only matter around their slot; keep two weeks for whoever looks
        prune_runs(self.db, older_than=RUN_CLAIMS_KEPT, now=now)
        # Slack retries an event for minutes; a day of event ids is plenty for dedupe
        with self.db.write() as s:
            forget_events_before(s, now - EVENT_IDS_KEPT)
        # delivered card updates are history once shown; a thread's expanded keys, after a
        # quarter, may be expanded again
        with self.db.write() as s:
            deliveries.prune(s, delivered_before=now - CARD_UPDATES_KEPT)
            expansion.prune(s, before=now - EXPANSIONS_KEPT)
        optimize(self.db)  # SQLite's PRAGMA optimize; PostgreSQL has autovacuum
        return deleted

    def run_cleanup(self) -> None:
        self.claimed(
            "sessions.cleanup",
            self.cleanup_slot(self.clock()),
            lambda: f"{self.cleanup_sessions()} deleted",
        )

    # backups ----------------------------------------------------------------------------
    def backup_now(self) -> BackupReport:
        """Take a verified backup; on failure log it, tell the admins, and raise BackupFailed."""
        try:
            report = take_backup(
                self.settings.database_url,
                self.settings.backup_dir,
                retention_days=self.settings.backup_retention_days,
                now=self.clock(),
            )
        except BackupFailed as exc:
            BACKUPS.labels("failed").inc()
            log.error("backup failed: %s", exc.message)
            self.tell_admins(backup_ui.backup_failed(exc.message))
            raise
        BACKUPS.labels("ok").inc()
        LAST_BACKUP.set(report.file.taken_at.timestamp())
        return report

    def run_nightly_backup(self) -> None:
        self.claimed(
            "backup.nightly", self.backup_slot(self.clock()), lambda: self.backup_now().file.name
        )

    def backup_is_stale(self) -> bool:
        backups = list_backups(self.settings.backup_dir)
        return not backups or self.clock() - backups[0].taken_at > BACKUP_MAX_AGE

    def run_startup_backup(self) -> None:
        """At start: a backup older than a day (or none) is taken now, by one process."""
        if not self.backup_is_stale():
            return
        now = self.clock()
        self.claimed(
            "backup.startup",
            now.replace(minute=0, second=0, microsecond=0),
            lambda: self.backup_now().file.name,
        )

    def tell_admins(self, message: dict[str, Any]) -> int:
        """DM every workspace admin (at most 10 per workspace); returns how many were told."""
        if self.slack is None:
            return 0
        with self.db.read() as s:
            admins = workspace_admins(s)
        client_for = one_client_per_workspace(self.slack)
        told: dict[str, int] = {}
        for team_id, slack_user_ids in admins.items():
            for slack_user_id in slack_user_ids:
                if told.get(team_id, 0) >= 10:
                    break
                try:
                    client = client_for(team_id)
                    if client is None:
                        break
                    client.chat_postMessage(channel=slack_user_id, **message)
                    told[team_id] = told.get(team_id, 0) + 1
                except Exception as exc:  # never let a notice hide the failure it reports
                    log.warning("could not tell admin %s: %s", slack_user_id, type(exc).__name__)
        return sum(told.values())

    # digests ----------------------------------------------------------------------------
    def send_due_digests(self, now: datetime | None = None) -> list[Delivery]:
        """Post every due digest whose (subscription, slot) this process wins."""
        now = now or self.clock()
        if self.slack is None:
            return []
        with self.db.read() as s:
            due = due_digests(s, now)
        client_for = one_client_per_workspace(self.slack)
        done = []
        for item in due:
            outcome: list[Delivery] = []

            def post(item: DueDigest = item, outcome: list[Delivery] = outcome) -> str:
                client = client_for(item.team_id)
                if client is None:
                    outcome.append(Delivery(item.subscription_id, "failed", "no Slack client"))
                    return "no Slack client for the workspace"
                result = deliver_digest(self.db, client, item.subscription_id, now=now)
                outcome.append(result)
                return f"{result.outcome} {result.detail}".strip()

            self.claimed(
                f"digest:{item.subscription_id}", item.slot, post, stale_after=DIGEST_CLAIM_STALE
            )
            done.extend(outcome)
        return done

    def run_digests(self) -> None:
        now = self.clock()
        self.claimed(
            "digests.scan", self.minute_slot(now), lambda: f"{len(self.send_due_digests(now))} sent"
        )


# ---------------------------------------------------------------- the scheduler


class Scheduler:
    """APScheduler 3 (background threads) in the configured zone, running `Jobs`."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        settings = jobs.settings
        self.aps = BackgroundScheduler(
            timezone=settings.tz,
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 120},
        )
        hh, mm = (int(x) for x in settings.backup_time.split(":"))
        self.aps.add_job(
            jobs.run_cleanup,
            IntervalTrigger(minutes=5, start_date=SLOT_ANCHOR, timezone=settings.tz),
            id="sessions.cleanup",
        )
        self.aps.add_job(
            jobs.run_nightly_backup,
            CronTrigger(hour=hh, minute=mm, timezone=settings.tz),
            id="backup.nightly",
            misfire_grace_time=3600,
        )
        self.aps.add_job(
            jobs.run_digests, CronTrigger(second=0, timezone=settings.tz), id="digests.scan"
        )

    def start(self, *, startup_backup: bool = True) -> Scheduler:
        if startup_backup:
            self.aps.add_job(
                self.jobs.run_startup_backup,
                DateTrigger(run_date=datetime.now(UTC) + timedelta(seconds=1)),
                id="backup.startup",
                misfire_grace_time=3600,
            )
        self.aps.start()
        log.info(
            "scheduler started (%s): cleanup every 5 min, backup at %s, digests",
            self.jobs.settings.timezone,
            self.jobs.settings.backup_time,
        )
        return self

    def shutdown(self, *, wait: bool = True) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self.aps.running)


def start_scheduler(
    settings: Settings,
    db: Database,
    slack_client_factory: ClientFor | None = None,
) -> Scheduler | None:
    """What `serve` calls after migrating: the scheduler in background threads (or None when
    AUTODEVHUB_SCHEDULER=false). Call `.shutdown()` on the result when serving stops."""
    if not settings.scheduler_enabled:
        log.info("scheduler disabled (AUTODEVHUB_SCHEDULER=false)")
        return None
    factory = slack_client_factory or workspace_clients(settings, db)
    return Scheduler(Jobs(settings, db, factory)).start()


def main(settings: Settings) -> int:
    """`autodevhub scheduler`: the scheduler alone, until SIGINT or SIGTERM."""
    try:
        db = open_database(settings, "autodevhub scheduler")
    except DomainError as exc:  # a restore is replacing the database
        log.error("scheduler cannot start: %s", exc.message)
        return 1
    try:
        db.upgrade()
    except Exception as exc:
        log.error("scheduler cannot start: %s", getattr(exc, "message", type(exc).__name__))
        db.dispose()
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = Scheduler(Jobs(settings, db, workspace_clients(settings, db))).start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown()
        db.dispose()
    return 0
