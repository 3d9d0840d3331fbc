import base64
import json
import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from sandbox.faults import update_faults
from sandbox.models import Fault
from sandbox.salesforce.models import AccessToken, Contact, QueryCursor
from sandbox.salesforce.soql import Ordering, SoqlError, parse

pytestmark = pytest.mark.django_db

CLIENT_ID = "3MVG9sandbox.test"
CLIENT_SECRET = "sandbox-test-secret"
QUERY = "/salesforce/services/data/v62.0/query"
FIELDS = "Id, FirstName, LastName, Email, Phone, AccountId, Account.Name"


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SALESFORCE_CLIENT_ID = CLIENT_ID
    settings.SANDBOX_SALESFORCE_CLIENT_SECRET = CLIENT_SECRET
    settings.SANDBOX_SALESFORCE_PAGE_SIZE = 2000


def get_token(client, **overrides: str):
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **overrides}
    return client.post("/salesforce/services/oauth2/token", form)


@pytest.fixture
def bearer(client) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {get_token(client).json()['access_token']}"}


def query(client, bearer, soql: str):
    return client.get(QUERY, {"q": soql}, **bearer)


# --- OAuth 2.0 client credentials ----------------------------------------------------------------


def test_client_credentials_get_a_bearer_token_for_the_sandbox_instance(client):
    response = get_token(client)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"}
    assert body["instance_url"] == "http://testserver/salesforce"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert body["id"] == "http://testserver/salesforce/id/00D5g00000SBXORGAA/0055g00000SBXUSRAA"
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert list(AccessToken.objects.values_list("token", "revoked")) == [(body["access_token"], False)]


def test_client_credentials_may_come_as_http_basic(client):
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    response = client.post(
        "/salesforce/services/oauth2/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )

    assert response.status_code == 200
    assert AccessToken.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_secret": ""}, "invalid_client", "invalid client credentials"),
        ({"client_id": "3MVG9someone.else"}, "invalid_client_id", "client identifier invalid"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
        ({"grant_type": ""}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_wrong_credentials_or_grant_get_no_token(client, overrides, error, description):
    response = get_token(client, **overrides)

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}
    assert AccessToken.objects.count() == 0


def test_the_token_endpoint_takes_post_only(client):
    response = client.get("/salesforce/services/oauth2/token")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- queries -------------------------------------------------------------------------------------


def test_a_query_answers_records_with_attributes_and_the_nested_account(client, bearer):
    call_command("seed_sandbox")

    soql = f"SELECT {FIELDS} FROM Contact WHERE Email = 'ada.lovelace@example.com'"  # noqa: S608 - SOQL, not SQL

    response = query(client, bearer, soql)

    assert response.status_code == 200
    assert response.json() == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/0035g00000AdaLv1AB"},
                "Id": "0035g00000AdaLv1AB",
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "ada.lovelace@example.com",
                "Phone": "+44 20 7946 0958",
                "AccountId": "0015g00000AnlEngAA",
                "Account": {
                    "attributes": {
                        "type": "Account",
                        "url": "/services/data/v62.0/sobjects/Account/0015g00000AnlEngAA",
                    },
                    "Name": "Analytical Engines Ltd",
                },
            }
        ],
    }


def test_empty_fields_and_a_missing_account_are_null(client, bearer):
    Contact.objects.create(sf_id="0035g00000NoAcc1AB", last_name="Loner", email="loner@example.com")

    response = query(client, bearer, "select Id, FirstName, Phone, Account.Name from contact where LastName = 'Loner'")

    assert response.json()["records"] == [
        {
            "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/0035g00000NoAcc1AB"},
            "Id": "0035g00000NoAcc1AB",
            "FirstName": None,
            "Phone": None,
            "Account": None,
        }
    ]


def test_comparison_ignores_case_and_field_names_come_back_as_salesforce_spells_them(client, bearer):
    call_command("seed_sandbox")

    response = query(client, bearer, "SELECT id, lastname FROM CONTACT WHERE email = 'GRACE.Hopper@Example.com'")

    assert [{k: v for k, v in r.items() if k != "attributes"} for r in response.json()["records"]] == [
        {"Id": "0035g00000GrcHp2AB", "LastName": "Hopper"}
    ]


def test_escaped_literals_match_quotes_and_backslashes(client, bearer):
    Contact.objects.create(sf_id="0035g00000ObrSh1AB", last_name="O'Brien", email="o'brien@example.com")
    Contact.objects.create(sf_id="0035g00000BckSl1AB", last_name="Slash", email="back\\slash@example.com")

    quote = query(client, bearer, r"SELECT Id FROM Contact WHERE Email = 'o\'brien@example.com'")
    backslash = query(client, bearer, r"SELECT Id FROM Contact WHERE Email = 'back\\slash@example.com'")
    injection = query(client, bearer, r"SELECT Id FROM Contact WHERE Email = 'x\' OR Email != \''")

    assert [r["Id"] for r in quote.json()["records"]] == ["0035g00000ObrSh1AB"]
    assert [r["Id"] for r in backslash.json()["records"]] == ["0035g00000BckSl1AB"]
    assert (injection.status_code, injection.json()["totalSize"]) == (200, 0)


def test_conditions_combine_with_and_and_limit_caps_the_result(client, bearer):
    call_command("seed_sandbox")
    Contact.objects.create(sf_id="0035g00000AdaTw2AB", first_name="Augusta", last_name="Lovelace", email="al@x.org")

    both = query(client, bearer, "SELECT Id FROM Contact WHERE LastName = 'lovelace' AND FirstName = 'Ada'")
    limited = query(client, bearer, "SELECT Id FROM Contact LIMIT 2")
    no_phone = query(client, bearer, "SELECT Id FROM Contact WHERE Phone = null AND LastName = 'Petrova'")

    assert [r["Id"] for r in both.json()["records"]] == ["0035g00000AdaLv1AB"]
    assert limited.json()["totalSize"] == 2 and len(limited.json()["records"]) == 2
    assert [r["Id"] for r in no_phone.json()["records"]] == ["0035g00000OlgPt5AB"]


def add_contact(sf_id: str, last_modified: datetime, **fields: str) -> Contact:
    contact = Contact.objects.create(sf_id=sf_id, **{"last_name": "Twin", "email": "twin@example.com", **fields})
    # auto_now would overwrite a value given to save(); an update sets it as a test needs it.
    Contact.objects.filter(pk=contact.pk).update(last_modified=last_modified)
    return contact


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [record["Id"] for record in response.json()["records"]]


def test_order_by_last_modified_date_desc_puts_the_most_recently_modified_first(client, bearer):
    # The stand-in's own order (last name, first name, Id) would put them A, B, C.
    add_contact("0035g00000TwinA1AB", datetime(2024, 5, 1, 10, 0, tzinfo=UTC), first_name="A")
    add_contact("0035g00000TwinB1AB", datetime(2025, 1, 2, 9, 30, tzinfo=UTC), first_name="B")
    add_contact("0035g00000TwinC1AB", datetime(2024, 11, 20, 8, 0, tzinfo=UTC), first_name="C")

    newest_first = query(
        client, bearer, "SELECT Id FROM Contact WHERE Email = 'twin@example.com' ORDER BY LastModifiedDate DESC"
    )
    oldest_first = query(client, bearer, "SELECT Id FROM Contact ORDER BY lastmodifieddate asc")
    newest_only = query(client, bearer, "SELECT Id FROM Contact ORDER BY LastModifiedDate DESC LIMIT 1")

    assert ids(newest_first) == ["0035g00000TwinB1AB", "0035g00000TwinC1AB", "0035g00000TwinA1AB"]
    assert ids(oldest_first) == ["0035g00000TwinA1AB", "0035g00000TwinC1AB", "0035g00000TwinB1AB"]
    assert ids(newest_only) == ["0035g00000TwinB1AB"]


def test_a_saved_contact_is_modified_now_and_moves_to_the_front(client, bearer):
    # Without ORDER BY the stand-in would answer Amy before Zoe.
    first = Contact.objects.create(sf_id="0035g00000TwinA1AB", first_name="Zoe", last_name="Twin")
    second = Contact.objects.create(sf_id="0035g00000TwinB1AB", first_name="Amy", last_name="Twin")
    before = first.last_modified

    first.phone = "+1 555 0100"
    first.save()
    answer = query(client, bearer, "SELECT Id FROM Contact ORDER BY LastModifiedDate DESC")

    first.refresh_from_db()
    assert first.last_modified > before and first.last_modified > second.last_modified
    assert first.created_date < second.created_date
    assert ids(answer) == ["0035g00000TwinA1AB", "0035g00000TwinB1AB"]


def test_last_modified_and_created_dates_are_selected_as_salesforce_writes_datetimes(client, bearer):
    contact = add_contact("0035g00000TwinA1AB", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC))

    response = query(client, bearer, "SELECT Id, LastModifiedDate, CreatedDate FROM Contact")

    [record] = response.json()["records"]
    assert record["LastModifiedDate"] == "2024-05-01T10:00:00.123+0000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", record["CreatedDate"])
    contact.refresh_from_db()
    assert record["CreatedDate"][:10] == contact.created_date.astimezone(UTC).date().isoformat()


def test_order_by_several_fields_the_first_deciding_and_text_without_regard_to_case(client, bearer):
    when = datetime(2024, 5, 1, tzinfo=UTC)
    add_contact("0035g00000Ord001AB", when, first_name="ada", last_name="Byron")
    add_contact("0035g00000Ord002AB", when, first_name="Ada", last_name="Lovelace")
    add_contact("0035g00000Ord003AB", when, first_name="Bea", last_name="Adams")
    add_contact("0035g00000Ord004AB", when, first_name="ADA", last_name="Adams")

    answer = query(client, bearer, "SELECT Id FROM Contact ORDER BY FirstName ASC, LastName DESC, Id")

    assert ids(answer) == ["0035g00000Ord002AB", "0035g00000Ord001AB", "0035g00000Ord004AB", "0035g00000Ord003AB"]


def test_nulls_come_first_ascending_and_last_descending_unless_told(client, bearer):
    when = datetime(2024, 5, 1, tzinfo=UTC)
    add_contact("0035g00000NoPhnAAB", when, phone="")
    add_contact("0035g00000Phone1AB", when, phone="+1 555 0101")
    add_contact("0035g00000Phone2AB", when, phone="+1 555 0102")

    def phones(order_by: str) -> list[str]:
        return ids(query(client, bearer, f"SELECT Id FROM Contact ORDER BY {order_by}"))  # noqa: S608 - SOQL

    assert phones("Phone") == ["0035g00000NoPhnAAB", "0035g00000Phone1AB", "0035g00000Phone2AB"]
    assert phones("Phone DESC") == ["0035g00000Phone2AB", "0035g00000Phone1AB", "0035g00000NoPhnAAB"]
    assert phones("Phone ASC NULLS LAST") == ["0035g00000Phone1AB", "0035g00000Phone2AB", "0035g00000NoPhnAAB"]
    assert phones("Phone DESC NULLS FIRST") == ["0035g00000NoPhnAAB", "0035g00000Phone2AB", "0035g00000Phone1AB"]
    assert phones("Phone desc nulls last") == ["0035g00000Phone2AB", "0035g00000Phone1AB", "0035g00000NoPhnAAB"]


def test_a_contact_without_account_sorts_as_a_null_account_name(client, bearer):
    when = datetime(2024, 5, 1, tzinfo=UTC)
    add_contact("0035g00000AccZ01AB", when, account_id="0015g00000ZZZZZZAA", account_name="zebra Ltd")
    add_contact("0035g00000NoAcc1AB", when)
    add_contact("0035g00000AccA01AB", when, account_id="0015g00000AAAAAAAA", account_name="Acme")

    answer = query(client, bearer, "SELECT Id, Account.Name FROM Contact ORDER BY Account.Name")

    assert ids(answer) == ["0035g00000NoAcc1AB", "0035g00000AccA01AB", "0035g00000AccZ01AB"]


def test_batches_keep_the_order_by_across_next_records_url(client, bearer, settings):
    settings.SANDBOX_SALESFORCE_PAGE_SIZE = 2
    for number, day in enumerate([3, 9, 1, 7, 5]):
        add_contact(f"0035g00000Page{number}0AB", datetime(2024, 5, day, tzinfo=UTC), first_name=str(number))

    first = query(client, bearer, "SELECT Id FROM Contact ORDER BY LastModifiedDate DESC")
    second = client.get("/salesforce" + first.json()["nextRecordsUrl"], **bearer)
    third = client.get("/salesforce" + second.json()["nextRecordsUrl"], **bearer)

    assert ids(first) + ids(second) + ids(third) == [
        "0035g00000Page10AB",
        "0035g00000Page30AB",
        "0035g00000Page40AB",
        "0035g00000Page00AB",
        "0035g00000Page20AB",
    ]


def test_big_results_come_in_batches_of_the_page_size_with_next_records_url(client, bearer, settings):
    settings.SANDBOX_SALESFORCE_PAGE_SIZE = 2
    call_command("seed_sandbox")

    first = query(client, bearer, "SELECT Id FROM Contact")
    locator = QueryCursor.objects.get().locator
    second = client.get("/salesforce" + first.json()["nextRecordsUrl"], **bearer)
    third = client.get("/salesforce" + second.json()["nextRecordsUrl"], **bearer)

    assert first.json()["nextRecordsUrl"] == f"/services/data/v62.0/query/{locator}-2"
    assert second.json()["nextRecordsUrl"] == f"/services/data/v62.0/query/{locator}-4"
    assert [(page.json()["totalSize"], page.json()["done"]) for page in (first, second, third)] == [
        (5, False),
        (5, False),
        (5, True),
    ]
    assert "nextRecordsUrl" not in third.json()
    ids = [r["Id"] for page in (first, second, third) for r in page.json()["records"]]
    assert sorted(ids) == sorted(Contact.objects.values_list("sf_id", flat=True))
    assert len(ids) == 5


def test_an_unknown_query_locator_is_refused(client, bearer):
    response = client.get(f"{QUERY}/01gD0000002HU6KIAW-2000", **bearer)

    assert response.status_code == 400
    assert response.json() == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


@pytest.mark.parametrize(
    "soql",
    [
        "",
        "SELECT FROM Contact",
        "SELECT Id Contact",
        "SELECT Id FROM Contact WHERE Email = 'unterminated",
        "SELECT Id FROM Contact WHERE Email LIKE 'a%'",
        "SELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b'",
        "SELECT Id FROM Contact WHERE Email = ada",
        "SELECT Id FROM Contact WHERE Email = 'a\\qb'",
        "SELECT Id FROM Contact LIMIT many",
        "SELECT Id FROM Contact ORDER Id",
        "SELECT Id FROM Contact ORDER BY",
        "SELECT Id FROM Contact ORDER BY Id,",
        "SELECT Id FROM Contact ORDER BY Id LastName",
        "SELECT Id FROM Contact ORDER BY Id ASC DESC",
        "SELECT Id FROM Contact ORDER BY Id NULLS",
        "SELECT Id FROM Contact ORDER BY Id NULLS MIDDLE",
        "SELECT Id FROM Contact ORDER BY Id FIRST",
        "SELECT Id FROM Contact ORDER BY 'Id'",
        "SELECT Id FROM Contact ORDER BY DESC",
        "SELECT Id FROM Contact LIMIT 1 ORDER BY Id",
        "SELECT Id FROM Contact ORDER BY Id WHERE Email = 'a'",
        "SELECT Id FROM Contact ORDER BY Id ORDER BY Email",
        "DELETE FROM Contact",
        "SELECT Id, FROM Contact",
    ],
)
def test_queries_outside_the_subset_are_malformed(client, bearer, soql):
    response = query(client, bearer, soql)

    assert response.status_code == 400
    assert [error["errorCode"] for error in response.json()] == ["MALFORMED_QUERY"]


@pytest.mark.parametrize(
    ("soql", "message_start"),
    [
        ("SELECT Id, Nickname FROM Contact", "No such column 'Nickname' on entity 'Contact'."),
        ("SELECT Id FROM Contact WHERE Nickname = 'x'", "No such column 'Nickname' on entity 'Contact'."),
        ("SELECT Account.Industry FROM Contact", "No such column 'Industry' on entity 'Account'."),
        ("SELECT Owner.Name FROM Contact", "Didn't understand relationship 'Owner' in field path."),
        ("SELECT Id FROM Contact ORDER BY Nickname DESC", "No such column 'Nickname' on entity 'Contact'."),
        (
            "SELECT Id FROM Contact ORDER BY LastName, Account.Industry",
            "No such column 'Industry' on entity 'Account'.",
        ),
        (
            "SELECT Id FROM Contact WHERE LastModifiedDate = '2024-05-01T10:00:00.000+0000'",
            "value of filter criterion for field 'LastModifiedDate' must be of type dateTime and should not be "
            "enclosed in quotes",
        ),
    ],
)
def test_unknown_fields_are_invalid_field(client, bearer, soql, message_start):
    response = query(client, bearer, soql)

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].startswith(message_start)


def test_other_objects_are_invalid_type(client, bearer):
    response = query(client, bearer, "SELECT Id FROM Account")

    assert (response.status_code, response.json()) == (
        400,
        [{"message": "sObject type 'Account' is not supported.", "errorCode": "INVALID_TYPE"}],
    )


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer 00D!not-issued", "Basic abc"])
def test_queries_without_a_known_token_are_an_invalid_session(client, authorization):
    get_token(client)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get(QUERY, {"q": "SELECT Id FROM Contact"}, **headers)

    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_revoked_tokens_are_an_invalid_session_and_a_new_token_works(client, bearer):
    revoked = client.post("/salesforce/_sandbox/revoke-tokens")

    refused = query(client, bearer, "SELECT Id FROM Contact")
    fresh = {"HTTP_AUTHORIZATION": f"Bearer {get_token(client).json()['access_token']}"}
    accepted = query(client, fresh, "SELECT Id FROM Contact")

    assert revoked.json() == {"revoked": 1}
    assert refused.status_code == 401 and refused.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert accepted.status_code == 200


def test_an_unknown_api_version_is_not_found(client, bearer):
    response = client.get("/salesforce/services/data/latest/query", {"q": "SELECT Id FROM Contact"}, **bearer)

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_queries_take_get_only(client, bearer):
    response = client.post(QUERY, {"q": "SELECT Id FROM Contact"}, **bearer)

    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_every_api_answer_carries_the_api_usage(client, bearer):
    ok = query(client, bearer, "SELECT Id FROM Contact")
    malformed = query(client, bearer, "SELECT")
    unauthorised = client.get(QUERY, {"q": "SELECT Id FROM Contact"})

    seen = Fault.for_system("salesforce").requests_seen
    assert [r["Sforce-Limit-Info"] for r in (ok, malformed, unauthorised)] == [
        f"api-usage={seen - 2}/15000",
        f"api-usage={seen - 1}/15000",
        f"api-usage={seen}/15000",
    ]


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (503, "SERVER_UNAVAILABLE"),
        (500, "UNKNOWN_EXCEPTION"),
        (429, "REQUEST_LIMIT_EXCEEDED"),
        (401, "INVALID_SESSION_ID"),
    ],
)
def test_injected_errors_are_salesforce_error_arrays(client, bearer, status, code):
    update_faults("salesforce", {"fail_next": 1, "error_status": status})

    failed = query(client, bearer, "SELECT Id FROM Contact")
    recovered = query(client, bearer, "SELECT Id FROM Contact")

    assert failed.status_code == status
    assert [error["errorCode"] for error in failed.json()] == [code]
    assert failed["Sforce-Limit-Info"].startswith("api-usage=")
    assert recovered.status_code == 200


def test_injected_rate_limit_is_request_limit_exceeded_with_retry_after(client, bearer):
    update_faults("salesforce", {"rate_limit_next": 1, "retry_after": 9})

    limited = query(client, bearer, "SELECT Id FROM Contact")

    assert limited.status_code == 403
    assert limited.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert limited["Retry-After"] == "9"


def test_injected_faults_on_the_token_endpoint_speak_oauth(client):
    update_faults("salesforce", {"fail_next": 1, "error_status": 503, "rate_limit_next": 1, "retry_after": 4})

    limited = get_token(client)
    failed = get_token(client)

    assert (limited.status_code, limited.json()["error"], limited["Retry-After"]) == (400, "rate_limit_exceeded", "4")
    assert (failed.status_code, failed.json()["error"]) == (503, "server_error")
    assert AccessToken.objects.count() == 0


# --- inspection ----------------------------------------------------------------------------------


def test_contacts_are_listed_as_json(client):
    call_command("seed_sandbox")

    response = client.get("/salesforce/_sandbox/contacts")

    assert response.status_code == 200
    assert len(response.json()) == 5
    assert response.json()[0] == {
        "sf_id": "0035g00000MrgHm4AB",
        "first_name": "Margaret",
        "last_name": "Hamilton",
        "email": "margaret.hamilton@example.com",
        "phone": "+1 617 555 0123",
        "account_id": "",
        "account_name": "",
        "legacy_customer_number": "",
        "legacy_account_status": "",
    }


def test_a_contact_can_be_added_and_then_queried(client, bearer):
    added = client.post(
        "/salesforce/_sandbox/contacts",
        json.dumps({"first_name": "Siobhan", "last_name": "O'Brien", "email": "s.obrien@example.com"}),
        content_type="application/json",
    )

    found = query(client, bearer, r"SELECT Id, LastName FROM Contact WHERE LastName = 'O\'BRIEN'")

    assert added.status_code == 201
    sf_id = added.json()["sf_id"]
    assert sf_id.startswith("003") and len(sf_id) == 18
    assert [(r["Id"], r["LastName"]) for r in found.json()["records"]] == [(sf_id, "O'Brien")]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"first_name": "No last name"}),
        json.dumps({"last_name": "Bad", "email": "not-an-email"}),
        json.dumps({"last_name": "Extra", "nickname": "x"}),
        json.dumps({"last_name": 7}),
        json.dumps({"last_name": "Duplicate", "sf_id": "0035g00000AdaLv1AB"}),
    ],
)
def test_a_bad_contact_is_refused_and_nothing_is_stored(client, body):
    call_command("seed_sandbox")

    response = client.post("/salesforce/_sandbox/contacts", body, content_type="application/json")

    assert response.status_code == 400
    assert "error" in response.json()
    assert Contact.objects.count() == 5


# --- the SOQL subset on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'a\nb'", "a\nb"),
        (r"'a\Nb'", "a\nb"),
        (r"'tab\tend'", "tab\tend"),
        (r"'\"q\"'", '"q"'),
        (r"'caf\u00e9'", "café"),
        (r"'it\'s'", "it's"),
        (r"'c:\\dir'", "c:\\dir"),
        ("''", ""),
    ],
)
def test_string_literals_decode_salesforce_escape_sequences(literal, value):
    parsed = parse(f"SELECT Id FROM Contact WHERE Email = {literal}")  # noqa: S608 - SOQL, not SQL

    assert parsed.conditions == (("Email", value),)


def test_keywords_and_field_names_are_case_insensitive():
    parsed = parse("select ID, account.NAME from contact where EMAIL = 'x' and firstname = null limit 3")

    assert (parsed.fields, parsed.conditions, parsed.limit) == (
        ("Id", "Account.Name"),
        (("Email", "x"), ("FirstName", None)),
        3,
    )


def test_like_escapes_outside_like_are_malformed():
    with pytest.raises(SoqlError) as caught:
        parse(r"SELECT Id FROM Contact WHERE Email = 'a\%b'")

    assert caught.value.code == "MALFORMED_QUERY"


def test_order_by_defaults_to_ascending_with_nulls_first_and_descending_with_nulls_last():
    parsed = parse(
        "SELECT Id FROM Contact WHERE Email = 'x' "
        "ORDER BY LastModifiedDate DESC, lastname, Id asc NULLS last, Phone Desc Nulls First LIMIT 5"
    )

    assert parsed.order_by == (
        Ordering("LastModifiedDate", descending=True, nulls_first=False),
        Ordering("LastName", descending=False, nulls_first=True),
        Ordering("Id", descending=False, nulls_first=False),
        Ordering("Phone", descending=True, nulls_first=True),
    )
    assert (parsed.conditions, parsed.limit) == ((("Email", "x"),), 5)


def test_a_query_without_order_by_has_no_ordering():
    assert parse("SELECT Id FROM Contact").order_by == ()


def test_datetime_fields_may_be_compared_with_null():
    parsed = parse("SELECT Id FROM Contact WHERE CreatedDate = null")

    assert parsed.conditions == (("CreatedDate", None),)
