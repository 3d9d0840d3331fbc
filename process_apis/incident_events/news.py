"""What happens to a report, told to whoever listens: the team's Slack thread, the customer's e-mail, client webhooks.

One source publishes, several listeners act. A listener is called inside the transaction that records the news,
so the work it queues (durable work, `kernel.work`) commits with the news or not at all; it only queues work and
never calls out, so a listener's system being down delays its own work and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import transaction

from ..models import IncidentEvent, IncidentRequest


class NewsKind(StrEnum):
    ACCEPTED = "accepted"  # the report is stored: it has its reference
    CREATED = "created"  # its ServiceNow incident exists and is recorded
    CHANGED = "changed"  # ServiceNow changed the incident (pushed, polled or refreshed by staff)


@dataclass(frozen=True)
class IncidentNews:
    kind: NewsKind
    request: IncidentRequest
    # The timeline entry this news is (None for ACCEPTED before its event is kept).
    event: IncidentEvent | None = None
    # For CHANGED: what changed, {"state": {"from": "New", "to": "In Progress"}, ...}.
    changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # For CHANGED: the incident has just become resolved (or closed) and was neither before.
    resolved: bool = False


Listener = Callable[[IncidentNews], None]
_listeners: list[Listener] = []


def incident_news_listen(listener: Listener) -> Listener:
    """Register `listener` (once, at import; usable as a decorator) for every piece of news."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def incident_news_publish(news: IncidentNews) -> None:
    """Tell every listener, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("incident news is published inside the transaction that records it")
    for listener in _listeners:
        listener(news)
