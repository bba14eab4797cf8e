"""/story through signed HTTP: help, show, move, assign, list with filters and paging, delete,
search — each answered the way Slack shows it."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.ui import ids
from storage.models import UserStory
from tests.handlers.flows import (
    RESPONSE_URL,
    answer_to,
    create_project,
    create_story,
    open_form,
    submit,
)


def _stories(db, team):
    with db.read() as s:
        return list(
            s.scalars(select(UserStory).where(UserStory.team_id == team).order_by(UserStory.number))
        )


def test_help_and_unknown_words(slack):
    assert "/story move KEY-N STATUS" in answer_to(slack, "/story", "help").text_of()
    answer = answer_to(slack, "/story", "explode WEB-1")
    assert "I don't know 'explode'" in answer.text_of()
    assert answer.params["response_type"] == "ephemeral"


def test_new_story_without_projects_says_what_to_do(slack):
    answer = answer_to(slack, "/story", "new")
    assert "/project new" in answer.text_of()
    assert slack.fake.calls_to("views.open") == []


def test_story_modal_fields_and_points_select(slack):
    create_project(slack, "Web shop", "WEB")
    view = open_form(slack, "/story", "new WEB")
    assert view["callback_id"] == ids.STORY_MODAL
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "project",
        "title",
        "description",
        "acceptance_criteria",
        "priority",
        "story_points",
        "tags",
        "status",
        "assignee",
    ]
    points = [o["value"] for o in inputs["story_points"]["options"]]
    assert points == ["0", "1", "2", "3", "5", "8", "13", "21"]
    assert inputs["assignee"]["type"] == "users_select"


def test_show_edit_move_assign(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    assert "Reset password" in answer_to(slack, "/story", "show web-1").text_of()

    view = open_form(slack, "/story", "edit WEB-1")
    assert "project" not in [b.get("block_id") for b in view["blocks"]]
    assert submit(slack, view, title="Reset password by email").status == 200
    assert "Updated." in slack.fake.wait_response(view[RESPONSE_URL]).text_of()

    moved = answer_to(slack, "/story", "move WEB-1 in progress")
    assert "moved to IN_PROGRESS" in moved.text_of()
    assigned = answer_to(slack, "/story", "assign WEB-1 <@U0MARIA|maria>")
    assert "<@U0MARIA>" in assigned.text_of()
    (story,) = _stories(slack_db, slack.team_id)
    assert story.title == "Reset password by email"
    assert story.status == "IN_PROGRESS"
    answer_to(slack, "/story", "assign WEB-1 nobody")
    assert _stories(slack_db, slack.team_id)[0].assignee_id is None


def test_wrong_arguments_say_what_would_work_and_change_nothing(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    cases = {
        "show": "Say which story",
        "show WEB": "is not a story key",
        "show WEB-99": "",
        "move WEB-1": "Say the new status",
        "move WEB-1 LATER": "is not a status",
        "assign WEB-1 bob": "is not a person",
        "list status:nope": "is not a status",
        "list priority:urgent": "is not a priority",
        "list nowhere": "No project named 'nowhere'",
        "search": "Say what to search for",
    }
    for text, expected in cases.items():
        answer = answer_to(slack, "/story", text)
        assert answer.params["response_type"] == "ephemeral"
        assert expected in answer.text_of(), (text, answer.text_of())
    (story,) = _stories(slack_db, slack.team_id)
    assert (story.status, story.assignee_id) == ("DRAFT", None)


def test_list_filters(slack):
    create_project(slack, "Web shop", "WEB")
    create_project(slack, "Mobile", "MOB")
    create_story(slack, "WEB", "Low thing", priority="LOW")
    create_story(slack, "WEB", "Critical thing", priority="CRITICAL", assignee=slack.user_id)
    create_story(slack, "MOB", "Mobile thing", status="READY")
    everything = answer_to(slack, "/story", "list").text_of()
    assert everything.index("Critical thing") < everything.index("Low thing")
    assert "Mobile thing" in everything
    web = answer_to(slack, "/story", "list WEB").text_of()
    assert "Mobile thing" not in web and "Low thing" in web
    assert "Mobile thing" in answer_to(slack, "/story", "list status:ready").text_of()
    mine = answer_to(slack, "/story", "list mine").text_of()
    assert "Critical thing" in mine and "Low thing" not in mine
    assert "Low thing" in answer_to(slack, "/story", "list WEB priority:low").text_of()


def test_list_pages_with_next_and_previous(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    from storage import stories
    from storage.users import ensure_user

    with slack_db.write() as s:
        actor = ensure_user(s, slack.team_id, slack.user_id)
        for n in range(1, 24):
            stories.create_story(s, actor, "WEB", {"title": f"Story {n:02d}", "description": "d"})
    first = answer_to(slack, "/story", "list WEB")
    blocks = first.params["blocks"]
    assert len(blocks) <= 50
    rows = [b for b in blocks if b.get("block_id", "").startswith("story:")]
    assert len(rows) == 10
    nav = next(b for b in blocks if b.get("block_id") == "paging")
    assert [e["action_id"] for e in nav["elements"]] == [ids.PAGE_NEXT]
    assert len(nav["elements"][0]["value"]) < 200  # the payload carries a token, not a state

    def click(page, action_id):
        nav = next(b for b in page.params["blocks"] if b.get("block_id") == "paging")
        button = next(e for e in nav["elements"] if e["action_id"] == action_id)
        _, url = slack.block_action(action_id, value=button["value"])
        turned = slack.fake.wait_response(url)
        assert turned.params["replace_original"] is True
        return turned

    second = click(first, ids.PAGE_NEXT)
    assert "Page 2" in second.text_of()
    third = click(second, ids.PAGE_NEXT)
    third_rows = [b for b in third.params["blocks"] if b.get("block_id", "").startswith("story:")]
    assert len(third_rows) == 3
    assert [e["action_id"] for e in third.params["blocks"][-1]["elements"]] == [ids.PAGE_PREVIOUS]
    back = click(third, ids.PAGE_PREVIOUS)
    assert back.text_of() == second.text_of()
    first_again = click(back, ids.PAGE_PREVIOUS)
    assert "Story 23" in first_again.text_of() and "Page 1" in first_again.text_of()
    seen = first.text_of() + second.text_of() + third.text_of()
    assert all(f"Story {n:02d}" in seen for n in range(1, 24))


def test_a_list_writes_nothing_until_it_is_paged(slack, slack_db):
    from storage.models import Session

    create_project(slack, "Web shop", "WEB")
    for n in range(11):
        create_story(slack, "WEB", f"Story {n}")

    def pagings():
        with slack_db.read() as s:
            return s.scalar(
                select(func.count()).select_from(Session).where(Session.kind == "story_list")
            )

    before = pagings()
    first = answer_to(slack, "/story", "list WEB")
    assert pagings() == before
    nav = next(b for b in first.params["blocks"] if b.get("block_id") == "paging")
    _, url = slack.block_action(ids.PAGE_NEXT, value=nav["elements"][0]["value"])
    assert "Story 0" in slack.fake.wait_response(url).text_of()
    assert pagings() == before + 1


def test_someone_elses_paging_token_is_refused(slack):
    create_project(slack, "Web shop", "WEB")
    for n in range(21):
        create_story(slack, "WEB", f"Story {n}")
    first = answer_to(slack, "/story", "list WEB")
    nav = next(b for b in first.params["blocks"] if b.get("block_id") == "paging")
    _, url = slack.block_action(ids.PAGE_NEXT, value=nav["elements"][0]["value"])
    second = slack.fake.wait_response(url)
    nav = next(b for b in second.params["blocks"] if b.get("block_id") == "paging")
    kept = next(e for e in nav["elements"] if e["action_id"] == ids.PAGE_NEXT)["value"]
    _, url = slack.as_user("U_OTHER").block_action(ids.PAGE_NEXT, value=kept)
    assert "expired" in slack.fake.wait_response(url).text_of()


def test_a_forged_first_page_token_is_refused(slack):
    create_project(slack, "Web shop", "WEB")
    for value in ("~x.y", "~" + "a" * 70 + "...", "~<script>...", "~../../etc.a.b.c"):
        _, url = slack.block_action(ids.PAGE_NEXT, value=value)
        assert "expired" in slack.fake.wait_response(url).text_of()


def test_delete_confirms_then_deletes(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    confirm = answer_to(slack, "/story", "delete WEB-1")
    assert len(_stories(slack_db, slack.team_id)) == 1
    button = confirm.params["blocks"][1]["elements"][0]
    assert button["action_id"] == ids.STORY_DELETE and "confirm" in button
    _, url = slack.block_action(ids.STORY_DELETE, value=button["value"])
    assert "deleted" in slack.fake.wait_response(url).text_of()
    assert _stories(slack_db, slack.team_id) == []


def test_delete_refused_for_a_member_who_did_not_create_it(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password")
    other = slack.as_user("U_OTHER")
    answer_to(other, "/story", "show WEB-1")  # other joins (not admin)
    (story,) = _stories(slack_db, slack.team_id)
    _, url = other.block_action(ids.STORY_DELETE, value=story.id)
    refusal = slack.fake.wait_response(url)
    assert "Only the story's creator" in refusal.text_of()
    assert refusal.params["response_type"] == "ephemeral"
    assert len(_stories(slack_db, slack.team_id)) == 1


def test_search_finds_by_words(slack, slack_db):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password", description="Send a reset link by email")
    create_story(slack, "WEB", "Dark mode", description="Colours at night")
    found = answer_to(slack, "/story", "search email link").text_of()
    assert "Reset password" in found and "Dark mode" not in found
    nothing = answer_to(slack, "/story", "search kangaroo").text_of()
    assert "Nothing matches" in nothing
    with slack_db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) >= 2


def test_move_and_assign_by_command_refresh_the_homes_they_touch(slack):
    create_project(slack, "Web shop", "WEB")
    create_story(slack, "WEB", "Reset password", assignee="U0ANA")
    slack.fake.reset()
    answer_to(slack, "/story", "assign WEB-1 <@U0BOB>")
    for user in ("U0ANA", "U0BOB", slack.user_id):
        slack.fake.wait_for("views.publish", lambda c, u=user: c.params["user_id"] == u)
    bob_home = slack.fake.calls_to("views.publish", lambda c: c.params["user_id"] == "U0BOB")
    assert "Reset password" in bob_home[-1].text_of()
    answer_to(slack, "/story", "move WEB-1 done")
    slack.fake.wait_for("views.publish", lambda c: "*Done* (1)" in c.text_of())


def test_next_past_the_last_page_says_so(slack):
    """An old message's Next (the list has since shrunk, or was clicked twice) keeps the
    page it is on and says it is the last, instead of starting again at page 1."""
    create_project(slack, "Web shop", "WEB")
    for n in range(11):
        create_story(slack, "WEB", f"Story {n}")
    first = answer_to(slack, "/story", "list WEB")
    nav = next(b for b in first.params["blocks"] if b.get("block_id") == "paging")
    _, url = slack.block_action(ids.PAGE_NEXT, value=nav["elements"][0]["value"])
    last = slack.fake.wait_response(url)
    assert "Page 2" in last.text_of() and "last page" not in last.text_of()
    nav = next(b for b in last.params["blocks"] if b.get("block_id") == "paging")
    token = nav["elements"][0]["value"]  # Previous carries the list's token
    _, url = slack.block_action(ids.PAGE_NEXT, value=token)
    again = slack.fake.wait_response(url)
    assert "This is the last page." in again.text_of()
    assert "Page 2" in again.text_of() and "Story 0" in again.text_of()
    assert "Story 10" not in again.text_of()  # not page 1 again
