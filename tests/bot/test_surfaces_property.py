"""Any project and story the domain accepts renders on every surface as Slack accepts it.

Hypothesis makes stories and projects at the edges of the domain's rules (longest titles,
many criteria and tags, unicode, emoji, text that looks like Slack markup) and stories
stored under older, looser limits; each is rendered through every builder that shows one
(card, list row, search results, App Home, digest, edit and assign modals, AI draft review,
project card, list and form), and the strict fake's checker (tests/fakes/block_kit.py) must
find nothing Slack would refuse.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import HomeData, StoryListed, first_page_token
from bot.forms import PROJECT_FORM, STORY_FORM, project_initial, story_initial
from bot.ui.digest import digest_message
from bot.ui.generation import drafts_message, edit_draft_modal
from bot.ui.home import home_view
from bot.ui.lists import project_card, project_list, story_list
from bot.ui.modals import assign_modal, form_modal
from bot.ui.story_card import story_message
from storage import fields
from storage.digests.compose import Change, Digest, StatusTotal, StoryLine
from storage.errors import ValidationFailed
from storage.generation.drafts import Draft, DraftReview
from storage.projects import ProjectInput, ProjectView
from storage.stories import StoryInput, StoryView
from storage.validation import parse
from tests.fakes.block_kit import check_message, check_view

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
TOKEN = "t" * 43  # the length of a session token (secrets.token_urlsafe(32))

# Text that is hard for Slack surfaces: markup look-alikes, escapes that grow, emoji, wide
# and combining characters, right-to-left script, newlines.
TRICKY = [
    "<!channel>",
    "<!here|here>",
    "<@U0BOSS>",
    "&amp;",
    "&",
    "<",
    ">",
    "*bold*",
    "`code`",
    "~strike~",
    "👩‍💻",
    "🚀",
    "e\u0301",
    "漢字",
    "مرحبا",
    "\n",
    " ",
]
text_chars = st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=("Cs",)))


def texts(max_size: int, *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Strings up to about `max_size` characters, often right at the limit."""
    built = st.lists(text_chars, min_size=min_size, max_size=max_size).map("".join)
    at_limit = st.builds(lambda c: (c * max_size)[:max_size], st.sampled_from([*TRICKY, "x"]))
    return st.one_of(built, at_limit).map(lambda t: t[:max_size])


def lines(limit: fields.Lines) -> st.SearchStrategy[list[str]]:
    many_short = st.lists(texts(60, min_size=1), min_size=0, max_size=limit.max_items)
    few_long = st.lists(texts(limit.item_chars, min_size=1), max_size=6)
    return st.one_of(many_short, few_long)


story_inputs = st.fixed_dictionaries(
    {
        "title": texts(fields.TITLE_MAX, min_size=1),
        "description": texts(fields.DESCRIPTION_MAX, min_size=1),
        "acceptance_criteria": lines(fields.CRITERIA),
        "tasks": lines(fields.TASKS),
        "tags": st.lists(texts(fields.TAG_CHARS, min_size=1), max_size=fields.TAGS_MAX),
        "priority": st.sampled_from(fields.PRIORITIES),
        "story_points": st.integers(fields.MIN_POINTS, fields.MAX_POINTS),
        "status": st.sampled_from(fields.STATUSES),
    }
)
project_inputs = st.fixed_dictionaries(
    {
        "name": texts(fields.PROJECT_NAME_MAX, min_size=1),
        "key": st.from_regex(r"[A-Z][A-Z0-9]{1,9}", fullmatch=True),
        "description": st.one_of(st.none(), texts(fields.PROJECT_DESCRIPTION_MAX)),
        "repository_url": st.one_of(
            st.none(), st.just("https://github.com/acme/" + "w" * 470), st.just("https://x.io/")
        ),
        "settings": st.fixed_dictionaries(
            {
                "default_priority": st.sampled_from(fields.PRIORITIES),
                "story_template": st.from_regex(r"[a-z][a-z0-9_-]{0,49}", fullmatch=True),
            }
        ),
    }
)
slack_ids = st.one_of(st.none(), st.from_regex(r"U[A-Z0-9]{8,10}", fullmatch=True))


def accepted(model: type, data: dict[str, Any]) -> Any:
    """The domain's validated form of `data`, or None when the domain refuses it."""
    try:
        return parse(model, data)
    except ValidationFailed:
        return None


def story_view(data: StoryInput, number: int, assignee: str | None, key: str = "WEB") -> StoryView:
    return StoryView(
        id=f"{number:032x}",
        key=f"{key}-{number}",
        project_id="p" * 32,
        project_key=key,
        project_name="Web shop <!channel> & co",
        number=number,
        title=data.title,
        description=data.description,
        acceptance_criteria=data.acceptance_criteria,
        priority=data.priority or "MEDIUM",
        story_points=data.story_points,
        tasks=data.tasks,
        tags=data.tags,
        status=data.status,
        meta={},
        created_by_slack_id="U0CREATOR",
        assignee_slack_id=assignee,
        created_at=NOW,
        updated_at=NOW,
    )


def replace_settings(data: ProjectInput) -> ProjectInput:
    from storage.projects import ProjectSettings

    data.settings = ProjectSettings()
    return data


def project_view(data: ProjectInput, owner: str | None) -> ProjectView:
    return ProjectView(
        id="p" * 32,
        key=data.key or "WEB",
        name=data.name,
        description=data.description,
        repository_url=data.repository_url,
        settings=data.settings.model_dump(),
        channel_id="C0123456789",
        owner_slack_id=owner,
        created_at=NOW,
    )


def assert_slack_takes_message(message: dict[str, Any]) -> None:
    found = check_message(message)
    assert not found, [str(v) for v in found]


def assert_slack_takes_view(view: dict[str, Any]) -> None:
    found = check_view(view)
    assert not found, [str(v) for v in found]


def story_surfaces(story: StoryView, project: ProjectView) -> None:
    assert_slack_takes_message(story_message(story, note="Moved to IN_PROGRESS."))
    assert_slack_takes_message(story_message(story))
    many = [replace(story, id=f"{n:032x}", key=f"WEB-{n}", number=n) for n in range(1, 21)]
    listed = StoryListed(
        f"{project.name} ({project.key}) · {story.status}",
        many,
        paging_token=TOKEN,
        page=3,
        has_previous=True,
        has_next=True,
    )
    assert_slack_takes_message(story_list(listed))
    first = first_page_token({"project_ref": "p" * 32, "status": "IN_PROGRESS"})
    assert_slack_takes_message(story_list(replace(listed, paging_token=first, page=1)))
    searched = StoryListed(f"Stories matching “{story.title}”", many[:20])
    assert_slack_takes_message(story_list(searched))
    home = HomeData(assigned=many[:30], created=[*many[::2], story], projects=[project] * 40)
    assert_slack_takes_view(home_view(home))
    edit = form_modal("story", STORY_FORM, story_initial(story), metadata=TOKEN, editing=story.key)
    assert_slack_takes_view(edit)
    new = form_modal(
        "story",
        STORY_FORM,
        story_initial(None, project=project.id, title=story.title),
        metadata=TOKEN,
        projects=[replace(project, id=f"{n:032x}") for n in range(120)],
        note=story.description,
    )
    assert_slack_takes_view(new)
    assert_slack_takes_view(assign_modal(story, metadata=TOKEN))


def digest_of(story: StoryView, project: ProjectView) -> Digest:
    line = StoryLine(
        story.key,
        story.title,
        story.priority,
        story.status,
        story.story_points,
        story.assignee_slack_id,
        "U0BY",
    )
    change = Change(story.key, story.title, "story.move", "READY", "IN_PROGRESS", "U0BY", NOW)
    return Digest(
        kind="channel",
        team_id="T1",
        channel_id="C1",
        project_key=project.key,
        project_name=project.name,
        frequency="weekly",
        since=NOW - timedelta(days=7),
        until=NOW,
        timezone="Europe/Berlin",
        created=[line] * 10,
        created_total=250,
        moved=[change] * 10,
        moved_total=300,
        finished=[change] * 10,
        finished_total=120,
        totals=[StatusTotal(s, 99_999, 999_999) for s in fields.STATUSES],
        urgent=[line] * 10,
        urgent_total=40,
        open_stories=[line] * 10,
        open_total=77,
    )


def review_of(story: StoryView, project: ProjectView) -> DraftReview:
    draft = {
        "title": story.title,
        "description": story.description,
        "acceptance_criteria": story.acceptance_criteria,
        "tasks": story.tasks,
        "tags": story.tags,
        "priority": story.priority,
        "story_points": story.story_points,
        "metadata": {"complexity": "high", "estimated_hours": 40, "ai_confidence": 0.5},
    }
    similar = [{"key": "WEB-1", "title": story.title}] * 3
    states = ["open", "saved", "discarded", "splitting"] * 3
    drafts = [
        Draft(i, draft, state, "WEB-9" if state == "saved" else None, similar)
        for i, state in enumerate(states[:10])
    ]
    return DraftReview(
        TOKEN, "r" * 32, project.key, project.name, "claude-x", False, story.description, drafts
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(story_inputs, project_inputs, slack_ids)
def test_every_surface_takes_any_story_and_project_the_domain_accepts(raw, raw_project, who):
    data = accepted(StoryInput, raw)
    project_data = accepted(ProjectInput, raw_project)
    if data is None or project_data is None:
        return  # the domain refuses it: nothing to show
    story = story_view(data, 999_999_999, who, key=project_data.key or "WEB")
    project = project_view(project_data, who)
    story_surfaces(story, project)
    assert_slack_takes_message(digest_message(digest_of(story, project)))
    assert_slack_takes_message(project_card(project, note="Project updated."))
    assert_slack_takes_message(project_list([project] * 150))
    edit = form_modal(
        "project", PROJECT_FORM, project_initial(project), metadata=TOKEN, editing=project.key
    )
    assert_slack_takes_view(edit)
    review = review_of(story, project)
    assert_slack_takes_message(drafts_message(review))
    assert_slack_takes_view(edit_draft_modal(review.drafts[0].story, metadata=TOKEN))


@SETTINGS
@given(
    st.integers(fields.DESCRIPTION_MAX + 1, 10_000),
    st.lists(texts(500, min_size=1), min_size=7, max_size=30),
    st.integers(0, fields.MAX_POINTS),
    st.sampled_from(TRICKY),
)
def test_stories_stored_under_older_limits_still_render(length, criteria, points, char):
    """Stories saved before today's limits (descriptions of 10,000 characters, 30 criteria of
    500, off-scale points) show what fits, and their edit form keeps what it cannot hold."""
    long = StoryInput.model_construct(
        title="Old story",
        description=(char * length)[:length],
        acceptance_criteria=criteria,
        tasks=criteria,
        tags=["legacy"],
        priority="LOW",
        story_points=points,
        status="DONE",
    )
    story = story_view(long, 7, "U0ASSIGNEE")
    older = ProjectInput.model_construct(
        name="Old", key="OLD", description="d&" * 2000, repository_url=None
    )
    project = project_view(replace_settings(older), None)
    story_surfaces(story, project)
    edit = form_modal(
        "project", PROJECT_FORM, project_initial(project), metadata=TOKEN, editing=project.key
    )
    assert_slack_takes_view(edit)
