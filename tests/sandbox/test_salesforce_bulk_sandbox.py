"""The sandbox's Salesforce speaks Bulk API 2.0 ingest: Contact upserts by Legacy_Customer_Number__c."""

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import call_command

from sandbox.faults import update_faults
from sandbox.models import Fault
from sandbox.salesforce import bulk, bulk_views
from sandbox.salesforce.models import BulkIngestJob, Contact

pytestmark = pytest.mark.django_db

CLIENT_ID = "3MVG9sandbox.test"
CLIENT_SECRET = "sandbox-test-secret"
INGEST = "/salesforce/services/data/v62.0/jobs/ingest"
HEADER = "Legacy_Customer_Number__c,FirstName,LastName,Email,Phone,Legacy_Account_Status__c"
UPSERT = {
    "object": "Contact",
    "operation": "upsert",
    "externalIdFieldName": "Legacy_Customer_Number__c",
    "contentType": "CSV",
    "lineEnding": "LF",
}


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SALESFORCE_CLIENT_ID = CLIENT_ID
    settings.SANDBOX_SALESFORCE_CLIENT_SECRET = CLIENT_SECRET
    # A closed job is done at the first poll, unless a test gives it time.
    settings.SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS = 0
    settings.SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND = 0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(bulk, "_now", lambda: clock.now)
    return clock


@pytest.fixture
def bearer(client) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = client.post("/salesforce/services/oauth2/token", form).json()["access_token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def create(client, bearer, **changes):
    return client.post(INGEST, json.dumps({**UPSERT, **changes}), content_type="application/json", **bearer)


def upload(client, bearer, job_id: str, data: str | bytes):
    return client.put(f"{INGEST}/{job_id}/batches", data, content_type="text/csv", **bearer)


def set_state(client, bearer, job_id: str, state: str):
    return client.patch(f"{INGEST}/{job_id}", json.dumps({"state": state}), content_type="application/json", **bearer)


def poll(client, bearer, job_id: str):
    return client.get(f"{INGEST}/{job_id}", **bearer)


def results(client, bearer, job_id: str, kind: str) -> list[dict[str, str]]:
    response = client.get(f"{INGEST}/{job_id}/{kind}/", **bearer)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def run_job(client, bearer, data: str, **changes) -> dict:
    """Create, upload, close and poll one job; its last job info."""
    job_id = create(client, bearer, **changes).json()["id"]
    assert upload(client, bearer, job_id, data).status_code == 201
    assert set_state(client, bearer, job_id, "UploadComplete").status_code == 200
    return poll(client, bearer, job_id).json()


def rows(*lines: str) -> str:
    return "\n".join((HEADER, *lines)) + "\n"


# --- the lifecycle -------------------------------------------------------------------------------


def test_a_job_is_created_open_with_its_upload_url(client, bearer):
    response = create(client, bearer)

    assert response.status_code == 200
    info = response.json()
    assert info["id"].startswith("750") and len(info["id"]) == 18
    assert info == {
        "id": info["id"],
        "operation": "upsert",
        "object": "Contact",
        "createdById": "0055g00000SBXUSRAA",
        "createdDate": info["createdDate"],
        "systemModstamp": info["systemModstamp"],
        "state": "Open",
        "externalIdFieldName": "Legacy_Customer_Number__c",
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": 62.0,
        "contentUrl": f"services/data/v62.0/jobs/ingest/{info['id']}/batches",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    assert response["Sforce-Limit-Info"].startswith("api-usage=")


def test_a_closed_job_is_queued_then_in_progress_then_complete_on_its_own(client, bearer, clock, settings):
    settings.SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS = 1
    settings.SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND = 2  # four rows: two seconds InProgress
    job_id = create(client, bearer).json()["id"]
    data = rows(
        "0000100001,ADA,LOVELACE,ada@example.com,+44 20 7946 0958,Active",
        "0000100002,GRACE,HOPPER,grace@example.com,,Inactive",
        "0000100003,ALAN,TURING,not-an-email,,Closed",
        "0000100004,,BABBAGE,,,Closed",
    )

    uploaded = upload(client, bearer, job_id, data)
    closed = set_state(client, bearer, job_id, "UploadComplete")
    queued = poll(client, bearer, job_id).json()
    clock.advance(1)
    started = poll(client, bearer, job_id).json()
    clock.advance(1)
    halfway = poll(client, bearer, job_id).json()
    clock.advance(1)
    done = poll(client, bearer, job_id).json()

    assert (uploaded.status_code, uploaded.content) == (201, b"")
    assert closed.status_code == 200 and closed.json()["state"] == "UploadComplete"
    assert "contentUrl" not in closed.json()
    assert [(i["state"], i["numberRecordsProcessed"], i["numberRecordsFailed"]) for i in (queued, started)] == [
        ("UploadComplete", 0, 0),
        ("InProgress", 0, 0),
    ]
    assert (halfway["state"], halfway["numberRecordsProcessed"]) == ("InProgress", 2)
    assert done["state"] == "JobComplete"
    assert (done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (4, 1)
    assert (done["jobType"], done["retries"], done["totalProcessingTime"], done["apexProcessingTime"]) == (
        "V2Ingest",
        0,
        2000,
        0,
    )
    assert "errorMessage" not in done
    assert sorted(Contact.objects.values_list("legacy_customer_number", flat=True)) == [
        "0000100001",
        "0000100002",
        "0000100004",
    ]


def test_the_rows_are_written_when_the_job_starts_and_only_once(client, bearer, clock, settings):
    settings.SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND = 1
    job_id = create(client, bearer).json()["id"]
    upload(client, bearer, job_id, rows("0000100001,ADA,LOVELACE,,,Active"))
    set_state(client, bearer, job_id, "UploadComplete")

    first = poll(client, bearer, job_id).json()
    second = poll(client, bearer, job_id).json()

    assert [first["state"], second["state"]] == ["InProgress", "InProgress"]
    assert Contact.objects.count() == 1
    assert results(client, bearer, job_id, "successfulResults") == []  # known once the job is over


def test_created_and_updated_are_told_apart_in_sf_created(client, bearer):
    existing = Contact.objects.create(
        sf_id="0035g00000AdaLv1AB",
        first_name="Ada",
        last_name="Lovelace",
        email="ada.lovelace@example.com",
        phone="+44 20 7946 0958",
        legacy_customer_number="0000100001",
    )
    before = existing.last_modified

    info = run_job(
        client,
        bearer,
        rows("0000100001,Augusta Ada,Lovelace,,#N/A,Inactive", "0000100002,Grace,Hopper,grace@example.com,,Active"),
    )

    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("JobComplete", 2, 0)
    succeeded = results(client, bearer, info["id"], "successfulResults")
    assert [(r["sf__Id"], r["sf__Created"], r["Legacy_Customer_Number__c"]) for r in succeeded] == [
        ("0035g00000AdaLv1AB", "false", "0000100001"),
        (Contact.objects.get(legacy_customer_number="0000100002").sf_id, "true", "0000100002"),
    ]
    existing.refresh_from_db()
    # An empty value leaves the field as it was; #N/A empties it.
    assert (existing.first_name, existing.email, existing.phone, existing.legacy_account_status) == (
        "Augusta Ada",
        "ada.lovelace@example.com",
        "",
        "Inactive",
    )
    assert existing.last_modified > before
    created = Contact.objects.get(legacy_customer_number="0000100002")
    assert created.sf_id.startswith("003") and len(created.sf_id) == 18
    assert (created.first_name, created.last_name, created.email, created.legacy_account_status) == (
        "Grace",
        "Hopper",
        "grace@example.com",
        "Active",
    )


def test_results_are_csv_with_every_value_quoted_and_the_uploaded_columns(client, bearer):
    info = run_job(
        client,
        bearer,
        'legacy_customer_number__c,LastName,Email\n0000100001,"O\'Brien, Jr",ob@example.com\n0000100002,Doe,x\n',
    )

    succeeded = client.get(f"{INGEST}/{info['id']}/successfulResults/", **bearer).content.decode()
    failed = client.get(f"{INGEST}/{info['id']}/failedResults/", **bearer).content.decode()
    unprocessed = client.get(f"{INGEST}/{info['id']}/unprocessedrecords/", **bearer).content.decode()

    sf_id = Contact.objects.get().sf_id
    assert succeeded == (
        '"sf__Id","sf__Created","legacy_customer_number__c","LastName","Email"\n'
        f'"{sf_id}","true","0000100001","O\'Brien, Jr","ob@example.com"\n'
    )
    assert failed == (
        '"sf__Id","sf__Error","legacy_customer_number__c","LastName","Email"\n'
        '"","INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --","0000100002","Doe","x"\n'
    )
    assert unprocessed == '"legacy_customer_number__c","LastName","Email"\n'


def test_a_crlf_job_with_another_delimiter_reads_and_answers_in_kind(client, bearer):
    data = "Legacy_Customer_Number__c;LastName\r\n0000100001;Lovelace\r\n"

    info = run_job(client, bearer, data, lineEnding="CRLF", columnDelimiter="SEMICOLON")

    assert (info["state"], info["lineEnding"], info["columnDelimiter"]) == ("JobComplete", "CRLF", "SEMICOLON")
    answer = client.get(f"{INGEST}/{info['id']}/successfulResults", **bearer).content.decode()
    assert answer.startswith('"sf__Id";"sf__Created";"Legacy_Customer_Number__c";"LastName"\r\n')


# --- rows Salesforce refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (
            "0000100009,Alan,Turing,not-an-email,,Active",
            "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --",
        ),
        (
            "0000100009,Alan,,alan@example.com,,Active",
            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
        ),
        ("0000100009,Alan,#N/A,,,Active", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"),
        (
            f"0000100009,{'A' * 41},Turing,,,Active",
            f"STRING_TOO_LONG:First Name: data value too large: {'A' * 41} (max length=40):FirstName --",
        ),
        (
            f"0000100009,Alan,Turing,{'a' * 75}@x.org,,Active",
            f"STRING_TOO_LONG:Email: data value too large: {'a' * 75}@x.org (max length=80):Email --",
        ),
        (
            "000010000900000000001,Alan,Turing,,,Active",
            "STRING_TOO_LONG:Legacy Customer Number: data value too large: 000010000900000000001 (max length=20)"
            ":Legacy_Customer_Number__c --",
        ),
        (
            "0000100009,Alan,Turing,,,Dormant",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Legacy Account Status: bad value for restricted picklist field: "
            "Dormant:Legacy_Account_Status__c --",
        ),
        (",Alan,Turing,,,Active", "MISSING_ARGUMENT:Legacy_Customer_Number__c not specified:--"),
    ],
)
def test_a_bad_row_fails_with_salesforces_error_and_the_others_are_written(client, bearer, row, error):
    info = run_job(client, bearer, rows("0000100001,Ada,Lovelace,ada@example.com,,Active", row))

    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("JobComplete", 2, 1)
    [failure] = results(client, bearer, info["id"], "failedResults")
    assert (failure["sf__Id"], failure["sf__Error"]) == ("", error)
    assert [r["Legacy_Customer_Number__c"] for r in results(client, bearer, info["id"], "successfulResults")] == [
        "0000100001"
    ]
    assert list(Contact.objects.values_list("legacy_customer_number", flat=True)) == ["0000100001"]


def test_a_refused_update_names_the_contact_it_matched_and_leaves_it_alone(client, bearer):
    Contact.objects.create(sf_id="0035g00000AdaLv1AB", last_name="Lovelace", legacy_customer_number="0000100001")

    info = run_job(client, bearer, rows("0000100001,Ada,#N/A,,,Active"))

    [failure] = results(client, bearer, info["id"], "failedResults")
    assert failure["sf__Id"] == "0035g00000AdaLv1AB"
    assert failure["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert Contact.objects.get().last_name == "Lovelace"


def test_an_update_may_leave_out_the_last_name(client, bearer):
    Contact.objects.create(sf_id="0035g00000AdaLv1AB", last_name="Lovelace", legacy_customer_number="0000100001")

    info = run_job(client, bearer, "Legacy_Customer_Number__c,Email\n0000100001,ada@example.com\n")

    assert info["numberRecordsFailed"] == 0
    assert Contact.objects.get().email == "ada@example.com"


def test_the_same_external_id_twice_in_a_job_fails_both_rows(client, bearer):
    info = run_job(
        client,
        bearer,
        rows("0000100001,Ada,Lovelace,,,Active", "0000100002,Grace,Hopper,,,Active", "0000100001,Ada,King,,,Active"),
    )

    failures = results(client, bearer, info["id"], "failedResults")
    assert [(f["LastName"], f["sf__Error"]) for f in failures] == [
        ("Lovelace", "DUPLICATE_VALUE:Duplicate external id specified: 0000100001:Legacy_Customer_Number__c --"),
        ("King", "DUPLICATE_VALUE:Duplicate external id specified: 0000100001:Legacy_Customer_Number__c --"),
    ]
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 2)
    assert list(Contact.objects.values_list("last_name", flat=True)) == ["Hopper"]


def test_an_external_id_that_two_contacts_carry_is_duplicate_external_id(client, bearer):
    Contact.objects.create(sf_id="0035g00000Twin01AB", last_name="Twin", legacy_customer_number="0000100001")
    Contact.objects.create(sf_id="0035g00000Twin02AB", last_name="Twin", legacy_customer_number="0000100001")

    info = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active"))

    [failure] = results(client, bearer, info["id"], "failedResults")
    assert failure["sf__Error"] == (
        "DUPLICATE_EXTERNAL_ID:Legacy Customer Number: more than one record found for external id field: "
        "[0035g00000Twin01AB, 0035g00000Twin02AB]:Legacy_Customer_Number__c --"
    )
    assert set(Contact.objects.values_list("last_name", flat=True)) == {"Twin"}


# --- data the job can't read ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error_message"),
    [
        (
            "Legacy_Customer_Number__c,LastName,Nickname\n0000100001,Lovelace,Ada\n",
            "InvalidBatch : Field name not found : Nickname",
        ),
        (
            'Legacy_Customer_Number__c,LastName\n0000100001,"Lovelace\n',
            "InvalidBatch : Failed to parse CSV at line 2: unexpected end of data",
        ),
        (
            "Legacy_Customer_Number__c,LastName\n0000100001,Lovelace,extra\n",
            "InvalidBatch : Record 1 has 3 values where the header has 2 fields",
        ),
        (
            "Legacy_Customer_Number__c,LastName,lastname\n0000100001,Lovelace,King\n",
            "InvalidBatch : Duplicate field name in the header : lastname",
        ),
        (
            "Legacy_Customer_Number__c,LastName\r\n0000100001,Lovelace\r\n",
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF",
        ),
        ("", "InvalidBatch : Records not processed"),
        (
            b"Legacy_Customer_Number__c,LastName\n0000100001,Lov\xe9lace\n",
            "ClientInputError : The job's data is not UTF-8 (byte 49)",
        ),
    ],
)
def test_data_the_job_cannot_read_fails_the_job_with_its_error_message(client, bearer, data, error_message):
    info = run_job(client, bearer, data)

    assert (info["state"], info["errorMessage"]) == ("Failed", error_message)
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (0, 0)
    assert results(client, bearer, info["id"], "successfulResults") == []
    unprocessed = client.get(f"{INGEST}/{info['id']}/unprocessedrecords/", **bearer).content
    assert unprocessed == (data if isinstance(data, bytes) else data.encode()).replace(b"\xe9", "\ufffd".encode())
    assert Contact.objects.count() == 0


def test_a_job_closed_without_data_fails(client, bearer):
    job_id = create(client, bearer).json()["id"]

    set_state(client, bearer, job_id, "UploadComplete")

    info = poll(client, bearer, job_id).json()
    assert (info["state"], info["errorMessage"]) == ("Failed", "InvalidBatch : Records not processed")


def test_a_crlf_job_refuses_lf_data(client, bearer):
    info = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active"), lineEnding="CRLF")

    assert info["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF"
    )


# --- limits and refusals -------------------------------------------------------------------------


def test_an_upload_beyond_the_jobs_size_limit_is_refused(client, bearer, settings):
    settings.SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES = 100
    job_id = create(client, bearer).json()["id"]
    full = create(client, bearer).json()["id"]

    too_big = upload(client, bearer, job_id, "x" * 101)
    just_fits = upload(client, bearer, full, "x" * 100)

    assert too_big.status_code == 400
    assert too_big.json() == [
        {"message": "Exceeded max size limit of 100 bytes for the job's data", "errorCode": "INVALIDBATCH"}
    ]
    assert BulkIngestJob.objects.get(job_id=job_id).upload_bytes == 0
    assert just_fits.status_code == 201
    assert upload(client, bearer, full, "x").status_code == 400  # the limit is the job's, over all its uploads


def test_the_job_size_limit_is_salesforces_100_mb():
    from django.conf import settings as django_settings

    assert django_settings.SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES == 100 * 1024 * 1024


def test_an_upload_larger_than_a_request_body_django_reads_whole_is_taken(client, bearer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    lines = [f"{100000 + n:010d},Customer{n},Number{n},c{n}@example.com,,Active" for n in range(200)]

    info = run_job(client, bearer, rows(*lines))

    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("JobComplete", 200, 0)
    assert Contact.objects.count() == 200


def test_an_upload_to_a_job_that_is_not_open_is_refused(client, bearer):
    info = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active"))

    late = upload(client, bearer, info["id"], rows("0000100002,Grace,Hopper,,,Active"))

    assert late.status_code == 409
    assert late.json() == [
        {
            "message": "Job data can be uploaded only to an Open job; the job is JobComplete",
            "errorCode": "INVALIDJOBSTATE",
        }
    ]
    assert Contact.objects.count() == 1


def test_a_second_upload_makes_the_close_fail_as_salesforce_does(client, bearer):
    job_id = create(client, bearer).json()["id"]
    upload(client, bearer, job_id, rows("0000100001,Ada,Lovelace,,,Active"))
    upload(client, bearer, job_id, rows("0000100002,Grace,Hopper,,,Active"))

    closed = set_state(client, bearer, job_id, "UploadComplete")

    assert closed.status_code == 400
    [error] = closed.json()
    assert error["errorCode"] == "INVALIDJOB"
    assert error["message"].startswith(f"Found multipe contents for job: <{job_id[:15]}>, please 'Close' / 'Abort'")
    assert poll(client, bearer, job_id).json()["state"] == "Open"


def test_closing_a_job_twice_is_refused(client, bearer):
    job_id = create(client, bearer).json()["id"]
    upload(client, bearer, job_id, rows("0000100001,Ada,Lovelace,,,Active"))
    set_state(client, bearer, job_id, "UploadComplete")

    again = set_state(client, bearer, job_id, "UploadComplete")

    assert again.status_code == 409
    assert again.json()[0]["errorCode"] == "INVALIDJOBSTATE"


@pytest.mark.parametrize("state", ["JobComplete", "InProgress", "Open", ""])
def test_a_job_can_be_set_to_upload_complete_or_aborted_only(client, bearer, state):
    job_id = create(client, bearer).json()["id"]

    response = set_state(client, bearer, job_id, state)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALIDJOBSTATE"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("put", "/batches"),
        ("get", "/successfulResults/"),
        ("get", "/failedResults/"),
        ("get", "/unprocessedrecords/"),
    ],
)
def test_an_unknown_job_is_not_found(client, bearer, method, suffix):
    body = {} if method == "get" else {"data": "{}", "content_type": "text/csv"}
    response = getattr(client, method)(f"{INGEST}/750XX00000NoSuchAA{suffix}", **body, **bearer)

    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"object": "Account"}, "INVALIDJOB", "Unable to find object: Account"),
        (
            {"operation": "merge"},
            "INVALIDJOB",
            "Invalid operation: merge; one of insert, update, upsert, delete, hardDelete",
        ),
        ({"operation": "insert"}, "FEATURENOTENABLED", "The sandbox's Salesforce runs upsert jobs only, not insert"),
        (
            {"externalIdFieldName": ""},
            "INVALIDJOB",
            "External ID was blank for Contact. An External ID must be specified for upsert.",
        ),
        (
            {"externalIdFieldName": "Email"},
            "INVALIDJOB",
            "Field name provided, Email is not an External ID or indexed field for Contact",
        ),
        ({"contentType": "JSON"}, "INVALIDJOB", "Invalid contentType: JSON; the only valid value is CSV"),
        ({"lineEnding": "CR"}, "INVALIDJOB", "Invalid lineEnding: CR; one of LF, CRLF"),
        (
            {"columnDelimiter": "COLON"},
            "INVALIDJOB",
            "Invalid columnDelimiter: COLON; one of COMMA, TAB, PIPE, SEMICOLON, CARET, BACKQUOTE",
        ),
    ],
)
def test_a_job_salesforce_would_not_create_is_refused(client, bearer, changes, code, message):
    response = create(client, bearer, **changes)

    assert response.status_code == 400
    assert response.json() == [{"message": message, "errorCode": code}]
    assert BulkIngestJob.objects.count() == 0


def test_a_body_that_is_not_json_is_a_parser_error(client, bearer):
    response = client.post(INGEST, "object=Contact", content_type="application/json", **bearer)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_the_external_id_field_name_is_answered_as_salesforce_spells_it(client, bearer):
    assert create(client, bearer, externalIdFieldName="legacy_customer_number__C").json()["externalIdFieldName"] == (
        "Legacy_Customer_Number__c"
    )


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("post", ""),
        ("get", "/750XX00000NoSuchAA"),
        ("put", "/750XX00000NoSuchAA/batches"),
        ("get", "/750XX00000NoSuchAA/failedResults"),
    ],
)
def test_bulk_calls_without_a_known_token_are_an_invalid_session(client, method, suffix):
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    response = getattr(client, method)(f"{INGEST}{suffix}", **body)

    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_bulk_api_2_is_not_found_before_api_version_41(client, bearer):
    response = client.post(
        "/salesforce/services/data/v40.0/jobs/ingest", json.dumps(UPSERT), content_type="application/json", **bearer
    )

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_other_methods_are_not_allowed(client, bearer):
    job_id = create(client, bearer).json()["id"]

    response = client.post(f"{INGEST}/{job_id}", "{}", content_type="application/json", **bearer)

    assert response.status_code == 405
    assert response.json() == [
        {"message": "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE", "errorCode": "METHOD_NOT_ALLOWED"}
    ]


# --- abort, delete, list -------------------------------------------------------------------------


def test_an_aborted_job_writes_nothing_and_gives_its_rows_back_unprocessed(client, bearer, clock, settings):
    settings.SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS = 10
    job_id = create(client, bearer).json()["id"]
    data = rows("0000100001,Ada,Lovelace,,,Active")
    upload(client, bearer, job_id, data)
    set_state(client, bearer, job_id, "UploadComplete")

    aborted = set_state(client, bearer, job_id, "Aborted")
    clock.advance(60)

    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert poll(client, bearer, job_id).json()["state"] == "Aborted"
    assert client.get(f"{INGEST}/{job_id}/unprocessedrecords/", **bearer).content.decode() == data
    assert Contact.objects.count() == 0


def test_a_finished_job_cannot_be_aborted(client, bearer):
    info = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active"))

    response = set_state(client, bearer, info["id"], "Aborted")

    assert response.status_code == 409
    assert response.json() == [
        {"message": "Aborting already Completed Job not allowed", "errorCode": "INVALIDJOBSTATE"}
    ]


def test_a_job_is_deleted_once_it_is_over(client, bearer):
    open_job = create(client, bearer).json()["id"]
    done = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active"))["id"]

    refused = client.delete(f"{INGEST}/{open_job}", **bearer)
    deleted = client.delete(f"{INGEST}/{done}", **bearer)

    assert refused.status_code == 409 and refused.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert poll(client, bearer, done).status_code == 404
    assert Contact.objects.count() == 1


def test_all_jobs_are_listed_the_newest_first(client, bearer):
    first = create(client, bearer).json()["id"]
    second = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active"))["id"]

    listed = client.get(INGEST, **bearer).json()

    assert (listed["done"], listed["nextRecordsUrl"]) == (True, None)
    assert [(job["id"], job["state"]) for job in listed["records"]] == [(second, "JobComplete"), (first, "Open")]


def test_upserted_contacts_can_be_queried_by_their_legacy_number(client, bearer):
    run_job(client, bearer, rows("0000100001,Ada,Lovelace,ada@example.com,,Active"))

    found = client.get(
        "/salesforce/services/data/v62.0/query",
        {"q": "SELECT Id, Legacy_Account_Status__c FROM Contact WHERE Legacy_Customer_Number__c = '0000100001'"},
        **bearer,
    ).json()

    assert [(r["Id"], r["Legacy_Account_Status__c"]) for r in found["records"]] == [
        (Contact.objects.get().sf_id, "Active")
    ]


# --- fault knobs ---------------------------------------------------------------------------------


def test_bulk_fail_next_fails_that_many_jobs_and_writes_none_of_their_rows(client, bearer):
    update_faults("salesforce", {"bulk_fail_next": 1})
    data = rows("0000100001,Ada,Lovelace,,,Active")

    failed = run_job(client, bearer, data)
    recovered = run_job(client, bearer, rows("0000100002,Grace,Hopper,,,Active"))

    assert failed["state"] == "Failed"
    assert failed["errorMessage"] == bulk.FAILED_BY_FAULT
    assert client.get(f"{INGEST}/{failed['id']}/unprocessedrecords/", **bearer).content.decode() == data
    assert recovered["state"] == "JobComplete"
    assert list(Contact.objects.values_list("legacy_customer_number", flat=True)) == ["0000100002"]
    assert Fault.for_system("salesforce").bulk_fail_next == 0


def test_a_job_the_fault_fails_is_in_progress_first_like_any_other(client, bearer, clock, settings):
    settings.SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND = 1
    update_faults("salesforce", {"bulk_fail_next": 1})
    job_id = create(client, bearer).json()["id"]
    upload(client, bearer, job_id, rows("0000100001,Ada,Lovelace,,,Active", "0000100002,Grace,Hopper,,,Active"))
    set_state(client, bearer, job_id, "UploadComplete")

    during = poll(client, bearer, job_id).json()["state"]
    clock.advance(2)
    after = poll(client, bearer, job_id).json()["state"]

    assert (during, after) == ("InProgress", "Failed")


def test_bulk_upload_503_next_answers_503_and_keeps_nothing_of_that_upload(client, bearer):
    update_faults("salesforce", {"bulk_upload_503_next": 1})
    job_id = create(client, bearer).json()["id"]
    data = rows("0000100001,Ada,Lovelace,,,Active")

    unavailable = upload(client, bearer, job_id, data)
    again = upload(client, bearer, job_id, data)
    closed = set_state(client, bearer, job_id, "UploadComplete")

    assert unavailable.status_code == 503
    assert unavailable.json() == [
        {"message": "Server temporarily unavailable, please try again later.", "errorCode": "SERVER_UNAVAILABLE"}
    ]
    assert again.status_code == 201
    assert closed.status_code == 200  # one upload kept: the close does not see two
    assert poll(client, bearer, job_id).json()["numberRecordsProcessed"] == 1


def test_bulk_poll_hang_seconds_holds_every_poll_of_a_job_and_nothing_else(client, bearer, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(bulk_views, "wait_released", waits.append)
    job_id = create(client, bearer).json()["id"]
    update_faults("salesforce", {"bulk_poll_hang_seconds": 2.5})

    upload(client, bearer, job_id, rows("0000100001,Ada,Lovelace,,,Active"))
    set_state(client, bearer, job_id, "UploadComplete")
    first, second = poll(client, bearer, job_id), poll(client, bearer, job_id)
    results(client, bearer, job_id, "successfulResults")

    assert (first.status_code, second.json()["state"]) == (200, "JobComplete")
    assert waits == [2.5, 2.5]


def test_a_hanging_poll_really_waits(client, bearer):
    job_id = create(client, bearer).json()["id"]
    update_faults("salesforce", {"bulk_poll_hang_seconds": 0.3})

    started = time.monotonic()
    answer = poll(client, bearer, job_id)

    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_the_bulk_knobs_are_set_like_the_others(client, capsys):
    put = client.put(
        "/_sandbox/faults/salesforce",
        json.dumps({"bulk_fail_next": 2, "bulk_poll_hang_seconds": 1.5, "bulk_upload_503_next": 3}),
        content_type="application/json",
    )
    call_command("sandbox_fault", "salesforce", "--bulk-fail-next", "4", "--bulk-upload-503-next", "1")
    elsewhere = client.put(
        "/_sandbox/faults/servicenow", json.dumps({"bulk_fail_next": 1}), content_type="application/json"
    )
    negative = client.put(
        "/_sandbox/faults/salesforce", json.dumps({"bulk_poll_hang_seconds": -1}), content_type="application/json"
    )

    assert put.status_code == 200
    assert {k: put.json()[k] for k in Fault.BULK_KNOBS} == {
        "bulk_fail_next": 2,
        "bulk_poll_hang_seconds": 1.5,
        "bulk_upload_503_next": 3,
    }
    fault = Fault.for_system("salesforce")
    assert (fault.bulk_fail_next, fault.bulk_poll_hang_seconds, fault.bulk_upload_503_next) == (4, 1.5, 1)
    assert "bulk_fail_next=4" in capsys.readouterr().out
    assert elsewhere.status_code == 400 and "only Salesforce has bulk jobs" in elsewhere.json()["error"]
    assert negative.status_code == 400


def test_the_general_faults_apply_to_the_bulk_api_too(client, bearer):
    update_faults("salesforce", {"fail_next": 1, "error_status": 503})

    failed = create(client, bearer)

    assert failed.status_code == 503
    assert failed.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert BulkIngestJob.objects.count() == 0


# --- inspection ----------------------------------------------------------------------------------


def test_the_jobs_are_listed_as_json_and_on_the_sandbox_page(client, bearer):
    done = run_job(client, bearer, rows("0000100001,Ada,Lovelace,,,Active", "0000100002,Bad,,,,Active"))
    open_job = create(client, bearer).json()["id"]

    listed = client.get("/salesforce/_sandbox/bulk-jobs").json()
    page = client.get("/").content.decode()

    assert [(j["id"], j["state"], j["numberRecordsProcessed"], j["numberRecordsFailed"]) for j in listed] == [
        (open_job, "Open", 0, 0),
        (done["id"], "JobComplete", 2, 1),
    ]
    assert listed[1]["externalIdFieldName"] == "Legacy_Customer_Number__c"
    assert "Bulk jobs" in page and done["id"] in page and open_job in page and "JobComplete" in page


def test_a_job_due_to_start_moves_on_when_it_is_listed(client, bearer):
    job_id = create(client, bearer).json()["id"]
    upload(client, bearer, job_id, rows("0000100001,Ada,Lovelace,,,Active"))
    set_state(client, bearer, job_id, "UploadComplete")

    listed = client.get("/salesforce/_sandbox/bulk-jobs").json()

    assert [job["state"] for job in listed] == ["JobComplete"]
    assert Contact.objects.count() == 1


# --- over real HTTP ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_over_real_http_a_job_runs_and_refused_uploads_are_answered_not_cut_off(sandbox_url, settings):
    settings.SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES = 4096
    session = requests.Session()
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = session.post(f"{sandbox_url}/salesforce/services/oauth2/token", data=form, timeout=5).json()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    ingest = f"{token['instance_url']}/services/data/v62.0/jobs/ingest"

    def new_job() -> str:
        return session.post(ingest, json=UPSERT, timeout=5).json()["id"]

    csv_headers = {"Content-Type": "text/csv"}
    oversized = session.put(f"{ingest}/{new_job()}/batches", data=b"x" * 2_000_000, headers=csv_headers, timeout=10)
    update_faults("salesforce", {"bulk_upload_503_next": 1})
    unavailable = session.put(f"{ingest}/{new_job()}/batches", data=b"x" * 2_000_000, headers=csv_headers, timeout=10)
    job_id = new_job()
    uploaded = session.put(
        f"{ingest}/{job_id}/batches", data=rows("0000100001,Ada,Lovelace,,,Active"), headers=csv_headers, timeout=5
    )
    closed = session.patch(f"{ingest}/{job_id}", json={"state": "UploadComplete"}, timeout=5)
    info = session.get(f"{ingest}/{job_id}", timeout=5).json()
    succeeded = session.get(f"{ingest}/{job_id}/successfulResults/", timeout=5)

    assert (oversized.status_code, oversized.json()[0]["errorCode"]) == (400, "INVALIDBATCH")
    assert (unavailable.status_code, unavailable.json()[0]["errorCode"]) == (503, "SERVER_UNAVAILABLE")
    assert (uploaded.status_code, closed.status_code) == (201, 200)
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 1)
    assert succeeded.text.splitlines()[1].endswith('"true","0000100001","Ada","Lovelace","","","Active"')
