"""What the command shows in Slack: ephemeral answers and the report modal, in Block Kit.

User text in mrkdwn is escaped as Slack asks (`&`, `<`, `>`), so nothing typed can ping a channel or forge a link.
"""

from __future__ import annotations

from typing import Any

from process_apis.customer_incidents.inputs import REPORT_INPUT
from process_apis.customer_incidents.types import ReportSummary

Message = dict[str, Any]

REPORT_CALLBACK = "incident_report"
# Block Kit's plain_text_input takes at most 3000 characters.
TEXT_INPUT_LIMIT = 3000
MODAL_LABELS = {
    "email": "Customer's email",
    "name": "Customer's name",
    "order_number": "Order number",
    "category": "What is it about?",
    "urgency": "How urgent is it?",
    "short_description": "Short description",
    "description": "Description",
}
MULTILINE = frozenset({"description"})
USAGE = (
    "*/incident* opens the report form.\n"
    "*/incident report* `<customer email> <category> <urgency> <summary>` files a report for a customer; "
    "category is one of {categories}, urgency 1 (high), 2 (medium) or 3 (low).\n"
    "*/incident status* `<IH-reference | INC number>` shows where a report stands."
)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ephemeral(text: str) -> Message:
    return {"response_type": "ephemeral", "text": text}


def usage(problem: str = "") -> Message:
    categories = ", ".join(f"`{value}`" for value, _ in REPORT_INPUT["category"].choices)
    return ephemeral((f"{problem}\n\n" if problem else "") + USAGE.format(categories=categories))


def refused(errors: dict[str, list[str]]) -> Message:
    lines = [f"• {MODAL_LABELS.get(field, field)}: {' '.join(messages)}" for field, messages in errors.items()]
    return usage("The report was not filed:\n" + "\n".join(lines))


def modal_errors(errors: dict[str, list[str]]) -> Message:
    """Slack's answer that keeps the modal open with each field's problem under it (`response_action: errors`)."""
    return {"response_action": "errors", "errors": {field: " ".join(problems) for field, problems in errors.items()}}


def report_standing(summary: ReportSummary, *, follows: bool = False) -> Message:
    """Where a report stands: its reference and, once it exists, its ServiceNow incident and state. `follows`: the
    incident is told in a message of its own once it exists."""
    reference = f"*{summary.reference}*"
    about = f"{escape(summary.short_description)} ({escape(summary.customer['email'])})"
    if summary.servicenow_number:
        state = escape(summary.servicenow_state or summary.status)
        text = f"{reference} is *{summary.servicenow_number}* in ServiceNow, {state}: {about}"
        if summary.resolution_code or summary.resolution_notes:
            resolution = ": ".join(escape(part) for part in (summary.resolution_code, summary.resolution_notes) if part)
            text += f"\nResolution: {resolution}"
    elif follows:
        text = f"{reference} is filed: {about}. Its ServiceNow incident follows in a message to you."
    else:
        text = (
            f"{reference} is filed: {about}. ServiceNow has no incident for it yet; the team follows it up in "
            f"Incident Hub (`/incident status {summary.reference}`)."
        )
    return ephemeral(text)


def report_modal(*, private_metadata: str) -> Message:
    """The report form as a Slack modal: the fields of the one input definition, each an input block."""
    return {
        "type": "modal",
        "callback_id": REPORT_CALLBACK,
        "title": {"type": "plain_text", "text": "Report an incident"},
        "submit": {"type": "plain_text", "text": "Report"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": private_metadata,
        "blocks": [_input_block(name) for name in REPORT_INPUT],
    }


def _input_block(name: str) -> Message:
    field = REPORT_INPUT[name]
    if field.choices:
        element: Message = {
            "type": "static_select",
            "options": [
                {"text": {"type": "plain_text", "text": str(label)[:75]}, "value": str(value)}
                for value, label in field.choices
            ],
        }
    elif name == "email":
        element = {"type": "email_text_input"}
    else:
        element = {
            "type": "plain_text_input",
            "max_length": min(field.max_length or TEXT_INPUT_LIMIT, TEXT_INPUT_LIMIT),
        }
        if name in MULTILINE:
            element["multiline"] = True
    return {
        "type": "input",
        "block_id": name,
        "optional": not field.required,
        "label": {"type": "plain_text", "text": MODAL_LABELS[name]},
        "element": {**element, "action_id": "value"},
    }


def submitted_values(view: Message) -> dict[str, str]:
    """The modal's fields as submitted (`view.state.values`), every one present, "" when left empty."""
    state = view.get("state", {}).get("values", {}) if isinstance(view, dict) else {}
    values = {}
    for name in REPORT_INPUT:
        action = state.get(name, {}).get("value", {}) if isinstance(state.get(name), dict) else {}
        value = (
            (action.get("selected_option") or {}).get("value") if "selected_option" in action else action.get("value")
        )
        values[name] = value if isinstance(value, str) else ""
    return values


def report_filed_view(message: Message) -> Message:
    """The modal after a report is filed: it says what the ephemeral answer says, with a close button."""
    return {
        "type": "modal",
        "callback_id": f"{REPORT_CALLBACK}_filed",
        "title": {"type": "plain_text", "text": "Incident reported"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message["text"]}}],
    }
