import pytest
import requests
import responses
from drf_spectacular.generators import SchemaGenerator
from responses import matchers

from tests.conftest import load_fixture

pytestmark = pytest.mark.django_db

BASE_URL = "https://acme.my.salesforce.com"
TOKEN_URL = f"{BASE_URL}/services/oauth2/token"
QUERY_URL = f"{BASE_URL}/services/data/v62.0/query"
URL = "/api/system/salesforce/v1/contacts"
SOQL = (
    "SELECT Id, FirstName, LastName, Email, Phone, AccountId, Account.Name FROM Contact "
    "WHERE Email = 'ada.lovelace@example.com' ORDER BY LastModifiedDate DESC, Id DESC"
)


@pytest.fixture
def salesforce(settings):
    settings.SALESFORCE_BASE_URL = BASE_URL
    settings.SALESFORCE_CLIENT_ID = "3MVG9.api.test"
    settings.SALESFORCE_CLIENT_SECRET = "api-test-secret"
    settings.SALESFORCE_API_VERSION = "v62.0"
    with responses.RequestsMock() as rsps:
        yield rsps


def add_token(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=load_fixture("salesforce/token.json"))


def test_contacts_by_email_are_listed(admin_client, salesforce):
    add_token(salesforce)
    salesforce.get(
        QUERY_URL,
        json=load_fixture("salesforce/query_one_contact.json"),
        match=[matchers.query_param_matcher({"q": SOQL})],
    )

    response = admin_client.get(URL, {"email": "ada.lovelace@example.com"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": "0035g00000AdaLv1AB",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada.lovelace@example.com",
            "phone": "+44 20 7946 0958",
            "account_id": "0015g00000AnlEngAA",
            "account_name": "Analytical Engines Ltd",
        }
    ]


def test_empty_fields_are_null(admin_client, salesforce):
    add_token(salesforce)
    salesforce.get(QUERY_URL, json=load_fixture("salesforce/query_contact_without_account.json"))

    response = admin_client.get(URL, {"email": "margaret.hamilton@example.com"})

    assert response.json() == [
        {
            "id": "0035g00000MrgHm4AB",
            "first_name": None,
            "last_name": "Hamilton",
            "email": "margaret.hamilton@example.com",
            "phone": None,
            "account_id": None,
            "account_name": None,
        }
    ]


def test_no_match_is_an_empty_list(admin_client, salesforce):
    add_token(salesforce)
    salesforce.get(QUERY_URL, json=load_fixture("salesforce/query_empty.json"))

    response = admin_client.get(URL, {"email": "nobody@example.com"})

    assert (response.status_code, response.json()) == (200, [])


def test_anonymous_callers_are_refused_and_salesforce_is_not_called(client, salesforce):
    response = client.get(URL, {"email": "ada.lovelace@example.com"})

    assert response.status_code == 401  # not authenticated: asked to authenticate
    assert response.json()["message"] == "Authentication credentials were not provided."
    assert len(salesforce.calls) == 0


def test_non_staff_users_are_refused(client, django_user_model, salesforce):
    client.force_login(django_user_model.objects.create_user("customer", password="pw-123-long"))

    response = client.get(URL, {"email": "ada.lovelace@example.com"})

    assert response.status_code == 403
    assert len(salesforce.calls) == 0


@pytest.mark.parametrize("query", [{}, {"email": ""}, {"email": "not-an-email"}, {"email": "a'b"}])
def test_a_missing_or_bad_email_is_a_400_and_salesforce_is_not_called(admin_client, salesforce, query):
    response = admin_client.get(URL, query)

    assert response.status_code == 400
    assert response.json()["message"] == "The request is not valid."
    assert list(response.json()["extra"]["fields"]) == ["email"]
    assert len(salesforce.calls) == 0


def test_an_apostrophe_email_is_valid_and_escaped(admin_client, salesforce):
    add_token(salesforce)
    soql = SOQL.replace("'ada.lovelace@example.com'", r"'o\'brien@example.com'")
    salesforce.get(
        QUERY_URL, json=load_fixture("salesforce/query_empty.json"), match=[matchers.query_param_matcher({"q": soql})]
    )

    response = admin_client.get(URL, {"email": "o'brien@example.com"})

    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize(
    ("status", "fixture", "headers", "expected"),
    [
        (403, "error_request_limit_exceeded.json", {}, 429),
        (429, "error_request_limit_exceeded.json", {"Retry-After": "12"}, 429),
        (400, "error_malformed_query.json", {}, 400),
        (503, "error_server_unavailable.json", {}, 503),
    ],
)
def test_salesforce_errors_become_fitting_statuses(admin_client, salesforce, status, fixture, headers, expected):
    add_token(salesforce)
    salesforce.get(QUERY_URL, json=load_fixture(f"salesforce/{fixture}"), status=status, headers=headers)

    response = admin_client.get(URL, {"email": "ada.lovelace@example.com"})

    assert response.status_code == expected
    assert response.json()["extra"]["system"] == "salesforce"
    assert response.json()["extra"]["status"] == status
    assert response.get("Retry-After") == headers.get("Retry-After")


def test_refused_credentials_are_a_502(admin_client, salesforce):
    salesforce.post(TOKEN_URL, json=load_fixture("salesforce/token_invalid_client.json"), status=400)

    response = admin_client.get(URL, {"email": "ada.lovelace@example.com"})

    assert response.status_code == 502
    assert response.json()["extra"] == {
        "error": "SystemAuthError",
        "system": "salesforce",
        "operation": "oauth_token",
        "status": 400,
        "vendor_code": "invalid_client",
        "retry_after": None,
    }


def test_a_timeout_is_a_504(admin_client, salesforce):
    add_token(salesforce)
    salesforce.get(QUERY_URL, body=requests.ReadTimeout("read timed out"))

    response = admin_client.get(URL, {"email": "ada.lovelace@example.com"})

    assert response.status_code == 504
    assert response.json()["extra"]["error"] == "SystemTimeout"


def test_the_schema_describes_the_endpoint():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    operation = schema["paths"][URL]["get"]
    assert operation["operationId"] == "salesforce_contacts_find_by_email"
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [("email", "query", True)]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "429", "502", "503", "504"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/SalesforceContact"},
    }
    contact = schema["components"]["schemas"]["SalesforceContact"]
    assert contact["required"] == ["account_id", "account_name", "email", "first_name", "id", "last_name", "phone"]
    assert contact["properties"]["phone"]["nullable"] is True
