from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum


class AccountStatus(Enum):
    """ACCT_STAT: the value is the old system's letter; any other letter (or none) is UNKNOWN."""

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
    # LAST_CHG_TS, read by the paged reads only: a lookup must still work on a CUST_MASTER without the column.
    last_changed_at: datetime | None = None
