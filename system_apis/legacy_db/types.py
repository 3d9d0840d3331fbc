from dataclasses import dataclass
from datetime import date
from enum import Enum


class AccountStatus(Enum):
    ACTIVE = "A"
    INACTIVE = "I"
    CLOSED = "C"
    UNKNOWN = "?"


@dataclass(frozen=True)
class LegacyCustomer:
    customer_number: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    account_status: AccountStatus
    opened_on: date | None
