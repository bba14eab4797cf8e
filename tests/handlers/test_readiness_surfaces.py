"""Issue 16 part 2: the readiness check where people look, through signed HTTP against the
strict fake Slack: the card and the form's confirmation, `/story show`, list rows, App Home,
and the channel digest."""

from __future__ import annotations

from tests.fakes.slack_api import SignedSlack
from tests.handlers.flows import answer_to, create_project, create_story
from tests.statements import statements

READY = {
    "description": (
        "As an account holder, I want to reset my password by email, so that I can get back "
        "into my account."
    ),
    "acceptance_criteria": (
        "Given I forgot my password, When I ask for a reset, Then a link is emailed to me\n"
        "Given the link expired, When I open it, Then I am told to ask again"
    ),
    "story_points": "3",
}
NOT_READY = {"description": "fix stuff", "acceptance_criteria": "", "story_points": "21"}


def test_the_new_story_card_shows_its_findings_or_a_ready_mark(slack: SignedSlack) -> None:
    create_project(slack, "Web shop", "WEB")
    bad = create_story(slack, "WEB", "fix stuff", **NOT_READY)
    text = bad.text_of()
    assert "New story." in text and "4 things to fix" in text
    assert "The title “fix stuff” does not say what changes" in text
    assert "No acceptance criteria: add 2 to 6" in text
    assert "21 points is too big for one sprint: split it" in text
    assert "Ready to build" not in text

    good = create_story(slack, "WEB", "Reset password by email", **READY)
    assert "Ready to build" in good.text_of() and "to fix" not in good.text_of()


def test_show_names_a_lookalike_and_escapes_what_the_findings_quote(slack: SignedSlack) -> None:
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password by email", **READY)
    create_story(slack, "WEB", "Reset the password by email", **READY)
    shown = answer_to(slack, "/story", "show WEB-2").text_of()
    assert "1 thing to fix" in shown
    assert "Looks like WEB-1 “Reset password by email”: merge them" in shown
    # each of the two looks like the other; a story of its own is ready
    assert "Looks like WEB-2" in answer_to(slack, "/story", "show web-1").text_of()
    create_story(slack, "WEB", "Export invoices as CSV", **READY)
    assert "Ready to build" in answer_to(slack, "/story", "show WEB-3").text_of()

    create_story(slack, "WEB", "<!channel>", **NOT_READY)
    card = answer_to(slack, "/story", "show WEB-4")
    [findings] = [
        b["text"]["text"] for b in card.params["blocks"] if "to fix" in str(b.get("text"))
    ]
    assert "The title “&lt;!channel&gt;” does not say what changes" in findings
    assert "<!channel>" not in findings


def test_show_of_a_done_story_has_no_readiness_and_no_lookalike_query(
    slack: SignedSlack, slack_db
) -> None:
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password by email", **READY)
    create_story(slack, "WEB", "Reset the password by email", **READY)
    answer_to(slack, "/story", "move WEB-2 DONE")
    with statements(slack_db) as sent:
        shown = answer_to(slack, "/story", "show WEB-2").text_of()
    assert "WEB-2" in shown and "Looks like" not in shown and "to fix" not in shown
    assert "Ready to build" not in shown
    assert not [q for q in sent if "stories_fts" in q or "search_vector" in q], sent


def test_list_rows_and_app_home_mark_the_stories_that_are_not_ready(slack: SignedSlack) -> None:
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password by email", **READY)
    create_story(slack, "WEB", "fix stuff", **NOT_READY)
    create_story(slack, "WEB", "Old cleanup", **NOT_READY)
    answer_to(slack, "/story", "move WEB-3 DONE")

    listed = answer_to(slack, "/story", "list WEB")
    rows = {
        b["text"]["text"].split("*")[1]: b["text"]["text"]
        for b in listed.params["blocks"]
        if b.get("block_id", "").startswith("story:")
    }
    assert ":warning: 4 to fix" in rows["WEB-2"]
    assert "to fix" not in rows["WEB-1"]
    assert "to fix" not in rows["WEB-3"]  # done: built already

    before = len(slack.fake.calls_to("views.publish"))
    assert slack.app_home_opened().status == 200
    home = slack.fake.wait_for("views.publish", count=before + 1).params["view"]
    marked = [
        b["text"]["text"]
        for b in home["blocks"]
        if b.get("block_id", "").startswith("story:") and "to fix" in b["text"]["text"]
    ]
    assert len(marked) == 1 and "WEB-2" in marked[0]


def test_the_channel_digest_counts_the_open_stories_that_are_not_ready(
    slack: SignedSlack,
) -> None:
    create_project(slack, "Web shop", "WEB")
    answer_to(slack, "/project", "link WEB")
    create_story(slack, "WEB", "Reset password by email", **READY)
    create_story(slack, "WEB", "fix stuff", **NOT_READY)
    create_story(slack, "WEB", "more stuff", **NOT_READY)
    assert "will get a daily digest" in answer_to(slack, "/autodev", "digest on").text_of()
    assert "Sent the digest" in answer_to(slack, "/autodev", "digest now").text_of()
    post = slack.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == slack.channel_id
    )
    text = post.text_of()
    assert "*Not ready*: 2 open stories of 3 have things to fix" in text
    assert "`/story list WEB` marks which" in text
