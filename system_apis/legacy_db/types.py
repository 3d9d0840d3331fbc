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
    """A CUST_MASTER record with its values as the old system keeps them (names in upper case, say), less the
    padding: how a name is best written is for whoever shows it to decide."""

    customer_number: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    # ACCT_STAT as stored, unknown letters too: `account_status` is what it means.
    account_status_code: str
    opened_on: date | None
    # LAST_CHG_TS, read by the paged reads only: a lookup must still work on a CUST_MASTER without the column.
    last_changed_at: datetime | None = None

    @property
    def account_status(self) -> AccountStatus:
        return STATUS_BY_CODE.get(self.account_status_code.upper(), AccountStatus.UNKNOWN)


STATUS_BY_CODE = {status.value: status for status in AccountStatus if status is not AccountStatus.UNKNOWN}
