"""The Salesforce connector against the sandbox's stand-in over real HTTP: only settings differ from production."""

import pytest
import requests
from django.core.management import call_command

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
