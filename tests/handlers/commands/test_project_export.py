"""/project export through signed HTTP: the file Slack received (uploaded in files_upload_v2's
three steps to the member's DM), what the member is told, and what is refused."""

from __future__ import annotations

import csv
import io
import json

from tests.fakes.slack_api import take_refusals
from tests.handlers.flows import answer_to, create_project, create_story


def _shop(slack):
    create_project(slack, "Web <!channel> shop", "WEB")
    create_story(
        slack,
        "WEB",
        "Reset password",
        description="As a user, I want a reset link,\nso that I can log in again.",
        acceptance_criteria="Given I forgot it, when I ask, then I get a link\nIt expires",
        tags="auth, mobile",
        priority="HIGH",
    )
    create_story(slack, "WEB", "Wishlist", description="Keep a wishlist.")
    slack.fake.reset()


def _export(slack, text):
    """Run `/project export TEXT`; the note shown where it was asked, and the file shared."""
    answer = answer_to(slack, "/project", f"export {text}")
    slack.fake.settle()
    return answer, slack.fake.uploaded(slack.fake.dm_channel(slack.user_id))


def test_export_sends_a_csv_jira_reads_to_the_members_dm(slack):
    _shop(slack)
    answer, files = _export(slack, "WEB")

    assert answer.params["response_type"] == "ephemeral"
    assert "Sent you WEB's export (2 stories, CSV) in a direct message" in answer.text_of()
    (shared,) = files
    assert shared.filename.startswith("WEB-stories-") and shared.filename.endswith(".csv")
    assert shared.length == len(shared.content)
    assert shared.title == shared.filename
    rows = list(csv.reader(io.StringIO(shared.text, newline="")))
    assert rows[0] == [
        "Summary",
        "Issue Type",
        "Description",
        "Priority",
        "Story Points",
        "Labels",
        "Labels",
        "Status",
        "Issue key",
    ]
    assert rows[1][0] == "Reset password" and rows[1][3] == "High"
    assert rows[1][2].endswith(
        "\n\nAcceptance criteria:\n- Given I forgot it, when I ask, then I get a link\n- It expires"
    )
    assert rows[1][5:] == ["auth", "mobile", "Backlog", "WEB-1"]
    assert rows[2][0] == "Wishlist" and rows[2][-1] == "WEB-2"
    # the three steps, in order; the DM opened for the member who asked, not the channel
    (opened,) = slack.fake.calls_to("conversations.open")
    assert opened.params["users"] == slack.user_id
    methods = [c.method for c in slack.fake.calls if c.method.startswith(("files.", "upload"))]
    assert methods == ["files.getUploadURLExternal", "upload_url", "files.completeUploadExternal"]
    assert slack.fake.uploaded(slack.channel_id) == []
    # the comment names the project escaped, so a name with <!channel> pings nobody
    assert "Web &lt;!channel&gt; shop (WEB): 2 stories as CSV" in shared.initial_comment
    assert "<!channel>" not in shared.initial_comment


def test_markdown_and_json_exports(slack):
    _shop(slack)
    _, files = _export(slack, "WEB markdown")
    assert files[-1].filename.endswith(".md")
    assert files[-1].text.startswith("# Web <!channel> shop (WEB)\n")
    assert "## WEB-1 Reset password" in files[-1].text

    _, files = _export(slack, "web JSON")
    document = json.loads(files[-1].text)
    assert document["kind"] == "autodevhub.stories"
    assert [s["key"] for s in document["stories"]] == ["WEB-1", "WEB-2"]
    assert document["stories"][0]["tags"] == ["auth", "mobile"]
    assert "autodevhub import" in files[-1].initial_comment


def test_a_wrong_format_or_project_is_refused_and_nothing_is_uploaded(slack):
    _shop(slack)
    answer = answer_to(slack, "/project", "export WEB xlsx")
    assert answer.params["response_type"] == "ephemeral"
    assert "'xlsx' is not an export format; use one of csv, markdown, json." in answer.text_of()
    assert "/project export" in answer.text_of()  # the usage comes with it
    assert "Say which project" in answer_to(slack, "/project", "export").text_of()
    assert "No project named 'NOPE'" in answer_to(slack, "/project", "export NOPE").text_of()
    other = slack.as_workspace(team_id="T" + slack.team_id[1:] + "X", user_id="U0OTHER")
    assert "No project named 'WEB'" in answer_to(other, "/project", "export WEB").text_of()
    slack.fake.settle()
    assert not slack.fake.calls_to("files.getUploadURLExternal")
    assert not slack.fake.calls_to("conversations.open")


def test_a_project_named_in_words_exports_with_its_format(slack):
    _shop(slack)
    _, files = _export(slack, "Web <!channel> shop json")
    assert json.loads(files[-1].text)["project"]["key"] == "WEB"


def test_when_slack_refuses_the_upload_the_member_is_told_why(slack):
    _shop(slack)
    slack.fake.fail("files.getUploadURLExternal", "file_uploads_disabled")
    answer, files = _export(slack, "WEB")
    assert "could not send you the export: file uploads are turned off" in answer.text_of()
    assert files == []
    assert not slack.fake.calls_to("files.completeUploadExternal")
    assert take_refusals() == []
