"""Steps the Slack tests share: open a form by command, submit it, read what came back."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_api import (
    Call,
    SignedSlack,
    answer_of,
    checkbox_values,
    field_value,
    select_value,
    user_value,
)

RESPONSE_URL = "_response_url"


def open_form(slack: SignedSlack, command: str, text: str) -> dict[str, Any]:
    """Run a command that opens a modal; return the view Slack was asked to open.

    The view's `RESPONSE_URL` key is the command's response_url (where answers land)."""
    before = len(slack.fake.calls_to("views.open"))
    reply, url = slack.command(command, text)
    assert reply.status == 200, reply.text
    call = slack.fake.wait_for("views.open", count=before + 1)
    return {**call.params["view"], RESPONSE_URL: url}


def state_for(view: dict[str, Any], **values: Any) -> dict[str, dict[str, Any]]:
    """A submission state for `view`: its initial values, overridden by `values`."""
    state: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        name = block["block_id"]
        kind = element["type"]
        if kind == "plain_text_input":
            initial = element.get("initial_value")
            state[name] = {element["action_id"]: field_value(values.get(name, initial))}
        elif kind == "static_select":
            initial = (element.get("initial_option") or {}).get("value")
            state[name] = {element["action_id"]: select_value(values.get(name, initial))}
        elif kind == "users_select":
            state[name] = {
                element["action_id"]: user_value(values.get(name, element.get("initial_user")))
            }
        elif kind == "checkboxes":
            on = values.get(name, bool(element.get("initial_options")))
            state[name] = {element["action_id"]: checkbox_values("on") if on else checkbox_values()}
    return state


def submit(slack: SignedSlack, view: dict[str, Any], **values: Any):
    """Submit `view` as the user would, with `values` typed over its initial ones."""
    return slack.view_submission(
        view["callback_id"],
        state_for(view, **values),
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )


def create_project(slack: SignedSlack, name: str, key: str | None = None, **values: Any) -> Call:
    """Create a project through /project new; return the project card shown for it."""
    view = open_form(slack, "/project", "new")
    reply = submit(slack, view, name=name, key=key, **values)
    assert reply.status == 200 and not reply.body, reply.text
    return slack.fake.wait_response(view[RESPONSE_URL])


def create_story(slack: SignedSlack, project: str, title: str, **values: Any) -> Call:
    """Create a story through /story new PROJECT; return the card message posted for it."""
    view = open_form(slack, "/story", f"new {project}")
    values.setdefault("description", f"As a user, I want {title.lower()}.")
    reply = submit(slack, view, title=title, **values)
    assert reply.status == 200 and not reply.body, reply.text
    return slack.fake.wait_response(view[RESPONSE_URL])


def answer_to(slack: SignedSlack, command: str, text: str = "") -> Call:
    """Run a command and return its answer: the immediate response, else the response_url's."""
    reply, url = slack.command(command, text)
    assert reply.status == 200, reply.text
    return answer_of(slack.fake, reply, url)
