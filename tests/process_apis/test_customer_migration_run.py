"""The migration run: chunks, checkpoints, resuming after a worker died, Failed jobs, rejections, the command."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
import responses
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connections, transaction

from kernel.models import Work
from kernel.work import work_run
from process_apis.customer_migration import services
from process_apis.customer_migration.models import MigratedCustomer, MigrationRejection, MigrationRun
from process_apis.customer_migration.services import (
    MigrationRunActive,
    NothingToRetry,
    migration_rejections_retry,
    migration_run_drive,
    migration_run_start,
    migration_run_stop,
)
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.schema import ensure_schema, insert_missing_customers
from system_apis.salesforce.client import SalesforceClient
from tests.system_apis.test_salesforce_client import BASE_URL, CLIENT_ID, CLIENT_SECRET, INSTANCE_URL, add_token

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

JOBS_URL = f"{INSTANCE_URL}/services/data/v62.0/jobs/ingest"
INVALID_EMAIL = "INVALID_EMAIL_ADDRESS:Email: invalid email address: {email}:Email --"
# CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT, LAST_CHG_TS
CUSTOMERS = [
    ("0000000001", "ADA", "LOVELACE", "ada@example.com", "020 7946 0001", "A", "20190312", "20190312000000"),
    ("0000000002", "BOB", "MCDONALD", "bob@example.com", "", "A", "20200105", "20250203091544"),
    ("0000000003", "CAL", "THIRD", "not-an-email", "", "I", "20171120", "20171120000000"),
    ("0000000004", "DAN", "FOURTH", "dan@reject.example", "", "A", "20210630", "20240611142301"),
    ("0000000005", "EVE", "FIFTH", "eve@example.com", "", "C", "20150101", "20150101000000"),
    ("0000000006", "FAY", "SIXTH", "fay@example.com", "", "A", "20160101", "20250101000000"),
    ("0000000007", "GIL", "SEVENTH", "gil@example.com", "", "A", "20220101", "20220101020000"),
]
NUMBERS = [row[0] for row in CUSTOMERS]


class WorkerKilled(BaseException):
    """The worker's process ended mid-attempt: nothing after this point of the attempt happens or is recorded."""


class FakeBulk:
    """Salesforce's Bulk API 2.0 ingest as `responses` answers: jobs complete when closed, unless told to fail;
    an email with "reject" in it is refused as Salesforce refuses an invalid one."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.jobs: dict[str, dict] = {}
        self.uploads: list[list[dict[str, str]]] = []
        self.contacts: dict[str, str] = {}  # legacy customer number -> the Contact's id
        self.fail_next_jobs = 0
        self.unavailable_uploads = 0
        add_token(rsps)
        rsps.assert_all_requests_are_fired = False
        rsps.add_callback("POST", JOBS_URL, callback=self.create)
        job = rf"{re.escape(JOBS_URL)}/(?P<id>\w+)"
        rsps.add_callback("PUT", re.compile(job + "/batches$"), callback=self.upload)
        rsps.add_callback("PATCH", re.compile(job + "$"), callback=self.change)
        rsps.add_callback("GET", re.compile(job + "$"), callback=self.info)
        rsps.add_callback("GET", re.compile(job + "/successfulResults/$"), callback=self.successful)
        rsps.add_callback("GET", re.compile(job + "/failedResults/$"), callback=self.failed)

    @property
    def sent_numbers(self) -> list[str]:
        return [row["Legacy_Customer_Number__c"] for upload in self.uploads for row in upload]

    def _job(self, request) -> dict:
        return self.jobs[request.url.removeprefix(JOBS_URL + "/").split("/")[0]]

    def _answer(self, job: dict):
        fields = {key: job[key] for key in ("id", "state")}
        body = {**fields, "numberRecordsProcessed": len(job["rows"]), "numberRecordsFailed": len(job["failed"])}
        if job["state"] == "Failed":
            body["errorMessage"] = "InvalidBatch : the job failed"
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def create(self, request):
        job_id = f"750Hs00000Gt{len(self.jobs) + 1:06d}"
        self.jobs[job_id] = {"id": job_id, "state": "Open", "rows": [], "created": [], "updated": [], "failed": []}
        return self._answer(self.jobs[job_id])

    def upload(self, request):
        if self.unavailable_uploads:
            self.unavailable_uploads -= 1
            return 503, {"Content-Type": "application/json"}, json.dumps([{"errorCode": "SERVER_UNAVAILABLE"}])
        job = self._job(request)
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        job["rows"] = list(csv.DictReader(io.StringIO(body.decode())))
        self.uploads.append(job["rows"])
        return 201, {}, ""

    def change(self, request):
        job = self._job(request)
        if json.loads(request.body)["state"] == "Aborted":
            job["state"] = "Aborted"
        elif self.fail_next_jobs:
            self.fail_next_jobs -= 1
            job["state"] = "Failed"
        else:
            job["state"] = "JobComplete"
            for row in job["rows"]:
                number = row["Legacy_Customer_Number__c"]
                if "reject" in row["Email"]:
                    job["failed"].append(row)
                else:
                    job["updated" if number in self.contacts else "created"].append(row)
                    self.contacts.setdefault(number, f"003Hs00004{int(number):08d}")
        return self._answer(job)

    def info(self, request):
        return self._answer(self._job(request))

    def _csv(self, leading: list[str], records: list[list[str]], rows: list[dict[str, str]]):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*leading, *services.CONTACT_COLUMNS])
        for extra, row in zip(records, rows, strict=True):
            writer.writerow([*extra, *(row[column] for column in services.CONTACT_COLUMNS)])
        return 200, {"Content-Type": "text/csv"}, out.getvalue()

    def successful(self, request):
        job = self._job(request)
        rows = job["created"] + job["updated"]
        flags = [
            [self.contacts[row["Legacy_Customer_Number__c"]], "true" if row in job["created"] else "false"]
            for row in rows
        ]
        return self._csv(["sf__Id", "sf__Created"], flags, rows)

    def failed(self, request):
        rows = self._job(request)["failed"]
        return self._csv(["sf__Id", "sf__Error"], [["", INVALID_EMAIL.format(email=r["Email"])] for r in rows], rows)


@pytest.fixture
def legacy():
    ensure_schema(LEGACY_ALIAS)
    insert_missing_customers(LEGACY_ALIAS, CUSTOMERS)


@pytest.fixture
def bulk(settings, legacy):
    settings.SALESFORCE_BASE_URL = BASE_URL
    settings.SALESFORCE_CLIENT_ID = CLIENT_ID
    settings.SALESFORCE_CLIENT_SECRET = CLIENT_SECRET
    with responses.RequestsMock() as rsps:
        yield FakeBulk(rsps)


def drive(run: MigrationRun) -> MigrationRun:
    return migration_run_drive(run, report=lambda run: None, sleep=lambda seconds: None)


def one_chunk(run: MigrationRun) -> MigrationRun:
    work_run(work_id=run.work_id)
    run.refresh_from_db()
    return run


def killed_at(monkeypatch, target, name: str) -> None:
    def die(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(target, name, die)


def resume_after_death(monkeypatch, settings) -> None:
    """Undo the kill, and let the next attempt take the dead worker's claim over at once."""
    monkeypatch.undo()
    settings.MIGRATION_CLAIM_LEASE = 0.0


def test_a_run_sends_chunk_after_chunk_moving_its_checkpoint_and_counts_each_outcome(bulk):
    run = migration_run_start(chunk_size=3)

    checkpoints = [one_chunk(run).checkpoint for _ in range(3)]
    run = drive(run)

    assert checkpoints == ["0000000003", "0000000006", "0000000007"]
    assert [len(upload) for upload in bulk.uploads] == [2, 3, 1]
    assert bulk.sent_numbers == [n for n in NUMBERS if n != "0000000003"]
    assert (run.state, run.chunks, run.job_id) == (MigrationRun.State.DONE, 3, "")
    assert (run.read, run.sent, run.created, run.updated, run.failed, run.unmigratable) == (7, 6, 5, 0, 1, 1)
    assert run.started_at is not None and run.finished_at is not None
    assert Work.objects.get(pk=run.work_id).state == Work.State.DONE
    assert bulk.uploads[0][1]["LastName"] == "McDonald"


def test_a_run_records_the_contact_each_migrated_customer_became_and_a_later_run_takes_them_over(bulk):
    first = drive(migration_run_start(chunk_size=3))
    migrated = {number: bulk.contacts[number] for number in NUMBERS if number not in ("0000000003", "0000000004")}

    assert dict(MigratedCustomer.objects.values_list("customer_number", "contact_id")) == migrated
    assert set(MigratedCustomer.objects.values_list("run", flat=True)) == {first.pk}

    second = drive(migration_run_start(chunk_size=4))

    assert (second.created, second.updated) == (0, 5)
    assert dict(MigratedCustomer.objects.values_list("customer_number", "contact_id")) == migrated
    assert set(MigratedCustomer.objects.values_list("run", flat=True)) == {second.pk}


def test_a_dry_run_records_no_migrated_customer(bulk):
    drive(migration_run_start(dry_run=True))

    assert not MigratedCustomer.objects.exists()


def test_rejected_rows_are_kept_with_salesforce_error_and_mapping_refusals_with_their_reasons(bulk):
    run = drive(migration_run_start(chunk_size=3))

    refused = MigrationRejection.objects.get(run=run, source=MigrationRejection.Source.MAPPING)
    rejected = MigrationRejection.objects.get(run=run, source=MigrationRejection.Source.SALESFORCE)
    assert refused.customer_number == "0000000003"
    assert refused.fields == [{"field": "Email", "reason": "is not a valid email address", "value": "not-an-email"}]
    assert "Email is not a valid email address" in refused.error
    assert rejected.customer_number == "0000000004"
    assert rejected.error == "INVALID_EMAIL_ADDRESS:Email: invalid email address: dan@reject.example:Email --"
    assert rejected.row["Email"] == "dan@reject.example" and rejected.row["LastName"] == "Fourth"
    assert not refused.retried and not rejected.retried


def test_a_run_whose_worker_died_between_chunks_resumes_at_the_next_chunk_and_sends_nothing_twice(
    bulk, monkeypatch, settings
):
    run = migration_run_start(chunk_size=2)
    one_chunk(run)
    one_chunk(run)
    killed_at(monkeypatch, LegacyCustomerDatabase, "read_page")
    with pytest.raises(WorkerKilled):
        work_run(work_id=run.work_id)
    run.refresh_from_db()
    assert (run.checkpoint, run.state) == ("0000000004", MigrationRun.State.RUNNING)

    resume_after_death(monkeypatch, settings)
    run = drive(run)

    assert run.state == MigrationRun.State.DONE
    assert bulk.sent_numbers == [n for n in NUMBERS if n != "0000000003"]
    assert len(bulk.jobs) == 4
    assert (run.read, run.sent, run.created, run.failed, run.unmigratable) == (7, 6, 5, 1, 1)


def test_a_job_in_flight_when_the_worker_died_is_waited_for_and_read_not_sent_again(bulk, monkeypatch, settings):
    run = migration_run_start(chunk_size=3)
    one_chunk(run)
    killed_at(monkeypatch, SalesforceClient, "wait_for_job")
    with pytest.raises(WorkerKilled):
        work_run(work_id=run.work_id)
    run.refresh_from_db()
    in_flight = run.job_id
    assert in_flight and run.checkpoint == "0000000003" and len(bulk.uploads) == 2

    resume_after_death(monkeypatch, settings)
    one_chunk(run)
    run = drive(run)

    assert len(bulk.jobs) == 3 and len(bulk.uploads) == 3
    assert bulk.sent_numbers == [n for n in NUMBERS if n != "0000000003"]
    assert (run.sent, run.created, run.updated, run.failed) == (6, 5, 0, 1)
    assert MigrationRejection.objects.filter(run=run, source="salesforce").count() == 1


def test_an_open_job_left_by_a_dead_worker_is_aborted_and_its_chunk_sent_anew(bulk, monkeypatch, settings):
    run = migration_run_start(chunk_size=7)
    killed_at(monkeypatch, SalesforceClient, "upload_job_data")
    with pytest.raises(WorkerKilled):
        work_run(work_id=run.work_id)
    run.refresh_from_db()
    abandoned = run.job_id

    resume_after_death(monkeypatch, settings)
    run = drive(run)

    assert bulk.jobs[abandoned]["state"] == "Aborted"
    assert len(bulk.uploads) == 1
    assert (run.state, run.sent, run.created) == (MigrationRun.State.DONE, 6, 5)


def test_a_salesforce_outage_fails_the_attempt_and_the_retry_sends_the_chunk_in_a_new_job(bulk):
    bulk.unavailable_uploads = 10

    run = one_chunk(migration_run_start(chunk_size=7))
    assert Work.objects.get(pk=run.work_id).state == Work.State.RETRYING
    assert run.job_id and run.checkpoint == ""

    bulk.unavailable_uploads = 0
    run = drive(run)

    assert [job["state"] for job in bulk.jobs.values()] == ["Aborted", "JobComplete"]
    assert len(bulk.uploads) == 1
    assert (run.state, run.sent, run.created) == (MigrationRun.State.DONE, 6, 5)


def test_a_failed_job_fails_the_attempt_which_is_retried_without_doubling_the_rows(bulk):
    run = migration_run_start(chunk_size=3)
    one_chunk(run)
    bulk.fail_next_jobs = 1

    run = one_chunk(run)
    work = Work.objects.get(pk=run.work_id)
    assert work.state == Work.State.RETRYING
    assert "ended Failed: InvalidBatch : the job failed" in work.last_error
    assert (run.checkpoint, run.job_id, run.sent) == ("0000000003", "", 2)

    run = drive(run)

    assert [len(upload) for upload in bulk.uploads] == [2, 3, 3, 1]
    assert (run.state, run.sent, run.created, run.updated, run.failed) == (MigrationRun.State.DONE, 6, 5, 0, 1)
    assert MigrationRejection.objects.filter(run=run).count() == 2


def test_a_run_whose_jobs_keep_failing_fails_for_good_with_the_reason(bulk, settings):
    settings.MIGRATION_MAX_ATTEMPTS = 2
    bulk.fail_next_jobs = 2

    run = drive(migration_run_start(chunk_size=3))

    assert run.state == MigrationRun.State.FAILED
    assert "ended Failed" in run.error
    assert run.checkpoint == "" and run.finished_at is not None


def test_since_sends_only_the_customers_changed_since_then(bulk):
    run = drive(migration_run_start(since=datetime(2024, 6, 1, tzinfo=UTC), chunk_size=10))

    assert bulk.sent_numbers == ["0000000002", "0000000004", "0000000006"]
    assert (run.read, run.sent, run.checkpoint) == (3, 3, "0000000006")


def test_a_dry_run_maps_every_customer_and_sends_nothing(bulk):
    run = drive(migration_run_start(dry_run=True, chunk_size=4))

    assert bulk.jobs == {} and bulk.uploads == []
    assert (run.state, run.read, run.sent, run.unmigratable, run.chunks) == (MigrationRun.State.DONE, 7, 0, 1, 2)
    assert MigrationRejection.objects.get(run=run).customer_number == "0000000003"


def test_two_runs_cannot_overlap(bulk):
    first = migration_run_start()

    with pytest.raises(MigrationRunActive) as refused:
        migration_run_start(dry_run=True)

    assert refused.value.http_status == 409
    assert refused.value.extra == {"run": first.pk, "state": "pending"}
    drive(first)
    drive(migration_run_start(dry_run=True))


def test_the_database_refuses_a_second_active_run_even_when_the_check_was_passed(bulk):
    running = migration_run_start()
    MigrationRun.objects.filter(pk=running.pk).update(state=MigrationRun.State.RUNNING)
    work = Work.objects.create(kind=services.MIGRATION, subject="legacy customers to Salesforce")

    with pytest.raises(IntegrityError), transaction.atomic():
        MigrationRun.objects.create(work=work)


def test_a_stopped_run_sends_no_more_chunks(bulk):
    run = migration_run_start(chunk_size=3)
    one_chunk(run)

    migration_run_stop(run)
    run = drive(run)

    assert run.state == MigrationRun.State.STOPPED
    assert len(bulk.uploads) == 1 and run.checkpoint == "0000000003"
    migration_run_start()


def test_retrying_rejections_reads_those_customers_again_and_sends_only_them(bulk):
    first = drive(migration_run_start(chunk_size=3))
    with connections[LEGACY_ALIAS].cursor() as cursor:
        cursor.execute("UPDATE CUST_MASTER SET EMAIL_ADDR = 'CAL@EXAMPLE.COM' WHERE CUST_NO = '0000000003'")

    retry = drive(migration_rejections_retry(first))

    assert retry.retry_of == first and retry.only_customers == ["0000000003", "0000000004"]
    assert bulk.sent_numbers[-2:] == ["0000000003", "0000000004"] and len(bulk.uploads) == 4
    assert (retry.read, retry.sent, retry.created, retry.failed, retry.unmigratable) == (2, 2, 1, 1, 0)
    assert set(MigrationRejection.objects.filter(run=first).values_list("retried", flat=True)) == {True}
    assert MigrationRejection.objects.get(run=retry).customer_number == "0000000004"
    with pytest.raises(NothingToRetry):
        migration_rejections_retry(first)


def test_the_command_runs_the_migration_printing_plain_progress_lines(bulk):
    out = io.StringIO()

    call_command("migrate_legacy_customers", "--chunk", "3", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].endswith(": 7 legacy customers to read, 3 a chunk.")
    progress = [line for line in lines if line.startswith("read ")]
    assert [line.split("  ")[0] for line in progress] == [
        "read 3/7 (43%)",
        "read 6/7 (86%)",
        "read 7/7 (100%)",
        "read 7/7 (100%)",
    ]
    assert "sent 6  created 5  updated 0  failed 1  unmigratable 1" in progress[-1]
    assert re.search(r"\d+/s  ETA [\d:]+$", progress[-1])
    assert "\r" not in out.getvalue()
    summary = "done: 7 read, 6 sent, 5 created, 0 updated, 1 rejected by Salesforce, 1 refused by the mapping."
    assert lines[-1].endswith(summary)


def test_the_command_with_since_and_dry_run_sends_nothing(bulk):
    out = io.StringIO()

    call_command("migrate_legacy_customers", "--dry-run", "--since", "2024-06-01T00:00:00+00:00", stdout=out)

    assert bulk.uploads == []
    assert ": 3 legacy customers to read, 10000 a chunk." in out.getvalue()
    assert MigrationRun.objects.get().dry_run


def test_the_command_fails_when_the_run_fails(bulk, settings):
    settings.MIGRATION_MAX_ATTEMPTS = 1
    bulk.fail_next_jobs = 1

    with pytest.raises(CommandError, match=r"failed: .*ended Failed"):
        call_command("migrate_legacy_customers", stdout=io.StringIO())


def test_the_command_refuses_while_another_run_is_active(bulk):
    migration_run_start()

    with pytest.raises(CommandError, match="still pending"):
        call_command("migrate_legacy_customers", stdout=io.StringIO())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_command_on_a_terminal_updates_one_progress_line(bulk):
    out = Terminal()

    call_command("migrate_legacy_customers", "--chunk", "3", stdout=out)

    first, progress, summary, _ = out.getvalue().split("\n")
    assert first.endswith("7 legacy customers to read, 3 a chunk.")
    updates = progress.split("\r\033[K")[1:]
    reads = [update.split("  ")[0] for update in updates]
    assert reads == ["read 3/7 (43%)", "read 6/7 (86%)", "read 7/7 (100%)", "read 7/7 (100%)"]
    assert "done: 7 read" in summary
