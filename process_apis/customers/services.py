"""Customers Process API: one customer view, merged from the legacy database and Salesforce.

Precedence, field by field (Salesforce is the maintained CRM, the legacy DB the old truth):
- name and phone: Salesforce, else the legacy record written as the migration to Salesforce writes it;
- account name and ids: Salesforce; customer number, account status, customer since: legacy;
- email: as the reporter typed it, lower-cased.
Both sources are asked at once; one that fails is listed as unavailable instead of failing the lookup.
Salesforce is asked on a thread of a pool kept by the process, so that the thread's pooled HTTP session
(system_apis.http), and with it the open connection to Salesforce, serves the next lookup too.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

from kernel.tracing import traced_operation
from system_apis.errors import SystemAPIError
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.legacy_db.types import LegacyCustomer
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.types import Contact

from ..customer_migration.mapping import ContactName, name_as_written, phone_as_written
from ..customer_migration.selectors import migrated_contacts
from .types import LEGACY_DB, SALESFORCE, Customer

logger = logging.getLogger("process_apis.customers")
T = TypeVar("T")

# Lookups at once in one process, at most: above the request threads of a web process (WEB_THREADS), so that a
# lookup never waits for a thread. Threads are started only as lookups overlap, and idle ones are reused.
LOOKUP_THREADS = 32

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lookup_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="salesforce-lookup")
        return _pool


def _forget_pool_after_fork() -> None:
    # A forked child has none of the parent's threads: it starts its own pool when it first looks up.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


@traced_operation("process", "customers", "find")
def customer_find(*, email: str) -> Customer:
    """The merged customer for `email`; never raises for a source that is down."""
    email = email.strip().lower()
    errors: dict[str, str] = {}
    # Salesforce is HTTP: it waits in the pool while the legacy query runs on this thread
    # (on this thread's database connection), so the total is the slower of the two.
    # The copied context carries the flow's downstream deadline into the pool thread.
    contacts_future = _lookup_pool().submit(contextvars.copy_context().run, _salesforce_contacts, email)
    legacy = _ask(LEGACY_DB, errors, lambda: LegacyCustomerDatabase.from_settings().find_by_email(email))
    contacts = _ask(SALESFORCE, errors, contacts_future.result)
    # Only a customer both sources know can have been migrated from one to the other.
    migrated = migrated_contacts(record.customer_number for record in legacy) if legacy and contacts else {}
    return merge_customer(email=email, legacy=legacy, contacts=contacts, migrated=migrated, errors=errors)


def merge_customer(
    *,
    email: str,
    legacy: list[LegacyCustomer] | None,
    contacts: list[Contact] | None,
    migrated: Mapping[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Customer:
    """Merge what each source answered (None: the source was unavailable) into one Customer.

    `migrated` maps legacy customer numbers to the Salesforce Contacts the migration made them: such a pair is one
    customer, whose details are Salesforce's. Otherwise the first record of each source is taken, and the legacy
    record is read as the migration would write it, so that only details that truly differ are listed as such.
    """
    migrated = migrated or {}
    record, contact = _migrated_pair(legacy or [], contacts or [], migrated)
    is_migrated = record is not None
    if not is_migrated:
        record = legacy[0] if legacy else None
        contact = contacts[0] if contacts else None
    found_in = tuple(source for source, hit in ((LEGACY_DB, record), (SALESFORCE, contact)) if hit)
    unavailable = tuple(source for source, answer in ((LEGACY_DB, legacy), (SALESFORCE, contacts)) if answer is None)
    legacy_name = name_as_written(record.first_name, record.last_name) if record else None
    legacy_phone = phone_as_written(record.phone) if record and record.phone else None
    return Customer(
        email=email,
        first_name=_first(contact and contact.first_name, legacy_name and legacy_name.first_name),
        last_name=_first(contact and contact.last_name, legacy_name and legacy_name.last_name),
        phone=_first(contact and contact.phone, legacy_phone),
        account_name=contact.account_name if contact else None,
        legacy_customer_number=record.customer_number if record else None,
        legacy_account_status=record.account_status.name.lower() if record else None,
        customer_since=record.opened_on.isoformat() if record and record.opened_on else None,
        salesforce_contact_id=contact.id if contact else None,
        salesforce_account_id=contact.account_id if contact else None,
        found_in=found_in,
        unavailable=unavailable,
        migrated=is_migrated,
        differences=() if is_migrated else _differences(contact, legacy_name, legacy_phone),
        source_errors=dict(errors or {}),
    )


def _migrated_pair(
    legacy: list[LegacyCustomer], contacts: list[Contact], migrated: Mapping[str, str]
) -> tuple[LegacyCustomer | None, Contact | None]:
    by_id = {contact.id: contact for contact in contacts}
    for record in legacy:
        contact = by_id.get(migrated.get(record.customer_number, ""))
        if contact is not None:
            return record, contact
    return None, None


def _differences(contact: Contact | None, legacy_name: ContactName | None, legacy_phone: str | None) -> tuple[str, ...]:
    """The fields on which the two sources disagree, each read as the migration writes it; empty ones agree."""
    if contact is None or legacy_name is None:
        return ()
    pairs = (
        ("first_name", contact.first_name, legacy_name.first_name),
        ("last_name", contact.last_name, legacy_name.last_name),
        ("phone", contact.phone and phone_as_written(contact.phone), legacy_phone),
    )
    return tuple(
        name for name, salesforce, old in pairs if salesforce and old and salesforce.casefold() != old.casefold()
    )


def _salesforce_contacts(email: str) -> list[Contact]:
    try:
        return SalesforceClient.from_settings().find_contacts_by_email(email)
    finally:
        # The token cache may have used the database on this pool thread, which outlives the lookup: a connection
        # opened here would never be closed by a request's end.
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
