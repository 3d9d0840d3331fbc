"""Incident Hub's own view of a ServiceNow incident: what the connector takes and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


class _Level(IntEnum):
    @property
    def label(self) -> str:
        return self.name.title()


class Impact(_Level):
    HIGH = 1
    MEDIUM = 2
    LOW = 3


class Urgency(_Level):
    HIGH = 1
    MEDIUM = 2
    LOW = 3


class IncidentState(IntEnum):
    NEW = 1
    IN_PROGRESS = 2
    ON_HOLD = 3
    RESOLVED = 6
    CLOSED = 7
    CANCELED = 8

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").title()


# ServiceNow's default priority lookup (dl_u_priority): the sum of impact and urgency picks the row.
_PRIORITY_BY_SUM = {2: 1, 3: 2, 4: 3, 5: 4, 6: 5}


def priority_for(impact: int, urgency: int) -> int:
    """The priority (1 Critical .. 5 Planning) ServiceNow derives from impact and urgency."""
    return _PRIORITY_BY_SUM[int(Impact(impact)) + int(Urgency(urgency))]


@dataclass(frozen=True)
class NewIncident:
    short_description: str
    description: str
    impact: Impact
    urgency: Urgency
    correlation_id: str
    category: str = "inquiry"
    contact_type: str = "web"
    caller_email: str | None = None


@dataclass(frozen=True)
class Incident:
    sys_id: str
    number: str
    state: IncidentState
    impact: Impact
    urgency: Urgency
    priority: int
    short_description: str
    description: str
    correlation_id: str
    category: str
    opened_at: datetime | None
    updated_at: datetime | None
    url: str
    # sys_mod_count: how many times the record was updated (None where the answer left it out).
    mod_count: int | None = None


@dataclass(frozen=True)
class IncidentUpdate:
    """Changes to an incident; only the fields that are not None are sent."""

    state: IncidentState | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    short_description: str | None = None
    description: str | None = None
    work_notes: str | None = None
    close_code: str | None = None
    close_notes: str | None = None


@dataclass(frozen=True)
class IncidentChange:
    """An incident as it stands after one change: what a business rule pushes, or a poll reads.

    `mod_count` (ServiceNow's `sys_mod_count`) grows by one with every update of the record: it orders changes.
    Every other field may be left out by the sender: None where that differs from a value cleared.
    """

    sys_id: str
    mod_count: int
    number: str = ""
    state: IncidentState | None = None
    priority: int | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    correlation_id: str = ""
    close_code: str | None = None
    close_notes: str | None = None
    assigned_to: str | None = None
    work_notes: str = ""
