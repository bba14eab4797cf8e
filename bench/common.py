"""Benchmark harness: bulk backlog loader, percentiles, figure tables, machine facts."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, insert, select, text

from storage.db import Database, alembic_config, is_sqlite, normalize_url
from storage.models import Project, User, UserStory

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("AUTODEVHUB_BENCH_CACHE", "/tmp/autodevhub-bench"))
# bump when the generated data changes, so stale cached files are not reused
DATA_VERSION = 4

TEAM_ID = "T0BENCH01"
ADMIN_SLACK_ID = "U0BENCH00"
USER_COUNT = 20
PROJECT_COUNT = 50
# A word in about 1 story of 5,000 and one in about 3 of 10 (the search benchmark's two cases).
RARE_WORD = "kerberos"
COMMON_WORD = "dashboard"
RARE_EVERY = 5_000
COMMON_SHARE = 0.3

ROLES = [
    "product manager", "developer", "team lead", "designer", "support agent", "new user",
    "administrator", "release manager", "QA engineer", "customer", "guest", "data analyst",
]  # fmt: skip
ACTIONS = [
    "export", "filter", "archive", "share", "import", "search", "sort", "tag", "comment on",
    "assign", "review", "approve", "schedule", "duplicate", "restore", "pin", "subscribe to",
    "rename", "merge", "split", "estimate", "prioritise", "track", "audit", "preview",
]  # fmt: skip
OBJECTS = [
    "invoices", "the backlog", "sprint goals", "release notes", "pull requests", "test runs",
    "customer feedback", "billing settings", "team members", "notifications", "API keys",
    "deployment logs", "onboarding checklists", "feature flags", "usage reports", "webhooks",
    "calendar events", "support tickets", "roadmap items", "design mockups", "survey results",
    "audit trails", "error budgets", "payment methods", "saved searches", "user profiles",
]  # fmt: skip
BENEFITS = [
    "I can find work faster", "nothing slips through the cracks", "the team stays aligned",
    "customers get answers sooner", "we ship with confidence", "I save time every week",
    "stakeholders see progress", "we meet compliance rules", "mistakes are caught early",
    "planning takes less time", "on-call is calmer", "reviews go faster",
]  # fmt: skip
SENTENCES = [
    "The current flow takes too many clicks and users give up halfway.",
    "Support has logged several requests for this in the last quarter.",
    "It should work on mobile and desktop with the same behaviour.",
    "Edge cases include empty lists, very long names and slow networks.",
    "Existing data must keep working after the change is released.",
    "Permissions follow the project's roles; guests see read-only views.",
    "Errors are shown inline with a message that says how to fix them.",
    "The change is behind a feature flag until the beta ends.",
    "Analytics should record how often the new option is used.",
    "Performance must not regress for teams with large backlogs.",
    "Copy is reviewed by the docs team before launch.",
    "The API returns the same fields as the web view.",
    "Older browsers get a simpler fallback without animations.",
    "Timezones are respected when dates are displayed or exported.",
    "Keyboard shortcuts and screen readers are supported.",
    "Bulk operations are limited to five hundred items at once.",
]
COMMON_SENTENCES = [
    f"The {COMMON_WORD} shows the totals at a glance.",
    f"Add a widget for this to the team {COMMON_WORD}.",
    f"Numbers on the {COMMON_WORD} refresh every minute.",
]
RARE_SENTENCE = f"Single sign-on through {RARE_WORD} must keep working."
TAGS = ["frontend", "backend", "api", "ux", "infra", "mobile", "security", "billing", "growth"]
CRITERIA = [
    "Given a signed-in user, when they open the page, then the list loads",
    "Given an empty project, when I search, then I see a helpful empty state",
    "Given invalid input, when I submit, then the field shows an error",
    "Given a slow network, when I retry, then nothing is saved twice",
]
PRIORITY_WEIGHTS = (("CRITICAL", 5), ("HIGH", 20), ("MEDIUM", 50), ("LOW", 25))
STATUS_WEIGHTS = (("DRAFT", 30), ("READY", 25), ("IN_PROGRESS", 20), ("DONE", 25))


def project_key(i: int) -> str:
    """PA, PB, ... PAB: 2-10 capitals, unique per workspace."""
    letters = ""
    n = i
    while True:
        letters = chr(ord("A") + n % 26) + letters
        n = n // 26 - 1
        if n < 0:
            break
    return "P" + letters


@dataclass(frozen=True)
class Backlog:
    """What a loaded benchmark database holds, for the benchmarks to aim at."""

    url: str
    stories: int
    project_keys: tuple[str, ...]
    stories_per_project: tuple[int, ...]
    team_id: str = TEAM_ID
    admin_slack_id: str = ADMIN_SLACK_ID

    @property
    def hot_project(self) -> str:
        """The project holding the most stories."""
        return self.project_keys[self.stories_per_project.index(max(self.stories_per_project))]


def project_sizes(total: int, projects: int, hot: int | None) -> list[int]:
    """Split `total` stories over `projects`; `hot` puts that many in the first one."""
    if hot:
        rest = total - hot
        base, extra = divmod(rest, projects - 1)
        return [hot] + [base + (1 if i < extra else 0) for i in range(projects - 1)]
    base, extra = divmod(total, projects)
    return [base + (1 if i < extra else 0) for i in range(projects)]


def _story_rows(
    rng: random.Random,
    project_ids: Sequence[str],
    sizes: Sequence[int],
    user_ids: Sequence[str],
    start: datetime,
    span: timedelta,
    chunk: int,
) -> Iterator[list[dict]]:
    priorities = [p for p, w in PRIORITY_WEIGHTS for _ in range(w)]
    statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    total = sum(sizes)
    # one global sequence so created_at grows with insertion order (like real life)
    order = [(pi, n) for pi, size in enumerate(sizes) for n in range(1, size + 1)]
    # interleave projects while keeping each project's numbers increasing
    rng.shuffle(order)
    next_number = [0] * len(sizes)
    step = span / max(total, 1)
    rows: list[dict] = []
    criteria_json = [[c] for c in CRITERIA]
    for i, (pi, _unused) in enumerate(order):
        next_number[pi] += 1
        words = [rng.choice(SENTENCES), rng.choice(SENTENCES)]
        if rng.random() < COMMON_SHARE:
            words.append(rng.choice(COMMON_SENTENCES))
        if i % RARE_EVERY == RARE_EVERY // 2:
            words.append(RARE_SENTENCE)
        at = start + step * i
        rows.append(
            {
                "id": f"{i:08x}{rng.getrandbits(96):024x}",
                "team_id": TEAM_ID,
                "project_id": project_ids[pi],
                "number": next_number[pi],
                "created_by": rng.choice(user_ids),
                "assignee_id": rng.choice(user_ids) if rng.random() < 0.5 else None,
                "title": (
                    f"As a {rng.choice(ROLES)}, I want to {rng.choice(ACTIONS)} "
                    f"{rng.choice(OBJECTS)}"
                ),
                "description": (f"So that {rng.choice(BENEFITS)}. " + " ".join(words)),
                "acceptance_criteria": rng.choice(criteria_json),
                "priority": rng.choice(priorities),
                "story_points": rng.choice((0, 1, 2, 3, 5, 8, 13)),
                "tasks": [],
                "tags": [rng.choice(TAGS)],
                "status": rng.choice(statuses),
                "meta": {},
                "created_at": at,
                "updated_at": at,
            }
        )
        if len(rows) >= chunk:
            yield rows
            rows = []
    if rows:
        yield rows


def load_backlog(
    url: str,
    stories: int,
    *,
    projects: int = PROJECT_COUNT,
    hot_project_stories: int | None = None,
    seed: int = 42,
    chunk: int = 20_000,
    log: Callable[[str], None] | None = None,
) -> Backlog:
    """Fill a fresh, migrated database with one workspace, 20 users, and the stories."""
    log = log or (lambda _msg: None)
    db = Database(url)
    db.upgrade()
    rng = random.Random(seed)
    sizes = project_sizes(stories, projects, hot_project_stories)
    now = datetime.now(UTC)
    user_ids = [f"{i:032x}" for i in range(1, USER_COUNT + 1)]
    project_ids = [f"{0xB0000 + i:032x}" for i in range(projects)]
    keys = [project_key(i) for i in range(projects)]
    stories_table = UserStory.__table__
    started = time.perf_counter()
    with db.write_engine.connect() as conn:
        if db.dialect == "sqlite":
            # a bulk load is re-runnable from scratch: trade durability for speed while loading
            raw = conn.connection.dbapi_connection  # outside any transaction: pragmas only
            raw.execute("PRAGMA synchronous = OFF")
            raw.execute("PRAGMA cache_size = -1000000")
        with conn.begin():
            conn.execute(
                insert(User.__table__),
                [
                    {
                        "id": uid,
                        "slack_team_id": TEAM_ID,
                        "slack_user_id": ADMIN_SLACK_ID if i == 0 else f"U0BENCH{i:02d}",
                        "email": f"user{i}@example.com",
                        "display_name": f"Bench User {i}",
                        "role": "ADMIN" if i == 0 else "USER",
                        "preferences": {},
                        "created_at": now - timedelta(days=800),
                        "updated_at": now - timedelta(days=800),
                    }
                    for i, uid in enumerate(user_ids)
                ],
            )
            conn.execute(
                insert(Project.__table__),
                [
                    {
                        "id": pid,
                        "team_id": TEAM_ID,
                        "key": keys[i],
                        "name": f"Project {keys[i]}",
                        "name_folded": f"project {keys[i].lower()}",
                        "description": f"Benchmark project {i}",
                        "owner_id": user_ids[i % USER_COUNT],
                        "settings": {},
                        "last_story_number": sizes[i],
                        "created_at": now - timedelta(days=790),
                        "updated_at": now - timedelta(days=790),
                    }
                    for i, pid in enumerate(project_ids)
                ],
            )
        if db.dialect == "postgresql":
            # GIN maintenance per row is the slow part of a bulk load: build it once at the end
            with conn.begin():
                conn.exec_driver_sql("DROP INDEX IF EXISTS idx_stories_search")
        done = 0
        for rows in _story_rows(
            rng,
            project_ids,
            sizes,
            user_ids,
            now - timedelta(days=730),
            timedelta(days=729),
            chunk,
        ):
            with conn.begin():
                conn.execute(insert(stories_table), rows)
            done += len(rows)
            if done % (chunk * 10) == 0 or done == stories:
                rate = done / (time.perf_counter() - started)
                log(f"  loaded {done:,} stories ({rate:,.0f}/s)")
        if db.dialect == "postgresql":
            with conn.begin():
                conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
                conn.exec_driver_sql(
                    "CREATE INDEX idx_stories_search ON user_stories USING GIN (search_vector)"
                )
            log(f"  search index built ({time.perf_counter() - started:.0f} s)")
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    if db.dialect == "sqlite":
        with contextlib.closing(sqlite3.connect(_sqlite_path(db.url))) as raw:
            raw.execute("ANALYZE")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return Backlog(url, stories, tuple(keys), tuple(sizes))


def _sqlite_path(url: str) -> Path:
    return Path(normalize_url(url).split("sqlite:///", 1)[1])


def _pg_admin_url(url: str) -> str:
    return normalize_url(url).rsplit("/", 1)[0] + "/postgres"


def _pg_db_url(url: str, name: str) -> str:
    return normalize_url(url).rsplit("/", 1)[0] + f"/{name}"


def cached_backlog(
    dialect: str,
    stories: int,
    *,
    hot_project_stories: int | None = None,
    pg_url: str | None = None,
    fresh_copy: bool = True,
    log: Callable[[str], None] = print,
) -> Backlog:
    """A loaded backlog, built once and cached (SQLite file under CACHE_DIR, or a PG database).

    With fresh_copy (SQLite), the benchmark gets its own copy of the cached file, so the
    writes it makes never leak into the next run.
    """
    name = f"stories_{stories}_{hot_project_stories or 0}_v{DATA_VERSION}"
    sizes = project_sizes(stories, PROJECT_COUNT, hot_project_stories)
    keys = tuple(project_key(i) for i in range(PROJECT_COUNT))
    if dialect == "sqlite":
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path = CACHE_DIR / f"{name}.db"
        if not path.exists():
            log(f"building {path} ({stories:,} stories) ...")
            t0 = time.perf_counter()
            tmp = path.with_suffix(".loading")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
            load_backlog(f"sqlite:///{tmp}", stories, hot_project_stories=hot_project_stories,
                         log=log)  # fmt: skip
            for suffix in ("-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
            tmp.rename(path)
            log(f"built in {time.perf_counter() - t0:.0f} s")
        _migrated(f"sqlite:///{path}", log)
        if fresh_copy:
            work = CACHE_DIR / f"{name}.work-{os.getpid()}.db"
            shutil.copyfile(path, work)
            return Backlog(f"sqlite:///{work}", stories, keys, tuple(sizes))
        return Backlog(f"sqlite:///{path}", stories, keys, tuple(sizes))

    base = pg_url or postgres_url()
    dbname = f"autodevhub_bench_{name}"
    admin = create_engine(_pg_admin_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": dbname}
            ).first()
            if exists:
                # a load interrupted half-way leaves too few rows: rebuild then
                probe = create_engine(_pg_db_url(base, dbname))
                try:
                    with probe.connect() as pc:
                        count = pc.execute(select(func.count()).select_from(UserStory)).scalar()
                except Exception:
                    count = -1
                finally:
                    probe.dispose()
                if count is None or count < stories:
                    conn.execute(text(f'DROP DATABASE "{dbname}" WITH (FORCE)'))
                    exists = None
            if not exists:
                log(f"building PostgreSQL database {dbname} ({stories:,} stories) ...")
                t0 = time.perf_counter()
                conn.execute(text(f'CREATE DATABASE "{dbname}"'))
                try:
                    load_backlog(_pg_db_url(base, dbname), stories,
                                 hot_project_stories=hot_project_stories, log=log)  # fmt: skip
                except BaseException:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
                    raise
                log(f"built in {time.perf_counter() - t0:.0f} s")
    finally:
        admin.dispose()
    _migrated(_pg_db_url(base, dbname), log)
    return Backlog(_pg_db_url(base, dbname), stories, keys, tuple(sizes))


def _migrated(url: str, log: Callable[[str], None]) -> None:
    """Bring a cached backlog to the schema's head (a no-op when it is there), so every
    benchmark, and not only those that start `autodevhub serve`, runs on today's schema."""
    db = Database(url)
    try:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        if db.current_revision() != head:
            log(f"migrating the cached backlog to {head} ...")
            db.upgrade()
    finally:
        db.dispose()


def drop_work_copy(backlog: Backlog) -> None:
    """Remove a SQLite work copy made by cached_backlog (never the cached original)."""
    if is_sqlite(normalize_url(backlog.url)):
        path = _sqlite_path(backlog.url)
        if ".work-" in path.name:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def postgres_url() -> str:
    """AUTODEVHUB_BENCH_PG_URL, or the throw-away cluster started by .ci/start-postgres."""
    url = os.environ.get("AUTODEVHUB_BENCH_PG_URL")
    if url:
        return normalize_url(url)
    out = subprocess.run(
        [str(ROOT / ".ci" / "start-postgres")], check=True, capture_output=True, text=True
    )
    return normalize_url(out.stdout.strip().splitlines()[-1])


# ---- figures -------------------------------------------------------------------------------


def median_of(runs: Sequence[Any], *, summed: Iterable[str] = ()) -> Any:
    """Runs of one benchmark (dataclasses) made one, figure by figure: the median of each
    number, the sum of the counts named in `summed`, lists (one figure per server) taken
    place by place, and text (or a figure every run shares) as the first run has it."""
    added = set(summed)

    def combine(name: str, values: list[Any]) -> Any:
        if isinstance(values[0], list):
            return [combine(name, list(column)) for column in zip(*values, strict=True)]
        if name in added:
            return sum(values)
        if isinstance(values[0], str) or all(v == values[0] for v in values):
            return values[0]
        return statistics.median(values)

    first = runs[0]
    return dataclasses.replace(
        first,
        **{f.name: combine(f.name, [getattr(r, f.name) for r in runs])
           for f in dataclasses.fields(first)},
    )  # fmt: skip


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (pct in 0..100) of the values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    """Durations in seconds of one measured operation."""

    name: str
    seconds: list[float] = field(default_factory=list)

    def ms(self, pct: float) -> float:
        return percentile(self.seconds, pct) * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000 if self.seconds else float("nan")


def time_calls(name: str, call: Callable[[], object], *, runs: int, warmup: int = 3) -> Timings:
    """Run `call` warmup + runs times, timing each of the measured runs."""
    for _ in range(warmup):
        call()
    timings = Timings(name)
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        timings.seconds.append(time.perf_counter() - t0)
    return timings


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (pastes straight into BENCHMARKS.md, reads fine in a terminal)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for r in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    table = format_table(headers, list(rows))
    print(f"\n### {title}\n\n{table}\n", flush=True)
    return table


def postgres_cpu_seconds() -> float:
    """CPU time (user + system) of every PostgreSQL process on this machine so far, the
    backends' that have exited included (their parent's cutime/cstime): what the database
    costs a benchmark whose cluster shares the machine's cores."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if not name.startswith("postgres"):
            continue
        fields = rest.split()
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, str]:
    """The facts BENCHMARKS.md records about where figures were measured."""
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    load = os.getloadavg()
    return {
        "cpus": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        "utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }


def save_results(name: str, data: dict) -> Path:
    """Keep the raw figures of a run as JSON next to the cached data."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"results-{name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str))
    print(f"raw figures: {path}", file=sys.stderr)
    return path


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a live process, in MiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    """VmRSS (current resident set) of a live process, in MiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
