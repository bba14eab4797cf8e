"""tests/fakes/block_kit.py: every limit once on the right side of it and once past it.

`CASES` is the table: `limit(...)` makes two rows per limit, a payload Slack takes (no
violation at all) and one it refuses (a violation whose "message [json-pointer:...]"
contains the expected fragment).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.block_kit import (
    Violation,
    check_blocks,
    check_message,
    check_view,
    check_view_errors,
)

# --- Payload builders: each gives something Slack takes, tweaked by keyword ---------------


def x(n: int) -> str:
    return "x" * n


def plain(text: str = "Hi", **extra: Any) -> dict:
    return {"type": "plain_text", "text": text, **extra}


def md(text: str = "Hi", **extra: Any) -> dict:
    return {"type": "mrkdwn", "text": text, **extra}


def section(text: str = "Hi", **extra: Any) -> dict:
    return {"type": "section", "text": md(text), **extra}


def divider(**extra: Any) -> dict:
    return {"type": "divider", **extra}


def header(text: dict | None = None) -> dict:
    return {"type": "header", "text": text or plain()}


def context(*elements: dict) -> dict:
    return {"type": "context", "elements": list(elements)}


def actions(*elements: dict, **extra: Any) -> dict:
    return {"type": "actions", "elements": list(elements), **extra}


def image_block(**extra: Any) -> dict:
    return {"type": "image", "image_url": "https://e.test/a.png", "alt_text": "A", **extra}


def image_element(**extra: Any) -> dict:
    return {"type": "image", "image_url": "https://e.test/a.png", "alt_text": "A", **extra}


def input_block(element: dict | None = None, **extra: Any) -> dict:
    block = {"type": "input", "block_id": "in", "label": plain("Label"), **extra}
    return block if element is None else {**block, "element": element}


def button(text: str = "Go", **extra: Any) -> dict:
    return {"type": "button", "text": plain(text), "action_id": "go", **extra}


def buttons(n: int) -> list[dict]:
    return [button(action_id=f"b{i}") for i in range(n)]


def option(text: str = "One", value: str = "one", **extra: Any) -> dict:
    return {"text": plain(text), "value": value, **extra}


def options(n: int) -> list[dict]:
    return [option(f"Option {i}", f"v{i}") for i in range(n)]


def select(*opts: dict, **extra: Any) -> dict:
    element = {"type": "static_select", "action_id": "s", "placeholder": plain("Pick")}
    return {**element, "options": list(opts) or [option()], **extra}


def grouped_select(groups: list[dict], **extra: Any) -> dict:
    return {"type": "static_select", "action_id": "s", "option_groups": groups, **extra}


def group(opts: list[dict], label: str = "Group") -> dict:
    return {"label": plain(label), "options": opts}


def users(**extra: Any) -> dict:
    return {"type": "users_select", "action_id": "u", **extra}


def overflow(opts: list[dict]) -> dict:
    return {"type": "overflow", "action_id": "o", "options": opts}


def checkboxes(opts: list[dict], **extra: Any) -> dict:
    return {"type": "checkboxes", "action_id": "c", "options": opts, **extra}


def radios(opts: list[dict], **extra: Any) -> dict:
    return {"type": "radio_buttons", "action_id": "r", "options": opts, **extra}


def text_input(**extra: Any) -> dict:
    return {"type": "plain_text_input", "action_id": "t", **extra}


def datepicker(**extra: Any) -> dict:
    return {"type": "datepicker", "action_id": "d", **extra}


def confirm(**extra: Any) -> dict:
    dialog = {"title": plain("Sure?"), "text": md("Really?"), "confirm": plain("Yes")}
    return {**dialog, "deny": plain("No"), **extra}


def msg(*blocks: dict, text: str = "Fallback") -> dict:
    return {"channel": "C1", "text": text, "blocks": list(blocks)}


def modal(*blocks: dict, **extra: Any) -> dict:
    view = {"type": "modal", "title": plain("Title"), "submit": plain("Save")}
    return {**view, "blocks": list(blocks), **extra}


def home(*blocks: dict, **extra: Any) -> dict:
    return {"type": "home", "blocks": list(blocks), **extra}


def without(payload: dict, *names: str) -> dict:
    return {k: v for k, v in payload.items() if k not in names}


# One of each element an input block takes.
INPUTS = [
    text_input(),
    select(),
    users(),
    datepicker(),
    checkboxes(options(2)),
    radios(options(2)),
]


def accessory(element: dict) -> dict:
    """A message whose one section carries `element` (pointers: /blocks/0/accessory)."""
    return msg(section(accessory=element))


def in_actions(*elements: dict) -> dict:
    """A message whose one actions block holds `elements` (/blocks/0/elements/N)."""
    return msg(actions(*elements))


def in_modal(element: dict) -> dict:
    """A modal whose one input block holds `element` (/view/blocks/0/element)."""
    return modal(input_block(element))


# --- The table ----------------------------------------------------------------------------

CHECKS = {
    "message": check_message,
    "view": check_view,
    "errors": lambda pair: check_view_errors(*pair),
}


def limit(name: str, check: str, ok: Any, refused: Any, fragment: str) -> list[Any]:
    """Two rows for one limit: `ok` passes clean, `refused` is refused with `fragment`."""
    return [
        pytest.param(check, ok, None, id=f"{name}: ok"),
        pytest.param(check, refused, fragment, id=f"{name}: refused"),
    ]


CASES = [
    # Surfaces: blocks per surface, and the blocks argument itself.
    *limit(
        "message holds 50 blocks",
        "message",
        msg(*[divider()] * 50),
        msg(*[divider()] * 51),
        "no more than 50 items allowed [json-pointer:/blocks]",
    ),
    *limit(
        "modal holds 100 blocks",
        "view",
        modal(*[divider()] * 100),
        modal(*[divider()] * 101),
        "no more than 100 items allowed [json-pointer:/view/blocks]",
    ),
    *limit(
        "home holds 100 blocks",
        "view",
        home(*[divider()] * 100),
        home(*[divider()] * 101),
        "no more than 100 items allowed [json-pointer:/view/blocks]",
    ),
    *limit(
        "blocks is an array",
        "message",
        msg(divider()),
        {"text": "Hi", "blocks": {"type": "divider"}},
        "must be an array [json-pointer:/blocks]",
    ),
    *limit(
        "unknown block type",
        "message",
        msg(section()),
        msg({"type": "table"}),
        "unsupported type: table [json-pointer:/blocks/0]",
    ),
    *limit(
        "block type required",
        "message",
        msg(divider()),
        msg({"block_id": "a"}),
        "missing required field: type [json-pointer:/blocks/0]",
    ),
    # Message text.
    *limit(
        "message text 40000",
        "message",
        {"text": x(40000)},
        {"text": x(40001)},
        "must be less than 40001 characters [json-pointer:/text]",
    ),
    *limit(
        "message text or blocks (no_text)",
        "message",
        {"text": "Hi"},
        {"text": " \n "},
        "no_text [json-pointer:/text]",
    ),
    *limit(
        "message of blocks alone (no_text)",
        "message",
        {"blocks": [section()]},
        {"blocks": []},
        "no_text",
    ),
    *limit(
        "response_url delete_original needs no text",
        "message",
        {"delete_original": True},
        {"delete_original": False},
        "no_text",
    ),
    # Text objects.
    *limit(
        "text object type",
        "message",
        msg(section()),
        msg({"type": "section", "text": {"type": "markdown", "text": "Hi"}}),
        "must be a valid enum value (one of: plain_text, mrkdwn) "
        "[json-pointer:/blocks/0/text/type]",
    ),
    *limit(
        "text object not empty",
        "message",
        msg(section("x")),
        msg(section("")),
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
    ),
    *limit(
        "text object not blank",
        "message",
        msg(section(" x ")),
        msg(section(" \n\t ")),
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
    ),
    *limit(
        "text object text is a string",
        "message",
        msg(section("5")),
        msg({"type": "section", "text": {"type": "mrkdwn", "text": 5}}),
        "must be a string [json-pointer:/blocks/0/text/text]",
    ),
    *limit(
        "emoji only on plain_text",
        "message",
        msg({"type": "section", "text": plain(emoji=True)}),
        msg({"type": "section", "text": md(emoji=True)}),
        "invalid additional property: emoji [json-pointer:/blocks/0/text]",
    ),
    *limit(
        "verbatim only on mrkdwn",
        "message",
        msg({"type": "section", "text": md(verbatim=True)}),
        msg({"type": "section", "text": plain(verbatim=True)}),
        "invalid additional property: verbatim [json-pointer:/blocks/0/text]",
    ),
    *limit(
        "emoji is a boolean",
        "message",
        msg(header(plain(emoji=False))),
        msg(header(plain(emoji="yes"))),
        "must be a boolean [json-pointer:/blocks/0/text/emoji]",
    ),
    # Section.
    *limit(
        "section text 3000",
        "message",
        msg(section(x(3000))),
        msg(section(x(3001))),
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
    ),
    *limit(
        "section text or fields",
        "message",
        msg({"type": "section", "fields": [md()]}),
        msg({"type": "section"}),
        "must define either `text` or `fields` [json-pointer:/blocks/0]",
    ),
    *limit(
        "section fields 10",
        "message",
        msg({"type": "section", "fields": [md()] * 10}),
        msg({"type": "section", "fields": [md()] * 11}),
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
    ),
    *limit(
        "section field text 2000",
        "message",
        msg({"type": "section", "fields": [md(x(2000))]}),
        msg({"type": "section", "fields": [md(x(2001))]}),
        "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
    ),
    *limit(
        "section accessory element",
        "message",
        accessory(button()),
        accessory(text_input()),
        "unsupported type: plain_text_input (not allowed in section blocks) "
        "[json-pointer:/blocks/0/accessory]",
    ),
    *limit(
        "section accessory known type",
        "message",
        accessory(image_element()),
        accessory({"type": "rocket"}),
        "unsupported type: rocket [json-pointer:/blocks/0/accessory]",
    ),
    # Header.
    *limit(
        "header text is plain_text",
        "message",
        msg(header(plain())),
        msg(header(md())),
        "must be a valid enum value (one of: plain_text) [json-pointer:/blocks/0/text/type]",
    ),
    *limit(
        "header text 150",
        "message",
        msg(header(plain(x(150)))),
        msg(header(plain(x(151)))),
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
    ),
    *limit(
        "header text required",
        "message",
        msg(header()),
        msg({"type": "header"}),
        "missing required field: text [json-pointer:/blocks/0]",
    ),
    # Context.
    *limit(
        "context at most 10 elements",
        "message",
        msg(context(*[md()] * 10)),
        msg(context(*[md()] * 11)),
        "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
    ),
    *limit(
        "context at least 1 element",
        "message",
        msg(context(md())),
        msg(context()),
        "must provide at least 1 items [json-pointer:/blocks/0/elements]",
    ),
    *limit(
        "context holds text and images only",
        "message",
        msg(context(image_element(), plain(), md())),
        msg(context(button())),
        "unsupported type: button (not allowed in context blocks) "
        "[json-pointer:/blocks/0/elements/0]",
    ),
    *limit(
        "context text 3000",
        "message",
        msg(context(md(x(3000)))),
        msg(context(md(x(3001)))),
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]",
    ),
    # Actions.
    *limit(
        "actions at most 25 elements",
        "message",
        msg(actions(*buttons(25))),
        msg(actions(*buttons(26))),
        "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
    ),
    *limit(
        "actions at least 1 element",
        "message",
        msg(actions(button())),
        msg(actions()),
        "must provide at least 1 items [json-pointer:/blocks/0/elements]",
    ),
    *limit(
        "actions elements are interactive",
        "message",
        in_actions(select(), users(), overflow(options(2)), datepicker(), button()),
        in_actions(image_element()),
        "unsupported type: image (not allowed in actions blocks) "
        "[json-pointer:/blocks/0/elements/0]",
    ),
    # Divider.
    *limit(
        "divider holds nothing",
        "message",
        msg(divider(block_id="d")),
        msg(divider(text=md())),
        "invalid additional property: text [json-pointer:/blocks/0]",
    ),
    # Input.
    *limit(
        "input label is plain_text",
        "view",
        modal(input_block(text_input())),
        modal(input_block(text_input(), label=md())),
        "must be a valid enum value (one of: plain_text) [json-pointer:/view/blocks/0/label/type]",
    ),
    *limit(
        "input label 2000",
        "view",
        modal(input_block(text_input(), label=plain(x(2000)))),
        modal(input_block(text_input(), label=plain(x(2001)))),
        "must be less than 2001 characters [json-pointer:/view/blocks/0/label/text]",
    ),
    *limit(
        "input hint 2000",
        "view",
        modal(input_block(text_input(), hint=plain(x(2000)))),
        modal(input_block(text_input(), hint=plain(x(2001)))),
        "must be less than 2001 characters [json-pointer:/view/blocks/0/hint/text]",
    ),
    *limit(
        "input hint is plain_text",
        "view",
        modal(input_block(text_input(), hint=plain())),
        modal(input_block(text_input(), hint=md())),
        "must be a valid enum value (one of: plain_text) [json-pointer:/view/blocks/0/hint/type]",
    ),
    *limit(
        "input element required",
        "view",
        modal(input_block(text_input())),
        modal(input_block()),
        "missing required field: element [json-pointer:/view/blocks/0]",
    ),
    *limit(
        "input label required",
        "view",
        modal(input_block(text_input())),
        modal(without(input_block(text_input()), "label")),
        "missing required field: label [json-pointer:/view/blocks/0]",
    ),
    *limit(
        "input element takes input",
        "view",
        modal(*[input_block(e, block_id=f"i{n}") for n, e in enumerate(INPUTS)]),
        modal(input_block(button())),
        "unsupported type: button (not allowed in input blocks) "
        "[json-pointer:/view/blocks/0/element]",
    ),
    *limit(
        "input optional is a boolean",
        "view",
        modal(input_block(text_input(), optional=True)),
        modal(input_block(text_input(), optional="yes")),
        "must be a boolean [json-pointer:/view/blocks/0/optional]",
    ),
    *limit(
        "input blocks in a message",
        "message",
        msg(input_block(text_input())),
        msg(input_block(text_input(), dispatch_action="no")),
        "must be a boolean [json-pointer:/blocks/0/dispatch_action]",
    ),
    # Image block.
    *limit(
        "image_url 3000",
        "message",
        msg(image_block(image_url=x(3000))),
        msg(image_block(image_url=x(3001))),
        "must be less than 3001 characters [json-pointer:/blocks/0/image_url]",
    ),
    *limit(
        "image alt_text 2000",
        "message",
        msg(image_block(alt_text=x(2000))),
        msg(image_block(alt_text=x(2001))),
        "must be less than 2001 characters [json-pointer:/blocks/0/alt_text]",
    ),
    *limit(
        "image alt_text required",
        "message",
        msg(image_block()),
        msg(without(image_block(), "alt_text")),
        "missing required field: alt_text [json-pointer:/blocks/0]",
    ),
    *limit(
        "image title 2000",
        "message",
        msg(image_block(title=plain(x(2000)))),
        msg(image_block(title=plain(x(2001)))),
        "must be less than 2001 characters [json-pointer:/blocks/0/title/text]",
    ),
    *limit(
        "image title is plain_text",
        "message",
        msg(image_block(title=plain())),
        msg(image_block(title=md())),
        "must be a valid enum value (one of: plain_text) [json-pointer:/blocks/0/title/type]",
    ),
    *limit(
        "image_url or slack_file",
        "message",
        msg(without(image_block(), "image_url") | {"slack_file": {"id": "F1"}}),
        msg(without(image_block(), "image_url")),
        "must define either `image_url` or `slack_file` [json-pointer:/blocks/0]",
    ),
    # block_id.
    *limit(
        "block_id unique in a message",
        "message",
        msg(divider(block_id="a"), divider(block_id="b")),
        msg(divider(block_id="a"), divider(block_id="a")),
        "duplicate block_id: a [json-pointer:/blocks/1/block_id]",
    ),
    *limit(
        "block_id unique in a view",
        "view",
        modal(input_block(text_input()), section(block_id="other")),
        modal(input_block(text_input()), section(block_id="in")),
        "duplicate block_id: in [json-pointer:/view/blocks/1/block_id]",
    ),
    *limit(
        "block_id 255",
        "message",
        msg(divider(block_id=x(255))),
        msg(divider(block_id=x(256))),
        "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
    ),
    *limit(
        "block_id not empty",
        "message",
        msg(divider(block_id="a")),
        msg(divider(block_id="")),
        "must be more than 0 characters [json-pointer:/blocks/0/block_id]",
    ),
    # action_id.
    *limit(
        "action_id unique in a block",
        "message",
        msg(actions(button(action_id="a"), button(action_id="b")), actions(button(action_id="a"))),
        msg(actions(button(action_id="a"), button(action_id="a"))),
        "duplicate action_id: a [json-pointer:/blocks/0/elements/1/action_id]",
    ),
    *limit(
        "action_id 255",
        "message",
        in_actions(button(action_id=x(255))),
        in_actions(button(action_id=x(256))),
        "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
    ),
    # Button.
    *limit(
        "button text is plain_text",
        "message",
        in_actions(button()),
        in_actions({"type": "button", "text": md("Go"), "action_id": "go"}),
        "must be a valid enum value (one of: plain_text) "
        "[json-pointer:/blocks/0/elements/0/text/type]",
    ),
    *limit(
        "button text 75",
        "message",
        in_actions(button(x(75))),
        in_actions(button(x(76))),
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
    ),
    *limit(
        "button value 2000",
        "message",
        in_actions(button(value=x(2000))),
        in_actions(button(value=x(2001))),
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
    ),
    *limit(
        "button url 3000",
        "message",
        in_actions(button(url=x(3000))),
        in_actions(button(url=x(3001))),
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
    ),
    *limit(
        "button style",
        "message",
        in_actions(button(style="primary"), button(style="danger", action_id="d")),
        in_actions(button(style="secondary")),
        "must be a valid enum value (one of: primary, danger) "
        "[json-pointer:/blocks/0/elements/0/style]",
    ),
    *limit(
        "button confirm is a confirm object",
        "message",
        in_actions(button(confirm=confirm())),
        in_actions(button(confirm=without(confirm(), "deny"))),
        "missing required field: deny [json-pointer:/blocks/0/elements/0/confirm]",
    ),
    # Confirm objects.
    *limit(
        "confirm title 100",
        "message",
        in_actions(button(confirm=confirm(title=plain(x(100))))),
        in_actions(button(confirm=confirm(title=plain(x(101))))),
        "must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]",
    ),
    *limit(
        "confirm title is plain_text",
        "message",
        in_actions(button(confirm=confirm())),
        in_actions(button(confirm=confirm(title=md()))),
        "must be a valid enum value (one of: plain_text) "
        "[json-pointer:/blocks/0/elements/0/confirm/title/type]",
    ),
    *limit(
        "confirm text 300",
        "message",
        in_actions(button(confirm=confirm(text=md(x(300))))),
        in_actions(button(confirm=confirm(text=md(x(301))))),
        "must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text/text]",
    ),
    *limit(
        "confirm confirm 30",
        "message",
        in_actions(button(confirm=confirm(confirm=plain(x(30))))),
        in_actions(button(confirm=confirm(confirm=plain(x(31))))),
        "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/confirm/text]",
    ),
    *limit(
        "confirm deny 30",
        "message",
        in_actions(button(confirm=confirm(deny=plain(x(30))))),
        in_actions(button(confirm=confirm(deny=plain(x(31))))),
        "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/deny/text]",
    ),
    *limit(
        "confirm deny is plain_text",
        "message",
        in_actions(button(confirm=confirm())),
        in_actions(button(confirm=confirm(deny=md()))),
        "must be a valid enum value (one of: plain_text) "
        "[json-pointer:/blocks/0/elements/0/confirm/deny/type]",
    ),
    *limit(
        "confirm style",
        "message",
        in_actions(button(confirm=confirm(style="danger"))),
        in_actions(button(confirm=confirm(style="warning"))),
        "must be a valid enum value (one of: primary, danger) "
        "[json-pointer:/blocks/0/elements/0/confirm/style]",
    ),
    # Option objects.
    *limit(
        "option text 75",
        "message",
        in_actions(select(option(x(75)))),
        in_actions(select(option(x(76)))),
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
    ),
    *limit(
        "option value 150",
        "message",
        in_actions(select(option(value=x(150)))),
        in_actions(select(option(value=x(151)))),
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
    ),
    *limit(
        "option value required",
        "message",
        in_actions(select(option())),
        in_actions(select({"text": plain()})),
        "missing required field: value [json-pointer:/blocks/0/elements/0/options/0]",
    ),
    *limit(
        "option description 75",
        "message",
        in_actions(select(option(description=plain(x(75))))),
        in_actions(select(option(description=plain(x(76))))),
        "must be less than 76 characters "
        "[json-pointer:/blocks/0/elements/0/options/0/description/text]",
    ),
    *limit(
        "menu option text is plain_text (checkboxes may use mrkdwn)",
        "message",
        in_actions(checkboxes([{"text": md("*One*"), "value": "one", "description": md()}])),
        in_actions(select({"text": md("*One*"), "value": "one"})),
        "must be a valid enum value (one of: plain_text) "
        "[json-pointer:/blocks/0/elements/0/options/0/text/type]",
    ),
    *limit(
        "option url in overflow menus only",
        "message",
        in_actions(overflow([option(url="https://e.test"), option("Two", "two")])),
        in_actions(select(option(url="https://e.test"))),
        "invalid additional property: url [json-pointer:/blocks/0/elements/0/options/0]",
    ),
    *limit(
        "overflow option url 3000",
        "message",
        in_actions(overflow([option(url=x(3000))])),
        in_actions(overflow([option(url=x(3001))])),
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/options/0/url]",
    ),
    # static_select.
    *limit(
        "select at most 100 options",
        "message",
        in_actions(select(*options(100))),
        in_actions(select(*options(101))),
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]",
    ),
    *limit(
        "select at least 1 option",
        "message",
        in_actions(select(option())),
        in_actions({**select(), "options": []}),
        "must provide at least 1 items [json-pointer:/blocks/0/elements/0/options]",
    ),
    *limit(
        "select at most 100 option groups",
        "message",
        in_actions(grouped_select([group([option(f"{i}", f"v{i}")]) for i in range(100)])),
        in_actions(grouped_select([group([option(f"{i}", f"v{i}")]) for i in range(101)])),
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/option_groups]",
    ),
    *limit(
        "option group label 75",
        "message",
        in_actions(grouped_select([group([option()], label=x(75))])),
        in_actions(grouped_select([group([option()], label=x(76))])),
        "must be less than 76 characters "
        "[json-pointer:/blocks/0/elements/0/option_groups/0/label/text]",
    ),
    *limit(
        "select options or option_groups, not both",
        "message",
        in_actions(grouped_select([group([option()])])),
        in_actions(grouped_select([group([option()])], options=[option("Two", "two")])),
        "must define only one of `options` and `option_groups` [json-pointer:/blocks/0/elements/0]",
    ),
    *limit(
        "select options or option_groups, one of them",
        "message",
        in_actions(select(option())),
        in_actions(without(select(), "options")),
        "must define either `options` or `option_groups` [json-pointer:/blocks/0/elements/0]",
    ),
    *limit(
        "select option values unique",
        "message",
        in_actions(select(option("One", "one"), option("Two", "two"))),
        in_actions(select(option("One", "one"), option("Two", "one"))),
        "duplicate option value: one [json-pointer:/blocks/0/elements/0/options/1/value]",
    ),
    *limit(
        "grouped option values unique across groups",
        "message",
        in_actions(grouped_select([group([option("A", "a")]), group([option("B", "b")])])),
        in_actions(grouped_select([group([option("A", "a")]), group([option("B", "a")])])),
        "duplicate option value: a "
        "[json-pointer:/blocks/0/elements/0/option_groups/1/options/0/value]",
    ),
    *limit(
        "select initial_option is one of the options (value)",
        "message",
        in_actions(select(option(), option("Two", "two"), initial_option=option("Two", "two"))),
        in_actions(select(option(), initial_option=option("One", "uno"))),
        "must exactly match one of the options [json-pointer:/blocks/0/elements/0/initial_option]",
    ),
    *limit(
        "select initial_option is one of the options (text)",
        "message",
        in_actions(select(option(), initial_option=option())),
        in_actions(select(option(), initial_option=option("Uno", "one"))),
        "must exactly match one of the options [json-pointer:/blocks/0/elements/0/initial_option]",
    ),
    *limit(
        "grouped select initial_option",
        "message",
        in_actions(grouped_select([group([option()])], initial_option=option())),
        in_actions(grouped_select([group([option()])], initial_option=option("Two", "two"))),
        "must exactly match one of the options [json-pointer:/blocks/0/elements/0/initial_option]",
    ),
    *limit(
        "select placeholder 150",
        "message",
        in_actions(select(placeholder=plain(x(150)))),
        in_actions(select(placeholder=plain(x(151)))),
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/placeholder/text]",
    ),
    *limit(
        "select placeholder is plain_text",
        "message",
        in_actions(select(placeholder=plain())),
        in_actions(select(placeholder=md())),
        "must be a valid enum value (one of: plain_text) "
        "[json-pointer:/blocks/0/elements/0/placeholder/type]",
    ),
    # users_select.
    *limit(
        "users_select placeholder 150",
        "view",
        in_modal(users(placeholder=plain(x(150)))),
        in_modal(users(placeholder=plain(x(151)))),
        "must be less than 151 characters [json-pointer:/view/blocks/0/element/placeholder/text]",
    ),
    *limit(
        "users_select initial_user is a string",
        "view",
        in_modal(users(initial_user="U1")),
        in_modal(users(initial_user=42)),
        "must be a string [json-pointer:/view/blocks/0/element/initial_user]",
    ),
    # Overflow.
    *limit(
        "overflow at most 5 options",
        "message",
        accessory(overflow(options(5))),
        accessory(overflow(options(6))),
        "no more than 5 items allowed [json-pointer:/blocks/0/accessory/options]",
    ),
    *limit(
        "overflow at least 1 option",
        "message",
        accessory(overflow(options(1))),
        accessory(overflow([])),
        "must provide at least 1 items [json-pointer:/blocks/0/accessory/options]",
    ),
    # Checkboxes and radio buttons.
    *limit(
        "checkboxes at most 10 options",
        "view",
        in_modal(checkboxes(options(10))),
        in_modal(checkboxes(options(11))),
        "no more than 10 items allowed [json-pointer:/view/blocks/0/element/options]",
    ),
    *limit(
        "checkboxes at least 1 option",
        "view",
        in_modal(checkboxes(options(1))),
        in_modal(checkboxes([])),
        "must provide at least 1 items [json-pointer:/view/blocks/0/element/options]",
    ),
    *limit(
        "checkboxes initial_options are options",
        "view",
        in_modal(checkboxes(options(3), initial_options=options(3)[1:])),
        in_modal(checkboxes(options(3), initial_options=[options(3)[0], option("Nine", "v9")])),
        "must exactly match one of the options "
        "[json-pointer:/view/blocks/0/element/initial_options/1]",
    ),
    *limit(
        "radio buttons at most 10 options",
        "view",
        in_modal(radios(options(10))),
        in_modal(radios(options(11))),
        "no more than 10 items allowed [json-pointer:/view/blocks/0/element/options]",
    ),
    *limit(
        "radio buttons at least 1 option",
        "view",
        in_modal(radios(options(1))),
        in_modal(radios([])),
        "must provide at least 1 items [json-pointer:/view/blocks/0/element/options]",
    ),
    *limit(
        "radio buttons initial_option is an option",
        "view",
        in_modal(radios(options(2), initial_option=options(2)[1])),
        in_modal(radios(options(2), initial_option=option("Nine", "v9"))),
        "must exactly match one of the options "
        "[json-pointer:/view/blocks/0/element/initial_option]",
    ),
    # plain_text_input.
    *limit(
        "plain_text_input min_length 0..3000 (low)",
        "view",
        in_modal(text_input(min_length=0)),
        in_modal(text_input(min_length=-1)),
        "must be between 0 and 3000 [json-pointer:/view/blocks/0/element/min_length]",
    ),
    *limit(
        "plain_text_input min_length 0..3000 (high)",
        "view",
        in_modal(text_input(min_length=3000)),
        in_modal(text_input(min_length=3001)),
        "must be between 0 and 3000 [json-pointer:/view/blocks/0/element/min_length]",
    ),
    *limit(
        "plain_text_input max_length 1..3000 (low)",
        "view",
        in_modal(text_input(max_length=1)),
        in_modal(text_input(max_length=0)),
        "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]",
    ),
    *limit(
        "plain_text_input max_length 1..3000 (high)",
        "view",
        in_modal(text_input(max_length=3000)),
        in_modal(text_input(max_length=3001)),
        "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]",
    ),
    *limit(
        "plain_text_input max_length is an integer",
        "view",
        in_modal(text_input(max_length=10)),
        in_modal(text_input(max_length="10")),
        "must be an integer [json-pointer:/view/blocks/0/element/max_length]",
    ),
    *limit(
        "plain_text_input min_length <= max_length",
        "view",
        in_modal(text_input(min_length=5, max_length=5)),
        in_modal(text_input(min_length=6, max_length=5)),
        "must not be greater than max_length [json-pointer:/view/blocks/0/element/min_length]",
    ),
    *limit(
        "plain_text_input initial_value within max_length",
        "view",
        in_modal(text_input(max_length=10, initial_value=x(10))),
        in_modal(text_input(max_length=10, initial_value=x(11))),
        "must be less than 11 characters [json-pointer:/view/blocks/0/element/initial_value]",
    ),
    *limit(
        "plain_text_input initial_value 3000 without max_length",
        "view",
        in_modal(text_input(initial_value=x(3000))),
        in_modal(text_input(initial_value=x(3001))),
        "must be less than 3001 characters [json-pointer:/view/blocks/0/element/initial_value]",
    ),
    *limit(
        "plain_text_input placeholder 150",
        "view",
        in_modal(text_input(placeholder=plain(x(150)))),
        in_modal(text_input(placeholder=plain(x(151)))),
        "must be less than 151 characters [json-pointer:/view/blocks/0/element/placeholder/text]",
    ),
    # datepicker.
    *limit(
        "datepicker initial_date is YYYY-MM-DD",
        "view",
        in_modal(datepicker(initial_date="2024-02-29")),
        in_modal(datepicker(initial_date="2023-02-29")),
        "must be a date in YYYY-MM-DD format [json-pointer:/view/blocks/0/element/initial_date]",
    ),
    *limit(
        "datepicker placeholder 150",
        "view",
        in_modal(datepicker(placeholder=plain(x(150)))),
        in_modal(datepicker(placeholder=plain(x(151)))),
        "must be less than 151 characters [json-pointer:/view/blocks/0/element/placeholder/text]",
    ),
    # Modal views.
    *limit(
        "modal title required",
        "view",
        modal(section()),
        without(modal(section()), "title"),
        "missing required field: title [json-pointer:/view]",
    ),
    *limit(
        "modal title 24",
        "view",
        modal(section(), title=plain(x(24))),
        modal(section(), title=plain(x(25))),
        "must be less than 25 characters [json-pointer:/view/title/text]",
    ),
    *limit(
        "modal title is plain_text",
        "view",
        modal(section(), title=plain()),
        modal(section(), title=md()),
        "must be a valid enum value (one of: plain_text) [json-pointer:/view/title/type]",
    ),
    *limit(
        "modal submit 24",
        "view",
        modal(section(), submit=plain(x(24))),
        modal(section(), submit=plain(x(25))),
        "must be less than 25 characters [json-pointer:/view/submit/text]",
    ),
    *limit(
        "modal close 24",
        "view",
        modal(section(), close=plain(x(24))),
        modal(section(), close=plain(x(25))),
        "must be less than 25 characters [json-pointer:/view/close/text]",
    ),
    *limit(
        "modal close is plain_text",
        "view",
        modal(section(), close=plain("Cancel")),
        modal(section(), close=md("Cancel")),
        "must be a valid enum value (one of: plain_text) [json-pointer:/view/close/type]",
    ),
    *limit(
        "modal submit required with an input block",
        "view",
        without(modal(section()), "submit"),
        without(modal(section(), input_block(text_input())), "submit"),
        "must define `submit` to use `input` block [json-pointer:/view/blocks/1]",
    ),
    *limit(
        "modal private_metadata 3000",
        "view",
        modal(section(), private_metadata=x(3000)),
        modal(section(), private_metadata=x(3001)),
        "must be less than 3001 characters [json-pointer:/view/private_metadata]",
    ),
    *limit(
        "modal callback_id 255",
        "view",
        modal(section(), callback_id=x(255)),
        modal(section(), callback_id=x(256)),
        "must be less than 256 characters [json-pointer:/view/callback_id]",
    ),
    *limit(
        "modal external_id 255",
        "view",
        modal(section(), external_id=x(255)),
        modal(section(), external_id=x(256)),
        "must be less than 256 characters [json-pointer:/view/external_id]",
    ),
    *limit(
        "modal blocks required",
        "view",
        modal(),
        without(modal(), "blocks"),
        "missing required field: blocks [json-pointer:/view]",
    ),
    *limit(
        "view type",
        "view",
        home(),
        {"type": "sheet", "blocks": []},
        "must be a valid enum value (one of: modal, home) [json-pointer:/view/type]",
    ),
    # Home views.
    *limit(
        "home private_metadata 3000",
        "view",
        home(section(), private_metadata=x(3000)),
        home(section(), private_metadata=x(3001)),
        "must be less than 3001 characters [json-pointer:/view/private_metadata]",
    ),
    *limit(
        "home callback_id 255",
        "view",
        home(section(), callback_id=x(255)),
        home(section(), callback_id=x(256)),
        "must be less than 256 characters [json-pointer:/view/callback_id]",
    ),
    *limit(
        "home has no submit",
        "view",
        home(input_block(text_input())),
        home(section(), submit=plain("Save")),
        "invalid additional property: submit [json-pointer:/view]",
    ),
    # view_submission `errors`.
    *limit(
        "errors is a non-empty object",
        "errors",
        ({"in": "Required"}, [input_block(text_input())]),
        ({}, [input_block(text_input())]),
        "must be a non-empty object of block_id to error message [json-pointer:/errors]",
    ),
    *limit(
        "errors messages are not empty",
        "errors",
        ({"in": "Required"}, None),
        ({"in": "  "}, None),
        "must be more than 0 characters [json-pointer:/errors/in]",
    ),
    *limit(
        "errors messages are strings",
        "errors",
        ({"in": "Required"}, None),
        ({"in": ["Required"]}, None),
        "must be a string [json-pointer:/errors/in]",
    ),
    *limit(
        "errors keys are the view's input block_ids",
        "errors",
        ({"in": "Required"}, [section(block_id="top"), input_block(text_input())]),
        ({"top": "Required"}, [section(block_id="top"), input_block(text_input())]),
        "no input block with block_id `top` in the view [json-pointer:/errors/top]",
    ),
]


@pytest.mark.parametrize(("check", "payload", "fragment"), CASES)
def test_limit(check: str, payload: Any, fragment: str | None) -> None:
    found = [str(violation) for violation in CHECKS[check](payload)]
    if fragment is None:
        assert found == []
    else:
        assert [text for text in found if fragment in text], found


def test_every_limit_has_a_passing_and_a_refused_case() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    names = {case_id.rsplit(": ", 1)[0] for case_id in ids}
    for name in names:
        assert {f"{name}: ok", f"{name}: refused"} <= set(ids)


def test_violation_reads_like_slack() -> None:
    violation = Violation("/blocks/0/text/text", "must be less than 3001 characters")
    assert str(violation) == "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    assert violation.pointer == "/blocks/0/text/text"
    assert violation.message == "must be less than 3001 characters"


def test_message_root_prefixes_every_pointer() -> None:
    found = check_message(msg(section(x(3001))), root="/message")
    assert found == [Violation("/message/blocks/0/text/text", "must be less than 3001 characters")]


def test_view_root_prefixes_every_pointer() -> None:
    found = check_view(modal(section(), title=plain(x(25))), root="/response/view")
    assert found == [Violation("/response/view/title/text", "must be less than 25 characters")]


def test_a_message_keeps_its_other_arguments() -> None:
    payload = {
        "channel": "C1",
        "thread_ts": "1.2",
        "response_type": "ephemeral",
        "replace_original": True,
        "text": "Hi",
        "blocks": None,
        "attachments": [{"text": "old style"}],
    }
    assert check_message(payload) == []


def test_check_blocks_per_surface() -> None:
    fifty_one = [divider()] * 51
    assert check_blocks(fifty_one, surface="home", root="/view/blocks") == []
    assert check_blocks(fifty_one, surface="modal", root="/view/blocks") == []
    assert check_blocks(fifty_one, surface="message", root="/blocks") == [
        Violation("/blocks", "no more than 50 items allowed")
    ]
    assert check_blocks("nope", surface="message", root="/blocks") == [  # type: ignore[arg-type]
        Violation("/blocks", "must be an array")
    ]
    with pytest.raises(ValueError, match="surface"):
        check_blocks([], surface="sidebar", root="/blocks")


def test_an_initial_value_shorter_than_min_length_is_taken() -> None:
    # The plain-text input docs put no limit on initial_value; min_length binds what the user
    # submits, so a prefilled value may be shorter.
    assert check_view(in_modal(text_input(min_length=10, initial_value="short"))) == []


def test_action_ids_may_repeat_across_blocks_but_not_within_one() -> None:
    twice = msg(section(accessory=button()), actions(button()))
    assert check_message(twice) == []


def test_view_errors_without_the_view_take_any_key() -> None:
    assert check_view_errors({"anything": "Too long"}, None) == []
    assert check_view_errors(None, None) == [
        Violation("/errors", "must be a non-empty object of block_id to error message")
    ]


def test_pointers_escape_keys() -> None:
    found = check_view_errors({"a/b~c": ""}, None)
    assert found == [Violation("/errors/a~1b~0c", "must be more than 0 characters")]


def test_bad_shapes_are_violations_not_exceptions() -> None:
    weird: list[Any] = [
        None,
        5,
        "text",
        [],
        {"type": 5},
        {"type": "section", "text": "plain string"},
        {"type": "section", "text": md(), "accessory": "button"},
        {"type": "actions", "elements": "button"},
        {"type": "actions", "elements": [None, {"type": None}]},
        {"type": "section", "fields": [None]},
        actions(select({"text": None, "value": ["v"]}, initial_option={"value": {}})),
        actions(grouped_select([None, {"label": plain()}])),
    ]
    for block in weird:
        assert check_blocks([block], surface="message", root="/blocks"), block
    assert check_message([]) == [Violation("", "must be an object")]  # type: ignore[arg-type]
    assert check_view("modal") == [Violation("/view", "must be an object")]  # type: ignore[arg-type]
    assert check_view({"blocks": []}) == [Violation("/view", "missing required field: type")]
