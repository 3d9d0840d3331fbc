"""Salesforce Bulk API 2.0 ingest through the connector: jobs, their CSV both ways, errors, token renewal, waiting."""

import csv
import gzip
import io
import json

import pytest
import responses
from django.core.cache import cache
from responses import matchers

from system_apis import shared_state
from system_apis.errors import (
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemPaced,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from system_apis.quota import quota_hold, quota_hold_of
from system_apis.salesforce import bulk_csv
from system_apis.salesforce import client as client_module
from system_apis.salesforce.client import BulkJobDataTooLarge, BulkJobDeadlinePassed, SalesforceClient
from system_apis.salesforce.types import BulkJob, BulkJobState
from tests.conftest import FIXTURES, load_fixture
from tests.system_apis.test_salesforce_client import (
    FIRST_TOKEN,
    INSTANCE_URL,
    SECOND_TOKEN,
    add_token,
    cached_token,
    make_client,
)

JOBS_URL = f"{INSTANCE_URL}/services/data/v62.0/jobs/ingest"
JOB_ID = "750Hs00000Gt1kQIAR"
JOB_URL = f"{JOBS_URL}/{JOB_ID}"
COLUMNS = [
    "Legacy_Customer_Number__c",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Legacy_Account_Status__c",
]
ADA = {
    "Legacy_Customer_Number__c": "100001",
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Email": "ada.lovelace@example.com",
    "Phone": "+442079460958",
    "Legacy_Account_Status__c": "Active",
}
HEADER = b"Legacy_Customer_Number__c,FirstName,LastName,Email,Phone,Legacy_Account_Status__c\n"
JSON_UTF8 = "application/json; charset=UTF-8"


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def job_answer(rsps, method: str, url: str, fixture: str, *, token: str = FIRST_TOKEN, status: int = 200, **kwargs):
    """Salesforce's JSON answer to a call with `token`, asking for CSV when it is a job's results."""
    accept = "text/csv" if url.endswith(("Results/", "records/")) else "application/json"
    return rsps.add(
        method,
        url,
        json=load_fixture(f"salesforce/{fixture}"),
        status=status,
        match=[matchers.header_matcher({"Authorization": f"Bearer {token}", "Accept": accept})],
        **kwargs,
    )


def csv_fixture(name: str) -> bytes:
    return (FIXTURES / "salesforce" / name).read_bytes()


def uploaded(rsps: responses.RequestsMock, index: int = -1) -> bytes:
    body = rsps.calls[index].request.body
    assert isinstance(body, bytes)
    return body


class TrickleBody(io.RawIOBase):
    """An answer's body as the network gives it: a little at a time, `fail_at` bytes in it breaks off."""

    def __init__(self, data: bytes, *, block: int = 1024, fail_at: int | None = None) -> None:
        self.data, self.block, self.fail_at, self.position = data, block, fail_at, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.fail_at is not None and self.position >= self.fail_at:
            raise ConnectionResetError("connection reset by peer")
        piece = self.data[self.position : self.position + min(self.block, len(buffer))]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


# --- creating, closing, aborting, reading a job ---------------------------------------------------


def test_create_upsert_job_posts_the_job_as_json_and_reads_the_open_job(rsps):
    add_token(rsps)
    created = job_answer(rsps, "POST", JOBS_URL, "bulk_job_open.json")

    job = make_client().create_upsert_job("Contact", "Legacy_Customer_Number__c")

    assert job == BulkJob(id=JOB_ID, state=BulkJobState.OPEN, records_processed=0, records_failed=0, error_message=None)
    assert not job.finished
    request = created.calls[0].request
    assert request.headers["Content-Type"] == JSON_UTF8
    assert json.loads(request.body) == {
        "object": "Contact",
        "operation": "upsert",
        "externalIdFieldName": "Legacy_Customer_Number__c",
        "contentType": "CSV",
        "lineEnding": "LF",
    }


@pytest.mark.parametrize(
    ("object_name", "external_id_field"),
    [
        ("", "Legacy_Customer_Number__c"),
        ("Contact", ""),
        ("Contact; x", "Id"),
        ("Contact", "Legacy Number"),
        ("1x", "Id"),
    ],
)
def test_a_job_for_names_salesforce_cannot_have_is_refused_before_sending(rsps, object_name, external_id_field):
    with pytest.raises(SystemBadRequest) as caught:
        make_client().create_upsert_job(object_name, external_id_field)

    assert (caught.value.operation, caught.value.status) == ("create_bulk_job", None)
    assert len(rsps.calls) == 0


def test_close_job_patches_the_state_upload_complete(rsps):
    add_token(rsps)
    closed = job_answer(rsps, "PATCH", JOB_URL, "bulk_job_upload_complete.json")

    job = make_client().close_job(JOB_ID)

    assert (job.id, job.state, job.finished) == (JOB_ID, BulkJobState.UPLOAD_COMPLETE, False)
    request = closed.calls[0].request
    assert request.headers["Content-Type"] == JSON_UTF8
    assert json.loads(request.body) == {"state": "UploadComplete"}


def test_abort_job_patches_the_state_aborted(rsps):
    add_token(rsps)
    aborted = job_answer(rsps, "PATCH", JOB_URL, "bulk_job_aborted.json")

    job = make_client().abort_job(JOB_ID)

    assert (job.state, job.finished) == (BulkJobState.ABORTED, True)
    assert json.loads(aborted.calls[0].request.body) == {"state": "Aborted"}


@pytest.mark.parametrize(
    ("fixture", "state", "processed", "failed", "error_message", "finished"),
    [
        ("bulk_job_info_upload_complete.json", BulkJobState.UPLOAD_COMPLETE, 0, 0, None, False),
        ("bulk_job_info_in_progress.json", BulkJobState.IN_PROGRESS, 2000, 1, None, False),
        ("bulk_job_info_complete.json", BulkJobState.JOB_COMPLETE, 6, 2, None, True),
        (
            "bulk_job_info_failed.json",
            BulkJobState.FAILED,
            0,
            0,
            "InvalidBatch : Field name not found : Legacy_Account_Stat__c",
            True,
        ),
        ("bulk_job_info_aborted.json", BulkJobState.ABORTED, 0, 0, None, True),
    ],
)
def test_get_job_info_reads_each_state_its_counts_and_error(
    rsps, fixture, state, processed, failed, error_message, finished
):
    add_token(rsps)
    info = job_answer(rsps, "GET", JOB_URL, fixture)

    job = make_client().get_job_info(JOB_ID)

    assert job == BulkJob(
        id=JOB_ID, state=state, records_processed=processed, records_failed=failed, error_message=error_message
    )
    assert job.finished is finished
    assert info.calls[0].request.body is None


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"state": "Open"}, "job answer has no id"),
        ([{"id": JOB_ID}], "job answer has no id"),
        ({"id": JOB_ID, "state": "Queued"}, "unknown state 'Queued'"),
        ({"id": JOB_ID, "state": "InProgress", "numberRecordsProcessed": "12"}, "not counts"),
        ({"id": JOB_ID, "state": "InProgress", "numberRecordsFailed": -1}, "not counts"),
    ],
)
def test_job_answers_we_cannot_read_are_protocol_errors(rsps, answer, message):
    add_token(rsps)
    rsps.get(JOB_URL, json=answer)

    with pytest.raises(SystemProtocolError, match=message):
        make_client().get_job_info(JOB_ID)


@pytest.mark.parametrize(
    "job_id", ["", "750", "../../sobjects/Contact", f"{JOB_ID}/batches", f"{JOB_ID}?x=1", "750Hs00000Gt1kQ"]
)
def test_a_job_id_that_is_not_a_salesforce_id_is_refused_before_sending(rsps, job_id):
    client = make_client()
    calls = [
        lambda: client.get_job_info(job_id),
        lambda: client.close_job(job_id),
        lambda: client.abort_job(job_id),
        lambda: client.upload_job_data(job_id, COLUMNS, [ADA]),
        lambda: client.successful_results(job_id),
        lambda: client.wait_for_job(job_id, max_poll_interval=1, deadline=1),
    ]
    if job_id == "750Hs00000Gt1kQ":  # 15 characters: a Salesforce id too
        add_token(rsps)
        rsps.get(f"{JOBS_URL}/{job_id}", json={**load_fixture("salesforce/bulk_job_info_complete.json"), "id": job_id})
        assert client.get_job_info(job_id).id == job_id
        return

    for call in calls:
        with pytest.raises(SystemBadRequest, match="not a Salesforce job id"):
            call()

    assert len(rsps.calls) == 0


# --- uploading the job's data --------------------------------------------------------------------


def test_upload_job_data_puts_the_csv_it_writes_with_text_csv(rsps):
    add_token(rsps)
    put = rsps.put(
        f"{JOB_URL}/batches",
        status=201,
        match=[matchers.header_matcher({"Authorization": f"Bearer {FIRST_TOKEN}", "Content-Type": "text/csv"})],
    )
    grace = {**ADA, "Legacy_Customer_Number__c": "100003", "FirstName": "Grace", "LastName": "Hopper"}

    sent = make_client().upload_job_data(JOB_ID, COLUMNS, iter([ADA, grace]))

    assert sent == 2
    assert put.call_count == 1
    body = uploaded(rsps)
    assert body == (
        HEADER
        + b"100001,Ada,Lovelace,ada.lovelace@example.com,+442079460958,Active\n"
        + b"100003,Grace,Hopper,ada.lovelace@example.com,+442079460958,Active\n"
    )
    assert rsps.calls[-1].request.headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in rsps.calls[-1].request.headers


@pytest.mark.parametrize(
    ("last_name", "written"),
    [
        ("Hopper, Jr.", b'"Hopper, Jr."'),
        ('The "Amazing" Hopper', b'"The ""Amazing"" Hopper"'),
        ('"', b'""""'),
        ("Hop\nper", b'"Hop\nper"'),
        ("Hop\r\nper", b'"Hop\r\nper"'),
        ("Seán Ó Brádaigh", "Seán Ó Brádaigh".encode()),
        ("大塚 🙂", "大塚 🙂".encode()),
        (" spaced ", b" spaced "),
        ("", b""),
        (None, b""),
    ],
)
def test_values_are_quoted_as_rfc_4180_and_written_in_utf_8(rsps, last_name, written):
    add_token(rsps)
    rsps.put(f"{JOB_URL}/batches", status=201)

    make_client().upload_job_data(
        JOB_ID,
        ["Legacy_Customer_Number__c", "LastName", "Email"],
        [{"Legacy_Customer_Number__c": "100001", "LastName": last_name, "Email": "a@example.com"}],
    )

    assert uploaded(rsps) == b"Legacy_Customer_Number__c,LastName,Email\n100001," + written + b",a@example.com\n"


def test_what_is_written_reads_back_as_the_rows_given(rsps):
    add_token(rsps)
    rsps.put(f"{JOB_URL}/batches", status=201)
    rows = [
        {**ADA, "LastName": 'O\'Brien, "Mac"\nline two', "FirstName": "Zoë"},
        {**ADA, "Phone": None, "Email": ""},
    ]

    make_client().upload_job_data(JOB_ID, COLUMNS, rows)

    read_back = list(csv.DictReader(io.StringIO(uploaded(rsps).decode("utf-8"), newline="")))
    assert read_back == [{**rows[0]}, {**ADA, "Phone": "", "Email": ""}]


def test_a_column_a_row_lacks_is_an_empty_field(rsps):
    add_token(rsps)
    rsps.put(f"{JOB_URL}/batches", status=201)

    make_client().upload_job_data(JOB_ID, COLUMNS, [{"Legacy_Customer_Number__c": "100009", "LastName": "Turing"}])

    assert uploaded(rsps) == HEADER + b"100009,,Turing,,,\n"


@pytest.mark.parametrize(
    ("columns", "rows", "message"),
    [
        (COLUMNS, [], "no rows to upload"),
        (COLUMNS, [ADA, {**ADA, "Nickname": "Ada"}], "row 2 has fields not among the columns: Nickname"),
        (COLUMNS, [{**ADA, "LastName": "bad \ud800 surrogate"}], "row 1 holds text that is not Unicode"),
        ([], [ADA], "the columns must be distinct names"),
        (["Email", "Email"], [{"Email": "a@example.com"}], "the columns must be distinct names"),
        (["Email", ""], [{"Email": "a@example.com"}], "the columns must be distinct names"),
    ],
)
def test_data_that_cannot_be_a_job_is_refused_before_sending(rsps, columns, rows, message):
    with pytest.raises(SystemBadRequest, match=message) as caught:
        make_client().upload_job_data(JOB_ID, columns, rows)

    assert (caught.value.operation, caught.value.retryable) == ("upload_bulk_job_data", False)
    assert len(rsps.calls) == 0


def test_data_past_100_mb_is_refused_before_sending_and_no_more_rows_are_read(rsps):
    megabyte_name = "x" * (1024 * 1024 - 1)  # with its line break, one row is 1 MiB and a few bytes
    taken: list[int] = []

    def rows():
        for number in range(1, 200):
            taken.append(number)
            yield {"LastName": megabyte_name}

    with pytest.raises(BulkJobDataTooLarge) as caught:
        make_client().upload_job_data(JOB_ID, ["LastName"], rows())

    assert SalesforceClient.MAX_JOB_DATA_BYTES == 100 * 1024 * 1024
    assert caught.value.row == 100
    assert taken[-1] == 100
    assert isinstance(caught.value, SystemBadRequest) and not caught.value.retryable
    assert "passes 104857600 bytes at row 100" in caught.value.message
    assert len(rsps.calls) == 0


def test_data_just_within_the_limit_is_sent(rsps, monkeypatch):
    monkeypatch.setattr(SalesforceClient, "MAX_JOB_DATA_BYTES", len(HEADER) + 2 * len(b"100001,,Lovelace,,,\n"))
    add_token(rsps)
    rsps.put(f"{JOB_URL}/batches", status=201)
    row = {"Legacy_Customer_Number__c": "100001", "LastName": "Lovelace"}

    assert make_client().upload_job_data(JOB_ID, COLUMNS, [row, row]) == 2
    with pytest.raises(BulkJobDataTooLarge) as caught:
        make_client().upload_job_data(JOB_ID, COLUMNS, [row, row, row])

    assert caught.value.row == 3
    assert len(rsps.calls) == 2  # the token and the first upload


def test_data_larger_than_the_memory_spool_is_sent_whole_from_disk(rsps, monkeypatch):
    monkeypatch.setattr(bulk_csv, "SPOOL_BYTES", 100)
    monkeypatch.setattr(bulk_csv, "SEND_BLOCK_BYTES", 64)
    add_token(rsps)
    rsps.put(f"{JOB_URL}/batches", status=201)
    rows = [{**ADA, "Legacy_Customer_Number__c": str(100000 + number)} for number in range(50)]

    make_client().upload_job_data(JOB_ID, COLUMNS, rows)

    body = uploaded(rsps)
    assert body.startswith(HEADER) and body.count(b"\n") == 51
    assert body.endswith(b"100049,Ada,Lovelace,ada.lovelace@example.com,+442079460958,Active\n")
    assert rsps.calls[-1].request.headers["Content-Length"] == str(len(body))


# --- token renewal -------------------------------------------------------------------------------


def test_an_upload_refused_for_its_token_is_sent_again_whole_with_a_new_one(rsps):
    add_token(rsps)
    job_answer(rsps, "PUT", f"{JOB_URL}/batches", "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    accepted = rsps.put(
        f"{JOB_URL}/batches",
        status=201,
        match=[matchers.header_matcher({"Authorization": f"Bearer {SECOND_TOKEN}"})],
    )
    client = make_client()

    assert client.upload_job_data(JOB_ID, COLUMNS, [ADA]) == 1

    expected = HEADER + b"100001,Ada,Lovelace,ada.lovelace@example.com,+442079460958,Active\n"
    assert uploaded(rsps, 1) == uploaded(rsps, 3) == expected
    assert accepted.call_count == 1
    assert cached_token(client) == SECOND_TOKEN


@pytest.mark.parametrize(
    ("call", "method", "url", "fixture"),
    [
        (lambda client: client.get_job_info(JOB_ID), "GET", JOB_URL, "bulk_job_info_complete.json"),
        (lambda client: client.close_job(JOB_ID), "PATCH", JOB_URL, "bulk_job_upload_complete.json"),
        (
            lambda client: client.create_upsert_job("Contact", "Legacy_Customer_Number__c"),
            "POST",
            JOBS_URL,
            "bulk_job_open.json",
        ),
    ],
)
def test_a_job_call_refused_for_its_token_gets_a_new_token_and_is_retried_once(rsps, call, method, url, fixture):
    add_token(rsps)
    job_answer(rsps, method, url, "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    job_answer(rsps, method, url, fixture, token=SECOND_TOKEN)
    client = make_client()

    assert call(client).id == JOB_ID

    assert [c.request.method for c in rsps.calls] == ["POST", method, "POST", method]
    if rsps.calls[1].request.body is not None:
        assert rsps.calls[1].request.body == rsps.calls[3].request.body


def test_results_refused_for_their_token_are_asked_again_with_a_new_one(rsps):
    add_token(rsps)
    job_answer(rsps, "GET", f"{JOB_URL}/failedResults/", "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    rsps.get(
        f"{JOB_URL}/failedResults/",
        body=csv_fixture("bulk_failed_results.csv"),
        content_type="text/csv",
        match=[matchers.header_matcher({"Authorization": f"Bearer {SECOND_TOKEN}"})],
    )

    assert len(list(make_client().failed_results(JOB_ID))) == 2


def test_a_second_refusal_for_the_token_is_an_auth_error(rsps):
    add_token(rsps)
    job_answer(rsps, "GET", JOB_URL, "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    job_answer(rsps, "GET", JOB_URL, "error_invalid_session_id.json", status=401, token=SECOND_TOKEN)

    with pytest.raises(SystemAuthError) as caught:
        make_client().get_job_info(JOB_ID)

    assert (caught.value.status, caught.value.vendor_code, caught.value.operation) == (
        401,
        "INVALID_SESSION_ID",
        "get_bulk_job",
    )
    assert len(rsps.calls) == 4


# --- results -------------------------------------------------------------------------------------


def test_successful_results_are_the_records_salesforce_answers(rsps):
    add_token(rsps)
    results = rsps.get(
        f"{JOB_URL}/successfulResults/",
        body=csv_fixture("bulk_successful_results.csv"),
        content_type="text/csv",
        match=[matchers.header_matcher({"Authorization": f"Bearer {FIRST_TOKEN}", "Accept": "text/csv"})],
    )

    records = list(make_client().successful_results(JOB_ID))

    assert results.call_count == 1
    assert records[0] == {"sf__Id": "003Hs00004AdaLvIAB", "sf__Created": "true", **ADA}
    assert [(r["sf__Id"], r["sf__Created"]) for r in records] == [
        ("003Hs00004AdaLvIAB", "true"),
        ("003Hs00004ObrShIAB", "false"),
        ("003Hs00004GrcHpIAB", "true"),
        ("003Hs00004MryAnIAB", "false"),
    ]
    assert [(r["FirstName"], r["LastName"], r["Phone"]) for r in records[1:]] == [
        ("Seán", "O'Brien", ""),
        ("Grace", 'Hopper, "Amazing"', "+12025550143"),
        ("Mary\nAnn", "Ōtsuka 大塚", ""),
    ]


def test_failed_results_carry_salesforces_error_for_each_record(rsps):
    add_token(rsps)
    rsps.get(f"{JOB_URL}/failedResults/", body=csv_fixture("bulk_failed_results.csv"), content_type="text/csv")

    records = list(make_client().failed_results(JOB_ID))

    assert [(r["sf__Id"], r["sf__Error"], r["Legacy_Customer_Number__c"]) for r in records] == [
        ("", "INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --", "100005"),
        ("", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --", "100006"),
    ]
    assert records[1]["LastName"] == ""


def test_unprocessed_records_are_the_columns_sent(rsps):
    add_token(rsps)
    rsps.get(
        f"{JOB_URL}/unprocessedrecords/", body=csv_fixture("bulk_unprocessed_records.csv"), content_type="text/csv"
    )

    records = list(make_client().unprocessed_records(JOB_ID))

    assert [r["Legacy_Customer_Number__c"] for r in records] == ["100007", "100008"]
    assert records[1]["LastName"] == "Curie, Skłodowska"
    assert set(records[0]) == set(COLUMNS)


@pytest.mark.parametrize("body", [b"", b'"sf__Id","sf__Created",Email\n'])
def test_no_results_are_no_records(rsps, body):
    add_token(rsps)
    rsps.get(f"{JOB_URL}/successfulResults/", body=body, content_type="text/csv")

    assert list(make_client().successful_results(JOB_ID)) == []


def test_a_gzip_answer_is_read_unzipped(rsps):
    add_token(rsps)
    rsps.get(
        f"{JOB_URL}/failedResults/",
        body=gzip.compress(csv_fixture("bulk_failed_results.csv")),
        headers={"Content-Encoding": "gzip"},
        content_type="text/csv",
    )

    assert [r["Legacy_Customer_Number__c"] for r in make_client().failed_results(JOB_ID)] == ["100005", "100006"]


def test_results_are_read_as_they_arrive_not_loaded_whole(rsps):
    add_token(rsps)
    line = b'"003Hs00004AdaLvIAB","true","100001","Ada","Lovelace","ada@example.com","","Active"\n'
    data = csv_fixture("bulk_successful_results.csv").split(b"\n", 1)[0] + b"\n" + line * 20_000
    body = TrickleBody(data)
    rsps.get(f"{JOB_URL}/successfulResults/", body=io.BufferedReader(body), content_type="text/csv")

    records = make_client().successful_results(JOB_ID)
    first = next(records)

    assert first["sf__Id"] == "003Hs00004AdaLvIAB"
    assert body.position < len(data) / 10
    assert sum(1 for _ in records) == 19_999
    assert body.closed


def test_an_answer_that_breaks_off_is_unavailable_and_its_connection_freed(rsps):
    add_token(rsps)
    line = b'"003Hs00004AdaLvIAB","true","100001"\n'
    body = TrickleBody(b'"sf__Id","sf__Created",Legacy_Customer_Number__c\n' + line * 1000, fail_at=8192)
    rsps.get(f"{JOB_URL}/successfulResults/", body=io.BufferedReader(body), content_type="text/csv")

    records = make_client().successful_results(JOB_ID)
    with pytest.raises(SystemUnavailable, match="the answer broke off") as caught:
        list(records)

    assert caught.value.operation == "bulk_successful_results"
    assert body.closed


def test_closing_the_results_early_frees_the_connection(rsps):
    add_token(rsps)
    body = TrickleBody(csv_fixture("bulk_successful_results.csv"), block=64)
    rsps.get(f"{JOB_URL}/successfulResults/", body=io.BufferedReader(body), content_type="text/csv")

    records = make_client().successful_results(JOB_ID)
    next(records)
    records.close()

    assert body.closed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"sf__Id","sf__Error",Email\n"003","x"\n', "record 1 has 2 fields, its header 3"),
        (b'"sf__Id","sf__Error",Email\n"003","x","a@b.c"\n\n', "record 2 has 0 fields"),
        (b"Email,sf__Id\na@b.c,003\n", "its header does not begin with sf__Id, sf__Error"),
        (b'"sf__Id","sf__Error",Email\n"003","x","\xff"\n', "answer is not the CSV expected"),
    ],
)
def test_results_we_cannot_read_are_protocol_errors(rsps, body, message):
    add_token(rsps)
    rsps.get(f"{JOB_URL}/failedResults/", body=body, content_type="text/csv")

    with pytest.raises(SystemProtocolError, match=message) as caught:
        list(make_client().failed_results(JOB_ID))

    assert caught.value.operation == "bulk_failed_results"


# --- errors as Salesforce answers them -----------------------------------------------------------


def create(client: SalesforceClient) -> BulkJob:
    return client.create_upsert_job("Contact", "Legacy_Number__c")


def upload(client: SalesforceClient) -> int:
    return client.upload_job_data(JOB_ID, COLUMNS, [ADA])


@pytest.mark.parametrize(
    ("call", "method", "url", "status", "fixture", "error", "code", "operation"),
    [
        (
            create,
            "POST",
            JOBS_URL,
            400,
            "bulk_error_invalidjob.json",
            SystemBadRequest,
            "INVALIDJOB",
            "create_bulk_job",
        ),
        (
            create,
            "POST",
            JOBS_URL,
            400,
            "bulk_error_invalid_field.json",
            SystemBadRequest,
            "INVALID_FIELD",
            "create_bulk_job",
        ),
        (
            upload,
            "PUT",
            f"{JOB_URL}/batches",
            400,
            "bulk_error_invalidjob_state.json",
            SystemBadRequest,
            "INVALIDJOB",
            "upload_bulk_job_data",
        ),
        (
            upload,
            "PUT",
            f"{JOB_URL}/batches",
            503,
            "error_server_unavailable.json",
            SystemUnavailable,
            "SERVER_UNAVAILABLE",
            "upload_bulk_job_data",
        ),
        (
            lambda client: client.close_job(JOB_ID),
            "PATCH",
            JOB_URL,
            400,
            "bulk_error_invalidjob_state.json",
            SystemBadRequest,
            "INVALIDJOB",
            "close_bulk_job",
        ),
        (
            lambda client: client.get_job_info(JOB_ID),
            "GET",
            JOB_URL,
            404,
            "error_not_found.json",
            SystemNotFound,
            "NOT_FOUND",
            "get_bulk_job",
        ),
        (
            lambda client: client.successful_results(JOB_ID),
            "GET",
            f"{JOB_URL}/successfulResults/",
            404,
            "error_not_found.json",
            SystemNotFound,
            "NOT_FOUND",
            "bulk_successful_results",
        ),
        (
            lambda client: client.get_job_info(JOB_ID),
            "GET",
            JOB_URL,
            403,
            "error_request_limit_exceeded.json",
            SystemRateLimited,
            "REQUEST_LIMIT_EXCEEDED",
            "get_bulk_job",
        ),
    ],
)
def test_errors_salesforce_answers_become_typed_errors(
    rsps, call, method, url, status, fixture, error, code, operation
):
    add_token(rsps)
    job_answer(rsps, method, url, fixture, status=status)

    with pytest.raises(error) as caught:
        call(make_client())

    assert type(caught.value) is error
    assert (caught.value.status, caught.value.vendor_code, caught.value.operation) == (status, code, operation)
    assert caught.value.message == load_fixture(f"salesforce/{fixture}")[0]["message"]
    assert len(rsps.calls) == 2


def test_calls_are_refused_unsent_while_salesforce_is_on_hold(rsps):
    quota_hold("salesforce", seconds=30, reason="the org's API quota is 13500/15000 used")

    with pytest.raises(SystemPaced):
        make_client().create_upsert_job("Contact", "Legacy_Customer_Number__c")

    assert len(rsps.calls) == 0


# --- waiting for a job ---------------------------------------------------------------------------


class FakeTime:
    """The wait's clock and sleep: a sleep moves the clock, and may run what the test says happens meanwhile."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.meanwhile: list = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.meanwhile:
            self.meanwhile.pop(0)()


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(client_module, "_clock", fake.clock)
    monkeypatch.setattr(client_module, "_sleep", fake.sleep)
    return fake


def end_the_hold() -> None:
    """The hold's time is up (its clock is the wall's, which the fake time does not move)."""
    cache.delete("quota-hold:salesforce")
    shared_state.forget()


def test_wait_for_job_polls_until_the_job_is_complete(rsps, fake_time):
    add_token(rsps)
    for fixture in (
        "bulk_job_info_upload_complete.json",
        "bulk_job_info_in_progress.json",
        "bulk_job_info_complete.json",
    ):
        job_answer(rsps, "GET", JOB_URL, fixture)

    job = make_client().wait_for_job(JOB_ID, max_poll_interval=5, deadline=600)

    assert (job.state, job.records_processed, job.records_failed) == (BulkJobState.JOB_COMPLETE, 6, 2)
    assert fake_time.sleeps == [0.5, 1]
    assert [call.request.method for call in rsps.calls] == ["POST", "GET", "GET", "GET"]


def test_the_waits_between_polls_double_up_to_the_longest_interval(rsps, fake_time):
    add_token(rsps)
    for _ in range(7):
        job_answer(rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json")
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_complete.json")

    make_client().wait_for_job(JOB_ID, max_poll_interval=5, deadline=600)

    assert fake_time.sleeps == [0.5, 1, 2, 4, 5, 5, 5]


def test_a_longest_interval_under_the_first_wait_is_every_wait(rsps, fake_time):
    add_token(rsps)
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json")
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json")
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_complete.json")

    make_client().wait_for_job(JOB_ID, max_poll_interval=0.1, deadline=600)

    assert fake_time.sleeps == [0.1, 0.1]


@pytest.mark.parametrize(
    ("fixture", "state"),
    [("bulk_job_info_failed.json", BulkJobState.FAILED), ("bulk_job_info_aborted.json", BulkJobState.ABORTED)],
)
def test_a_failed_or_aborted_job_ends_the_wait_too(rsps, fake_time, fixture, state):
    add_token(rsps)
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json")
    job_answer(rsps, "GET", JOB_URL, fixture)

    assert make_client().wait_for_job(JOB_ID, max_poll_interval=2, deadline=60).state is state
    assert fake_time.sleeps == [0.5]


def test_a_job_not_finished_by_the_deadline_is_a_retryable_error_with_how_it_was_last_seen(rsps, fake_time):
    add_token(rsps)
    polls = job_answer(rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json")

    with pytest.raises(BulkJobDeadlinePassed) as caught:
        make_client().wait_for_job(JOB_ID, max_poll_interval=10, deadline=25)

    assert fake_time.sleeps == [0.5, 1, 2, 4, 8, 9.5]
    assert polls.call_count == 7  # at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and, last, at the deadline
    error = caught.value
    assert isinstance(error, SystemTimeout) and error.retryable
    assert error.job is not None and error.job.state is BulkJobState.IN_PROGRESS
    assert error.operation == "wait_for_bulk_job"
    assert (
        str(error) == f"salesforce.wait_for_bulk_job: bulk job {JOB_ID} not finished within 25 s (last seen InProgress)"
    )


def test_a_poll_past_the_api_usage_ceiling_holds_the_next_until_the_hold_ends(rsps, fake_time, settings):
    settings.SALESFORCE_API_USAGE_CEILING = 0.9
    settings.QUOTA_HOLD_SECONDS = 60
    add_token(rsps)
    job_answer(
        rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json", headers={"Sforce-Limit-Info": "api-usage=13500/15000"}
    )
    job_answer(
        rsps, "GET", JOB_URL, "bulk_job_info_complete.json", headers={"Sforce-Limit-Info": "api-usage=13000/15000"}
    )
    fake_time.meanwhile = [end_the_hold]

    job = make_client().wait_for_job(JOB_ID, max_poll_interval=5, deadline=600)

    assert job.state is BulkJobState.JOB_COMPLETE
    [held] = fake_time.sleeps
    assert 58 < held <= 60, "the wait is the hold's, not the poll interval"
    assert [call.request.method for call in rsps.calls] == ["POST", "GET", "GET"]


def test_no_poll_is_sent_while_salesforce_is_held_and_the_deadline_still_counts(rsps, fake_time):
    quota_hold("salesforce", seconds=120, reason="the org's API quota is 14000/15000 used")

    with pytest.raises(BulkJobDeadlinePassed) as caught:
        make_client().wait_for_job(JOB_ID, max_poll_interval=5, deadline=30)

    assert len(rsps.calls) == 0
    assert fake_time.sleeps == [30]
    assert caught.value.job is None
    assert "never seen; salesforce on hold (the org's API quota is 14000/15000 used)" in caught.value.message


def test_a_request_limit_answered_to_a_poll_is_waited_out(rsps, fake_time, settings):
    settings.QUOTA_HOLD_SECONDS = 45
    add_token(rsps)
    job_answer(rsps, "GET", JOB_URL, "error_request_limit_exceeded.json", status=403)
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_complete.json")
    fake_time.meanwhile = [end_the_hold]

    assert make_client().wait_for_job(JOB_ID, max_poll_interval=5, deadline=600).state is BulkJobState.JOB_COMPLETE
    assert 43 < fake_time.sleeps[0] <= 45
    assert quota_hold_of("salesforce") is None


def test_another_error_of_a_poll_ends_the_wait(rsps, fake_time):
    add_token(rsps)
    job_answer(rsps, "GET", JOB_URL, "bulk_job_info_in_progress.json")
    job_answer(rsps, "GET", JOB_URL, "error_not_found.json", status=404)

    with pytest.raises(SystemNotFound):
        make_client().wait_for_job(JOB_ID, max_poll_interval=5, deadline=600)

    assert fake_time.sleeps == [0.5]


@pytest.mark.parametrize(("poll_interval", "deadline"), [(0, 10), (-1, 10), (5, -1)])
def test_a_wait_needs_a_positive_interval_and_a_deadline(rsps, fake_time, poll_interval, deadline):
    with pytest.raises(ValueError, match="max_poll_interval"):
        make_client().wait_for_job(JOB_ID, max_poll_interval=poll_interval, deadline=deadline)

    assert len(rsps.calls) == 0
