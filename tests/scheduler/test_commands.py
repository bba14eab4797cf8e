"""`/autodev digest` and `/autodev backup` over HTTP, signed as Slack signs them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.backup.files import list_backups
from storage.db import Database
from storage.digests.subscriptions import channel_subscriptions
from storage.projects import create_project, link_channel
from storage.stories import create_story
from storage.users import ensure_user
from tests.fakes.slack_api import FakeSlackAPI, SignedSlack, slack_server_for


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slack-backups")


@pytest.fixture(scope="module")
def server(fake_slack: FakeSlackAPI, slack_db: Database, backups: Path) -> Iterator[Any]:
    with slack_server_for(
        fake_slack, slack_db, AUTODEVHUB_BACKUP_DIR=str(backups), AUTODEVHUB_TIMEZONE=BERLIN
    ) as running:
        yield running


BERLIN = "Europe/Berlin"


@pytest.fixture
def slack(server: Any, fake_slack: FakeSlackAPI, slack_db: Database) -> SignedSlack:
    """The first member (admin) of a fresh workspace, in channel CWEB linked to project WEB."""
    fake_slack.reset()
    team = "T" + uuid.uuid4().hex[:8].upper()
    sender = SignedSlack(server.url, fake_slack, team_id=team, user_id="UADMIN", channel_id="CWEB")
    with slack_db.write() as s:
        admin = ensure_user(s, team, "UADMIN")
        ensure_user(s, team, "UMEMBER")
        create_project(s, admin, {"name": "Website", "key": "WEB"})
        create_project(s, admin, {"name": "Mobile", "key": "MOB"})
        link_channel(s, admin, "WEB", "CWEB")
        create_story(s, admin, "WEB", {"title": "<!channel> ping", "description": "d"})
    return sender


def _reply(slack: SignedSlack, text: str, *, count: int = 1) -> str:
    reply, url = slack.command("/autodev", text)
    assert reply.status == 200, reply.text
    call = slack.fake.wait_response(url, count=count)
    assert call.params.get("response_type", "ephemeral") == "ephemeral"
    return call.text_of()


def test_digest_on_show_now_off_in_a_linked_channel(slack: SignedSlack, slack_db: Database) -> None:
    member = slack.as_user("UMEMBER")
    assert "This channel gets no digest" in _reply(member, "digest")
    said = _reply(member, "digest on weekly friday 16:30")
    assert "<#CWEB> will get a weekly digest of *WEB* every Friday at 16:30 (Europe/Berlin)" in said
    shown = _reply(member, "digest")
    assert "*WEB* — Website: weekly, every Friday at 16:30" in shown
    assert "`/autodev digest me on`" in shown

    assert "Sent the digest to <#CWEB>" in _reply(member, "digest now")
    [post] = slack.fake.calls_to("chat.postMessage", lambda c: c.params["channel"] == "CWEB")
    assert "&lt;!channel&gt; ping" in post.text_of() and "<!channel>" not in post.text_of()

    assert "no longer gets the digest of *WEB*" in _reply(member, "digest off")
    with slack_db.read() as s:
        actor = ensure_user(s, slack.team_id, "UMEMBER")
        assert channel_subscriptions(s, actor, "CWEB") == []


def test_digest_for_a_named_project_and_the_refusals(
    slack: SignedSlack, slack_db: Database
) -> None:
    elsewhere = slack.as_workspace(channel_id="CRANDOM")
    assert "no linked project" in _reply(elsewhere, "digest on")
    assert "Did you mean" in _reply(elsewhere, "digest on daily 08:00 mobil")
    assert "not a time of day" in _reply(elsewhere, "digest on 24:30 MOB")
    assert "not a digest command" in _reply(elsewhere, "digest sometimes")
    said = _reply(elsewhere, "digest on daily 8:15 Mobile America/New_York")
    assert "daily digest of *MOB* every day at 08:15 (America/New_York)" in said
    with slack_db.read() as s:
        actor = ensure_user(s, slack.team_id, "UADMIN")
        [view] = channel_subscriptions(s, actor, "CRANDOM")
    assert (view.project_key, view.time_of_day, view.timezone) == (
        "MOB",
        "08:15",
        "America/New_York",
    )


def test_digest_now_that_slack_refuses_pauses_and_says_so(slack: SignedSlack) -> None:
    _reply(slack, "digest on")
    slack.fake.fail("chat.postMessage", "not_in_channel")
    assert "Slack did not take the digest (not_in_channel)" in _reply(slack, "digest now")
    assert "paused" in _reply(slack, "digest")
    assert "That digest is paused." in _reply(slack, "digest now")
    assert "will get a daily digest" in _reply(slack, "digest on")  # resumed


def test_personal_digest_by_dm(slack: SignedSlack) -> None:
    member = slack.as_user("UMEMBER")
    said = _reply(member, "digest me on daily 07:30")
    assert "personal daily digest by DM every day at 07:30 (Europe/Berlin)" in said
    assert "Your personal digest: daily" in _reply(member, "digest me")
    assert "Sent the digest to your DMs" in _reply(member, "digest me now")
    [dm] = slack.fake.calls_to("chat.postMessage", lambda c: c.params["channel"] == "UMEMBER")
    assert "Quiet day" in dm.text_of()
    assert "personal digest is off" in _reply(member, "digest me off")


def test_backup_is_for_admins(slack: SignedSlack, backups: Path) -> None:
    before = len(list_backups(backups))
    assert "Only a workspace admin can take or list backups" in _reply(
        slack.as_user("UMEMBER"), "backup"
    )
    assert len(list_backups(backups)) == before
    reply, url = slack.command("/autodev", "backup")
    assert reply.status == 200
    done = slack.fake.wait_response(url, count=2, timeout=30).text_of()
    assert "Backup written and verified: `autodevhub_" in done
    assert len(list_backups(backups)) == before + 1
    assert "*Backups, newest first*" in _reply(slack, "backup list")
