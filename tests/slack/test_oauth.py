"""Many workspaces: install through OAuth, then each request uses its workspace's own token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.fakes.slack_api import SignedSlack, http_request, slack_server_for
from tests.handlers.flows import answer_to, open_form

CLIENT_ID = "1111.2222"


@pytest.fixture(scope="module")
def oauth_server(fake_slack, slack_db):
    with slack_server_for(
        fake_slack,
        slack_db,
        SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET="oauth-client-secret",
    ) as running:
        yield running


def _install(server, fake, team_id: str, token: str) -> None:
    page = http_request("GET", server.url + "/slack/install")
    assert page.status == 200
    assert f"client_id={CLIENT_ID}" in page.text and "scope=commands,chat:write" in page.text
    state = re.search(r"state=([^&\"]+)", page.text).group(1)
    fake.answer(
        "oauth.v2.access",
        {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": "UBOT",
            "app_id": "A0001",
            "team": {"id": team_id, "name": team_id},
            "enterprise": None,
            "authed_user": {"id": "U0001"},
            "is_enterprise_install": False,
        },
    )
    fake.team_for_token[token] = team_id
    done = http_request(
        "GET",
        f"{server.url}/slack/oauth_redirect?code=code-{team_id}&state={state}",
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )
    assert done.status == 200, done.text
    access = fake.wait_for("oauth.v2.access", lambda c: c.params.get("code") == f"code-{team_id}")
    assert access.params.get("client_id", CLIENT_ID) == CLIENT_ID


def test_install_stores_the_workspace_and_requests_use_its_token(
    oauth_server, fake_slack, slack_db
):
    fake_slack.reset()
    _install(oauth_server, fake_slack, "TOAUTH1", "xoxb-workspace-one")
    _install(oauth_server, fake_slack, "TOAUTH2", "xoxb-workspace-two")
    with slack_db.read() as s:
        rows = s.execute(text("SELECT team_id, bot_token FROM slack_bots ORDER BY team_id")).all()
    assert [(r.team_id, r.bot_token) for r in rows] == [
        ("TOAUTH1", "xoxb-workspace-one"),
        ("TOAUTH2", "xoxb-workspace-two"),
    ]
    one = SignedSlack(oauth_server.url, fake_slack, team_id="TOAUTH1", user_id="U1")
    two = one.as_workspace(team_id="TOAUTH2", user_id="U2")
    answer_to(one, "/project", "list")
    open_form(one, "/project", "new")
    open_form(two, "/project", "new")
    tokens = [c.token for c in fake_slack.calls_to("views.open")]
    assert tokens == ["xoxb-workspace-one", "xoxb-workspace-two"]


def test_a_workspace_that_never_installed_is_not_served(oauth_server, fake_slack, slack_db):
    stranger = SignedSlack(oauth_server.url, fake_slack, team_id="TNEVER", user_id="U9")
    reply, url = stranger.command("/project", "list")
    assert reply.status in (200, 401)
    for call in fake_slack.responses(url):  # Bolt may say "please reinstall", nothing more
        assert "install" in call.text_of()
    with slack_db.read() as s:
        users = s.execute(text("SELECT count(*) FROM users WHERE slack_team_id = 'TNEVER'"))
        assert users.scalar() == 0


def test_oauth_state_is_checked(oauth_server, fake_slack, slack_db):
    """A redirect with a state the app never issued installs nothing, even though Slack
    would exchange its code for a token."""
    fake_slack.reset()
    fake_slack.answer(
        "oauth.v2.access",
        {
            "ok": True,
            "access_token": "xoxb-forged",
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": "UBOT",
            "app_id": "A0001",
            "team": {"id": "TFORGED", "name": "TFORGED"},
            "enterprise": None,
            "authed_user": {"id": "U0001"},
            "is_enterprise_install": False,
        },
    )
    fake_slack.team_for_token["xoxb-forged"] = "TFORGED"
    try:
        reply = http_request(
            "GET",
            oauth_server.url + "/slack/oauth_redirect?code=code-forged&state=forged",
            headers={"Cookie": "slack-app-oauth-state=forged"},
        )
        assert reply.status >= 400
        assert fake_slack.calls_to("oauth.v2.access") == []  # the code was never exchanged
        with slack_db.read() as s:
            bots = s.execute(text("SELECT count(*) FROM slack_bots WHERE team_id = 'TFORGED'"))
            assert bots.scalar() == 0
    finally:
        fake_slack.reset()  # the scripted answer must not serve a later install
