"""What the webhook connector takes and returns: a signed message for one URL, and how the receiver answered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebhookMessage:
    """One message as the Standard Webhooks specification has it: its id stays the same across retries."""

    url: str
    secret: str  # "whsec_" + base64 of the key
    message_id: str  # "msg_..."
    body: bytes


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    # The start of what the receiver answered, never more (the receiver's body is not ours to keep).
    excerpt: str
