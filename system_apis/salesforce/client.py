"""Salesforce System API: contacts by email over the REST API, and Bulk API 2.0 ingest jobs (upsert from CSV),
authorised by OAuth 2.0 client credentials.

The access token and its `instance_url` are kept in Django's cache, shared by every process, and
used until Salesforce refuses them (401 INVALID_SESSION_ID); then one new token and one retry. Each
process also remembers the token it last used, so that a lookup costs no cache round trip: a token that
another process replaced is refused here once, forgotten, and the shared one read again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache

from kernel.cache import cache_guarded

from ..errors import SystemAuthError, SystemBadRequest, SystemRateLimited, SystemTimeout, SystemUnavailable
from ..http import HttpAnswer, HttpClient, Reading, Timeout, read_status
from ..quota import quota_hold_of
from .bulk_csv import RECEIVE_BLOCK_BYTES, MalformedCsv, SpooledCsv, csv_records
from .types import BulkJob, BulkJobState, Contact

# `api-usage=N/M`, possibly beside `per-app-api-usage=...` which must not be mistaken for it.
API_USAGE = re.compile(r"(?:^|[\s;,])api-usage=(\d+)/(\d+)")

# A Salesforce record id (a job's too): 15 characters, or 18 with the case-safe suffix.
JOB_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
# An object's or a field's API name: `Contact`, `Legacy_Customer_Number__c`.
API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# The first wait between two polls of a Bulk job; each next one is twice as long, up to the caller's longest.
FIRST_POLL_WAIT = 0.5
# How a wait for a bulk job tells and passes time (tests move them).
_clock = time.monotonic
_sleep = time.sleep

SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def soql_literal(value: str) -> str:
    """`value` as a quoted SOQL string literal; ValueError for characters a literal cannot carry safely."""
    if any((ord(char) < 32 and char not in SOQL_ESCAPES) or ord(char) == 127 for char in value):
        raise ValueError("control characters cannot go into a SOQL string literal")
    return "'" + "".join(SOQL_ESCAPES.get(char, char) for char in value) + "'"


def parse_api_usage(value: str | None) -> tuple[int, int] | None:
    """`Sforce-Limit-Info: api-usage=18/15000` as (used, limit)."""
    match = API_USAGE.search(value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def read_answer(answer: HttpAnswer) -> Reading:
    """What a REST API answer means, and how much of the org's API quota it says is used: past
    SALESFORCE_API_USAGE_CEILING, the org (shared with other integrations) is held even on a success."""
    reading = Reading() if answer.status < 400 else _read_error(answer)
    usage = parse_api_usage(answer.headers.get("Sforce-Limit-Info"))
    if usage is None:
        return reading
    used, limit = usage
    if limit and used / limit >= settings.SALESFORCE_API_USAGE_CEILING:
        reading = replace(reading, hold=f"the org's API quota is {used}/{limit} used", hold_seconds=None)
    return replace(reading, usage=usage)


def read_token_answer(answer: HttpAnswer) -> Reading:
    """The token endpoint's answer: a refusal that is not a rate limit means our client credentials."""
    reading = read_answer(answer)
    if answer.status in (400, 401, 403) and reading.error is not SystemRateLimited:
        return replace(reading, error=SystemAuthError)
    return reading


def _read_error(answer: HttpAnswer) -> Reading:
    """An error list `[{"message", "errorCode"}]` of the REST API, or the token endpoint's OAuth error."""
    body, message, code = answer.body, None, None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code = str(body[0]["errorCode"]) if body[0].get("errorCode") else None
        message = str(body[0].get("message") or code or f"HTTP {answer.status}")
    elif isinstance(body, dict) and body.get("error"):
        code = str(body["error"])
        message = str(body.get("error_description") or code)
    # The REST API says REQUEST_LIMIT_EXCEEDED (with 403), the token endpoint rate_limit_exceeded (with 400).
    if message and code in ("REQUEST_LIMIT_EXCEEDED", "rate_limit_exceeded"):
        return Reading.failed(SystemRateLimited, message, code=code, retry_after=answer.retry_after)
    return read_status(answer, message, code)


class BulkJobDataTooLarge(SystemBadRequest):
    """A job's data would pass what Salesforce takes in one job: nothing was sent. `row` is the first row past it."""

    def __init__(self, message: str, *, row: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.row = row


class BulkJobDeadlinePassed(SystemTimeout):
    """A bulk job was not finished by the deadline of the wait; `job` is how it was last seen (None: never)."""

    def __init__(self, message: str, *, job: BulkJob | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job = job


@dataclass(frozen=True)
class AccessGrant:
    """A token from the token endpoint and the instance it is valid on."""

    access_token: str
    instance_url: str


class _RememberedGrants:
    """The grants this process last used, by token cache key, each until it is refused or its time is up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, tuple[AccessGrant, float]] = {}

    def get(self, key: str) -> AccessGrant | None:
        with self._lock:
            grant, until = self._grants.get(key, (None, 0.0))
            return grant if time.monotonic() < until else None

    def keep(self, key: str, grant: AccessGrant, seconds: float) -> None:
        with self._lock:
            self._grants[key] = (grant, time.monotonic() + seconds)

    def drop(self, key: str, grant: AccessGrant) -> None:
        with self._lock:
            if self._grants.get(key, (None, 0.0))[0] == grant:
                del self._grants[key]

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()


# Not state that must be shared: a copy of the shared cache's token, so that a lookup does not ask for it.
remembered_grants = _RememberedGrants()
# A child forked while another thread held the lock would inherit it held.
os.register_at_fork(after_in_child=remembered_grants.__init__)


class SalesforceClient(HttpClient):
    system = "salesforce"
    read_answer = staticmethod(read_answer)

    TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
    QUERY_PATH = "/services/data/{version}/query"
    INGEST_PATH = "/services/data/{version}/jobs/ingest"
    # Salesforce takes 150 MB of a job's data once base64-encoded (a third more): 100 MB of CSV, as it advises.
    MAX_JOB_DATA_BYTES = 100 * 1024 * 1024
    CONTACT_FIELDS = "Id, FirstName, LastName, Email, Phone, AccountId, Account.Name"
    # Several contacts may share an email, and without ORDER BY Salesforce promises no order: the most
    # recently modified comes first, and Id settles a tie (contacts a bulk load saved at the same moment).
    CONTACT_ORDER = "LastModifiedDate DESC, Id DESC"
    TOKEN_OPERATION = "oauth_token"  # noqa: S105 - an operation name
    # Client-credentials tokens carry no expiry; Salesforce's default session timeout is 2 h of inactivity,
    # and a token that dies earlier costs one refused call, so an hour keeps refreshes rare and bounded.
    TOKEN_CACHE_SECONDS = 60 * 60
    # A contact lookup by email never needs this many batches; a server that keeps paging is broken.
    MAX_PAGES = 50

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        api_version: str,
        timeout: Timeout,
        session: requests.Session | None = None,
        cache: BaseCache | None = None,
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout, session=session)
        self.client_id = client_id
        self._client_secret = client_secret
        self.api_version = api_version
        self.cache = cache if cache is not None else default_cache
        digest = hashlib.sha256(f"{self.base_url}\n{client_id}".encode()).hexdigest()[:32]
        self.token_cache_key = f"system_apis:salesforce:token:{digest}"

    @property
    def last_api_usage(self) -> tuple[int, int] | None:
        """The org's API usage (used, limit) as the last answer stated it."""
        return self.last_reading.usage if self.last_reading else None

    @classmethod
    def from_settings(cls) -> SalesforceClient:
        return cls(
            base_url=settings.SALESFORCE_BASE_URL,
            client_id=settings.SALESFORCE_CLIENT_ID,
            client_secret=settings.SALESFORCE_CLIENT_SECRET,
            api_version=settings.SALESFORCE_API_VERSION,
            timeout=settings.SALESFORCE_TIMEOUT,
        )

    # --- the interface -------------------------------------------------------------------------

    def find_contacts_by_email(self, email: str) -> list[Contact]:
        """Every contact whose email is `email` (compared case-insensitively), the most recently modified first."""
        operation = "find_contacts_by_email"
        # `Email = ''` would match every contact without an email: never a lookup anyone meant.
        if not email.strip():
            raise SystemBadRequest("an email is required", system=self.system, operation=operation)
        try:
            literal = soql_literal(email)
        except ValueError as exc:
            raise SystemBadRequest(str(exc), system=self.system, operation=operation) from exc
        soql = (
            f"SELECT {self.CONTACT_FIELDS} FROM Contact WHERE Email = {literal}"  # noqa: S608 - escaped above
            f" ORDER BY {self.CONTACT_ORDER}"
        )
        return [self._contact(record, operation) for record in self._query_all(soql, operation)]

    # --- Bulk API 2.0 ingest --------------------------------------------------------------------

    def create_upsert_job(self, object_name: str, external_id_field: str) -> BulkJob:
        """A new ingest job that upserts `object_name` records matched on `external_id_field`, open for its CSV data
        (comma-separated, LF line endings)."""
        operation = "create_bulk_job"
        for what, name in (("object", object_name), ("external id field", external_id_field)):
            if not API_NAME.fullmatch(name):
                raise SystemBadRequest(f"{what} {name!r} is not a Salesforce API name", **self._where(operation))
        job = {
            "object": object_name,
            "operation": "upsert",
            "externalIdFieldName": external_id_field,
            "contentType": "CSV",
            "lineEnding": "LF",
        }
        return self._job_call("POST", self._ingest_path(), operation, job)

    def upload_job_data(self, job_id: str, columns: Sequence[str], rows: Iterable[Mapping[str, str | None]]) -> int:
        """Send an open job its data: a header of `columns`, then a record per row; how many rows were sent.

        A column a row lacks, or holds None, is an empty field (Salesforce leaves that field of the record as it is).
        Refused before anything is sent: no rows, a row with a field not among `columns`, or data past
        MAX_JOB_DATA_BYTES (BulkJobDataTooLarge, which names the first row that did not fit).
        """
        operation = "upload_bulk_job_data"
        path = self._job_path(job_id, operation) + "/batches"
        if not columns or len(set(columns)) != len(columns) or not all(columns):
            raise SystemBadRequest("the columns must be distinct names, at least one", **self._where(operation))
        with SpooledCsv() as data:
            count = self._write_rows(data, columns, rows, operation)
            self._authorised(
                "PUT", path, operation, headers={"Content-Type": "text/csv"}, data=data, before_each_try=data.rewind
            )
        return count

    def close_job(self, job_id: str) -> BulkJob:
        """Tell Salesforce the job's data is all there (UploadComplete): it queues the job, and takes no more data."""
        operation = "close_bulk_job"
        return self._job_call("PATCH", self._job_path(job_id, operation), operation, {"state": "UploadComplete"})

    def abort_job(self, job_id: str) -> BulkJob:
        """Abort the job: Salesforce processes no more of its records (those processed stay so)."""
        operation = "abort_bulk_job"
        return self._job_call("PATCH", self._job_path(job_id, operation), operation, {"state": "Aborted"})

    def get_job_info(self, job_id: str) -> BulkJob:
        """The job as Salesforce describes it now: its state, and how many records it processed and failed."""
        operation = "get_bulk_job"
        return self._job_call("GET", self._job_path(job_id, operation), operation)

    def successful_results(self, job_id: str) -> Iterator[dict[str, str]]:
        """The records the job saved, as Salesforce answers them: `sf__Id`, `sf__Created` ("true" for a record it
        created, "false" for one it updated), then the columns sent. Read as they arrive: iterate to the end, or
        close the iterator, to free the connection."""
        return self._result_records(job_id, "successfulResults/", ("sf__Id", "sf__Created"), "bulk_successful_results")

    def failed_results(self, job_id: str) -> Iterator[dict[str, str]]:
        """The records the job refused: `sf__Id` (empty for a record not created), `sf__Error` (code, message and
        fields, as `REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`), then the columns
        sent. Read as `successful_results`."""
        return self._result_records(job_id, "failedResults/", ("sf__Id", "sf__Error"), "bulk_failed_results")

    def unprocessed_records(self, job_id: str) -> Iterator[dict[str, str]]:
        """The records a failed or aborted job never reached, with the columns sent. Read as `successful_results`."""
        return self._result_records(job_id, "unprocessedrecords/", (), "bulk_unprocessed_records")

    def wait_for_job(self, job_id: str, *, max_poll_interval: float, deadline: float) -> BulkJob:
        """The job once finished (JobComplete, Failed or Aborted). It is asked for at once, then after FIRST_POLL_WAIT
        seconds, each wait twice the one before up to `max_poll_interval`: a small job is seen done soon after it is,
        a large one costs few polls of the org's API quota.

        While Salesforce is on hold (its API quota past SALESFORCE_API_USAGE_CEILING, or a limit it answered) nothing
        is asked: the wait goes on until the hold ends. Past `deadline` seconds, BulkJobDeadlinePassed (retryable:
        the job goes on in Salesforce, and can be waited for again). Other errors of a poll end the wait.
        """
        operation = "wait_for_bulk_job"
        if max_poll_interval <= 0 or deadline < 0:
            raise ValueError("max_poll_interval must be positive and deadline not negative")
        self._job_path(job_id, operation)
        give_up_at = _clock() + deadline
        last_seen: BulkJob | None = None
        poll_wait = min(FIRST_POLL_WAIT, max_poll_interval)
        while True:
            hold = quota_hold_of(self.system)
            if hold is None:
                try:
                    last_seen = self.get_job_info(job_id)
                except SystemRateLimited:
                    pass  # the pipeline has put Salesforce on hold: waited out below
                else:
                    if last_seen.finished:
                        return last_seen
                hold = quota_hold_of(self.system)
            left = give_up_at - _clock()
            if left <= 0:
                seen = f"last seen {last_seen.state}" if last_seen else "never seen"
                held = f"; salesforce on hold ({hold.reason})" if hold else ""
                message = f"bulk job {job_id} not finished within {deadline:g} s ({seen}{held})"
                raise BulkJobDeadlinePassed(message, job=last_seen, **self._where(operation))
            _sleep(min(max(poll_wait, hold.seconds_left() if hold else 0.0), left))
            poll_wait = min(poll_wait * 2, max_poll_interval)

    def _ingest_path(self) -> str:
        return self.INGEST_PATH.format(version=self.api_version)

    def _job_path(self, job_id: str, operation: str) -> str:
        # The id goes into the URL's path: only what a Salesforce id can be.
        if not JOB_ID.fullmatch(job_id):
            raise SystemBadRequest(f"{job_id!r} is not a Salesforce job id", **self._where(operation))
        return f"{self._ingest_path()}/{job_id}"

    def _job_call(self, method: str, path: str, operation: str, body: dict[str, str] | None = None) -> BulkJob:
        sent: dict[str, Any] = {}
        if body is not None:
            sent = {"data": json.dumps(body).encode(), "headers": {"Content-Type": "application/json; charset=UTF-8"}}
        answer = self._json(self._authorised(method, path, operation, **sent), operation)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or not answer["id"]:
            raise self._protocol_error("job answer has no id", operation)
        try:
            state = BulkJobState(answer.get("state"))
        except ValueError:
            raise self._protocol_error(f"job answer has an unknown state {answer.get('state')!r}", operation) from None
        processed, failed = answer.get("numberRecordsProcessed", 0), answer.get("numberRecordsFailed", 0)
        if not all(type(count) is int and count >= 0 for count in (processed, failed)):
            raise self._protocol_error("job answer has record counts that are not counts", operation)
        return BulkJob(
            id=answer["id"],
            state=state,
            records_processed=processed,
            records_failed=failed,
            error_message=_text(answer.get("errorMessage")),
        )

    def _write_rows(
        self, data: SpooledCsv, columns: Sequence[str], rows: Iterable[Mapping[str, str | None]], operation: str
    ) -> int:
        data.write_row(list(columns))
        known, count = set(columns), 0
        for count, row in enumerate(rows, start=1):
            if unknown := row.keys() - known:
                raise SystemBadRequest(
                    f"row {count} has fields not among the columns: {', '.join(sorted(unknown))}",
                    **self._where(operation),
                )
            try:
                data.write_row(["" if row.get(column) is None else row[column] for column in columns])
            except UnicodeEncodeError as exc:
                raise SystemBadRequest(f"row {count} holds text that is not Unicode", **self._where(operation)) from exc
            if len(data) > self.MAX_JOB_DATA_BYTES:
                message = (
                    f"the job's data passes {self.MAX_JOB_DATA_BYTES} bytes at row {count}, more than Salesforce"
                    " takes in one job: send the rest in another"
                )
                raise BulkJobDataTooLarge(message, row=count, **self._where(operation))
        if count == 0:
            raise SystemBadRequest("no rows to upload", **self._where(operation))
        return count

    def _result_records(
        self, job_id: str, resource: str, leading: tuple[str, ...], operation: str
    ) -> Iterator[dict[str, str]]:
        path = f"{self._job_path(job_id, operation)}/{resource}"
        response = self._authorised("GET", path, operation, headers={"Accept": "text/csv"}, stream=True)
        return self._streamed_records(response, leading, operation)

    def _streamed_records(
        self, response: requests.Response, leading: tuple[str, ...], operation: str
    ) -> Iterator[dict[str, str]]:
        # Read outside the pipeline, which ends with the answer's head: a failure reading the rest is typed here.
        try:
            yield from csv_records(response.iter_content(RECEIVE_BLOCK_BYTES), leading)
        except (MalformedCsv, UnicodeDecodeError, csv.Error) as exc:
            raise self._protocol_error(f"answer is not the CSV expected: {exc}", operation) from exc
        except requests.RequestException as exc:
            message = f"the answer broke off: {type(exc).__name__}"
            raise SystemUnavailable(message, **self._where(operation)) from exc
        finally:
            response.close()

    def _where(self, operation: str) -> dict[str, str]:
        return {"system": self.system, "operation": operation}

    # --- queries -------------------------------------------------------------------------------

    def _query_all(self, soql: str, operation: str) -> list[Any]:
        path: str = self.QUERY_PATH.format(version=self.api_version)
        params: dict[str, str] | None = {"q": soql}
        records: list[Any] = []
        for _ in range(self.MAX_PAGES):
            page = self._get(path, operation, params=params)
            batch, done = page.get("records"), page.get("done")
            if not isinstance(batch, list) or not isinstance(done, bool):
                raise self._protocol_error("query answer lacks records or done", operation)
            records.extend(batch)
            if done:
                return records
            next_url = page.get("nextRecordsUrl")
            # Relative to instance_url; an absolute URL could carry our token to another host.
            if not isinstance(next_url, str) or not next_url.startswith("/"):
                raise self._protocol_error("query answer is not done but has no relative nextRecordsUrl", operation)
            path, params = next_url, None
        raise self._protocol_error(f"query still not done after {self.MAX_PAGES} batches", operation)

    def _get(self, path: str, operation: str, *, params: dict[str, str] | None) -> dict[str, Any]:
        body = self._json(self._authorised("GET", path, operation, params=params), operation)
        if not isinstance(body, dict):
            raise self._protocol_error("query answer is not an object", operation)
        return body

    def _authorised(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        headers: dict[str, str] | None = None,
        before_each_try: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One call to the instance with the access token; `before_each_try` readies the body to be sent (again)."""
        first_try = True
        while True:
            grant = self._grant()
            if before_each_try is not None:
                before_each_try()
            sent = {"Authorization": f"Bearer {grant.access_token}", "Accept": "application/json", **(headers or {})}
            try:
                return self._request(method, grant.instance_url + path, operation=operation, headers=sent, **kwargs)
            except SystemAuthError as exc:
                if exc.status != 401:
                    raise
                # A refused token is dropped: one new token and one retry, no more.
                self._forget(grant)
                if not first_try:
                    raise
                first_try = False

    def _contact(self, record: Any, operation: str) -> Contact:
        if not isinstance(record, dict) or not isinstance(record.get("Id"), str):
            raise self._protocol_error("a contact record has no Id", operation)
        account = record.get("Account")
        return Contact(
            id=record["Id"],
            first_name=_text(record.get("FirstName")),
            last_name=_text(record.get("LastName")) or "",
            email=_text(record.get("Email")),
            phone=_text(record.get("Phone")),
            account_id=_text(record.get("AccountId")),
            account_name=_text(account.get("Name")) if isinstance(account, dict) else None,
        )

    # --- the access token ----------------------------------------------------------------------

    def _grant(self) -> AccessGrant:
        remembered = remembered_grants.get(self.token_cache_key)
        if remembered is not None:
            return remembered
        grant = self._cached_grant() or self._fetch_grant()
        remembered_grants.keep(self.token_cache_key, grant, self.TOKEN_CACHE_SECONDS)
        return grant

    def _fetch_grant(self) -> AccessGrant:
        operation = self.TOKEN_OPERATION
        response = self._request(
            "POST",
            self.TOKEN_PATH,
            operation=operation,
            read=read_token_answer,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        instance_url = body.get("instance_url") if isinstance(body, dict) else None
        # No body in this error: it might hold the token.
        if not (isinstance(token, str) and token and isinstance(instance_url, str)):
            raise self._protocol_error("token answer lacks access_token", operation)
        if not instance_url.startswith(("https://", "http://")):
            raise self._protocol_error("token answer lacks an instance_url", operation)
        grant = AccessGrant(access_token=token, instance_url=instance_url.rstrip("/"))
        self._cache_call("set", self.token_cache_key, asdict(grant), self.TOKEN_CACHE_SECONDS)
        return grant

    def _cached_grant(self) -> AccessGrant | None:
        cached = self._cache_call("get", self.token_cache_key)
        if not isinstance(cached, dict):
            return None
        try:
            return AccessGrant(**cached)
        except TypeError:
            return None

    def _forget(self, grant: AccessGrant) -> None:
        remembered_grants.drop(self.token_cache_key, grant)
        # Another process may already have stored a fresh token; only the refused one is dropped.
        if self._cached_grant() == grant:
            self._cache_call("delete", self.token_cache_key)

    def _cache_call(self, method: str, *args: Any) -> Any:
        # A cache outage costs a token request per call, not the lookup itself.
        return cache_guarded(lambda: getattr(self.cache, method)(*args), default=None, what="salesforce token cache")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
