"""What the Salesforce connector speaks: our own types, never Salesforce's JSON."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contact:
    """A Salesforce contact; fields Salesforce leaves empty are None (LastName is required there)."""

    id: str
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    account_id: str | None
    account_name: str | None
