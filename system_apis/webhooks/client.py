"""Client webhooks connector: one signed POST of a message to a receiver's URL, as Standard Webhooks says.

Signed per the specification (standardwebhooks): `webhook-id` (the message id, the same on every retry),
`webhook-timestamp` (this attempt's time, integer seconds) and `webhook-signature` (`v1,` + base64 of
HMAC-SHA256 over `{id}.{timestamp}.{body}` with the secret's key). Before each call the URL and the addresses
its host resolves to are checked (`guard`), and the call goes to the address checked. No redirect is followed;
only the start of the receiver's answer is read.

What an answer means: 2xx delivered; 410 Gone means the receiver wants no more (`WebhookGone`, not retried);
any other status, a timeout or no connection is retryable (the specification has senders retry every non-2xx),
honouring Retry-After. A refused URL or address (`WebhookAddressRefused`) is never retried.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import requests
from django.conf import settings
from standardwebhooks import Webhook

from kernel.db import release_pooled_connections
from kernel.retry import parse_retry_after

from ..errors import SystemAPIError, SystemBadRequest, SystemTimeout, SystemUnavailable
from ..http import HttpAnswer, HttpClient
from ..pipeline import Answered, Reading, Timeout, TransportError
from .guard import AddressRefused, AddressUnresolved, Target, pinned_session, resolve_target
from .types import WebhookAnswer, WebhookMessage

EXCERPT_BYTES = 200
USER_AGENT = "IncidentHub-Webhooks/1"
T = TypeVar("T")


class WebhookAddressRefused(SystemBadRequest):
    """The URL is not one a webhook may be sent to (its scheme, or a host that resolves to a private address)."""


class WebhookGone(SystemAPIError):
    """The receiver answered 410 Gone: it wants no more messages at this URL."""

    http_status = 502


class WebhookRefused(SystemUnavailable):
    """The receiver answered, but not with a 2xx: retried later."""


def signature_headers(*, secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt to send `body`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def read_answer(answer: HttpAnswer) -> Reading:
    """2xx delivered; 410 stops; anything else is retried. Never a hold on the system as a whole: a receiver is
    one client's, and its 429 speaks for itself alone."""
    if 200 <= answer.status < 300:
        return Reading()
    message = f"the receiver answered {answer.status} {answer.reason}".rstrip()
    if answer.status == 410:
        return Reading(WebhookGone, message)
    retry_after = answer.retry_after if answer.status in (429, 503) else None
    return Reading(WebhookRefused, message, retry_after=retry_after)


class _NoCircuit:
    """One receiver failing says nothing of another client's: no shared circuit over all webhooks."""

    def guard(self, func: Callable[[], T], *, operation: str) -> T:
        return func()


class WebhookClient(HttpClient):
    system = "webhooks"
    read_answer = staticmethod(read_answer)
    circuit = _NoCircuit()  # type: ignore[assignment]

    def __init__(self, *, timeout: Timeout, allow_http: bool = False, allow_private: bool = False) -> None:
        # Each message gets its own session, pinned to the address checked for it (`send`).
        super().__init__(base_url="", timeout=timeout)
        self.allow_http = allow_http
        self.allow_private = allow_private

    @classmethod
    def from_settings(cls) -> WebhookClient:
        return cls(
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_http=settings.WEBHOOK_ALLOW_HTTP,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
        )

    def send(self, message: WebhookMessage, *, at: datetime | None = None) -> WebhookAnswer:
        """POST `message`, signed for this attempt (`at`, default now)."""
        operation = "deliver"
        try:
            target = resolve_target(message.url, allow_http=self.allow_http, allow_private=self.allow_private)
        except AddressRefused as exc:
            raise WebhookAddressRefused(f"refused: {exc}", system=self.system, operation=operation) from exc
        except AddressUnresolved as exc:
            raise SystemUnavailable(str(exc), system=self.system, operation=operation) from exc
        at = at or datetime.now(UTC)
        headers = {
            **signature_headers(secret=message.secret, message_id=message.message_id, body=message.body, at=at),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Host": target.host_header,
        }
        session = pinned_session(target)
        try:
            send = lambda timeout: self._post(session, target, message, headers, timeout)  # noqa: E731
            # The host only in the log: a receiver's path or query may carry its own token.
            return self._call(operation, send, timeout=self.timeout, host=target.hostname)
        finally:
            session.close()

    def _post(
        self,
        session: requests.Session,
        target: Target,
        message: WebhookMessage,
        headers: dict[str, str],
        timeout: Timeout,
    ) -> Answered[WebhookAnswer]:
        # Unlike the vendors' calls, no W3C trace context: our trace ids are not the client's business.
        release_pooled_connections()
        try:
            response = session.post(
                message.url, data=message.body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            )
            try:
                content = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
            finally:
                response.close()
        except AddressRefused as exc:
            raise TransportError("refused", WebhookAddressRefused, f"refused: {exc}") from exc
        except requests.ConnectTimeout as exc:
            message_ = f"no connection within {round(timeout[0], 2)} s"
            raise TransportError("connect-timeout", SystemTimeout, message_, request_sent=False) from exc
        except requests.Timeout as exc:
            raise TransportError("read-timeout", SystemTimeout, f"no answer within {round(timeout[1], 2)} s") from exc
        except requests.RequestException as exc:
            message_ = f"cannot reach {target.hostname}: {type(exc).__name__}"
            raise TransportError("unreachable", SystemUnavailable, message_) from exc
        excerpt = content.decode("utf-8", "replace")
        reading = read_answer(
            HttpAnswer(
                status=response.status_code,
                reason=response.reason or "",
                headers=response.headers,
                content=content,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        )
        self.last_reading = reading
        answer = WebhookAnswer(status=response.status_code, excerpt=excerpt)
        return Answered(answer, response.status_code, reading, status=response.status_code, body=excerpt)
