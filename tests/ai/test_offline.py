"""The offline generator writes stories a team can use: grammatical, each draft its own slice
of the feature, criteria that fit it, Fibonacci points, titles that are not the description."""

from __future__ import annotations

import re

import pytest

from bot.ai.offline import OfflineGenerator, singular, with_article
from bot.ai.schemas import GenerationBrief, ProjectContext, StoryDraft
from storage.fields import MAX_STORIES
from storage.readiness import check_story

FIBONACCI = {1, 2, 3, 5, 8, 13}
GWT = re.compile(r"^Given .+, When .+, Then .+$")
# What issue 13 saw: a plural role after "a", a mangled project key, a word cut in two
WRONG = (
    re.compile(r"\bAs an? [^,]*s,"),  # "As a project managers,"
    re.compile(r"\b[a-z][A-Z]{2,}\b"),  # "fOO", "cSV"
    re.compile(r"\bFOO\b"),  # the project key left in the text
    re.compile(r"\ban? an?\b|\bto to\b|\bI want I\b", re.IGNORECASE),
    re.compile(r"\[[^\]]*\]"),  # "[the benefit - to fill in]"
    re.compile(r"\b(?:want|use|When I) (?:we|I|they|you)\b"),  # "I want we need ..."
    re.compile(r"\b(?:and|or|with|to|be|the|a|an|of)[,.]"),  # a phrase cut mid-way
)

FEATURES = [
    # (feature, audience, the role the stories speak as, the first title)
    ("FOO Export as CSV", None, "a user", "Export as CSV"),
    ("FOO: export the backlog as CSV", "project managers", "a project manager", None),
    (
        "Users can export reports as CSV, and schedule them weekly",
        "the admins",
        "an admin",
        "Export reports as CSV",
    ),
    ("Dark mode", "API consumers", "an API consumer", "Dark mode"),
    (
        "As a support agent, I want to search tickets by customer email so that I can answer "
        "faster",
        None,
        "a support agent",
        "Search tickets by customer email",
    ),
    (
        "Allow users to reset their password by email. Lock the account after 5 failed attempts.",
        "QA engineers",
        "a QA engineer",
        "Reset my password by email",
    ),
    ("Shoppers keep a wishlist of products", None, "a shopper", "Keep a wishlist of products"),
    ("The API returns stories as JSON", "PMs and team leads", "a PM or team lead", None),
    ("Search and filter stories by tag, priority and assignee", "hour-long users", None, None),
    (
        "We need a way to archive finished projects so they no longer clutter the list, and "
        "to restore one later if it was archived by mistake; the whole thing should work for "
        "workspaces with thousands of projects and be visible in the audit log",
        "Product Owners",
        "a product owner",
        None,
    ),
]


def generate(feature: str, audience: str | None, count: int) -> list[StoryDraft]:
    brief = GenerationBrief(
        feature=feature,
        count=count,
        audience=audience,
        project=ProjectContext(key="FOO", name="Foo", settings={"default_priority": "HIGH"}),
    )
    return OfflineGenerator().generate(brief).drafts


@pytest.mark.parametrize(("feature", "audience", "role", "first_title"), FEATURES)
@pytest.mark.parametrize("count", [1, 3, MAX_STORIES])
def test_offline_drafts_are_grammatical_distinct_slices(
    feature: str, audience: str | None, role: str | None, first_title: str | None, count: int
) -> None:
    drafts = generate(feature, audience, count)
    assert len(drafts) == count
    titles = [d.title for d in drafts]
    descriptions = [d.description for d in drafts]
    assert len(set(titles)) == count, titles
    assert len(set(descriptions)) == count, descriptions
    assert len({tuple(d.acceptance_criteria) for d in drafts}) == count
    if first_title:
        assert titles[0] == first_title
    for d in drafts:
        text = " ".join([d.title, d.description, *d.acceptance_criteria])
        for wrong in WRONG:
            assert not wrong.search(text), (wrong.pattern, text)
        assert d.description.startswith(f"As {role}, I want " if role else "As a")
        assert ", so that " in d.description or ", because " in d.description
        assert d.description.endswith(".") and "  " not in d.description
        assert 2 <= len(d.acceptance_criteria) <= 6
        assert all(GWT.match(c) for c in d.acceptance_criteria), d.acceptance_criteria
        assert d.story_points in FIBONACCI
        assert d.title != d.description and len(d.title) <= 120
        if len(feature) > 60:  # a long feature text is not a title
            assert len(d.title) < len(feature) and not feature.startswith(d.title + " ")
        assert d.tags and all(t == t.lower() and " " not in t for t in d.tags)


def test_each_slice_has_criteria_that_fit_it() -> None:
    drafts = generate("Export reports as CSV", "finance staff", MAX_STORIES)
    by_title = {d.title: d for d in drafts}
    core = by_title["Export reports as CSV"]
    assert core.description == (
        "As a finance staff, I want to export reports as CSV, "
        "so that I can do it in one go instead of working around it."
    )
    assert core.acceptance_criteria[0] == (
        "Given I am a finance staff, When I export reports as CSV, "
        "Then I see the result straight away"
    )
    errors = by_title["Export reports as CSV: errors and empty states"]
    assert any("missing" in c for c in errors.acceptance_criteria)
    access = by_title["Export reports as CSV: who may do it"]
    assert any("Given I have no access" in c for c in access.acceptance_criteria)
    scale = by_title["Export reports as CSV: large volumes"]
    assert any("10,000 records" in c for c in scale.acceptance_criteria)
    assert "undo" in by_title["Export reports as CSV: undo and recovery"].description
    # the main flow first, at the project's priority; the others depend on it
    assert drafts[0] is core and core.priority == "HIGH"
    assert all(d.metadata.dependencies == ["Export reports as CSV"] for d in drafts[1:])


def test_the_features_own_benefit_and_role_are_kept() -> None:
    [draft] = generate(
        "As a team lead, I want to see who is overloaded so that I can rebalance work", None, 1
    )
    assert draft.description == (
        "As a team lead, I want to see who is overloaded, so that I can rebalance work."
    )


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("project managers", "a project manager"),
        ("the admins", "an admin"),
        ("admin", "an admin"),
        ("user", "a user"),
        ("users", "a user"),
        ("API consumers", "an API consumer"),
        ("UX designers", "a UX designer"),
        ("SREs", "an SRE"),
        ("people", "a person"),
        ("hourly workers", "an hourly worker"),
        ("secretaries", "a secretary"),
        ("all customers", "a customer"),
        ("Product Owners", "a product owner"),
        ("business analysts", "a business analyst"),
        ("PMs and team leads", "a PM or team lead"),
    ],
)
def test_roles_are_one_person_with_the_right_article(role: str, expected: str) -> None:
    assert with_article(singular(role)) == expected


def test_a_project_key_that_is_also_a_word_is_only_dropped_in_capitals() -> None:
    brief = GenerationBrief(
        feature="Add tags to stories", count=1, project=ProjectContext(key="ADD", name="Add")
    )
    [draft] = OfflineGenerator().generate(brief).drafts
    assert draft.title == "Add tags to stories"


@pytest.mark.parametrize(("count", "head"), [(1, "1 draft for"), (2, "2 drafts for")])
def test_the_console_and_slack_count_drafts_and_points_in_the_right_form(
    count: int, head: str
) -> None:
    from bot.ai.console import draft_lines
    from bot.ui.generation import drafts_message
    from storage.generation.drafts import Draft, DraftReview

    stories = [d.model_dump(mode="json") for d in generate("Export as CSV", None, count)]
    stories[0]["story_points"] = 1
    review = DraftReview(
        token="t",
        request_id="r",
        project_key="FOO",
        project_name="Foo",
        ai_model="offline",
        offline=True,
        feature="Export as CSV",
        drafts=[Draft(i, story, "open", None, []) for i, story in enumerate(stories)],
    )
    lines = draft_lines(review)
    assert lines[0] == f"{head} Foo (FOO)."
    assert "   HIGH · 1 point" in lines
    shown = drafts_message(review)["blocks"][0]["text"]["text"]
    assert shown.startswith(f"*{count} draft {'story' if count == 1 else 'stories'} for Foo")


@pytest.mark.parametrize(("feature", "audience", "role", "first_title"), FEATURES)
def test_offline_drafts_pass_the_readiness_check(
    feature: str, audience: str | None, role: str | None, first_title: str | None
) -> None:
    """Issue 16: what a team sees first without a Claude key is ready to build."""
    for draft in generate(feature, audience, MAX_STORIES):
        assert check_story(draft) == [], draft


def test_no_offline_draft_gives_its_want_back_as_its_benefit():
    """ "I want only the right people to …, so that only the right people can do it" says
    nothing: a draft's benefit is not its want again."""
    for draft in generate("Export the backlog as CSV", "shoppers", MAX_STORIES):
        want, _, benefit = draft.description.partition(", so that ")
        want_words = set(want.lower().split()) - {"i", "want", "to", "the", "a", "as", "when"}
        benefit_words = set(benefit.lower().rstrip(".").split())
        shared = want_words & benefit_words - {"it", "can", "i", "me", "my", "be"}
        assert len(shared) <= 2, (draft.title, shared)
