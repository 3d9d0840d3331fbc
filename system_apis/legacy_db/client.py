"""System API of the legacy customer database: the only code that knows CUST_MASTER."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction

from ..errors import SystemNotFound, SystemUnavailable
from ..pipeline import Answered, SystemClient, TransportError
from .router import LEGACY_ALIAS
from .types import AccountStatus, LegacyCustomer

logger = logging.getLogger("system_apis.legacy_db")

COLUMNS = "CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT"
STATUS_ORDER = {AccountStatus.ACTIVE: 0, AccountStatus.INACTIVE: 1, AccountStatus.CLOSED: 2, AccountStatus.UNKNOWN: 3}


class LegacyCustomerDatabase(SystemClient):
    system = "legacy_db"
    FIND_BY_EMAIL = f"SELECT {COLUMNS} FROM CUST_MASTER WHERE UPPER(TRIM(EMAIL_ADDR)) = %s"  # noqa: S608
    GET_BY_NUMBER = f"SELECT {COLUMNS} FROM CUST_MASTER WHERE TRIM(CUST_NO) = %s"  # noqa: S608

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


def to_customer(row: tuple[Any, ...]) -> LegacyCustomer:
    number, first, last, email, phone, status, opened = (str(value or "").strip() for value in row)
    return LegacyCustomer(
        customer_number=number,
        first_name=first.title(),
        last_name=last.title(),
        email=email.lower(),
        phone=phone or None,
        account_status=next((s for s in AccountStatus if s.value == status.upper()), AccountStatus.UNKNOWN),
        opened_on=parse_legacy_date(opened),
    )


def parse_legacy_date(value: str) -> date | None:
    """OPEN_DT is YYYYMMDD text; blanks and the old system's 00000000 mean unknown."""
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
