"""Slack's documented Block Kit and surface limits, as one table-driven checker for the fakes.

The fake Slack Web API (tests/fakes/slack_api.py) runs every message, view and
view_submission `errors` ack the app sends through these checks, and answers the way Slack
does when one fails (`invalid_blocks` / `invalid_arguments`, with `response_metadata.messages`
such as "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"). A
payload Slack would refuse then fails in the tests instead of first in production.

Entry points: `check_message`, `check_view`, `check_blocks` and `check_view_errors`. Each
returns a list of `Violation`s, empty when Slack would accept the payload; a bad payload never
raises (only a bad `surface` argument, a bug in the caller, does).

How it is built: the limits are data (`MAX_BLOCKS`, the composition objects `CONFIRM`,
`OPTIONS` and `OPTION_GROUP`, then `ELEMENTS`, `BLOCKS`, `VIEWS` and `MESSAGE`), each group
citing the Slack reference page it comes from, and one generic walker reads them. A `Rule`
says what one field may hold (a string, boolean, integer range, enum, text object, block
element, nested object, list, or a blocks array); what no single field can say (a section
needs `text` or `fields`, an initial_option must be one of the options, ...) is a named
cross-field check listed in a spec's `checks`.

Only the block and element types the app uses are known: any other type is a violation, as is
a property a spec doesn't list (Slack: "invalid additional property"). A message's other
arguments (channel, thread_ts, response_type, replace_original, ...) are left alone.
Lengths are counted in Python characters (code points).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple


class Violation(NamedTuple):
    """One thing Slack would refuse: where it is (a JSON pointer) and Slack's words for it."""

    pointer: str  # "/blocks/0/text/text", "/view/title/text", ...
    message: str  # "must be less than 3001 characters", ...

    def __str__(self) -> str:
        return f"{self.message} [json-pointer:{self.pointer}]"


SURFACES = frozenset({"message", "modal", "home"})
TEXT_TYPES = ("plain_text", "mrkdwn")
PLAIN = ("plain_text",)


@dataclass(frozen=True)
class Rule:
    """What one field may hold. `min`/`max` count characters for strings and text objects,
    items for lists, and bound the value itself for integers."""

    kind: str  # str, bool, int, enum, text, element, object, any_object, list, blocks
    required: bool = False
    min: int = 0
    max: int | None = None
    text_types: tuple[str, ...] = TEXT_TYPES  # text: the allowed `type`s
    where: str = ""  # element: the block it sits in ("section", "actions", "input", "context")
    with_text: bool = False  # element: text objects are allowed too (context elements)
    choices: tuple[str, ...] = ()  # enum
    item: Rule | None = None  # list
    spec: Spec | None = None  # object


@dataclass(frozen=True)
class Spec:
    """An object's fields, its cross-field checks, and (blocks, elements) where it may go."""

    fields: dict[str, Rule]
    checks: tuple[tuple[Any, ...], ...] = ()  # (check name, *arguments); see _CHECKS
    surfaces: frozenset[str] = SURFACES  # blocks and elements: the surfaces that take them
    where: frozenset[str] = frozenset()  # elements: the blocks that take them
    closed: bool = True  # a property not in `fields` (other than `type`) is a violation


def text(max_len: int = 3000, *, plain: bool = False, required: bool = False) -> Rule:
    """A text object whose `text` is 1..max_len characters (never blank)."""
    return Rule("text", required, 1, max_len, PLAIN if plain else TEXT_TYPES)


def string(max_len: int | None = None, *, min_len: int = 0, required: bool = False) -> Rule:
    return Rule("str", required, min_len, max_len)


def boolean() -> Rule:
    return Rule("bool")


def integer(lo: int, hi: int) -> Rule:
    return Rule("int", min=lo, max=hi)


def enum(*choices: str) -> Rule:
    return Rule("enum", choices=choices)


def element(where: str, *, required: bool = False, with_text: bool = False) -> Rule:
    """One block element of a type that works in a `where` block."""
    return Rule("element", required, where=where, with_text=with_text)


def obj(spec: Spec, *, required: bool = False) -> Rule:
    return Rule("object", required, spec=spec)


def any_object() -> Rule:
    """An object this checker doesn't look into (slack_file, dispatch_action_config)."""
    return Rule("any_object")


def list_of(
    item: Rule, *, min_items: int = 0, max_items: int | None = None, required: bool = False
) -> Rule:
    return Rule("list", required, min_items, max_items, item=item)


def blocks(*, required: bool = False) -> Rule:
    """A blocks array, checked for the surface being walked (see check_blocks)."""
    return Rule("blocks", required)


# --- The limits --------------------------------------------------------------------------

# https://docs.slack.dev/block-kit: "up to 50 blocks in each message, and 100 blocks in
# modals or Home tabs".
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}

BLOCK_ID = string(255, min_len=1)  # every block; unique in its message or view
ACTION_ID = string(255, min_len=1)  # every interactive element; unique in its block
PLACEHOLDER = text(150, plain=True)

# Text objects (https://docs.slack.dev/reference/block-kit/composition-objects/text-object):
# type plain_text or mrkdwn, text 1..3000 characters, `emoji` only on plain_text, `verbatim`
# only on mrkdwn. Built into the walker (_check_text); `text(...)` above tightens the length.

# https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
CONFIRM = Spec(
    {
        "title": text(100, plain=True, required=True),
        "text": text(300, required=True),
        "confirm": text(30, plain=True, required=True),
        "deny": text(30, plain=True, required=True),
        "style": enum("primary", "danger"),
    }
)

# https://docs.slack.dev/reference/block-kit/composition-objects/option-object: text 75
# (plain_text in select and overflow menus; checkboxes and radio buttons may use mrkdwn, in
# the description too), value 150, description 75, url 3000 and in overflow menus only.
OPTIONS = {
    "menu": Spec(
        {
            "text": text(75, plain=True, required=True),
            "value": string(150, required=True),
            "description": text(75, plain=True),
        }
    ),
    "overflow": Spec(
        {
            "text": text(75, plain=True, required=True),
            "value": string(150, required=True),
            "description": text(75, plain=True),
            "url": string(3000),
        }
    ),
    "choice": Spec(
        {
            "text": text(75, required=True),
            "value": string(150, required=True),
            "description": text(75),
        }
    ),
}

# https://docs.slack.dev/reference/block-kit/composition-objects/option-group-object: label
# plain_text 75, up to 100 options in a group, up to 100 groups.
OPTION_GROUP = Spec(
    {
        "label": text(75, plain=True, required=True),
        "options": list_of(obj(OPTIONS["menu"]), min_items=1, max_items=100, required=True),
    }
)

# Block elements: https://docs.slack.dev/reference/block-kit/block-elements/<name>-element
# (button, checkboxes, date-picker, image, overflow-menu, plain-text-input,
# radio-button-group, select-menu). `where` is the "works with blocks" column of
# https://api.slack.com/reference/block-kit/block-elements; every element here is available
# in modals, messages and Home tabs. Menus hold 100 options, checkboxes and radio buttons 10,
# an overflow menu "up to five"; option values are unique within an element.
ELEMENTS = {
    "button": Spec(
        {
            "text": text(75, plain=True, required=True),
            "action_id": ACTION_ID,
            "url": string(3000),
            "value": string(2000),
            "style": enum("primary", "danger"),
            "confirm": obj(CONFIRM),
            "accessibility_label": string(75),
        },
        where=frozenset({"section", "actions"}),
    ),
    "checkboxes": Spec(
        {
            "action_id": ACTION_ID,
            "options": list_of(obj(OPTIONS["choice"]), min_items=1, max_items=10, required=True),
            "initial_options": list_of(obj(OPTIONS["choice"])),
            "confirm": obj(CONFIRM),
            "focus_on_load": boolean(),
        },
        checks=(("unique_values",), ("initial_in_options",)),
        where=frozenset({"section", "actions", "input"}),
    ),
    "datepicker": Spec(
        {
            "action_id": ACTION_ID,
            "initial_date": string(),
            "confirm": obj(CONFIRM),
            "focus_on_load": boolean(),
            "placeholder": PLACEHOLDER,
        },
        checks=(("iso_date", "initial_date"),),
        where=frozenset({"section", "actions", "input"}),
    ),
    "image": Spec(
        {"alt_text": string(required=True), "image_url": string(3000), "slack_file": any_object()},
        checks=(("exactly_one", "image_url", "slack_file"),),
        where=frozenset({"section", "context"}),
    ),
    "overflow": Spec(
        {
            "action_id": ACTION_ID,
            "options": list_of(obj(OPTIONS["overflow"]), min_items=1, max_items=5, required=True),
            "confirm": obj(CONFIRM),
        },
        checks=(("unique_values",),),
        where=frozenset({"section", "actions"}),
    ),
    "plain_text_input": Spec(
        {
            "action_id": ACTION_ID,
            "initial_value": string(),
            "multiline": boolean(),
            "min_length": integer(0, 3000),
            "max_length": integer(1, 3000),
            "dispatch_action_config": any_object(),
            "focus_on_load": boolean(),
            "placeholder": PLACEHOLDER,
        },
        # min_length <= max_length; initial_value no longer than max_length, or 3000.
        checks=(("length_bounds", 3000),),
        where=frozenset({"input"}),
    ),
    "radio_buttons": Spec(
        {
            "action_id": ACTION_ID,
            "options": list_of(obj(OPTIONS["choice"]), min_items=1, max_items=10, required=True),
            "initial_option": obj(OPTIONS["choice"]),
            "confirm": obj(CONFIRM),
            "focus_on_load": boolean(),
        },
        checks=(("unique_values",), ("initial_in_options",)),
        where=frozenset({"section", "actions", "input"}),
    ),
    "static_select": Spec(
        {
            "action_id": ACTION_ID,
            "options": list_of(obj(OPTIONS["menu"]), min_items=1, max_items=100),
            "option_groups": list_of(obj(OPTION_GROUP), min_items=1, max_items=100),
            "initial_option": obj(OPTIONS["menu"]),
            "confirm": obj(CONFIRM),
            "focus_on_load": boolean(),
            "placeholder": PLACEHOLDER,
        },
        checks=(
            ("exactly_one", "options", "option_groups"),
            ("unique_values",),
            ("initial_in_options",),
        ),
        where=frozenset({"section", "actions", "input"}),
    ),
    "users_select": Spec(
        {
            "action_id": ACTION_ID,
            "initial_user": string(),
            "confirm": obj(CONFIRM),
            "focus_on_load": boolean(),
            "placeholder": PLACEHOLDER,
        },
        where=frozenset({"section", "actions", "input"}),
    ),
}


def _block(fields: dict[str, Rule], checks: tuple[tuple[Any, ...], ...] = ()) -> Spec:
    return Spec({**fields, "block_id": BLOCK_ID}, checks)


# Blocks: https://docs.slack.dev/reference/block-kit/blocks/<name>-block (actions, context,
# divider, header, image, input, section). All seven are available in modals, messages and
# Home tabs; block_id is at most 255 characters and unique within the message or view.
BLOCKS = {
    "actions": _block(
        {"elements": list_of(element("actions"), min_items=1, max_items=25, required=True)}
    ),
    "context": _block(
        {
            "elements": list_of(
                element("context", with_text=True), min_items=1, max_items=10, required=True
            )
        }
    ),
    "divider": _block({}),
    "header": _block({"text": text(150, plain=True, required=True)}),
    "image": _block(
        {
            "alt_text": string(2000, required=True),
            "image_url": string(3000),
            "slack_file": any_object(),
            "title": text(2000, plain=True),
        },
        checks=(("exactly_one", "image_url", "slack_file"),),
    ),
    "input": _block(
        {
            "label": text(2000, plain=True, required=True),
            "element": element("input", required=True),
            "hint": text(2000, plain=True),
            "optional": boolean(),
            "dispatch_action": boolean(),
        }
    ),
    "section": _block(
        {
            "text": text(3000),
            "fields": list_of(text(2000), max_items=10),
            "accessory": element("section"),
            "expand": boolean(),
        },
        checks=(("either", "text", "fields"),),
    ),
}

# Views: https://docs.slack.dev/reference/views/modal-views (title required; title, submit
# and close plain_text of at most 24; submit required with an input block; 100 blocks;
# private_metadata 3000; callback_id 255) and .../home-tab-views (no title, submit or
# close). external_id, 255 characters: https://docs.slack.dev/reference/methods/views.open
VIEWS = {
    "modal": Spec(
        {
            "title": text(24, plain=True, required=True),
            "blocks": blocks(required=True),
            "close": text(24, plain=True),
            "submit": text(24, plain=True),
            "private_metadata": string(3000),
            "callback_id": string(255),
            "external_id": string(255),
            "clear_on_close": boolean(),
            "notify_on_close": boolean(),
            "submit_disabled": boolean(),
        },
        checks=(("submit_with_input",),),
    ),
    "home": Spec(
        {
            "blocks": blocks(required=True),
            "private_metadata": string(3000),
            "callback_id": string(255),
            "external_id": string(255),
        }
    ),
}

# Messages: https://docs.slack.dev/reference/methods/chat.postMessage (text is the fallback
# when there are blocks; Slack does not keep more than 40,000 characters of it; 50 blocks).
# One of text, blocks or attachments is needed ("no_text"), checked in check_message.
MESSAGE = Spec({"text": string(40000), "blocks": blocks()}, closed=False)


# --- Entry points ------------------------------------------------------------------------


def check_message(payload: dict, *, root: str = "") -> list[Violation]:
    """What Slack would refuse in a message: chat.postMessage / postEphemeral / update, a
    response_url post, a slash command's immediate response. `root` prefixes pointers."""
    if not isinstance(payload, dict):
        return [Violation(root, "must be an object")]
    out: list[Violation] = []
    _check_spec(payload, MESSAGE, root, out, "message")
    text_value, blocks_value = payload.get("text"), payload.get("blocks")
    has_text = isinstance(text_value, str) and bool(text_value.strip())
    has_blocks = isinstance(blocks_value, list) and bool(blocks_value)
    has_attachments = isinstance(payload.get("attachments"), list) and bool(payload["attachments"])
    # A response_url post of {"delete_original": true} needs no content.
    if not (has_text or has_blocks or has_attachments or payload.get("delete_original") is True):
        out.append(Violation(f"{root}/text", "no_text"))
    return out


def check_view(view: dict, *, root: str = "/view") -> list[Violation]:
    """What Slack would refuse in a modal or Home tab view (views.open/push/update/publish,
    a view_submission ack's response_action update or push)."""
    if not isinstance(view, dict):
        return [Violation(root, "must be an object")]
    kind = view.get("type")
    if kind is None:
        return [Violation(root, "missing required field: type")]
    spec = VIEWS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return [Violation(f"{root}/type", _enum_message(tuple(VIEWS)))]
    out: list[Violation] = []
    _check_spec(view, spec, root, out, kind)
    return out


def check_blocks(blocks: list, *, surface: str, root: str) -> list[Violation]:
    """What Slack would refuse in a blocks array on `surface` ("message", "modal" or "home"):
    the surface's block count, known block types, unique block_ids, every block's limits."""
    if surface not in MAX_BLOCKS:
        raise ValueError(f"surface must be one of {sorted(MAX_BLOCKS)}, not {surface!r}")
    if not isinstance(blocks, list):
        return [Violation(root, "must be an array")]
    out: list[Violation] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        out.append(Violation(root, f"no more than {limit} items allowed"))
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"{root}/{index}"
        spec = _typed_spec(block, BLOCKS, pointer, out, surface)
        if spec is None:
            continue
        _check_spec(block, spec, pointer, out, surface)
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                out.append(Violation(f"{pointer}/block_id", f"duplicate block_id: {block_id}"))
            block_ids.add(block_id)
        _check_action_ids(block, spec, pointer, out)
    return out


def check_view_errors(errors: object, view_blocks: list | None) -> list[Violation]:
    """What is wrong with a view_submission ack's `errors` (response_action "errors"): it
    must map block_ids to non-empty messages and, when `view_blocks` is given, each key must
    be the block_id of an input block in that view."""
    root = "/errors"
    if not isinstance(errors, dict) or not errors:
        return [Violation(root, "must be a non-empty object of block_id to error message")]
    input_ids = None
    if view_blocks is not None:
        input_ids = {
            block.get("block_id")
            for block in view_blocks
            if isinstance(block, dict) and block.get("type") == "input"
        }
    out: list[Violation] = []
    for key, message in errors.items():
        pointer = f"{root}/{_escape(str(key))}"
        if not isinstance(message, str):
            out.append(Violation(pointer, "must be a string"))
        elif not message.strip():
            out.append(Violation(pointer, "must be more than 0 characters"))
        if input_ids is not None and key not in input_ids:
            out.append(Violation(pointer, f"no input block with block_id `{key}` in the view"))
    return out


# --- The walker --------------------------------------------------------------------------


def _check_spec(value: dict, spec: Spec, pointer: str, out: list[Violation], surface: str) -> None:
    if spec.closed:
        for name in value:
            if name != "type" and name not in spec.fields:
                out.append(Violation(pointer, f"invalid additional property: {name}"))
    for name, rule in spec.fields.items():
        if name not in value or (value[name] is None and not spec.closed):
            if rule.required:
                out.append(Violation(pointer, f"missing required field: {name}"))
            continue
        _check_value(value[name], rule, f"{pointer}/{_escape(name)}", out, surface)
    for name, *arguments in spec.checks:
        _CHECKS[name](value, pointer, out, *arguments)


def _check_value(value: Any, rule: Rule, pointer: str, out: list[Violation], surface: str) -> None:
    match rule.kind:
        case "str":
            _check_string(value, rule, pointer, out)
        case "bool":
            if not isinstance(value, bool):
                out.append(Violation(pointer, "must be a boolean"))
        case "int":
            if not _is_int(value):
                out.append(Violation(pointer, "must be an integer"))
            elif not rule.min <= value <= (rule.max if rule.max is not None else value):
                out.append(Violation(pointer, f"must be between {rule.min} and {rule.max}"))
        case "enum":
            if value not in rule.choices:
                out.append(Violation(pointer, _enum_message(rule.choices)))
        case "text":
            _check_text(value, rule, pointer, out)
        case "element":
            _check_element(value, rule, pointer, out, surface)
        case "object":
            if _is_object(value, pointer, out) and rule.spec is not None:
                _check_spec(value, rule.spec, pointer, out, surface)
        case "any_object":
            _is_object(value, pointer, out)
        case "list":
            _check_list(value, rule, pointer, out, surface)
        case "blocks":
            out.extend(check_blocks(value, surface=surface, root=pointer))
        case _:
            raise ValueError(f"unknown rule kind {rule.kind!r}")


def _check_string(
    value: Any, rule: Rule, pointer: str, out: list[Violation], *, blank_is_empty: bool = False
) -> None:
    if not isinstance(value, str):
        out.append(Violation(pointer, "must be a string"))
        return
    counted = value.strip() if blank_is_empty else value
    if len(counted) < rule.min:
        out.append(Violation(pointer, f"must be more than {rule.min - 1} characters"))
    if rule.max is not None and len(value) > rule.max:
        out.append(Violation(pointer, f"must be less than {rule.max + 1} characters"))


def _check_text(value: Any, rule: Rule, pointer: str, out: list[Violation]) -> None:
    if not _is_object(value, pointer, out):
        return
    kind = value.get("type")
    if kind is None:
        out.append(Violation(pointer, "missing required field: type"))
    elif kind not in rule.text_types:
        out.append(Violation(f"{pointer}/type", _enum_message(rule.text_types)))
    for name, item in value.items():
        flag_ok = (name == "emoji" and kind == "plain_text") or (
            name == "verbatim" and kind == "mrkdwn"
        )
        if name not in ("type", "text") and not flag_ok:
            out.append(Violation(pointer, f"invalid additional property: {name}"))
        elif flag_ok and not isinstance(item, bool):
            out.append(Violation(f"{pointer}/{name}", "must be a boolean"))
    if "text" not in value:
        out.append(Violation(pointer, "missing required field: text"))
    else:
        length = Rule("str", min=1, max=rule.max)
        _check_string(value["text"], length, f"{pointer}/text", out, blank_is_empty=True)


def _check_element(
    value: Any, rule: Rule, pointer: str, out: list[Violation], surface: str
) -> None:
    if rule.with_text and isinstance(value, dict) and value.get("type") in TEXT_TYPES:
        _check_text(value, text(), pointer, out)
        return
    spec = _typed_spec(value, ELEMENTS, pointer, out, surface, rule.where)
    if spec is not None:
        _check_spec(value, spec, pointer, out, surface)


def _check_list(value: Any, rule: Rule, pointer: str, out: list[Violation], surface: str) -> None:
    if not isinstance(value, list):
        out.append(Violation(pointer, "must be an array"))
        return
    if len(value) < rule.min:
        out.append(Violation(pointer, f"must provide at least {rule.min} items"))
    if rule.max is not None and len(value) > rule.max:
        out.append(Violation(pointer, f"no more than {rule.max} items allowed"))
    if rule.item is not None:
        for index, item in enumerate(value):
            _check_value(item, rule.item, f"{pointer}/{index}", out, surface)


def _typed_spec(
    value: Any,
    table: dict[str, Spec],
    pointer: str,
    out: list[Violation],
    surface: str,
    where: str = "",
) -> Spec | None:
    """The spec for a block or element by its `type`, or None after recording why not."""
    if not _is_object(value, pointer, out):
        return None
    kind = value.get("type")
    if kind is None:
        out.append(Violation(pointer, "missing required field: type"))
        return None
    spec = table.get(kind) if isinstance(kind, str) else None
    if spec is None:
        out.append(Violation(pointer, f"unsupported type: {kind}"))
        return None
    if where and where not in spec.where:
        out.append(Violation(pointer, f"unsupported type: {kind} (not allowed in {where} blocks)"))
        return None
    if surface not in spec.surfaces:
        out.append(Violation(pointer, f"unsupported type: {kind} (not available in a {surface})"))
        return None
    return spec


def _check_action_ids(block: dict, spec: Spec, pointer: str, out: list[Violation]) -> None:
    """action_ids are unique among the elements of one block."""
    seen: set[str] = set()
    for name, rule in spec.fields.items():
        value = block.get(name)
        if rule.kind == "element":
            elements = [(f"{pointer}/{name}", value)]
        elif rule.kind == "list" and rule.item is not None and rule.item.kind == "element":
            items = value if isinstance(value, list) else []
            elements = [(f"{pointer}/{name}/{index}", item) for index, item in enumerate(items)]
        else:
            continue
        for element_pointer, item in elements:
            action_id = item.get("action_id") if isinstance(item, dict) else None
            if not isinstance(action_id, str):
                continue
            if action_id in seen:
                out.append(
                    Violation(f"{element_pointer}/action_id", f"duplicate action_id: {action_id}")
                )
            seen.add(action_id)


# --- Cross-field checks named in the specs' `checks` -------------------------------------


def _either(value: dict, pointer: str, out: list[Violation], first: str, second: str) -> None:
    """At least one of two fields (a section's text and fields may both be there)."""
    if first not in value and second not in value:
        out.append(Violation(pointer, f"must define either `{first}` or `{second}`"))


def _exactly_one(value: dict, pointer: str, out: list[Violation], first: str, second: str) -> None:
    if first in value and second in value:
        out.append(Violation(pointer, f"must define only one of `{first}` and `{second}`"))
    else:
        _either(value, pointer, out, first, second)


def _options(value: dict, pointer: str) -> Iterator[tuple[str, dict]]:
    """Every option object of an element, in `options` or in `option_groups`."""
    options = value.get("options")
    if isinstance(options, list):
        for index, option in enumerate(options):
            if isinstance(option, dict):
                yield f"{pointer}/options/{index}", option
    groups = value.get("option_groups")
    if isinstance(groups, list):
        for group_index, group in enumerate(groups):
            inner = group.get("options") if isinstance(group, dict) else None
            if isinstance(inner, list):
                for index, option in enumerate(inner):
                    if isinstance(option, dict):
                        yield f"{pointer}/option_groups/{group_index}/options/{index}", option


def _unique_values(value: dict, pointer: str, out: list[Violation]) -> None:
    seen: set[str] = set()
    for option_pointer, option in _options(value, pointer):
        option_value = option.get("value")
        if not isinstance(option_value, str):
            continue
        if option_value in seen:
            out.append(
                Violation(f"{option_pointer}/value", f"duplicate option value: {option_value}")
            )
        seen.add(option_value)


def _option_key(option: dict) -> tuple[str, str, str]:
    """What makes an initial option "exactly match" an option: its value and its text."""
    label = option.get("text")
    label = label if isinstance(label, dict) else {}
    return repr(option.get("value")), repr(label.get("type")), repr(label.get("text"))


def _initial_in_options(value: dict, pointer: str, out: list[Violation]) -> None:
    keys = {_option_key(option) for _, option in _options(value, pointer)}
    message = "must exactly match one of the options"
    initial = value.get("initial_option")
    if isinstance(initial, dict) and _option_key(initial) not in keys:
        out.append(Violation(f"{pointer}/initial_option", message))
    initials = value.get("initial_options")
    if isinstance(initials, list):
        for index, option in enumerate(initials):
            if isinstance(option, dict) and _option_key(option) not in keys:
                out.append(Violation(f"{pointer}/initial_options/{index}", message))


def _length_bounds(value: dict, pointer: str, out: list[Violation], most: int) -> None:
    """plain_text_input: min_length <= max_length; initial_value fits max_length (or `most`)."""
    low, high = value.get("min_length"), value.get("max_length")
    if _is_int(low) and _is_int(high) and low > high:
        out.append(Violation(f"{pointer}/min_length", "must not be greater than max_length"))
    initial = value.get("initial_value")
    if isinstance(initial, str):
        limit = high if _is_int(high) and 1 <= high <= most else most
        if len(initial) > limit:
            out.append(
                Violation(f"{pointer}/initial_value", f"must be less than {limit + 1} characters")
            )


def _iso_date(value: dict, pointer: str, out: list[Violation], name: str) -> None:
    date = value.get(name)
    if isinstance(date, str) and not _is_iso_date(date):
        out.append(Violation(f"{pointer}/{name}", "must be a date in YYYY-MM-DD format"))


def _submit_with_input(view: dict, pointer: str, out: list[Violation]) -> None:
    blocks_value = view.get("blocks")
    if "submit" in view or not isinstance(blocks_value, list):
        return
    for index, block in enumerate(blocks_value):
        if isinstance(block, dict) and block.get("type") == "input":
            out.append(
                Violation(f"{pointer}/blocks/{index}", "must define `submit` to use `input` block")
            )
            return


_CHECKS: dict[str, Callable[..., None]] = {
    "either": _either,
    "exactly_one": _exactly_one,
    "unique_values": _unique_values,
    "initial_in_options": _initial_in_options,
    "length_bounds": _length_bounds,
    "iso_date": _iso_date,
    "submit_with_input": _submit_with_input,
}


# --- Small helpers -----------------------------------------------------------------------


def _is_object(value: Any, pointer: str, out: list[Violation]) -> bool:
    if isinstance(value, dict):
        return True
    out.append(Violation(pointer, "must be an object"))
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_iso_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _enum_message(choices: tuple[str, ...]) -> str:
    return f"must be a valid enum value (one of: {', '.join(choices)})"


def _escape(name: str) -> str:
    """A JSON pointer reference token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")
