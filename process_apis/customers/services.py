"""Customers Process API: one customer view, merged from the legacy database and Salesforce.

Precedence, field by field (Salesforce is the maintained CRM, the legacy DB the old truth):
- name and phone: Salesforce, else the legacy record;
- account name and ids: Salesforce; customer number, account status, customer since: legacy;
- email: as the reporter typed it, lower-cased.
Both sources are asked at once; one that fails is listed as unavailable instead of failing the lookup.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

from kernel.tracing import traced_operation
from system_apis.errors import SystemAPIError
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.legacy_db.types import LegacyCustomer
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.types import Contact

from .types import LEGACY_DB, SALESFORCE, Customer

logger = logging.getLogger("process_apis.customers")
T = TypeVar("T")


@traced_operation("process", "customers", "find")
def customer_find(*, email: str) -> Customer:
    """The merged customer for `email`; never raises for a source that is down."""
    email = email.strip().lower()
    errors: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="salesforce-lookup") as pool:
        # Salesforce is HTTP: it waits in the pool while the legacy query runs on this thread
        # (on this thread's database connection), so the total is the slower of the two.
        # The copied context carries the flow's downstream deadline into the pool thread.
        contacts_future = pool.submit(contextvars.copy_context().run, _salesforce_contacts, email)
        legacy = _ask(LEGACY_DB, errors, lambda: LegacyCustomerDatabase.from_settings().find_by_email(email))
        contacts = _ask(SALESFORCE, errors, contacts_future.result)
    return merge_customer(email=email, legacy=legacy, contacts=contacts, errors=errors)


def merge_customer(
    *,
    email: str,
    legacy: list[LegacyCustomer] | None,
    contacts: list[Contact] | None,
    errors: dict[str, str] | None = None,
) -> Customer:
    """Merge what each source answered (None: the source was unavailable) into one Customer."""
    record = legacy[0] if legacy else None
    contact = contacts[0] if contacts else None
    found_in = tuple(source for source, hit in ((LEGACY_DB, record), (SALESFORCE, contact)) if hit)
    unavailable = tuple(source for source, answer in ((LEGACY_DB, legacy), (SALESFORCE, contacts)) if answer is None)
    return Customer(
        email=email,
        first_name=_first(contact and contact.first_name, record and record.first_name),
        last_name=_first(contact and contact.last_name, record and record.last_name),
        phone=_first(contact and contact.phone, record and record.phone),
        account_name=contact.account_name if contact else None,
        legacy_customer_number=record.customer_number if record else None,
        legacy_account_status=record.account_status.name.lower() if record else None,
        customer_since=record.opened_on.isoformat() if record and record.opened_on else None,
        salesforce_contact_id=contact.id if contact else None,
        salesforce_account_id=contact.account_id if contact else None,
        found_in=found_in,
        unavailable=unavailable,
        source_errors=dict(errors or {}),
    )


def _salesforce_contacts(email: str) -> list[Contact]:
    try:
        return SalesforceClient.from_settings().find_contacts_by_email(email)
    finally:
        # The token cache may have used the database on this pool thread; do not leak that connection.
        connections.close_all()


def _ask(source: str, errors: dict[str, str], call: Callable[[], T]) -> T | None:
    try:
        return call()
    except SystemAPIError as exc:
        logger.warning("customer source %s unavailable: %s", source, exc)
        errors[source] = f"{type(exc).__name__}: {exc.message}"
    except Exception as exc:  # a bug or a misconfiguration of one source must not lose the report
        logger.exception("customer source %s failed unexpectedly", source)
        errors[source] = f"{type(exc).__name__}: unexpected error"
    return None


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)
