from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ReportSummary:
    """What a reporter (or staff) is told about one report."""

    reference: str
    status: str
    accepted: bool
    servicenow_number: str | None
    servicenow_state: str | None
    state_as_of: datetime | None
    # How ServiceNow resolved it: set once it is resolved or closed.
    resolution_code: str | None
    resolution_notes: str | None
    priority: int | None
    priority_label: str | None
    category: str
    urgency: int
    short_description: str
    created_at: datetime
    customer: dict[str, Any]
    notification: str | None
