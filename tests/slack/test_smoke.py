"""End to end: project and story created through modals, shown by command."""

from tests.handlers.flows import answer_to, create_project, create_story


def test_project_and_story_round_trip(slack):
    create_project(slack, "Web shop", "WEB")
    card = create_story(slack, "WEB", "Reset password")
    assert "WEB-1" in card.text_of()
    shown = answer_to(slack, "/story", "show WEB-1")
    assert "Reset password" in shown.text_of()
