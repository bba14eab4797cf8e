"""The weekly digest's cumulative-flow chart: its data from the audit trail, the PNG uploaded
with files_upload_v2 to the strict fake and shown in an image block, and the digest as text
whenever the chart fails."""

from __future__ import annotations

import logging
import struct
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from bot.clients import workspace_clients
from bot.scheduler import Jobs
from bot.ui import charts
from storage.db import Database
from storage.digests.flow import cumulative_flow
from storage.digests.subscriptions import subscribe_channel
from storage.models import AuditLog, Project, UserStory
from storage.projects import create_project
from storage.users import ensure_user
from tests.fakes.slack_api import Call, FakeSlackAPI, take_refusals
from tests.scheduler.conftest import scheduler_settings
from tests.scheduler.data import make_project, make_story, move

# A Monday: the weekly digest's slot (09:00 UTC); the chart's four weeks end that day.
UNTIL = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 3, 3)
CHANNEL = "C0CHART"


def _at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _edit_status(db: Database, story_id: str, status: str, *, at: datetime) -> None:
    """A status changed through the edit form: a story.update row, as update_story writes."""
    with db.write() as s:
        story = s.get(UserStory, story_id)
        before, story.status = story.status, status
        s.add(
            AuditLog(
                team_id=story.team_id,
                user_id=None,
                action="story.update",
                resource_type="story",
                resource_id=story_id,
                details={"key": "x", "changes": {"status": {"from": before, "to": status}}},
                created_at=at,
            )
        )


def _known_history(db: Database, *, frequency: str = "weekly") -> str:
    """Project WEB with a subscription in CHANNEL and four stories whose moves are known;
    returns the project id."""
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), tick=False), db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
        create_project(s, alice, {"name": "Web shop", "key": "WEB"})
        subscribe_channel(
            s, alice, CHANNEL, project_ref="WEB", frequency=frequency, weekday=0, timezone="UTC"
        )
        project_id = s.query(Project.id).filter_by(key="WEB", team_id="T1").scalar()
    # older than the audit trail: done, with no move recorded
    make_story(
        db, project_id, title="Old done", status="DONE", at=datetime(2026, 1, 10, tzinfo=UTC)
    )
    s2 = make_story(db, project_id, title="Checkout", at=_at(5, 12))
    move(db, s2, "READY", by=None, at=_at(10))
    _edit_status(db, s2, "IN_PROGRESS", at=_at(20))
    move(db, s2, "DONE", by=None, at=_at(27, 15))
    s3 = make_story(db, project_id, title="Coupons", at=_at(25, 8))
    move(db, s3, "READY", by=None, at=_at(29))
    make_story(db, project_id, title="Gift cards", at=_at(30, 8, 30))
    # after the digest's time: not on the chart
    make_story(db, project_id, title="Tomorrow", at=_at(31, 9))
    return project_id


# day -> (draft, ready, in progress, done) at the end of the day (the last: at UNTIL)
EXPECTED = {
    date(2026, 3, 3): (0, 0, 0, 1),
    date(2026, 3, 4): (0, 0, 0, 1),
    date(2026, 3, 5): (1, 0, 0, 1),
    date(2026, 3, 9): (1, 0, 0, 1),
    date(2026, 3, 10): (0, 1, 0, 1),
    date(2026, 3, 19): (0, 1, 0, 1),
    date(2026, 3, 20): (0, 0, 1, 1),
    date(2026, 3, 25): (1, 0, 1, 1),
    date(2026, 3, 27): (1, 0, 0, 2),
    date(2026, 3, 28): (1, 0, 0, 2),
    date(2026, 3, 29): (0, 1, 0, 2),
    date(2026, 3, 30): (1, 1, 0, 2),
}


def test_the_flow_counts_each_status_at_each_days_end_from_the_audit_trail(db: Database) -> None:
    project_id = _known_history(db)
    with db.read() as s:
        flow = cumulative_flow(s, project_id, until=UNTIL + timedelta(seconds=5))
    assert flow.days[0] == FIRST_DAY and flow.days[-1] == date(2026, 3, 30)
    assert len(flow.days) == 28
    for day, (draft, ready, in_progress, done) in EXPECTED.items():
        assert flow.on(day) == {
            "DRAFT": draft,
            "READY": ready,
            "IN_PROGRESS": in_progress,
            "DONE": done,
        }, day
    assert flow.total(len(flow.days) - 1) == 4


def test_the_flow_begins_with_the_projects_first_story_in_the_digests_zone(
    db: Database,
) -> None:
    project_id = _known_history(db)
    with db.read() as s:
        owner = s.get(Project, project_id).owner_id
    young = make_project(db, owner, key="NEW")
    # 23:30 UTC on 5 March is 00:30 on 6 March in Berlin
    s1 = make_story(db, young, title="First", at=_at(5, 23, 30))
    move(db, s1, "IN_PROGRESS", by=None, at=_at(11, 22, 30))  # 23:30 on the 11th in Berlin
    with db.read() as s:
        flow = cumulative_flow(s, young, until=_at(12), timezone="Europe/Berlin")
        before = cumulative_flow(s, young, until=_at(5, 22))
        web = cumulative_flow(s, project_id, until=_at(12))
    assert flow.days == tuple(date(2026, 3, d) for d in range(6, 13))
    assert [flow.on(date(2026, 3, d))["DRAFT"] for d in range(6, 13)] == [1] * 5 + [0, 0]
    assert flow.on(date(2026, 3, 11))["IN_PROGRESS"] == 1  # its end is 23:00 UTC
    assert before.empty and before.days == ()
    # the old project: a full four weeks back from the 12th, its January story done all along
    assert len(web.days) == 28 and web.days[0] == date(2026, 2, 13)
    assert web.on(date(2026, 2, 13)) == {"DRAFT": 0, "READY": 0, "IN_PROGRESS": 0, "DONE": 1}


# ------------------------------------------------------------------ through the scheduler


def _jobs(db: Database, tmp_path: Path, fake: FakeSlackAPI) -> Jobs:
    settings = scheduler_settings(db, tmp_path, fake)
    return Jobs(settings, db, workspace_clients(settings, db))


def _digest(fake: FakeSlackAPI) -> Call:
    [posted] = fake.calls_to("chat.postMessage", lambda c: c.params.get("channel") == CHANNEL)
    return posted


def _images(call: Call) -> list[dict[str, Any]]:
    return [b for b in call.params["blocks"] if b.get("type") == "image"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_weekly_digest_shows_the_uploaded_chart_in_an_image_block(
    sqlite_db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.reset()
    _known_history(sqlite_db)
    deliveries = _jobs(sqlite_db, tmp_path, fake_slack).send_due_digests(
        UNTIL + timedelta(seconds=5)
    )
    assert [d.outcome for d in deliveries] == ["posted"]
    posted = _digest(fake_slack)
    [image] = _images(posted)
    file = fake_slack.files.get(image["slack_file"]["id"])
    assert file is not None and file.completed and file.content is not None
    assert _png_size(file.content) == (charts.CHART_WIDTH, charts.CHART_HEIGHT)
    assert file.shared_to == []  # uploaded privately: the digest shows it
    assert file.filename == "web-flow-2026-03-30.png"
    assert image["title"]["text"] == "WEB — cumulative flow, last 4 weeks"
    assert image["alt_text"] == (
        "Cumulative flow of WEB from 03 Mar to 30 Mar: 1 story (1 done) on 03 Mar, "
        "4 stories on 30 Mar: 1 draft, 1 ready, 0 in progress, 2 done."
    )
    assert file.alt_txt == image["alt_text"]
    # the three steps of files_upload_v2, before the message
    methods = [c.method for c in fake_slack.calls]
    steps = ["files.getUploadURLExternal", "upload_url", "files.completeUploadExternal"]
    assert [m for m in methods if m in steps] == steps
    assert methods.index("files.completeUploadExternal") < methods.index("chat.postMessage")
    # the chart comes after the totals, before the closing note
    kinds = [b["type"] for b in posted.params["blocks"]]
    assert kinds[-2:] == ["image", "context"]


def test_the_daily_digest_has_no_chart(
    sqlite_db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.reset()
    _known_history(sqlite_db, frequency="daily")
    deliveries = _jobs(sqlite_db, tmp_path, fake_slack).send_due_digests(
        UNTIL + timedelta(seconds=5)
    )
    assert [d.outcome for d in deliveries] == ["posted"]
    assert _images(_digest(fake_slack)) == []
    assert not [c for c in fake_slack.calls if c.method.startswith(("files.", "upload_url"))]


@pytest.mark.parametrize(
    ("failing", "logged"),
    [
        ("files.getUploadURLExternal", "SlackApiError: file_uploads_disabled"),
        ("files.completeUploadExternal", "SlackApiError: file_uploads_disabled"),
        ("drawing", "ChartFailed: the chart process exited with 3"),
    ],
)
def test_a_chart_that_fails_leaves_the_digest_as_text_and_a_warning(
    sqlite_db: Database,
    tmp_path: Path,
    fake_slack: FakeSlackAPI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
    logged: str,
) -> None:
    fake_slack.reset()
    _known_history(sqlite_db)
    if failing == "drawing":
        monkeypatch.setattr(
            charts, "DRAW_COMMAND", (sys.executable, "-c", "import sys; sys.exit(3)")
        )
    else:
        fake_slack.fail(failing, "file_uploads_disabled")
    with caplog.at_level(logging.WARNING, logger="autodevhub.scheduler"):
        deliveries = _jobs(sqlite_db, tmp_path, fake_slack).send_due_digests(
            UNTIL + timedelta(seconds=5)
        )
    assert [d.outcome for d in deliveries] == ["posted"]
    posted = _digest(fake_slack)
    assert _images(posted) == []
    assert "Weekly digest · WEB" in posted.text_of() and "Coupons" in posted.text_of()
    [warning] = [r for r in caplog.records if "no chart" in r.getMessage()]
    said = warning.getMessage()
    assert said == f"digest of WEB: no chart ({logged}), sent as text"


def test_a_message_refused_for_its_image_goes_out_again_as_text(
    sqlite_db: Database, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.reset()
    _known_history(sqlite_db)
    shown = len(fake_slack.messages(CHANNEL))
    # Slack refuses a file still processing, or not the app's to show, this way
    fake_slack.answer(
        "chat.postMessage",
        {"ok": False, "error": "invalid_blocks", "errors": ["invalid slack file"]},
    )
    deliveries = _jobs(sqlite_db, tmp_path, fake_slack).send_due_digests(
        UNTIL + timedelta(seconds=5)
    )
    assert [d.outcome for d in deliveries] == ["posted"]
    first, second = fake_slack.calls_to("chat.postMessage")
    assert len(_images(first)) == 1 and _images(second) == []
    [kept] = fake_slack.messages(CHANNEL)[shown:]  # the refused one never showed
    assert kept["text"] == second.params["text"] and "blocks" in kept
    assert take_refusals() == []


def test_serve_never_loads_matplotlib_even_after_drawing_a_chart() -> None:
    code = (
        "import sys\n"
        "from datetime import date, timedelta\n"
        "from types import SimpleNamespace\n"
        "import bot.server, bot.scheduler\n"
        "from bot.ui import charts\n"
        "days = [date(2026, 3, 1) + timedelta(days=i) for i in range(3)]\n"
        "counts = {s: (1, 2, 3) for s in ('DRAFT', 'READY', 'IN_PROGRESS', 'DONE')}\n"
        "png = charts.cumulative_flow_png(SimpleNamespace(days=days, counts=counts), title='t')\n"
        "print(png[:4] == b'\\x89PNG', sorted(m for m in ('matplotlib', 'numpy', 'PIL') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "True []"
