"""Slack connector: posts Notices with `chat.postMessage` and rewrites them with `chat.update`, speaking Block Kit so
nobody above has to; opens modals with `views.open` and answers a slash command or an interaction through its
`response_url` (Slack's delayed responses)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from ..errors import (
    SystemAPIError,
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemPaced,
    SystemProtocolError,
    SystemRateLimited,
    SystemUnavailable,
)
from ..http import HttpAnswer, HttpClient, Reading, Timeout, read_status
from .blocks import fallback_text, notice_blocks
from .pacing import channel_slot_wait
from .response_urls import SETTING as RESPONSE_URL_PREFIXES_SETTING
from .response_urls import SLACK_RESPONSE_URL_PREFIX, response_url_refusal
from .types import Notice, PostedMessage

logger = logging.getLogger("system_apis.slack")

# Slack answers most failures with HTTP 200 and `{"ok": false, "error": "<code>"}`; the code decides.
ERROR_KINDS: dict[str, type[SystemAPIError]] = {
    **dict.fromkeys(
        (
            "not_authed",
            "invalid_auth",
            "account_inactive",
            "token_revoked",
            "token_expired",
            "missing_scope",
            "not_allowed_token_type",
        ),
        SystemAuthError,
    ),
    # chat.update: no message of ours with that ts in that channel.
    **dict.fromkeys(("channel_not_found", "message_not_found"), SystemNotFound),
    "ratelimited": SystemRateLimited,
    **dict.fromkeys(("internal_error", "fatal_error", "service_unavailable", "request_timeout"), SystemUnavailable),
    **dict.fromkeys(
        (
            "not_in_channel",
            "is_archived",
            "msg_too_long",
            "no_text",
            "invalid_blocks",
            "invalid_arguments",
            # chat.update: the message exists but may not be changed (not ours, or the workspace's edit window).
            "cant_update_message",
            "edit_window_closed",
            # A wrong SLACK_API_URL shows as an unknown method: our configuration, not a missing record.
            "unknown_method",
            # views.open: a trigger_id opens one view, within 3 seconds of the person's action; no retry revives it.
            "expired_trigger_id",
            "exchanged_trigger_id",
            "invalid_trigger_id",
            # views.open: the view is over 250 kB, or reuses an external_id another view of the workspace has.
            "view_too_large",
            "duplicate_external_id",
        ),
        SystemBadRequest,
    ),
}

# What a response_url answers: Slack documents no envelope for it. A success is HTTP 200 with `ok` as plain text
# (or `{"ok": true}`); a refusal has the error as the whole text body ("Expired url") or as `{"ok": false, "error"}`.
RESPONSE_URL_ERROR_KINDS: dict[str, type[SystemAPIError]] = {
    **ERROR_KINDS,
    # A response_url takes 5 answers within 30 minutes of the command or interaction, then none.
    "expired_url": SystemNotFound,
    # Incoming webhooks' codes, which the same hooks.slack.com answers with.
    **dict.fromkeys(("invalid_payload", "action_prohibited"), SystemBadRequest),
}
RESPONSE_URL_SPENT = "Slack takes no more answers at this response_url (it takes 5, within 30 minutes)"
TEXT_CODE = re.compile(r"[A-Za-z][A-Za-z_ ]{0,63}")


def read_answer(answer: HttpAnswer) -> Reading:
    """What Slack's answer means: its `{"ok": false, "error": "<code>"}` decides, even with HTTP 200."""
    envelope = answer.body if isinstance(answer.body, dict) else {}
    refused = envelope.get("ok") is False
    code = str(envelope["error"]) if envelope.get("error") else None
    if code is None:
        if refused and answer.status < 400:
            return Reading.failed(SystemProtocolError, "Slack answered ok: false without an error code")
        return read_status(answer)
    message = f"Slack refused the call: {code}" + (f" (needs {envelope['needed']})" if envelope.get("needed") else "")
    kind = ERROR_KINDS.get(code)
    if answer.status == 429 or not refused or (kind is None and answer.status >= 400):
        return read_status(answer, message, code)
    return Reading.failed(kind or SystemBadRequest, message, code=code, retry_after=answer.retry_after)


def read_response_url_answer(answer: HttpAnswer) -> Reading:
    """What an answer posted to a response_url met: `ok`, or a refusal read from its code, else from its status."""
    status, code = answer.status, _response_url_code(answer)
    if 200 <= status < 300 and code == "ok":
        return Reading()
    if 300 <= status < 400:
        return Reading.failed(SystemProtocolError, f"Slack answered {status} {answer.reason}: a redirect, not followed")
    message = f"Slack refused the answer: {code}" if code else f"Slack refused the answer (HTTP {status})"
    if status == 429 or status >= 500:
        return read_status(answer, message, code)
    if code is None and status < 300:
        return Reading.failed(SystemProtocolError, f"Slack answered {status} with neither ok nor an error code")
    kind = RESPONSE_URL_ERROR_KINDS.get(code or "")
    if code == "expired_url" or (kind is None and status in (404, 410)):
        return Reading.failed(SystemNotFound, f"{RESPONSE_URL_SPENT}: {code or status}", code=code)
    if kind is None and status >= 400:
        return read_status(answer, message, code)
    return Reading.failed(kind or SystemBadRequest, message, code=code, retry_after=answer.retry_after)


def _response_url_code(answer: HttpAnswer) -> str | None:
    """`ok` or the error code an answer says, as a Web API code ("Expired url" -> "expired_url"); None if neither."""
    if isinstance(answer.body, dict):
        if answer.body.get("error"):
            return str(answer.body["error"])
        return "ok" if answer.body.get("ok") is True else None
    text = answer.content.decode("utf-8", "replace").strip()
    if not text and 200 <= answer.status < 300:
        return "ok"
    return text.lower().replace(" ", "_") if TEXT_CODE.fullmatch(text) else None


class SlackResponseUrlRefused(SystemBadRequest):
    """The response_url is not one SLACK_RESPONSE_URL_PREFIXES lets an answer go to: nothing was sent."""


class SlackClient(HttpClient):
    """Slack Web API with a bot token. `base_url` is the Web API base ending in `/api/`; answers to response_urls go
    only under `response_url_prefixes`, without the token."""

    system = "slack"
    read_answer = staticmethod(read_answer)
    POST_MESSAGE = "chat.postMessage"
    UPDATE = "chat.update"
    OPEN_VIEW = "views.open"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        default_channel: str,
        timeout: Timeout,
        session: requests.Session | None = None,
        posts_per_second: int | None = None,
        response_url_prefixes: Sequence[str] = (SLACK_RESPONSE_URL_PREFIX,),
    ) -> None:
        """`posts_per_second`: pace posts per channel at that rate (None: no pacing)."""
        super().__init__(base_url=base_url, timeout=timeout, session=session)
        self.token = token
        self.default_channel = default_channel
        self.posts_per_second = posts_per_second
        self.response_url_prefixes = tuple(response_url_prefixes)

    @classmethod
    def from_settings(cls, *, session: requests.Session | None = None) -> SlackClient:
        return cls(
            base_url=settings.SLACK_API_URL,
            token=settings.SLACK_BOT_TOKEN,
            default_channel=settings.SLACK_CHANNEL,
            timeout=settings.SLACK_TIMEOUT,
            session=session,
            posts_per_second=settings.SLACK_POSTS_PER_SECOND or None,
            response_url_prefixes=settings.SLACK_RESPONSE_URL_PREFIXES,
        )

    def post_notice(self, notice: Notice, channel: str | None = None) -> PostedMessage:
        """Post `notice` to `channel` (default: SLACK_CHANNEL), as a thread reply when it has `thread_ts`."""
        operation = "post_message"
        payload: dict[str, Any] = {
            "channel": channel or self.default_channel,
            "text": fallback_text(notice),
            "blocks": notice_blocks(notice),
        }
        if notice.thread_ts:
            payload["thread_ts"] = notice.thread_ts
        self._take_slot(payload["channel"], operation)
        answer = self._web_api(self.POST_MESSAGE, payload, operation=operation)
        return self._posted(answer, self.POST_MESSAGE, operation)

    def update_notice(self, notice: Notice, *, channel_id: str, ts: str) -> PostedMessage:
        """Replace the message `ts` in channel `channel_id` (an id, as chat.update takes no name) with `notice`.

        Raises SystemNotFound when Slack has no such message (`message_not_found`) or channel, SystemBadRequest
        when the message may not be changed (`cant_update_message`, `edit_window_closed`). Not paced: Slack
        limits edits per workspace (its Tier 3), not by the channel's message a second.
        """
        operation = "update_message"
        payload = {"channel": channel_id, "ts": ts, "text": fallback_text(notice), "blocks": notice_blocks(notice)}
        answer = self._web_api(self.UPDATE, payload, operation=operation)
        return self._posted(answer, self.UPDATE, operation)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        """Open `view` (a modal) for the person whose action gave `trigger_id`; returns the opened view's id.

        A trigger_id opens one view, within 3 seconds of the action: Slack's `expired_trigger_id`,
        `exchanged_trigger_id` and `invalid_trigger_id` raise SystemBadRequest, as does a view Slack will not take
        (`view_too_large`, `duplicate_external_id`, `invalid_arguments`).
        """
        operation = "open_view"
        answer = self._web_api(self.OPEN_VIEW, {"trigger_id": trigger_id, "view": view}, operation=operation)
        opened = answer.get("view")
        view_id = opened.get("id") if isinstance(opened, dict) else None
        if not isinstance(view_id, str) or not view_id:
            # Without the body: the view holds what the person may have typed.
            raise SystemProtocolError(
                f"{self.OPEN_VIEW} answered ok without the view's id",
                system=self.system,
                operation=operation,
                status=200,
            )
        return view_id

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """POST `message` (`text`, `blocks`, `response_type`, `replace_original`, `delete_original`...) to a slash
        command's or an interaction's `response_url`, as Slack's delayed responses are sent: JSON, no token.

        Only to a URL that SLACK_RESPONSE_URL_PREFIXES admits, else SlackResponseUrlRefused and nothing is sent. A
        response_url takes 5 answers within 30 minutes; past that Slack's refusal raises SystemNotFound. Neither is
        worth retrying; a timeout, a 5xx or a 429 is, as with every Slack call.
        """
        operation = "respond"
        refusal = response_url_refusal(response_url, self.response_url_prefixes)
        if refusal is not None:
            raise SlackResponseUrlRefused(
                f"not sent: {refusal}; {RESPONSE_URL_PREFIXES_SETTING} says where answers may go",
                system=self.system,
                operation=operation,
            )
        self._request(
            "POST",
            response_url,
            operation=operation,
            read=read_response_url_answer,
            # The path is the capability to answer: only its first segment ("/commands", "/actions") is logged.
            logged_path="/" + urlsplit(response_url).path.lstrip("/").split("/", 1)[0] + "/...",
            data=json.dumps(message, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            # A redirect would take the answer to a URL the prefixes never admitted.
            allow_redirects=False,
        )

    def _posted(self, answer: dict[str, Any], method: str, operation: str) -> PostedMessage:
        channel_id, ts = answer.get("channel"), answer.get("ts")
        if not isinstance(channel_id, str) or not isinstance(ts, str) or not channel_id or not ts:
            raise SystemProtocolError(
                f"{method} answered ok without channel and ts",
                system=self.system,
                operation=operation,
                status=200,
                # Without the echoed message: it holds customer text.
                body=json.dumps({key: value for key, value in answer.items() if key != "message"}),
            )
        return PostedMessage(channel=channel_id, ts=ts)

    def _take_slot(self, channel: str, operation: str) -> None:
        """Post only in the channel's second this post counted itself into; a later one holds it back, unsent."""
        if not self.posts_per_second:
            return
        wait = channel_slot_wait(channel, per_second=self.posts_per_second)
        if wait > 0:
            raise SystemPaced(
                f"{channel} takes {self.posts_per_second} message(s) a second; its next slot is in {wait:.1f} s",
                system=self.system,
                operation=operation,
                retry_after=wait,
            )

    def _web_api(self, method: str, payload: dict[str, Any], *, operation: str) -> dict[str, Any]:
        response = self._request(
            "POST",
            method,
            operation=operation,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        answer = self._json(response, operation)
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise self._protocol_error("answer is not a Slack success envelope", operation, response=response)
        metadata = answer.get("response_metadata")
        warnings = (metadata.get("warnings") if isinstance(metadata, dict) else None) or answer.get("warning")
        if warnings:
            logger.warning("slack %s answered with warnings: %s", operation, warnings)
        return answer
