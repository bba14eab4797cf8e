"""Modals: the project and story forms, the assign picker, and reading their submitted state."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.forms import FORMS, FormField
from bot.ui import ids
from bot.ui.text import SECTION_LIMIT, TITLE_LIMIT, clip, escape, fit

FLAG_ON = "on"
MAX_OPTIONS = 100  # Slack's limit for a static select


def form_modal(
    form: str,
    fields: tuple[FormField, ...],
    initial: dict[str, Any],
    *,
    metadata: str,
    projects: list[Any] | None = None,
    editing: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The project or story modal; `editing` names what is edited ("WEB-7"), else it creates;
    `note` (plain words) is shown above the fields."""
    callback = ids.PROJECT_MODAL if form == "project" else ids.STORY_MODAL
    noun = "project" if form == "project" else "story"
    title = f"Edit {editing}" if editing else f"New {noun}"
    blocks: list[Any] = []
    for field in fields:
        value = initial.get(field.name)
        if field.kind == "project":
            if editing:
                continue  # a story stays in its project
            blocks.append(_project_input(field, value, projects or []))
        elif _too_long(field, value):
            blocks += _kept_as_is(field, str(value))
        else:
            blocks.append(_input(field, value))
    if editing and form == "story":
        blocks.insert(0, ContextBlock(elements=[MarkdownTextObject(text=f"*{escape(editing)}*")]))
    if note:
        text = clip(escape(note), SECTION_LIMIT)
        blocks.insert(0, ContextBlock(elements=[MarkdownTextObject(text=text)]))
    view = View(
        type="modal",
        callback_id=callback,
        title=PlainTextObject(text=clip(title, TITLE_LIMIT)),
        submit=PlainTextObject(text="Save" if editing else "Create"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()


def modal_for(form: Any, *, metadata: str) -> dict[str, Any]:
    """The modal a command's OpenForm reply asks for (bot.commands.OpenForm)."""
    return form_modal(
        form.form,
        FORMS[form.form],
        form.initial,
        metadata=metadata,
        projects=form.projects,
        editing=form.editing if form.target else None,
        note=form.note,
    )


def assign_modal(story: Any, *, metadata: str) -> dict[str, Any]:
    """Pick a person to assign a story to (empty = unassign)."""
    element = UserSelectElement(action_id="assignee", placeholder="Nobody")
    if story.assignee_slack_id:
        element.initial_user = story.assignee_slack_id
    view = View(
        type="modal",
        callback_id=ids.ASSIGN_MODAL,
        title=PlainTextObject(text=clip(f"Assign {story.key}", TITLE_LIMIT)),
        submit=PlainTextObject(text="Assign"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"*{escape(story.key)}* {escape(story.title)}"[:2000])
                ]
            ),
            InputBlock(block_id="assignee", label="Assignee", element=element, optional=True),
        ],
    )
    return view.to_dict()


def _too_long(field: FormField, value: Any) -> bool:
    """A stored text longer than its input may hold (it was saved under an older, looser
    limit): Slack refuses an initial_value over max_length, so it cannot be edited here."""
    typed = field.kind in ("text", "multiline") and value is not None
    return typed and len(str(value)) > field.holds


def _kept_as_is(field: FormField, value: str) -> list[Any]:
    """A field too long for the form: shown (what fits), not editable, kept when saved."""
    shown = fit(value, SECTION_LIMIT - 200)
    return [
        SectionBlock(
            block_id=f"kept:{field.name}",
            text=MarkdownTextObject(text=f"*{escape(field.label)}*\n{shown}"),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=(
                        f"{escape(field.label)} is {len(value):,} characters, more than a form "
                        f"field holds ({field.holds:,}): it is kept as it is when you save."
                    )
                )
            ]
        ),
    ]


def _choices(field: FormField, value: Any) -> tuple[str, ...]:
    """A select's options, with the stored value among them when it is off the list (a
    story of 4 points): Slack refuses an initial_option that is not one of the options."""
    if value in (None, "") or str(value) in field.options:
        return field.options
    choices = (*field.options, str(value))
    if all(choice.isascii() and choice.isdigit() for choice in choices):
        return tuple(sorted(choices, key=int))
    return choices


def _input(field: FormField, value: Any) -> InputBlock:
    element: Any
    if field.kind in ("text", "multiline"):
        element = PlainTextInputElement(
            action_id=field.name,
            multiline=field.kind == "multiline",
            max_length=field.max_length,
            placeholder=field.placeholder,
            initial_value=str(value) if value not in (None, "") else None,
        )
    elif field.kind == "select":
        choices = _choices(field, value)
        options = [Option(value=o, label=o.replace("_", " ").title()) for o in choices]
        element = StaticSelectElement(
            action_id=field.name,
            placeholder=f"Choose {field.label.lower()}",
            options=options,
            initial_option=next((o for o in options if o.value == str(value)), None),
        )
    elif field.kind == "flag":
        option = Option(value=FLAG_ON, label=field.label)
        element = CheckboxesElement(
            action_id=field.name, options=[option], initial_options=[option] if value else None
        )
    elif field.kind == "user":
        element = UserSelectElement(action_id=field.name, placeholder="Nobody")
        if value:
            element.initial_user = value
    else:
        raise ValueError(field.kind)
    label = field.label if field.kind != "flag" else "Option"
    return InputBlock(
        block_id=field.name,
        label=label,
        element=element,
        hint=field.hint,
        optional=field.optional or field.kind == "flag",
    )


def _project_input(field: FormField, value: Any, projects: list[Any]) -> InputBlock:
    options = [
        Option(value=p.id, label=clip(f"{p.name} ({p.key})", 75)) for p in projects[:MAX_OPTIONS]
    ]
    return InputBlock(
        block_id=field.name,
        label=field.label,
        element=StaticSelectElement(
            action_id=field.name,
            placeholder="Choose a project",
            options=options,
            initial_option=next((o for o in options if o.value == value), None),
        ),
        optional=False,
    )


def submitted_values(view: dict[str, Any]) -> dict[str, Any]:
    """{field: value} from a submitted view's state (block_id and action_id are the field)."""
    values: dict[str, Any] = {}
    state = (view.get("state") or {}).get("values") or {}
    for block_id, actions in state.items():
        for _action_id, element in (actions or {}).items():
            values[block_id] = _element_value(element or {})
    return values


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "checkboxes":
        return bool(element.get("selected_options"))
    return element.get("value")
