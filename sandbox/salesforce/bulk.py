"""Bulk API 2.0 ingest as Salesforce runs it: upserts of Contact by an external id, in jobs of CSV data.

A job is created Open, takes its CSV data (one PUT) and is closed (UploadComplete). From then on it moves on its
own, as whoever reads it sees: queued for SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS, InProgress while its rows are
worked through at SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND (the counts grow meanwhile), then JobComplete, or Failed
when its data can't be read or the `bulk_fail_next` fault took it. The rows are checked and written the moment
the job starts: a row Salesforce would refuse goes to the failed results with its error, the others are written.
So an abort that comes once the job is InProgress stops nothing, as with Salesforce when the batches are done.
"""

from __future__ import annotations

import csv
import io
import secrets
import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Fault
from .models import BulkIngestJob, Contact

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
# Bulk API 2.0 came with API version 41.0.
FIRST_VERSION = 41.0
# In Bulk API data an empty value leaves a field as it is; this one empties it.
NULL_VALUE = "#N/A"
ACCOUNT_STATUSES = ("Active", "Inactive", "Closed")
ID_CHARS = string.ascii_letters + string.digits
READ_CHUNK = 1024 * 1024
LOOKUP_CHUNK = 500
FAILED_BY_FAULT = "UNKNOWN_EXCEPTION : An unexpected error occurred while processing the job (sandbox fault)"
NO_DATA = "InvalidBatch : Records not processed"


class BulkApiError(Exception):
    """A request Salesforce refuses: the HTTP status and the error of its JSON array."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class JobDataError(Exception):
    """The job's data can't be read: the job fails with this as its errorMessage."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ContactField:
    api_name: str
    label: str
    attribute: str
    max_length: int


EXTERNAL_ID = ContactField("Legacy_Customer_Number__c", "Legacy Customer Number", "legacy_customer_number", 20)
LAST_NAME = ContactField("LastName", "Last Name", "last_name", 80)
EMAIL = ContactField("Email", "Email", "email", 80)
ACCOUNT_STATUS = ContactField("Legacy_Account_Status__c", "Legacy Account Status", "legacy_account_status", 255)
# The Contact fields a job's CSV may carry, by lower-case name (Salesforce reads the header without regard to case).
FIELDS = {
    f.api_name.lower(): f
    for f in (
        EXTERNAL_ID,
        ContactField("FirstName", "First Name", "first_name", 40),
        LAST_NAME,
        EMAIL,
        ContactField("Phone", "Business Phone", "phone", 40),
        ACCOUNT_STATUS,
    )
}
EXTERNAL_ID_FIELDS = {EXTERNAL_ID.api_name.lower(): EXTERNAL_ID}


def _now() -> datetime:
    return timezone.now()


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ID_CHARS) for _ in range(18 - len(prefix)))


# --- the job's life ------------------------------------------------------------------------------


def create_job(api_version: str, request: object) -> BulkIngestJob:
    """A new Open job from the Create Job request body."""
    if not isinstance(request, dict):
        raise BulkApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    object_name = request.get("object")
    if not isinstance(object_name, str) or object_name.lower() != "contact":
        raise BulkApiError(400, "INVALIDJOB", f"Unable to find object: {object_name or ''}")
    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise BulkApiError(400, "INVALIDJOB", f"Invalid operation: {operation}; one of {', '.join(OPERATIONS)}")
    if operation != "upsert":
        raise BulkApiError(400, "FEATURENOTENABLED", f"The sandbox's Salesforce runs upsert jobs only, not {operation}")
    external_id_name = request.get("externalIdFieldName")
    if not isinstance(external_id_name, str) or not external_id_name:
        raise BulkApiError(
            400, "INVALIDJOB", "External ID was blank for Contact. An External ID must be specified for upsert."
        )
    external_id = EXTERNAL_ID_FIELDS.get(external_id_name.lower())
    if external_id is None:
        raise BulkApiError(
            400,
            "INVALIDJOB",
            f"Field name provided, {external_id_name} is not an External ID or indexed field for Contact",
        )
    content_type = request.get("contentType", "CSV")
    if content_type != "CSV":
        raise BulkApiError(400, "INVALIDJOB", f"Invalid contentType: {content_type}; the only valid value is CSV")
    line_ending = request.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        raise BulkApiError(400, "INVALIDJOB", f"Invalid lineEnding: {line_ending}; one of LF, CRLF")
    delimiter = request.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        raise BulkApiError(400, "INVALIDJOB", f"Invalid columnDelimiter: {delimiter}; one of {', '.join(DELIMITERS)}")
    return BulkIngestJob.objects.create(
        job_id=new_id("750"),
        api_version=api_version,
        object_name="Contact",
        operation=operation,
        external_id_field=external_id.api_name,
        line_ending=line_ending,
        column_delimiter=delimiter,
    )


def get_job(job_id: str) -> BulkIngestJob:
    """The job as of now; its data and results are read from the database only when used."""
    job = BulkIngestJob.objects.defer(*BulkIngestJob.LARGE_FIELDS).filter(job_id=job_id).first()
    if job is None:
        raise BulkApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return refreshed(job)


def upload(job_id: str, stream: Readable) -> None:
    """Add the CSV read from `stream` to an Open job: at most SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES per job."""
    job = get_job(job_id)
    if job.state != BulkIngestJob.OPEN:
        drain(stream)
        raise _upload_refused(job.state)
    limit = settings.SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES
    data = _read_at_most(stream, limit - job.upload_bytes)
    if data is None:
        raise BulkApiError(400, "INVALIDBATCH", f"Exceeded max size limit of {limit} bytes for the job's data")
    appended = BulkIngestJob.objects.filter(pk=job.pk, state=BulkIngestJob.OPEN).update(
        data=bytes(job.data) + data,
        uploads=F("uploads") + 1,
        upload_bytes=F("upload_bytes") + len(data),
        system_modstamp=_now(),
    )
    if not appended:
        raise _upload_refused(BulkIngestJob.objects.get(pk=job.pk).state)


def _upload_refused(state: str) -> BulkApiError:
    return BulkApiError(409, "INVALIDJOBSTATE", f"Job data can be uploaded only to an Open job; the job is {state}")


def _read_at_most(stream: Readable, room: int) -> bytes | None:
    """All of the stream, or None (the rest read and dropped) when it holds more than `room` bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > room:
            drain(stream)
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def drain(stream: Readable) -> None:
    """Read what the client sends to the end, so that it reads the answer rather than a reset connection."""
    while stream.read(READ_CHUNK):
        pass


def change_state(job_id: str, state: object) -> BulkIngestJob:
    """The PATCH of a job: UploadComplete closes it, Aborted stops it."""
    job = get_job(job_id)
    if state == BulkIngestJob.UPLOAD_COMPLETE:
        return _close(job)
    if state == BulkIngestJob.ABORTED:
        return _abort(job)
    raise BulkApiError(
        400, "INVALIDJOBSTATE", f"Invalid state: {state}; a job can be set to UploadComplete or Aborted only"
    )


def _close(job: BulkIngestJob) -> BulkIngestJob:
    if job.state != BulkIngestJob.OPEN:
        raise BulkApiError(
            409, "INVALIDJOBSTATE", f"Changing the job's state from {job.state} to UploadComplete is not allowed"
        )
    if job.uploads > 1:
        raise BulkApiError(
            400,
            "INVALIDJOB",
            f"Found multipe contents for job: <{job.job_id[:15]}>, please 'Close' / 'Abort' / 'Delete' the current "
            "Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
        )
    now = _now()
    closed = BulkIngestJob.objects.filter(pk=job.pk, state=BulkIngestJob.OPEN).update(
        state=BulkIngestJob.UPLOAD_COMPLETE, upload_completed_at=now, system_modstamp=now
    )
    if not closed:
        return _close(get_job(job.job_id))
    return get_job(job.job_id)


def _abort(job: BulkIngestJob) -> BulkIngestJob:
    if job.state in BulkIngestJob.FINAL_STATES:
        done = {BulkIngestJob.JOB_COMPLETE: "Completed"}.get(job.state, job.state)
        raise BulkApiError(409, "INVALIDJOBSTATE", f"Aborting already {done} Job not allowed")
    values: dict[str, object] = {"state": BulkIngestJob.ABORTED, "system_modstamp": _now()}
    if job.state != BulkIngestJob.IN_PROGRESS:
        values["unprocessed_records"] = _raw_text(job)
    if not BulkIngestJob.objects.filter(pk=job.pk, state=job.state).update(**values):
        return _abort(get_job(job.job_id))
    return get_job(job.job_id)


def delete_job(job_id: str) -> None:
    job = get_job(job_id)
    if job.state in (BulkIngestJob.OPEN, BulkIngestJob.IN_PROGRESS):
        raise BulkApiError(
            409,
            "INVALIDJOBSTATE",
            f"A job can be deleted once it is UploadComplete, JobComplete, Aborted or Failed; the job is {job.state}",
        )
    job.delete()


def recent_jobs(limit: int | None = None) -> list[BulkIngestJob]:
    """The newest jobs first, each as of now, without their data and results."""
    jobs = BulkIngestJob.objects.only(*BulkIngestJob.SUMMARY_FIELDS)
    return [refreshed(job) for job in (jobs[:limit] if limit else jobs)]


# --- moving on on its own ------------------------------------------------------------------------


def refreshed(job: BulkIngestJob) -> BulkIngestJob:
    """The job as it is now: a closed job starts once queued long enough, and ends once its rows are worked through.

    Whoever reads a job first after a step is due takes the step, once: the conditional updates make sure of it.
    """
    now = _now()
    if job.state == BulkIngestJob.UPLOAD_COMPLETE and now >= job.upload_completed_at + _queue_time():
        started = BulkIngestJob.objects.filter(pk=job.pk, state=BulkIngestJob.UPLOAD_COMPLETE).update(
            state=BulkIngestJob.IN_PROGRESS, started_at=now, system_modstamp=now
        )
        if started:
            _start(BulkIngestJob.objects.get(pk=job.pk), now)
        job.refresh_from_db()
    if job.state == BulkIngestJob.IN_PROGRESS and job.finishes_at is not None and now >= job.finishes_at:
        BulkIngestJob.objects.filter(pk=job.pk, state=BulkIngestJob.IN_PROGRESS).update(
            state=F("final_state"), system_modstamp=job.finishes_at
        )
        job.refresh_from_db()
    return job


def progress(job: BulkIngestJob) -> tuple[int, int]:
    """numberRecordsProcessed and numberRecordsFailed as of now: while InProgress, the share of the time gone."""
    if job.state == BulkIngestJob.IN_PROGRESS:
        if job.finishes_at is None or job.started_at is None:
            return (0, 0)
        total = (job.finishes_at - job.started_at).total_seconds()
        share = min(1.0, (_now() - job.started_at).total_seconds() / total) if total > 0 else 1.0
        return (int(job.records_processed * share), int(job.records_failed * share))
    return (job.records_processed, job.records_failed)


def processing_milliseconds(job: BulkIngestJob) -> int:
    if job.state not in BulkIngestJob.FINAL_STATES or job.started_at is None or job.finishes_at is None:
        return 0
    return int((job.finishes_at - job.started_at).total_seconds() * 1000)


def _queue_time() -> timedelta:
    return timedelta(seconds=settings.SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS)


def _working_time(rows: int) -> timedelta:
    rate = settings.SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND
    return timedelta(seconds=rows / rate) if rate > 0 else timedelta(0)


@dataclass
class Outcome:
    final_state: str
    rows: int
    processed: int = 0
    failed: int = 0
    error_message: str = ""
    successful_results: str = ""
    failed_results: str = ""
    unprocessed_records: str = ""


def _start(job: BulkIngestJob, now: datetime) -> None:
    if Fault.for_system("salesforce").take("bulk_fail_next"):
        data = _raw_text(job)
        rows = max(data.count("\n") - 1, 0)
        _finish(job, now, Outcome(BulkIngestJob.FAILED, rows, error_message=FAILED_BY_FAULT, unprocessed_records=data))
        return
    try:
        table = read_table(job)
    except JobDataError as exc:
        _finish(job, now, Outcome(BulkIngestJob.FAILED, 0, error_message=str(exc), unprocessed_records=_raw_text(job)))
        return
    with transaction.atomic():
        _finish(job, now, upsert_contacts(job, table, now))


def _finish(job: BulkIngestJob, started: datetime, outcome: Outcome) -> None:
    BulkIngestJob.objects.filter(pk=job.pk).update(
        final_state=outcome.final_state,
        finishes_at=started + _working_time(outcome.rows),
        error_message=outcome.error_message,
        records_processed=outcome.processed,
        records_failed=outcome.failed,
        successful_results=outcome.successful_results,
        failed_results=outcome.failed_results,
        unprocessed_records=outcome.unprocessed_records,
    )


def _raw_text(job: BulkIngestJob) -> str:
    return bytes(job.data).decode("utf-8-sig", errors="replace")


# --- reading the data ----------------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    fields: list[ContactField]
    rows: list[list[str]] = field(default_factory=list)


def read_table(job: BulkIngestJob) -> Table:
    """The job's CSV: a header of known Contact fields, and rows of as many values."""
    if not job.uploads:
        raise JobDataError(NO_DATA)
    try:
        text = bytes(job.data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobDataError(f"ClientInputError : The job's data is not UTF-8 (byte {exc.start})") from None
    _check_line_ending(text, job.line_ending)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter], strict=True)
    try:
        records = [record for record in reader if record]
    except csv.Error as exc:
        raise JobDataError(f"InvalidBatch : Failed to parse CSV at line {reader.line_num}: {exc}") from None
    if not records:
        raise JobDataError(NO_DATA)
    header, rows = records[0], records[1:]
    fields: list[ContactField] = []
    for name in header:
        known = FIELDS.get(name.strip().lower())
        if known is None:
            raise JobDataError(f"InvalidBatch : Field name not found : {name}")
        if known in fields:
            raise JobDataError(f"InvalidBatch : Duplicate field name in the header : {name}")
        fields.append(known)
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise JobDataError(
                f"InvalidBatch : Record {number} has {len(row)} values where the header has {len(header)} fields"
            )
    return Table(header, fields, rows)


def _check_line_ending(text: str, line_ending: str) -> None:
    """The header's line ending must be the job's: LF data in a CRLF job (or the other way) fails the job."""
    first_break = text.find("\n")
    if first_break == -1:
        return
    crlf = first_break > 0 and text[first_break - 1] == "\r"
    if crlf != (line_ending == "CRLF"):
        raise JobDataError(
            f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {line_ending}"
        )


# --- the upsert ----------------------------------------------------------------------------------


def upsert_contacts(job: BulkIngestJob, table: Table, now: datetime) -> Outcome:
    """Each row: refused with Salesforce's error, or written (created or updated by the external id)."""
    key_at = table.fields.index(EXTERNAL_ID) if EXTERNAL_ID in table.fields else None
    keys = [row[key_at] if key_at is not None else "" for row in table.rows]
    times_given = Counter(key for key in keys if key and key != NULL_VALUE)
    existing = _contacts_by_key(times_given)
    successes, success_rows = _results_writer(job, ["sf__Id", "sf__Created", *table.header])
    failures, failure_rows = _results_writer(job, ["sf__Id", "sf__Error", *table.header])
    created: list[Contact] = []
    updated: list[Contact] = []
    for row, key in zip(table.rows, keys, strict=True):
        matches = existing.get(key, [])
        error = row_error(table.fields, row, key, times_given[key], matches)
        if error:
            failure_rows.writerow([matches[0].sf_id if len(matches) == 1 else "", error, *row])
            continue
        contact = matches[0] if matches else Contact(sf_id=new_id("003"))
        for contact_field, value in zip(table.fields, row, strict=True):
            if value == NULL_VALUE:
                setattr(contact, contact_field.attribute, "")
            elif value:
                setattr(contact, contact_field.attribute, value)
        if matches:
            contact.last_modified = now
            updated.append(contact)
        else:
            created.append(contact)
        success_rows.writerow([contact.sf_id, "false" if matches else "true", *row])
    Contact.objects.bulk_create(created, batch_size=LOOKUP_CHUNK)
    if updated:
        written = [f.attribute for f in table.fields] + ["last_modified"]
        Contact.objects.bulk_update(updated, written, batch_size=LOOKUP_CHUNK)
    unprocessed, _ = _results_writer(job, table.header)
    failed = len(table.rows) - len(created) - len(updated)
    return Outcome(
        BulkIngestJob.JOB_COMPLETE,
        len(table.rows),
        processed=len(table.rows),
        failed=failed,
        successful_results=successes.getvalue(),
        failed_results=failures.getvalue(),
        unprocessed_records=unprocessed.getvalue(),
    )


def row_error(fields: list[ContactField], row: list[str], key: str, times_given: int, matches: list[Contact]) -> str:
    """What Salesforce says of a row it refuses (`CODE:message:fields --`), or "" for a row it writes."""
    if not key or key == NULL_VALUE:
        return sf_error("MISSING_ARGUMENT", f"{EXTERNAL_ID.api_name} not specified")
    if times_given > 1:
        return sf_error("DUPLICATE_VALUE", f"Duplicate external id specified: {key}", EXTERNAL_ID)
    if len(matches) > 1:
        ids = ", ".join(contact.sf_id for contact in matches)
        return sf_error(
            "DUPLICATE_EXTERNAL_ID",
            f"{EXTERNAL_ID.label}: more than one record found for external id field: [{ids}]",
            EXTERNAL_ID,
        )
    for contact_field, value in zip(fields, row, strict=True):
        if value != NULL_VALUE and len(value) > contact_field.max_length:
            return sf_error(
                "STRING_TOO_LONG",
                f"{contact_field.label}: data value too large: {value} (max length={contact_field.max_length})",
                contact_field,
            )
    values = {contact_field.api_name: value for contact_field, value in zip(fields, row, strict=True)}
    last_name = values.get(LAST_NAME.api_name, "")
    if last_name == NULL_VALUE or (not matches and not last_name):
        return sf_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{LAST_NAME.api_name}]", LAST_NAME)
    email = values.get(EMAIL.api_name, "")
    if email and email != NULL_VALUE and not _is_email(email):
        return sf_error("INVALID_EMAIL_ADDRESS", f"{EMAIL.label}: invalid email address: {email}", EMAIL)
    status = values.get(ACCOUNT_STATUS.api_name, "")
    if status and status != NULL_VALUE and status not in ACCOUNT_STATUSES:
        return sf_error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{ACCOUNT_STATUS.label}: bad value for restricted picklist field: {status}",
            ACCOUNT_STATUS,
        )
    return ""


def sf_error(code: str, message: str, *fields: ContactField) -> str:
    """An error as the results' sf__Error column writes it: `CODE:message:Field1,Field2 --`."""
    if not fields:
        return f"{code}:{message}:--"
    return f"{code}:{message}:{','.join(f.api_name for f in fields)} --"


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _contacts_by_key(keys: Iterable[str]) -> dict[str, list[Contact]]:
    found: dict[str, list[Contact]] = {}
    wanted = sorted(keys)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        for contact in Contact.objects.filter(legacy_customer_number__in=chunk).order_by("sf_id"):
            found.setdefault(contact.legacy_customer_number, []).append(contact)
    return found


def _results_writer(job: BulkIngestJob, header: list[str]) -> tuple[io.StringIO, Any]:
    """A CSV in the job's delimiter and line ending, every value quoted as Salesforce's results are, header written."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=DELIMITERS[job.column_delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(header)
    return buffer, writer


# --- the results ---------------------------------------------------------------------------------

RESULT_KINDS = {
    "successfulresults": ("successful_results", ["sf__Id", "sf__Created"]),
    "failedresults": ("failed_results", ["sf__Id", "sf__Error"]),
    "unprocessedrecords": ("unprocessed_records", []),
}


def results(job: BulkIngestJob, kind: str) -> str:
    """One of the job's result CSVs; until the job is over, its header alone (the rows are not known to be done)."""
    attribute, bare_header = RESULT_KINDS[kind.lower()]
    stored = getattr(job, attribute)
    if job.state in BulkIngestJob.FINAL_STATES and stored:
        return stored
    if not bare_header:
        return ""
    buffer, _ = _results_writer(job, bare_header)
    return buffer.getvalue()
