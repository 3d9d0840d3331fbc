from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CONSUMER_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


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


@dataclass(frozen=True)
class Consumer:
    """Who brings a report in, as the consumer declares itself: `name` its identifier (an Experience API's
    catalog name), `label` how people read it (Slack, the admin), `contact_type` ServiceNow's word for how the
    incident reached the service desk."""

    name: str
    label: str
    contact_type: str = "self-service"

    def __post_init__(self) -> None:
        if not CONSUMER_NAME.fullmatch(self.name):
            raise ValueError(f"consumer name {self.name!r}: lower-case letters, digits and _, at most 40")
        if not 0 < len(self.label) <= 60 or not 0 < len(self.contact_type) <= 40:
            raise ValueError(f"consumer {self.name}: label (≤ 60) and contact_type (≤ 40) must be given")
