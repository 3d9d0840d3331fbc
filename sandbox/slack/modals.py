"""Slack's modals as the sandbox plays them: a view checked the way views.open checks it, the form a user fills in,
Slack's client-side checks of that form, and the state a submission carries (`view.state.values`).

Input elements the sandbox can fill in: plain_text_input (also multiline), email_text_input, number_input and
static_select. Other input elements are accepted in a view, as Slack accepts them, but shown as unsupported and left
out of the submitted state.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
from decimal import Decimal, InvalidOperation
from typing import Any

from .views import KNOWN_BLOCK_TYPES, block_problems, text_problems

VIEW_TEXT_MAX = 24  # title, submit and close
VIEW_BLOCKS_MAX = 100
VIEW_SIZE_MAX = 250 * 1000  # "greater than 250kb" is view_too_large
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255  # callback_id, external_id, block_id, action_id
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
TEXT_INPUT_LENGTH_MAX = 3000
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150

SUPPORTED_ELEMENTS = ("plain_text_input", "email_text_input", "number_input", "static_select")
INPUT_ELEMENTS = (
    *SUPPORTED_ELEMENTS,
    "url_text_input",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "checkboxes",
    "radio_buttons",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "rich_text_input",
    "file_input",
)
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
WHOLE_NUMBER = re.compile(r"-?\d+")
DECIMAL_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
# What Slack's client says under a field before it lets a modal be submitted (the sandbox's wording).
REQUIRED_MESSAGE = "Please complete this required field."
EMAIL_MESSAGE = "Please enter a valid email address."
ID_ALPHABET = string.ascii_letters + string.digits


class SlackViewError(Exception):
    """A view or trigger Slack refuses: `code` is the Web API error, `messages` the response_metadata messages."""

    def __init__(self, code: str, messages: list[str] | None = None) -> None:
        super().__init__(code if not messages else f"{code}: {'; '.join(messages)}")
        self.code = code
        self.messages = messages or []


class EnteredValuesError(ValueError):
    """Values for a modal that its form does not have."""


# --- views.open's checks ---------------------------------------------------------------------------------------


def checked_view(raw: Any) -> dict[str, Any]:
    """The view as Slack keeps it (a block_id and action_id made up where the app left them out), or SlackViewError
    naming each problem the way Slack's invalid_arguments does."""
    if raw is None or raw == "":
        raise SlackViewError("invalid_arguments", ["[ERROR] missing required field: view"])
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackViewError("invalid_arguments", ["[ERROR] invalid JSON [json-pointer:/view]"]) from None
    if not isinstance(raw, dict):
        raise SlackViewError("invalid_arguments", ["[ERROR] must provide an object [json-pointer:/view]"])
    if len(json.dumps(raw)) > VIEW_SIZE_MAX:
        raise SlackViewError("view_too_large")
    problems = _view_problems(raw)
    if problems:
        raise SlackViewError("invalid_arguments", [f"[ERROR] {problem}" for problem in problems])
    return _completed(raw)


def _view_problems(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("must be modal [json-pointer:/view/type]")
    if "title" not in view:
        problems.append("missing required field: title [json-pointer:/view]")
    else:
        problems += text_problems(view["title"], "/view/title", VIEW_TEXT_MAX, ("plain_text",))
    for button in ("submit", "close"):
        if view.get(button) is not None:
            problems += text_problems(view[button], f"/view/{button}", VIEW_TEXT_MAX, ("plain_text",))
    for name, limit in (("private_metadata", PRIVATE_METADATA_MAX), ("callback_id", ID_MAX), ("external_id", ID_MAX)):
        problems += _string_problems(view.get(name), f"/view/{name}", limit)
    for flag in ("clear_on_close", "notify_on_close"):
        if flag in view and not isinstance(view[flag], bool):
            problems.append(f"must be a boolean [json-pointer:/view/{flag}]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*problems, "must provide an array [json-pointer:/view/blocks]"]
    if len(blocks) > VIEW_BLOCKS_MAX:
        return [*problems, f"no more than {VIEW_BLOCKS_MAX} items allowed [json-pointer:/view/blocks]"]
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/view/blocks/{index}"
        if isinstance(block, dict) and "block_id" in block:
            block_id = block["block_id"]
            problems += _string_problems(block_id, f"{where}/block_id", ID_MAX)
            if block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            block_ids.add(str(block_id))
        if isinstance(block, dict) and block.get("type") == "input":
            problems += _input_problems(block, where)
        else:
            problems += block_problems(block, where)
    if any(_is_input(block) for block in blocks) and view.get("submit") is None:
        problems.append("must provide submit when blocks contain an input block [json-pointer:/view/submit]")
    return problems


def _input_problems(block: dict[str, Any], where: str) -> list[str]:
    problems = text_problems(block.get("label"), f"{where}/label", LABEL_MAX, ("plain_text",))
    if block.get("hint") is not None:
        problems += text_problems(block["hint"], f"{where}/hint", LABEL_MAX, ("plain_text",))
    for flag in ("optional", "dispatch_action"):
        if flag in block and not isinstance(block[flag], bool):
            problems.append(f"must be a boolean [json-pointer:{where}/{flag}]")
    element = block.get("element")
    where = f"{where}/element"
    if not isinstance(element, dict):
        return [*problems, f"must provide an object [json-pointer:{where}]"]
    kind = element.get("type")
    if kind not in INPUT_ELEMENTS:
        return [*problems, f"failed to match all allowed schemas [json-pointer:{where}]"]
    if "action_id" in element:
        problems += _string_problems(element["action_id"], f"{where}/action_id", ID_MAX)
    if element.get("placeholder") is not None:
        problems += text_problems(element["placeholder"], f"{where}/placeholder", PLACEHOLDER_MAX, ("plain_text",))
    if kind in ("plain_text_input", "email_text_input", "url_text_input"):
        problems += _string_problems(element.get("initial_value"), f"{where}/initial_value", TEXT_INPUT_LENGTH_MAX)
    if kind == "plain_text_input":
        problems += _text_input_problems(element, where)
    elif kind == "number_input":
        problems += _number_input_problems(element, where)
    elif kind == "static_select":
        problems += _static_select_problems(element, where)
    return problems


def _text_input_problems(element: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if "multiline" in element and not isinstance(element["multiline"], bool):
        problems.append(f"must be a boolean [json-pointer:{where}/multiline]")
    for name, lowest in (("min_length", 0), ("max_length", 1)):
        value = element.get(name)
        if value is not None and (not _is_int(value) or not lowest <= value <= TEXT_INPUT_LENGTH_MAX):
            problems.append(f"must be between {lowest} and {TEXT_INPUT_LENGTH_MAX} [json-pointer:{where}/{name}]")
    low, high = element.get("min_length"), element.get("max_length")
    if _is_int(low) and _is_int(high) and low > high:
        problems.append(f"min_length must not be more than max_length [json-pointer:{where}]")
    return problems


def _number_input_problems(element: dict[str, Any], where: str) -> list[str]:
    if "is_decimal_allowed" not in element:
        return [f"missing required field: is_decimal_allowed [json-pointer:{where}]"]
    if not isinstance(element["is_decimal_allowed"], bool):
        return [f"must be a boolean [json-pointer:{where}/is_decimal_allowed]"]
    pattern = DECIMAL_NUMBER if element["is_decimal_allowed"] else WHOLE_NUMBER
    problems: list[str] = []
    for name in ("initial_value", "min_value", "max_value"):
        value = element.get(name)
        if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
            problems.append(f"must be a number given as a string [json-pointer:{where}/{name}]")
    return problems


def _static_select_problems(element: dict[str, Any], where: str) -> list[str]:
    if ("options" in element) == ("option_groups" in element):
        return [f"must provide exactly one of options or option_groups [json-pointer:{where}]"]
    problems: list[str] = []
    if "options" in element:
        problems += _options_problems(element["options"], f"{where}/options")
    else:
        groups = element["option_groups"]
        if not isinstance(groups, list) or not 1 <= len(groups) <= OPTIONS_MAX:
            return [f"must provide 1 to {OPTIONS_MAX} items [json-pointer:{where}/option_groups]"]
        for index, group in enumerate(groups):
            group_where = f"{where}/option_groups/{index}"
            if not isinstance(group, dict):
                problems.append(f"must provide an object [json-pointer:{group_where}]")
                continue
            problems += text_problems(group.get("label"), f"{group_where}/label", OPTION_TEXT_MAX, ("plain_text",))
            problems += _options_problems(group.get("options"), f"{group_where}/options")
    initial = element.get("initial_option")
    if initial is not None and not problems and initial not in _options(element):
        problems.append(f"must match one of the options [json-pointer:{where}/initial_option]")
    return problems


def _options_problems(options: Any, where: str) -> list[str]:
    if not isinstance(options, list) or not 1 <= len(options) <= OPTIONS_MAX:
        return [f"must provide 1 to {OPTIONS_MAX} items [json-pointer:{where}]"]
    problems: list[str] = []
    for index, option in enumerate(options):
        option_where = f"{where}/{index}"
        if not isinstance(option, dict):
            problems.append(f"must provide an object [json-pointer:{option_where}]")
            continue
        problems += text_problems(option.get("text"), f"{option_where}/text", OPTION_TEXT_MAX, ("plain_text",))
        value = option.get("value")
        if not isinstance(value, str) or not value:
            problems.append(f"must provide a value [json-pointer:{option_where}/value]")
        problems += _string_problems(value, f"{option_where}/value", OPTION_VALUE_MAX)
    return problems


def _string_problems(value: Any, where: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"must be a string [json-pointer:{where}]"]
    if len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}]"]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_input(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "input"


def _completed(view: dict[str, Any]) -> dict[str, Any]:
    view = copy.deepcopy(view)
    for block in view["blocks"]:
        if block.get("type") in KNOWN_BLOCK_TYPES and not block.get("block_id"):
            block["block_id"] = _made_up_id()
        if _is_input(block) and not block["element"].get("action_id"):
            block["element"]["action_id"] = _made_up_id()
    return view


def _made_up_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(5))


# --- the user's side: the form, Slack's client-side checks, the state a submission carries -----------------------


def input_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The view's input blocks whose element the sandbox can fill in."""
    return [block for block in view["blocks"] if _is_input(block) and block["element"]["type"] in SUPPORTED_ELEMENTS]


def initial_values(view: dict[str, Any]) -> dict[str, str]:
    """block_id -> what the form shows before the user types anything (the elements' initial value or option)."""
    values: dict[str, str] = {}
    for block in input_blocks(view):
        element = block["element"]
        if element["type"] == "static_select":
            values[block["block_id"]] = (element.get("initial_option") or {}).get("value", "")
        else:
            values[block["block_id"]] = element.get("initial_value", "")
    return values


def entered_values(view: dict[str, Any], submitted: dict[str, Any]) -> dict[str, str]:
    """block_id -> value as the user left the form: what was submitted, the initial value elsewhere."""
    known = initial_values(view)
    unknown = sorted(set(submitted) - set(known))
    if unknown:
        raise EnteredValuesError(
            f"no input block {', '.join(unknown)} in this view; its input blocks: {', '.join(known) or 'none'}"
        )
    entered = dict(known)
    for block_id, value in submitted.items():
        entered[block_id] = "" if value is None else str(value)
    return entered


def client_errors(view: dict[str, Any], entered: dict[str, str]) -> dict[str, str]:
    """block_id -> the message Slack's client shows under a field it will not submit (nothing is sent then)."""
    errors: dict[str, str] = {}
    for block in input_blocks(view):
        element, value = block["element"], entered.get(block["block_id"], "").strip()
        if not value:
            if not block.get("optional", False):
                errors[block["block_id"]] = REQUIRED_MESSAGE
            continue
        problem = _value_problem(element, value)
        if problem:
            errors[block["block_id"]] = problem
    return errors


def _value_problem(element: dict[str, Any], value: str) -> str:
    kind = element["type"]
    if kind == "email_text_input" and not EMAIL_PATTERN.fullmatch(value):
        return EMAIL_MESSAGE
    if kind == "plain_text_input":
        if len(value) < element.get("min_length", 0):
            return f"Please enter at least {element['min_length']} characters."
        if len(value) > element.get("max_length", TEXT_INPUT_LENGTH_MAX):
            return f"Please enter no more than {element.get('max_length', TEXT_INPUT_LENGTH_MAX)} characters."
    if kind == "number_input":
        return _number_problem(element, value)
    if kind == "static_select" and value not in {option["value"] for option in _options(element)}:
        return "Please select one of the options."
    return ""


def _number_problem(element: dict[str, Any], value: str) -> str:
    decimal_allowed = element["is_decimal_allowed"]
    if not (DECIMAL_NUMBER if decimal_allowed else WHOLE_NUMBER).fullmatch(value):
        return "Please enter a number." if decimal_allowed else "Please enter a whole number."
    try:
        number = Decimal(value)
        if element.get("min_value") is not None and number < Decimal(element["min_value"]):
            return f"Please enter a number of at least {element['min_value']}."
        if element.get("max_value") is not None and number > Decimal(element["max_value"]):
            return f"Please enter a number of at most {element['max_value']}."
    except InvalidOperation:
        return "Please enter a number."
    return ""


def state_values(view: dict[str, Any], entered: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` as a view_submission carries it: {block_id: {action_id: {"type", "value"}}}, a
    static_select's choice as `selected_option`, an empty field as null."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in input_blocks(view):
        element = block["element"]
        value = entered.get(block["block_id"], "")
        if element["type"] == "static_select":
            chosen = next((option for option in _options(element) if option["value"] == value), None)
            state = {"type": "static_select", "selected_option": chosen}
        else:
            state = {"type": element["type"], "value": value if value.strip() else None}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    if "options" in element:
        return list(element["options"])
    return [option for group in element.get("option_groups", []) for option in group["options"]]


# --- the page: a modal as HTML form fields --------------------------------------------------------------------


def form_items(
    view_id: str, view: dict[str, Any], entered: dict[str, str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """The modal's blocks as the sandbox page draws them: inputs as form fields named by block_id, text blocks as
    text, anything else as unsupported."""
    shown = {**initial_values(view), **entered}
    items: list[dict[str, Any]] = []
    for block in view["blocks"]:
        kind, block_id = block.get("type"), block.get("block_id", "")
        if kind == "input":
            element = block["element"]
            items.append(
                {
                    "kind": element["type"] if element["type"] in SUPPORTED_ELEMENTS else "unsupported",
                    "element_type": element["type"],
                    "block_id": block_id,
                    "field_id": f"slack-view-{view_id}-{block_id}",
                    "label": block["label"]["text"],
                    "optional": block.get("optional", False),
                    "hint": (block.get("hint") or {}).get("text", ""),
                    "placeholder": (element.get("placeholder") or {}).get("text", ""),
                    "multiline": element.get("multiline", False),
                    "decimal": element.get("is_decimal_allowed", False),
                    "value": shown.get(block_id, ""),
                    "options": _option_choices(element) if element["type"] == "static_select" else [],
                    "error": errors.get(block_id, ""),
                }
            )
        elif kind == "divider":
            items.append({"kind": "divider"})
        elif kind in ("header", "section", "context"):
            items.append({"kind": "text", "header": kind == "header", "lines": block_texts([block])})
        else:
            items.append({"kind": "unsupported", "element_type": kind, "block_id": block_id, "label": ""})
    return items


def _option_choices(element: dict[str, Any]) -> list[dict[str, str]]:
    if "options" in element:
        return [{"value": o["value"], "text": o["text"]["text"], "group": ""} for o in element["options"]]
    return [
        {"value": option["value"], "text": option["text"]["text"], "group": group["label"]["text"]}
        for group in element["option_groups"]
        for option in group["options"]
    ]


def block_texts(blocks: Any) -> list[str]:
    """The readable text of message or view blocks (headers, sections and their fields, context), in order."""
    lines: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        parts = [block.get("text"), *(block.get("fields") or [])]
        if block.get("type") == "context":
            parts = list(block.get("elements") or [])
        lines += [part["text"] for part in parts if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return lines
