"""Team Chat Process API: talk with one person in the team's chat (Slack), in answer to something they did there.

A chat command or a click gives two things to answer with: a `trigger` that opens a form (a Slack modal) for that
person, good once and for about 3 seconds, and a `reply_url` that takes a few later answers (5, within 30 minutes).
These two functions are what a chat consumer (the `/incident` command) needs below it. They hold no state: what the
person asked for goes through the other Process APIs.

Errors are the Slack System API's typed errors (kernel `ServiceError`s, each with `retryable`): a spent trigger or
reply URL, or a reply URL that SLACK_RESPONSE_URL_PREFIXES does not admit, is not retryable; an outage is.
"""

from __future__ import annotations

from typing import Any

from kernel.tracing import traced_operation
from system_apis.slack.client import SlackClient


@traced_operation("process", "team_chat", "form_open")
def team_chat_form_open(*, trigger: str, form: dict[str, Any]) -> str:
    """Open `form` (a Slack view) for the person whose action gave `trigger`; returns the form's id."""
    return SlackClient.from_settings().open_view(trigger, form)


@traced_operation("process", "team_chat", "reply")
def team_chat_reply(*, reply_url: str, message: dict[str, Any]) -> None:
    """Answer the person later through `reply_url` (a response_url) with `message` (a Slack message)."""
    SlackClient.from_settings().respond(reply_url, message)
