"""Block Kit for generation: escaped output, Slack's limits, buttons that carry tokens only."""

from __future__ import annotations

import json

from bot.ui import ids
from bot.ui.generation import drafts_message, failed_message, generate_modal, parse_draft_value
from storage.generation.drafts import Draft, DraftReview
from tests.fakes.anthropic_api import sample_story


def review(n: int, *, state: str = "open", **story: object) -> DraftReview:
    return DraftReview(
        token="tok_abc",
        request_id="r" * 32,
        project_key="WEB",
        project_name="Web <b>",
        ai_model="claude-x",
        offline=False,
        feature="Export & share <@U1>",
        drafts=[
            Draft(i, sample_story(i, "f") | story, state, None, [{"key": "WEB-7", "title": "<x>"}])
            for i in range(n)
        ],
    )


def test_everything_claude_wrote_is_escaped() -> None:
    message = drafts_message(review(1, title="<!channel> & <https://evil|click>"))
    dumped = json.dumps(message)
    assert "<!channel>" not in dumped and "<https://evil" not in dumped and "<@U1>" not in dumped
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in dumped
    assert "looks like *WEB-7* (&lt;x&gt;)" in dumped


def test_ten_drafts_and_carried_ones_stay_within_fifty_blocks() -> None:
    assert len(drafts_message(review(10))["blocks"]) <= 50
    assert len(drafts_message(review(15))["blocks"]) <= 50
    long = review(10, description="As a user, " + "very " * 900)
    for block in drafts_message(long)["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def test_buttons_carry_the_token_and_index_only() -> None:
    message = drafts_message(review(2, story_points=13))
    values = {
        e["action_id"]: e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert parse_draft_value(values[ids.AI_DRAFT_SAVE]) == ("tok_abc", 1)
    assert ids.AI_DRAFT_SPLIT in values  # 13 points > 8
    assert values[ids.AI_SAVE_ALL] == "tok_abc"
    assert parse_draft_value("garbage") == ("", -1)


def test_failed_message_has_retry() -> None:
    class Failed:
        id = "f" * 32
        error_message = "Claude is overloaded <now>"

    message = failed_message(Failed())
    dumped = json.dumps(message)
    assert "&lt;now&gt;" in dumped and ids.AI_RETRY in dumped


def test_generate_modal_prefills() -> None:
    class P:
        id, key, name = "p1", "WEB", "Web"

    view = generate_modal([P()], {"project": "p1", "feature": "x", "count": 5}, metadata="m")
    assert view["callback_id"] == ids.AI_GENERATE_MODAL
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["project"]["element"]["initial_option"]["value"] == "p1"
    assert blocks["count"]["element"]["initial_option"]["value"] == "5"
    assert blocks["feature"]["element"]["max_length"] == 2000
