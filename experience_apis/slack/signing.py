"""Every request from Slack is signed with the app's signing secret (Slack's "Verifying requests from Slack"):
`X-Slack-Signature: v0=<hex HMAC-SHA256 over "v0:{timestamp}:{raw body}">`, with `X-Slack-Request-Timestamp`
at most five minutes away from now. slack_sdk's verifier does the arithmetic and the constant-time compare.

slack_sdk is imported on the first Slack request, not with this module: its package imports its whole Web API
client (37 modules, 2 MB of every web process) even for the verifier alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from slack_sdk.signature import Clock


def _fixed_clock(now: float) -> Clock:
    from slack_sdk.signature import Clock

    class FixedClock(Clock):
        def now(self) -> float:
            return now

    return FixedClock()


def slack_request_verified(request: HttpRequest, *, now: float | None = None) -> bool:
    """Whether `request` carries Slack's valid, fresh signature of its exact body (`now`: for tests)."""
    from slack_sdk.signature import SignatureVerifier

    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and signature.isascii() and settings.SLACK_SIGNING_SECRET):
        return False
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET, *([] if now is None else [_fixed_clock(now)]))
    try:
        return verifier.is_valid(body=request.body.decode("utf-8"), timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:
        return False
