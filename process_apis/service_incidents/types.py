from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from system_apis.servicenow.types import IncidentState

# The states in which the customer's problem counts as solved.
RESOLVED_STATES = (IncidentState.RESOLVED, IncidentState.CLOSED)
# ServiceNow's default names of the priorities it derives from impact and urgency.
PRIORITY_LABELS = {1: "Critical", 2: "High", 3: "Moderate", 4: "Low", 5: "Planning"}


def priority_text(priority: int | None) -> str | None:
    """ "P2 High" for priority 2; None when there is none yet."""
    return f"P{priority} {PRIORITY_LABELS.get(priority, '')}".strip() if priority else None


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
    reference: str
    url: str
    opened_at: datetime | None
    updated_at: datetime | None
    mod_count: int | None = None
