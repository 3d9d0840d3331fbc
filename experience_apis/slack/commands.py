"""What `/incident` and its modal do; the views only verify, parse and answer.

Slack waits three seconds for an answer. A report is given SLACK_COMMAND_BUDGET seconds of the Process APIs'
time: the answer is its reference and ServiceNow number when both are ready by then, else the reference, and
the rest follows through `response_url` (`answers`). Slack's retries carry the same `trigger_id` (a modal, the
same view id), which is the report's intake key: a retry is answered with the report the first one made.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from kernel.budget import time_budget
from kernel.errors import NotAcceptedError, ServiceError
from process_apis.customer_incidents.inputs import REPORT_INPUT, ReportInputError, report_input_errors
from process_apis.customer_incidents.selectors import incident_find, incident_summary
from process_apis.customer_incidents.services import incident_report
from process_apis.team_chat.services import team_chat_form_open

from . import messages
from .answers import slack_answer_owe
from .consumer import CONSUMER

logger = logging.getLogger("experience_apis.slack")

URGENCY_WORDS = {"high": 1, "medium": 2, "low": 3}
# Slack's markup for what it recognised in the text (with "Escape channels, users, and links" on): an address as
# <mailto:a@b.c|a@b.c>, a link as <https://...|label>, a person or channel as <@U123|name> or <#C123|name>, a
# mention of everyone as <!channel>.
SLACK_MARKUP = re.compile(r"<(mailto:|[@#!])?([^|>]*)(?:\|([^>]*))?>")


@dataclass(frozen=True)
class SlashCommand:
    """The fields of a slash command that matter here, as Slack posts them (`text` as the person typed it)."""

    team_id: str
    user_id: str
    user_name: str
    text: str
    trigger_id: str
    response_url: str

    @classmethod
    def from_post(cls, data: Mapping[str, str]) -> SlashCommand:
        values = {name: str(data.get(name, "")) for name in cls.__dataclass_fields__}
        return cls(**{**values, "text": typed_text(values["text"])})

    @property
    def filed_by(self) -> str:
        return f"@{self.user_name} ({self.user_id}) on Slack"[:200]

    @property
    def caller(self) -> str:
        return f"slack:{self.team_id}:{self.user_id}"[:100]


def typed_text(text: str) -> str:
    """What the person typed, from the text as Slack sends it: its markup read, &amp; &lt; &gt; decoded."""

    def plain(markup: re.Match[str]) -> str:
        kind, target, label = markup.groups()
        if kind == "mailto:":
            return target
        if kind == "!":
            return label or f"@{target}"
        return f"{kind or ''}{label or target}"

    return SLACK_MARKUP.sub(plain, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slash_command_answer(command: SlashCommand, *, retried: bool = False, trace_id: str) -> messages.Message | None:
    """The immediate answer to `/incident ...` (None: nothing to show, the modal opened). `retried`: Slack sends the
    command again (X-Slack-Retry-Num) because the first one's answer did not reach it in time."""
    verb, _, rest = command.text.strip().partition(" ")
    verb = verb.lower()
    if verb == "":
        # The first attempt used the trigger up, whether the modal opened or not: a second one cannot.
        return None if retried else _open_modal(command)
    if verb == "report":
        return _report_from_text(command, rest.split(maxsplit=3), trace_id=trace_id)
    if verb == "status":
        return _status(rest)
    if verb == "help":
        return messages.usage()
    return messages.usage(f"I don't know `{messages.escape(verb)}`.")


def modal_submission_answer(payload: Mapping[str, Any], *, trace_id: str) -> messages.Message | None:
    """The answer to a submitted modal: `response_action` errors per block (the form stays open to try again), or
    the modal showing the filed report."""
    view = payload.get("view") if isinstance(payload.get("view"), dict) else {}
    if view.get("callback_id") != messages.REPORT_CALLBACK:
        return None
    values = messages.submitted_values(view)
    if errors := report_input_errors(values):
        return messages.modal_errors(errors)
    team = payload.get("team") if isinstance(payload.get("team"), dict) else {}
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    metadata = _metadata(view)
    command = SlashCommand(
        team_id=str(team.get("id", "")),
        user_id=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("name") or ""),
        text="",
        trigger_id="",
        response_url=str(metadata.get("response_url", "")),
    )
    view_id = str(view.get("id") or "")
    issued_at = metadata.get("issued_at")
    try:
        answer = _file(
            command,
            values,
            intake_key=f"slack:{command.team_id}:view:{view_id}" if view_id else None,
            trace_id=trace_id,
            commanded_at=datetime.fromtimestamp(issued_at, tz=UTC) if isinstance(issued_at, int) else None,
        )
    except ReportInputError as exc:
        return messages.modal_errors(exc.extra.get("fields", {}))
    except NotAcceptedError as exc:
        return messages.modal_errors({"short_description": [f"Not filed: {exc.message}"]})
    return {"response_action": "update", "view": messages.report_filed_view(answer)}


def _open_modal(command: SlashCommand) -> messages.Message | None:
    # The modal's submission carries no response_url of its own: the command's is kept for the answer that follows,
    # with the command's time, from which the response_url's 30 minutes run.
    metadata = json.dumps({"response_url": command.response_url, "issued_at": int(time.time())})
    try:
        # The trigger is good for 3 seconds, and Slack waits no longer for this answer.
        with time_budget(settings.SLACK_COMMAND_BUDGET):
            team_chat_form_open(trigger=command.trigger_id, form=messages.report_modal(private_metadata=metadata))
    except ServiceError as exc:
        logger.warning("slack: the report modal could not be opened: %s", exc)
        return messages.usage("The report form could not be opened; file the report as text instead.")
    return None


def _report_from_text(command: SlashCommand, words: list[str], *, trace_id: str) -> messages.Message:
    if len(words) < 4:
        return messages.usage("Give the customer's email, a category, an urgency and a summary.")
    email, category, urgency, summary = words
    values = {
        "email": email,
        "category": category.lower(),
        "urgency": str(URGENCY_WORDS.get(urgency.lower(), urgency)),
        "short_description": summary,
    }
    intake_key = f"slack:{command.team_id}:{command.trigger_id}" if command.trigger_id else None
    try:
        return _file(command, values, intake_key=intake_key, trace_id=trace_id)
    except ReportInputError as exc:
        return messages.refused(exc.extra.get("fields", {}))
    except NotAcceptedError as exc:
        return messages.ephemeral(f"The report was not filed: {exc.message}")


def _file(
    command: SlashCommand,
    values: dict[str, str],
    *,
    intake_key: str | None,
    trace_id: str,
    commanded_at: datetime | None = None,
) -> messages.Message:
    """File the report and, when its ServiceNow incident is not there yet, owe the answer that follows. Raises
    ReportInputError and NotAcceptedError for the caller to answer in its own way."""
    report = incident_report(
        **{name: value for name, value in values.items() if name in REPORT_INPUT},
        consumer=CONSUMER,
        filed_by=command.filed_by,
        api_client_id=command.caller,
        trace_id=trace_id,
        intake_key=intake_key,
        budget=settings.SLACK_COMMAND_BUDGET,
    )
    summary = incident_summary(report)
    follows = summary.servicenow_number is None and bool(command.response_url)
    if follows:
        reply_by = (commanded_at or timezone.now()) + timedelta(seconds=settings.SLACK_ANSWER_WAIT)
        slack_answer_owe(
            reference=report.reference, response_url=command.response_url, reply_by=reply_by, trace_id=trace_id
        )
    return messages.report_standing(summary, follows=follows)


def _status(typed: str) -> messages.Message:
    if not typed.strip():
        return messages.usage("Say which report: its IH- reference or its INC number.")
    report = incident_find(identifier=typed)
    if report is None:
        return messages.ephemeral(f"No report is known as `{messages.escape(typed.strip())}`.")
    return messages.report_standing(incident_summary(report))


def _metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}
