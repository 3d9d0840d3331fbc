import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from process_apis.customer_migration.models import MigratedCustomer
from process_apis.customers.services import LOOKUP_THREADS, _lookup_pool, customer_find, merge_customer
from process_apis.customers.types import LEGACY_DB, SALESFORCE, Customer
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.legacy_db.types import LegacyCustomer
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.types import Contact
from tests.vendors import SF, SF_QUERY, SF_TOKEN, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])


def test_customer_in_both_sources_is_merged_with_salesforce_first_and_both_ids_kept(vendors, legacy_customers):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))

    customer = customer_find(email=" Ada.Lovelace@Example.com")

    assert customer == Customer(
        email="ada.lovelace@example.com",
        first_name="Ada",
        last_name="Lovelace",
        phone="+44 20 7946 0958",
        account_name="Analytical Engines Ltd",
        legacy_customer_number="0000100001",
        legacy_account_status="active",
        customer_since="2019-03-12",
        salesforce_contact_id="0035g00000AdaLv1AB",
        salesforce_account_id="0015g00000AnlEngAA",
        found_in=(LEGACY_DB, SALESFORCE),
        unavailable=(),
        differences=("phone",),
    )
    assert not customer.is_new and not customer.degraded
    assert customer.found_in_text == "legacy DB, Salesforce (they differ on phone)"


def test_of_contacts_sharing_the_email_the_most_recently_modified_is_merged(vendors, legacy_customers):
    # Salesforce answers in the order asked for: the most recently modified first.
    newer = {
        **sf_contact("ada.lovelace@example.com", first="Augusta Ada", phone="+44 20 7946 0999"),
        "Id": "0035g00000AdaNw2AB",
    }
    older = sf_contact("ada.lovelace@example.com")
    vendors.salesforce_knows(newer, older)

    customer = customer_find(email="ada.lovelace@example.com")

    [query] = [call for call in vendors.mock.calls if SF_QUERY.match(call.request.url)]
    soql = parse_qs(urlsplit(query.request.url).query)["q"][0]
    assert soql.endswith(" WHERE Email = 'ada.lovelace@example.com' ORDER BY LastModifiedDate DESC, Id DESC")
    assert (customer.salesforce_contact_id, customer.first_name, customer.phone) == (
        "0035g00000AdaNw2AB",
        "Augusta Ada",
        "+44 20 7946 0999",
    )


def test_legacy_only_customer_takes_every_field_from_the_legacy_record(vendors, legacy_customers):
    vendors.salesforce_knows()

    customer = customer_find(email="alan.turing@example.com")

    # As the migration to Salesforce would write them: the name re-cased, the phone in E.164.
    assert (customer.display_name, customer.phone, customer.found_in) == ("Alan Turing", "+441614960000", (LEGACY_DB,))
    assert customer.salesforce_contact_id is None


def test_salesforce_fills_only_what_it_has_and_the_legacy_record_the_rest(vendors, legacy_customers):
    vendors.salesforce_knows(sf_contact("olga.petrova@example.com", first="Olga", last="Petrova", phone=""))

    customer = customer_find(email="olga.petrova@example.com")

    assert customer.phone == "495 555 0134"
    assert customer.found_in == (LEGACY_DB, SALESFORCE)


def migrated(customer_number: str, contact_id: str) -> None:
    MigratedCustomer.objects.create(customer_number=customer_number, contact_id=contact_id, migrated_at=timezone.now())


def test_a_customer_migrated_to_salesforce_is_one_customer_with_salesforce_details(vendors, legacy_customers):
    migrated("0000100001", "0035g00000AdaLv1AB")
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))

    customer = customer_find(email="ada.lovelace@example.com")

    assert customer.migrated
    assert customer.differences == ()
    assert (customer.phone, customer.salesforce_contact_id) == ("+44 20 7946 0958", "0035g00000AdaLv1AB")
    assert (customer.legacy_customer_number, customer.customer_since) == ("0000100001", "2019-03-12")
    assert customer.found_in_text == "Salesforce (migrated from the legacy DB)"
    assert customer.as_dict()["migrated"] is True


def test_the_migrated_contact_is_merged_even_when_another_with_the_email_is_newer(vendors, legacy_customers):
    migrated("0000100001", "0035g00000AdaLv1AB")
    newer = {**sf_contact("ada.lovelace@example.com", first="Augusta Ada"), "Id": "0035g00000AdaNw2AB"}
    vendors.salesforce_knows(newer, sf_contact("ada.lovelace@example.com"))

    customer = customer_find(email="ada.lovelace@example.com")

    assert (customer.migrated, customer.salesforce_contact_id, customer.first_name) == (
        True,
        "0035g00000AdaLv1AB",
        "Ada",
    )


def test_a_record_migrated_to_a_contact_salesforce_no_longer_has_under_that_email_is_not_migrated_here(
    vendors, legacy_customers
):
    migrated("0000100001", "0035g00000Gone0AAA")
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))

    customer = customer_find(email="ada.lovelace@example.com")

    assert not customer.migrated
    assert customer.differences == ("phone",)


def legacy_record(first: str, last: str, phone: str | None) -> LegacyCustomer:
    return LegacyCustomer("0000200001", first, last, "bob@example.com", phone, "A", None)


def contact(first: str, last: str, phone: str | None) -> Contact:
    return Contact("0035g00000BobMc1AB", first, last, "bob@example.com", phone, None, None)


def test_the_legacy_record_is_read_as_the_migration_writes_it_so_only_true_differences_show():
    customer = merge_customer(
        email="bob@example.com",
        legacy=[legacy_record("BOB", "MCDONALD", "020 7946 0123")],
        contacts=[contact("Bob", "McDonald", "+44 20 7946 0123")],
    )

    assert (customer.migrated, customer.differences) == (False, ())
    assert customer.found_in_text == "legacy DB, Salesforce"


def test_names_and_phone_that_differ_after_the_mapping_are_listed_and_salesforce_is_shown():
    customer = merge_customer(
        email="bob@example.com",
        legacy=[legacy_record("ROBERT", "MCDONALD", "020 7946 0999")],
        contacts=[contact("Bob", "McDonald", "+44 20 7946 0123")],
    )

    assert customer.differences == ("first_name", "phone")
    assert (customer.first_name, customer.phone) == ("Bob", "+44 20 7946 0123")
    assert customer.found_in_text == "legacy DB, Salesforce (they differ on first name, phone)"


def test_a_legacy_only_name_is_written_as_names_are():
    customer = merge_customer(email="bob@example.com", legacy=[legacy_record("", "MCDONALD, BOB", None)], contacts=[])

    assert (customer.first_name, customer.last_name, customer.phone) == ("Bob", "McDonald", None)


def test_a_customer_in_neither_system_is_a_new_customer_not_an_error(vendors, legacy_customers):
    vendors.salesforce_knows()

    customer = customer_find(email="someone.new@example.com")

    assert customer.is_new
    assert customer.display_name == "someone.new@example.com"
    assert (customer.found_in, customer.unavailable) == ((), ())


def test_salesforce_down_degrades_to_the_legacy_record_and_says_so(vendors, legacy_customers):
    vendors.salesforce_down()

    customer = customer_find(email="ada.lovelace@example.com")

    assert customer.found_in == (LEGACY_DB,)
    assert customer.unavailable == (SALESFORCE,)
    assert customer.degraded and not customer.is_new
    assert customer.phone == "+442079460001"
    assert "SystemUnavailable" in customer.source_errors[SALESFORCE]


def test_both_sources_down_still_gives_a_customer_to_report_with(vendors):
    vendors.salesforce_down()  # and the legacy table does not exist: that database is "down" too

    customer = customer_find(email="ada.lovelace@example.com")

    assert customer.unavailable == (LEGACY_DB, SALESFORCE)
    assert customer.found_in == ()
    assert customer.degraded and not customer.is_new


def test_both_sources_are_asked_at_once(vendors, legacy_customers, monkeypatch):
    def slow_salesforce(request):
        time.sleep(0.4)
        return (200, {}, '{"totalSize": 0, "done": true, "records": []}')

    vendors.mock.add("POST", SF_TOKEN, json={"access_token": "t", "instance_url": SF, "token_type": "Bearer"})
    vendors.mock.add_callback("GET", SF_QUERY, callback=slow_salesforce)
    real_find = LegacyCustomerDatabase.find_by_email

    def slow_legacy(self, email):
        time.sleep(0.4)
        return real_find(self, email)

    monkeypatch.setattr(LegacyCustomerDatabase, "find_by_email", slow_legacy)

    started = time.monotonic()
    customer = customer_find(email="ada.lovelace@example.com")
    elapsed = time.monotonic() - started

    assert customer.found_in == (LEGACY_DB,)
    assert elapsed < 0.75, f"sources were asked one after the other ({elapsed:.2f} s)"


def test_salesforce_lookups_reuse_the_pool_thread_and_its_open_session(vendors, legacy_customers, monkeypatch):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    seen = []
    real_find = SalesforceClient.find_contacts_by_email

    def noting_find(self, email):
        seen.append((threading.get_ident(), self.session))
        return real_find(self, email)

    monkeypatch.setattr(SalesforceClient, "find_contacts_by_email", noting_find)

    customers = [customer_find(email="ada.lovelace@example.com") for _ in range(3)]

    assert [customer.salesforce_contact_id for customer in customers] == ["0035g00000AdaLv1AB"] * 3
    assert len(set(seen)) == 1, "one thread, one session, its connection kept open between lookups"
    assert seen[0][0] != threading.get_ident(), "asked beside the legacy database, not after it"


def test_lookups_at_once_each_get_a_thread_of_the_pool():
    at_once = 4
    side_by_side = threading.Barrier(at_once, timeout=5)

    # Each waits for the others: they all return only if they all run at the same time.
    waits = [_lookup_pool().submit(side_by_side.wait) for _ in range(at_once)]

    assert sorted(wait.result() for wait in waits) == list(range(at_once))
    assert at_once <= LOOKUP_THREADS


def test_merge_round_trips_through_the_stored_snapshot():
    customer = merge_customer(email="x@example.com", legacy=None, contacts=[], errors={LEGACY_DB: "down"})

    assert Customer.from_dict(customer.as_dict()) == customer
