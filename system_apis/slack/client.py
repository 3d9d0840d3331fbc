"""Slack Web API connector: posts Notices with `chat.postMessage` and rewrites them with `chat.update`, speaking
Block Kit so nobody above has to."""

from __future__ import annotations

import json
import logging
from typing import Any

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
        ),
        SystemBadRequest,
    ),
}


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


class SlackClient(HttpClient):
    """Slack Web API with a bot token. `base_url` is the Web API base ending in `/api/`."""

    system = "slack"
    read_answer = staticmethod(read_answer)
    POST_MESSAGE = "chat.postMessage"
    UPDATE = "chat.update"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        default_channel: str,
        timeout: Timeout,
        session: requests.Session | None = None,
        posts_per_second: int | None = None,
    ) -> None:
        """`posts_per_second`: pace posts per channel at that rate (None: no pacing)."""
        super().__init__(base_url=base_url, timeout=timeout, session=session)
        self.token = token
        self.default_channel = default_channel
        self.posts_per_second = posts_per_second

    @classmethod
    def from_settings(cls, *, session: requests.Session | None = None) -> SlackClient:
        return cls(
            base_url=settings.SLACK_API_URL,
            token=settings.SLACK_BOT_TOKEN,
            default_channel=settings.SLACK_CHANNEL,
            timeout=settings.SLACK_TIMEOUT,
            session=session,
            posts_per_second=settings.SLACK_POSTS_PER_SECOND or None,
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
