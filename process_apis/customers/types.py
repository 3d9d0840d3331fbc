from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

LEGACY_DB = "legacy_db"
SALESFORCE = "salesforce"
SOURCES = (LEGACY_DB, SALESFORCE)
SOURCE_LABELS = {LEGACY_DB: "legacy DB", SALESFORCE: "Salesforce"}
FIELD_LABELS = {"first_name": "first name", "last_name": "last name", "phone": "phone"}


def sources_text(sources: Iterable[str], errors: dict[str, str] | None = None) -> str:
    """The sources for people ("legacy DB, Salesforce"), each with its error if `errors` has one."""
    errors = errors or {}
    labels = []
    for source in sources:
        label = SOURCE_LABELS.get(source, source)
        labels.append(f"{label} ({errors[source]})" if errors.get(source) else label)
    return ", ".join(labels)


@dataclass(frozen=True)
class Customer:
    """One customer as Incident Hub sees it, merged from the legacy database and Salesforce.

    `found_in` lists the sources that know the email, `unavailable` those that could not be asked
    (the view is degraded then). A customer found nowhere is still a valid reporter: a new customer.
    """

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    account_name: str | None = None
    legacy_customer_number: str | None = None
    legacy_account_status: str | None = None
    customer_since: str | None = None
    salesforce_contact_id: str | None = None
    salesforce_account_id: str | None = None
    found_in: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()
    # The Salesforce contact is the legacy record, migrated there: one customer, with Salesforce's details.
    migrated: bool = False
    # Fields the two sources give different values for (the merge shows Salesforce's).
    differences: tuple[str, ...] = ()
    source_errors: dict[str, str] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        return not self.found_in and not self.unavailable

    @property
    def degraded(self) -> bool:
        return bool(self.unavailable)

    @property
    def found_in_text(self) -> str:
        """Where the customer is known, for people; empty when nowhere."""
        if self.migrated:
            return f"{SOURCE_LABELS[SALESFORCE]} (migrated from the {SOURCE_LABELS[LEGACY_DB]})"
        found = sources_text(self.found_in)
        if self.differences:
            found += f" (they differ on {', '.join(FIELD_LABELS.get(name, name) for name in self.differences)})"
        return found

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.email

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["found_in"] = list(self.found_in)
        data["unavailable"] = list(self.unavailable)
        data["differences"] = list(self.differences)
        return {**data, "is_new": self.is_new, "degraded": self.degraded, "display_name": self.display_name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Customer:
        names = {f for f in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in names}
        values["found_in"] = tuple(values.get("found_in", ()))
        values["unavailable"] = tuple(values.get("unavailable", ()))
        values["differences"] = tuple(values.get("differences", ()))
        return cls(**values)
