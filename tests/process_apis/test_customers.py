import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from process_apis.customers.services import LOOKUP_THREADS, _lookup_pool, customer_find, merge_customer
from process_apis.customers.types import LEGACY_DB, SALESFORCE, Customer
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.salesforce.client import SalesforceClient
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
    )
    assert not customer.is_new and not customer.degraded


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

    assert (customer.display_name, customer.phone, customer.found_in) == ("Alan Turing", "0161 496 0000", (LEGACY_DB,))
    assert customer.salesforce_contact_id is None


def test_salesforce_fills_only_what_it_has_and_the_legacy_record_the_rest(vendors, legacy_customers):
    vendors.salesforce_knows(sf_contact("olga.petrova@example.com", first="Olga", last="Petrova", phone=""))

    customer = customer_find(email="olga.petrova@example.com")

    assert customer.phone == "495 555 0134"
    assert customer.found_in == (LEGACY_DB, SALESFORCE)


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
    assert customer.phone == "020 7946 0001"
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
