"""The Salesforce connector against the sandbox's stand-in over real HTTP: only settings differ from production."""

from datetime import UTC, datetime

import pytest
import requests
from django.core.management import call_command

from process_apis.customers.services import customer_find
from process_apis.customers.types import SALESFORCE
from sandbox.faults import update_faults
from sandbox.salesforce.models import AccessToken, Contact
from system_apis.errors import SystemAuthError, SystemRateLimited
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.types import Contact as SalesforceContact

pytestmark = pytest.mark.django_db(transaction=True)

ADA = SalesforceContact(
    id="0035g00000AdaLv1AB",
    first_name="Ada",
    last_name="Lovelace",
    email="ada.lovelace@example.com",
    phone="+44 20 7946 0958",
    account_id="0015g00000AnlEngAA",
    account_name="Analytical Engines Ltd",
)


@pytest.fixture
def salesforce(sandbox_url, settings) -> SalesforceClient:
    settings.SALESFORCE_BASE_URL = f"{sandbox_url}/salesforce"
    settings.SALESFORCE_CLIENT_ID = settings.SANDBOX_SALESFORCE_CLIENT_ID
    settings.SALESFORCE_CLIENT_SECRET = settings.SANDBOX_SALESFORCE_CLIENT_SECRET
    settings.SALESFORCE_TIMEOUT = (2.0, 5.0)
    call_command("seed_sandbox")
    return SalesforceClient.from_settings()


def test_a_contact_is_found_by_email_in_any_case(salesforce):
    contacts = salesforce.find_contacts_by_email("Ada.Lovelace@EXAMPLE.com")

    assert contacts == [ADA]
    assert salesforce.last_api_usage is not None and salesforce.last_api_usage[1] == 15000


def test_a_token_revoked_between_two_calls_is_replaced_and_the_call_retried(salesforce, sandbox_url):
    first = salesforce.find_contacts_by_email("ada.lovelace@example.com")
    revoked = requests.post(f"{sandbox_url}/salesforce/_sandbox/revoke-tokens", timeout=5)

    second = salesforce.find_contacts_by_email("ada.lovelace@example.com")

    assert first == second == [ADA]
    assert revoked.json() == {"revoked": 1}
    assert list(AccessToken.objects.order_by("id").values_list("revoked", flat=True)) == [True, False]


def test_the_token_is_shared_by_clients_and_fetched_once(salesforce):
    salesforce.find_contacts_by_email("ada.lovelace@example.com")
    SalesforceClient.from_settings().find_contacts_by_email("grace.hopper@example.com")

    assert AccessToken.objects.count() == 1


def test_batches_are_followed_over_http(salesforce, settings):
    settings.SANDBOX_SALESFORCE_PAGE_SIZE = 2
    for number in range(5):
        Contact.objects.create(
            sf_id=f"0035g00000SHARED{number}A",
            first_name=f"Twin{number}",
            last_name="O'Brien",
            email="o'brien@example.com",
        )

    contacts = salesforce.find_contacts_by_email("o'brien@example.com")

    assert sorted(contact.first_name for contact in contacts) == ["Twin0", "Twin1", "Twin2", "Twin3", "Twin4"]
    assert {contact.last_name for contact in contacts} == {"O'Brien"}


def add_contact(sf_id: str, first_name: str, last_modified: datetime, phone: str = "") -> None:
    contact = Contact.objects.create(
        sf_id=sf_id, first_name=first_name, last_name="Twin", email="twins@example.com", phone=phone
    )
    Contact.objects.filter(pk=contact.pk).update(last_modified=last_modified)  # save() would set it to now


def test_contacts_sharing_an_email_come_most_recently_modified_first(salesforce):
    # The stand-in's own order (by name) would answer Amy, Bea, Cal.
    add_contact("0035g00000TwinA1AB", "Amy", datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    add_contact("0035g00000TwinB1AB", "Bea", datetime(2023, 1, 1, 10, 0, tzinfo=UTC))
    add_contact("0035g00000TwinC1AB", "Cal", datetime(2025, 3, 4, 10, 0, tzinfo=UTC))

    contacts = salesforce.find_contacts_by_email("Twins@example.com")

    assert [contact.first_name for contact in contacts] == ["Cal", "Amy", "Bea"]


def test_contacts_modified_at_the_same_moment_come_in_id_order_newest_first(salesforce, settings):
    settings.SANDBOX_SALESFORCE_PAGE_SIZE = 2
    same = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    for sf_id, name in [("0035g00000Twin21AB", "Amy"), ("0035g00000Twin31AB", "Bea"), ("0035g00000Twin11AB", "Cal")]:
        add_contact(sf_id, name, same)

    contacts = salesforce.find_contacts_by_email("twins@example.com")

    assert [contact.id for contact in contacts] == ["0035g00000Twin31AB", "0035g00000Twin21AB", "0035g00000Twin11AB"]


@pytest.mark.django_db(transaction=True, databases=["default", "legacy"])
def test_the_customer_takes_the_most_recently_modified_contact_of_those_sharing_the_email(salesforce, legacy_customers):
    add_contact("0035g00000TwinA1AB", "Amy", datetime(2024, 5, 1, 10, 0, tzinfo=UTC), phone="+1 555 0101")
    add_contact("0035g00000TwinB1AB", "Bea", datetime(2025, 3, 4, 10, 0, tzinfo=UTC), phone="+1 555 0102")

    customer = customer_find(email="twins@example.com")

    assert (customer.salesforce_contact_id, customer.first_name, customer.phone) == (
        "0035g00000TwinB1AB",
        "Bea",
        "+1 555 0102",
    )
    assert (customer.found_in, customer.unavailable) == ((SALESFORCE,), ())


def test_wrong_client_credentials_are_an_auth_error(salesforce, settings):
    settings.SALESFORCE_CLIENT_SECRET = "not-the-secret"

    with pytest.raises(SystemAuthError) as caught:
        SalesforceClient.from_settings().find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.status, caught.value.vendor_code) == (400, "invalid_client")
    assert AccessToken.objects.count() == 0


def test_the_sandbox_rate_limit_is_a_rate_limited_error_with_retry_after(salesforce):
    salesforce.find_contacts_by_email("ada.lovelace@example.com")
    update_faults("salesforce", {"rate_limit_next": 1, "retry_after": 3})

    with pytest.raises(SystemRateLimited) as caught:
        salesforce.find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.status, caught.value.vendor_code, caught.value.retry_after) == (
        403,
        "REQUEST_LIMIT_EXCEEDED",
        3.0,
    )
