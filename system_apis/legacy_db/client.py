"""System API of the legacy customer database: the only code that knows CUST_MASTER."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from ..errors import SystemNotFound, SystemUnavailable
from ..pipeline import Answered, SystemClient, TransportError
from .router import LEGACY_ALIAS
from .types import AccountStatus, LegacyCustomer

logger = logging.getLogger("system_apis.legacy_db")

COLUMNS = "CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT"
CUST_NO_WIDTH = 10
LEGACY_TIMESTAMP = "%Y%m%d%H%M%S"
STATUS_ORDER = {AccountStatus.ACTIVE: 0, AccountStatus.INACTIVE: 1, AccountStatus.CLOSED: 2, AccountStatus.UNKNOWN: 3}


class LegacyCustomerDatabase(SystemClient):
    system = "legacy_db"
    FIND_BY_EMAIL = f"SELECT {COLUMNS} FROM CUST_MASTER WHERE UPPER(TRIM(EMAIL_ADDR)) = %s"  # noqa: S608
    GET_BY_NUMBER = f"SELECT {COLUMNS} FROM CUST_MASTER WHERE TRIM(CUST_NO) = %s"  # noqa: S608
    # Keyset pages on the primary key: each page costs the same however deep into the table it starts.
    PAGE = f"SELECT {COLUMNS}, LAST_CHG_TS FROM CUST_MASTER{{where}} ORDER BY CUST_NO LIMIT %s"  # noqa: S608
    COUNT = "SELECT COUNT(*) FROM CUST_MASTER{where}"

    def __init__(self, *, alias: str = LEGACY_ALIAS, timeout: float = 5.0) -> None:
        self.alias = alias
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> LegacyCustomerDatabase:
        return cls(timeout=settings.LEGACY_DB_TIMEOUT)

    def find_by_email(self, email: str) -> list[LegacyCustomer]:
        """Every customer record with that email (the old system allowed duplicates), active first."""
        rows = self._query("find_by_email", self.FIND_BY_EMAIL, [email.strip().upper()])
        customers = [to_customer(row) for row in rows]
        return sorted(customers, key=lambda c: (STATUS_ORDER[c.account_status], c.customer_number))

    def get_customer(self, customer_number: str) -> LegacyCustomer:
        rows = self._query("get_customer", self.GET_BY_NUMBER, [customer_number.strip()])
        if not rows:
            raise SystemNotFound(
                f"no customer {customer_number!r} in CUST_MASTER", system=self.system, operation="get_customer"
            )
        return to_customer(rows[0])

    def read_page(
        self, after: str | None = None, *, limit: int = 1000, changed_since: datetime | None = None
    ) -> list[LegacyCustomer]:
        """At most `limit` customers in CUST_NO order, from the first after `after` (exclusive; None: from the
        start), only those changed at or after `changed_since` if given. Fewer than `limit`: the last page."""
        if limit < 1:
            raise ValueError(f"a page of legacy customers needs a limit of at least 1, not {limit}")
        where, params = _page_filter(after, changed_since)
        rows = self._query("read_page", self.PAGE.format(where=where), [*params, limit])
        return [to_customer(row) for row in rows]

    def iter_customers(
        self, *, after: str | None = None, changed_since: datetime | None = None, page_size: int = 1000
    ) -> Iterator[LegacyCustomer]:
        """Every customer `read_page` would give, page after page: one query per page, at most one page held."""
        while True:
            page = self.read_page(after, limit=page_size, changed_since=changed_since)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].customer_number

    def count_customers(self, *, after: str | None = None, changed_since: datetime | None = None) -> int:
        """How many customers `iter_customers` with the same arguments would give (at the time of asking)."""
        where, params = _page_filter(after, changed_since)
        rows = self._query("count_customers", self.COUNT.format(where=where), params)
        return int(rows[0][0])

    def _query(self, operation: str, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        # A query has one limit: the pipeline's (connect, read) pair carries it twice.
        return self._call(
            operation, lambda timeout: self._execute(sql, params, timeout[1]), timeout=(self.timeout, self.timeout)
        )

    def _execute(self, sql: str, params: list[Any], timeout: float) -> Answered[list[tuple[Any, ...]]]:
        connection = connections[self.alias]
        try:
            # Its own (sub)transaction: a failed query must not poison a transaction the caller holds open.
            with transaction.atomic(using=self.alias), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SET LOCAL statement_timeout = %s", [int(timeout * 1000)])
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        except DatabaseError as exc:
            # The driver's own text (SQL, table and column names) goes to the log, never into an API's answer.
            logger.warning("legacy customer database failed: %s", exc)
            message = f"legacy customer database failed ({type(exc).__name__})"
            raise TransportError(type(exc).__name__, SystemUnavailable, message, level=logging.WARNING) from exc
        return Answered(rows, "ok", details={"rows": len(rows)})


def _page_filter(after: str | None, changed_since: datetime | None) -> tuple[str, list[str]]:
    conditions, params = [], []
    if after is not None:
        # Padded to the column's width as stored: unpadded, a shorter number sorts before its own row (on SQLite).
        conditions.append("CUST_NO > %s")
        params.append(after.strip().ljust(CUST_NO_WIDTH))
    if changed_since is not None:
        # YYYYMMDDHHMMSS text sorts as the time it stands for.
        conditions.append("LAST_CHG_TS >= %s")
        params.append(format_legacy_timestamp(changed_since))
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


def to_customer(row: tuple[Any, ...]) -> LegacyCustomer:
    """A CUST_MASTER row (COLUMNS, then LAST_CHG_TS if it was selected) as a customer."""
    number, first, last, email, phone, status, opened, *changed = (str(value or "").strip() for value in row)
    return LegacyCustomer(
        customer_number=number,
        first_name=first,
        last_name=last,
        email=email.lower(),
        phone=phone or None,
        account_status_code=status,
        opened_on=parse_legacy_date(opened),
        last_changed_at=parse_legacy_timestamp(changed[0]) if changed else None,
    )


# Read by slicing, not strptime: a page maps thousands of rows, and strptime would be most of its time.
def parse_legacy_date(value: str) -> date | None:
    """OPEN_DT is YYYYMMDD text; blanks and the old system's 00000000 mean unknown."""
    if len(value) != len("YYYYMMDD") or not (value.isascii() and value.isdigit()):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def parse_legacy_timestamp(value: str) -> datetime | None:
    """LAST_CHG_TS is YYYYMMDDHHMMSS text on the old system's clock, the site's TIME_ZONE; blanks and zeros mean
    unknown."""
    if len(value) != len("YYYYMMDDHHMMSS") or not (value.isascii() and value.isdigit()):
        return None
    fields = (int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), int(value[10:12]), int(value[12:]))
    try:
        return datetime(*fields, tzinfo=timezone.get_default_timezone())
    except ValueError:
        return None


def format_legacy_timestamp(moment: datetime) -> str:
    if timezone.is_naive(moment):
        raise ValueError(f"a time compared with LAST_CHG_TS needs its time zone, {moment.isoformat()} has none")
    return moment.astimezone(timezone.get_default_timezone()).strftime(LEGACY_TIMESTAMP)
