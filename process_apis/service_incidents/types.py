from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ServiceIncident:
    """The ServiceNow incident as the Process APIs hand it on (no vendor types above this layer)."""

    sys_id: str
    number: str
    state: int
    state_label: str
    impact: int
    urgency: int
    priority: int
    short_description: str
    correlation_id: str
    url: str
    opened_at: datetime | None
    updated_at: datetime | None
