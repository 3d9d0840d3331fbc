"""The migration run: legacy customers into Salesforce Contacts, one Bulk API 2.0 job per chunk, resumable.

A run is durable work (kind MIGRATION, on the "celery" queue). Each attempt takes one chunk: the next `chunk_size`
customers after the checkpoint in CUST_NO order (only those changed since `since`, if given), mapped by
`contact_row`; refusals are kept as rejections. Unless it is a dry run, the rows go to Salesforce as one upsert job,
whose id is recorded before any data is sent; the run waits for the job and keeps the rows it rejected. Then, in one
transaction, the checkpoint moves past the chunk, the counts grow and the rejections are stored, and the work is
run again at once (`Paced(0)`) for the next chunk, until no customer is left.

A worker that dies with a job in flight leaves its id recorded: the next attempt waits for that job and reads its
results instead of sending the chunk again (a job still open, whose data may be partial, is aborted and the chunk
sent anew). A Failed job fails the attempt, which the engine retries with backoff: Salesforce wrote none of the
chunk, so sending it again doubles nothing (and an upsert by external id would not duplicate a Contact anyway).

Rejections are retried by a new run over just those customers, read again from the legacy database: the data is
meant to be fixed there first, so the row kept from the former run is not what should be sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from kernel.errors import ApplicationError
from kernel.models import Work
from kernel.tracing import annotate
from kernel.work import Commit, Kind, Paced, register, work_create_for, work_run
from system_apis.errors import SystemNotFound
from system_apis.legacy_db.client import CUST_NO_WIDTH, LegacyCustomerDatabase
from system_apis.legacy_db.types import LegacyCustomer
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.types import BulkJobState

from .mapping import CONTACT_COLUMNS, CUSTOMER_NUMBER, LegacyCustomerValues, UnmigratableCustomer, contact_row
from .models import MigratedCustomer, MigrationRejection, MigrationRun

logger = logging.getLogger("process_apis.customer_migration")

MIGRATION = "customer_migration"
# Rows per INSERT of the migrated customers: under SQLite's and PostgreSQL's limits on a statement's parameters.
LEDGER_BATCH = 2000
CONTACT = "Contact"
State = MigrationRun.State


class MigrationRunActive(ApplicationError):
    """Another run is pending or running: runs never overlap."""

    http_status = 409


class MigrationRunNotActive(ApplicationError):
    http_status = 409


class NothingToRetry(ApplicationError):
    http_status = 409


class BulkJobNotCompleted(ApplicationError):
    """Salesforce ended the chunk's job Failed or Aborted: the chunk is sent again by a later attempt."""

    http_status = 503
    retryable = True


@dataclass
class ChunkOutcome:
    """What one chunk did, added to the run's counts in the transaction that moves its checkpoint."""

    last_customer: str
    read: int = 0
    sent: int = 0
    created: int = 0
    updated: int = 0
    rejections: list[MigrationRejection] = field(default_factory=list)
    # Legacy customer number -> the Contact Salesforce saved it as.
    contacts: dict[str, str] = field(default_factory=dict)

    def counted(self, source: str) -> int:
        return sum(1 for rejection in self.rejections if rejection.source == source)


def migration_run_start(
    *,
    dry_run: bool = False,
    since: datetime | None = None,
    chunk_size: int = 10000,
    only_customers: list[str] | None = None,
    retry_of: MigrationRun | None = None,
) -> MigrationRun:
    """A new run, its work enqueued once the caller's transaction commits; MigrationRunActive while another run is
    pending or running (the database's one-active-run constraint decides between two starts at once)."""
    if chunk_size < 1:
        message = f"a chunk needs at least one customer, not {chunk_size}"
        raise ApplicationError(message, extra={"chunk_size": chunk_size})
    if since is not None and timezone.is_naive(since):
        raise ApplicationError(f"--since {since.isoformat()} needs a time zone", extra={"since": since.isoformat()})
    _refuse_if_active()
    run = MigrationRun(
        dry_run=dry_run, since=since, chunk_size=chunk_size, only_customers=only_customers or [], retry_of=retry_of
    )
    try:
        with transaction.atomic():
            work_create_for(run, "work", kind=MIGRATION, subject="legacy customers to Salesforce")
    except IntegrityError:
        _refuse_if_active()
        raise
    return run


def migration_run_stop(run: MigrationRun) -> MigrationRun:
    """Stop the run after the chunk in flight (whose results are still recorded); MigrationRunNotActive when it is
    over already."""
    stopped = MigrationRun.objects.filter(pk=run.pk, state__in=MigrationRun.ACTIVE_STATES).update(
        state=State.STOPPED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    if not stopped:
        raise MigrationRunNotActive(f"{run} is over already", extra={"run": run.pk, "state": run.state})
    return run


def migration_rejections_retry(run: MigrationRun) -> MigrationRun:
    """A new run over the customers `run` could not migrate and no run has retried yet, read again from the legacy
    database (fixed there, one hopes); those rejections are marked retried. NothingToRetry when there are none."""
    with transaction.atomic():
        open_rejections = MigrationRejection.objects.filter(run=run, retried=False)
        numbers = sorted(set(open_rejections.values_list("customer_number", flat=True)), key=_key)
        if not numbers:
            raise NothingToRetry(f"{run} has no rejected customers left to retry", extra={"run": run.pk})
        retry = migration_run_start(chunk_size=run.chunk_size, only_customers=numbers, retry_of=run)
        open_rejections.update(retried=True)
    return retry


def legacy_values(customer: LegacyCustomer) -> LegacyCustomerValues:
    """The values the mapping takes, from a record as the legacy connector gives it."""
    return LegacyCustomerValues(
        customer_number=customer.customer_number,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone or "",
        account_status=customer.account_status_code,
    )


def migration_remaining(run: MigrationRun) -> int:
    """How many customers the run has still to read, as the legacy database says now."""
    if run.retry_of_id is not None:
        return len(_after_checkpoint(run))
    after = run.checkpoint or None
    return LegacyCustomerDatabase.from_settings().count_customers(after=after, changed_since=run.since)


def _refuse_if_active() -> None:
    active = MigrationRun.objects.filter(state__in=MigrationRun.ACTIVE_STATES).first()
    if active is not None:
        raise MigrationRunActive(
            f"{active} is still {active.state}: stop it or let it finish first",
            extra={"run": active.pk, "state": active.state},
        )


def _key(customer_number: str) -> str:
    # As CUST_NO compares in the legacy database: padded to the column's width.
    return customer_number.strip().ljust(CUST_NO_WIDTH)


def _after_checkpoint(run: MigrationRun) -> list[str]:
    return [number for number in run.only_customers if not run.checkpoint or _key(number) > _key(run.checkpoint)]


def _next_customers(run: MigrationRun) -> list[LegacyCustomer]:
    legacy = LegacyCustomerDatabase.from_settings()
    if run.retry_of_id is None:
        after = run.checkpoint or None
        return legacy.read_page(after, limit=run.chunk_size, changed_since=run.since)
    customers = []
    for number in _after_checkpoint(run)[: run.chunk_size]:
        try:
            customers.append(legacy.get_customer(number))
        except SystemNotFound:
            logger.info("legacy customer %s is gone: nothing to retry for it", number)
    return customers


def _mapped(run: MigrationRun, customers: list[LegacyCustomer], outcome: ChunkOutcome) -> list[dict[str, str]]:
    rows = []
    for customer in customers:
        values = legacy_values(customer)
        try:
            rows.append(contact_row(values))
        except UnmigratableCustomer as refused:
            outcome.rejections.append(
                MigrationRejection(
                    run=run,
                    customer_number=customer.customer_number,
                    source=MigrationRejection.Source.MAPPING,
                    error=refused.message,
                    fields=[refusal.as_dict() for refusal in refused.refusals],
                    row=asdict(values),
                )
            )
    return rows


def _job_for(run: MigrationRun, salesforce: SalesforceClient, rows: list[dict[str, str]]) -> str:
    """The chunk's job: the one recorded by an attempt that died, if it got its data in, else a new one, sent."""
    if run.job_id:
        job = salesforce.get_job_info(run.job_id)
        if job.state != BulkJobState.OPEN:
            logger.info("%s: waiting for job %s of the chunk in flight, not sending it again", run, run.job_id)
            return run.job_id
        # Open: its upload may have broken off half-way. Nothing of it was processed, so it is sent anew.
        salesforce.abort_job(run.job_id)
    job_id = salesforce.create_upsert_job(CONTACT, CUSTOMER_NUMBER).id
    MigrationRun.objects.filter(pk=run.pk).update(job_id=job_id)
    run.job_id = job_id
    salesforce.upload_job_data(job_id, CONTACT_COLUMNS, rows)
    salesforce.close_job(job_id)
    return job_id


def _sent(run: MigrationRun, rows: list[dict[str, str]], outcome: ChunkOutcome) -> None:
    salesforce = SalesforceClient.from_settings()
    job_id = _job_for(run, salesforce, rows)
    job = salesforce.wait_for_job(
        job_id, max_poll_interval=settings.MIGRATION_JOB_POLL_SECONDS, deadline=settings.MIGRATION_JOB_WAIT_SECONDS
    )
    if job.state != BulkJobState.JOB_COMPLETE:
        MigrationRun.objects.filter(pk=run.pk, job_id=job_id).update(job_id="")
        run.job_id = ""
        raise BulkJobNotCompleted(
            f"bulk job {job_id} of the chunk after {run.checkpoint or 'the start'} ended {job.state}:"
            f" {job.error_message or 'no reason given'}",
            extra={"run": run.pk, "job": job_id, "state": job.state},
        )
    outcome.sent = len(rows)
    for record in salesforce.successful_results(job_id):
        if record["sf__Created"].lower() == "true":
            outcome.created += 1
        else:
            outcome.updated += 1
        outcome.contacts[record[CUSTOMER_NUMBER]] = record["sf__Id"]
    for record in salesforce.failed_results(job_id):
        row = {column: record.get(column, "") for column in CONTACT_COLUMNS}
        outcome.rejections.append(
            MigrationRejection(
                run=run,
                customer_number=row[CUSTOMER_NUMBER],
                source=MigrationRejection.Source.SALESFORCE,
                error=record["sf__Error"],
                row=row,
            )
        )


def _recorded(run: MigrationRun, outcome: ChunkOutcome) -> None:
    """The chunk's outcome, all or nothing; nothing when another attempt recorded this chunk already."""
    with transaction.atomic():
        advanced = MigrationRun.objects.filter(pk=run.pk, checkpoint=run.checkpoint).update(
            checkpoint=outcome.last_customer,
            job_id="",
            chunks=F("chunks") + 1,
            read=F("read") + outcome.read,
            sent=F("sent") + outcome.sent,
            created=F("created") + outcome.created,
            updated=F("updated") + outcome.updated,
            failed=F("failed") + outcome.counted(MigrationRejection.Source.SALESFORCE),
            unmigratable=F("unmigratable") + outcome.counted(MigrationRejection.Source.MAPPING),
        )
        if advanced:
            MigrationRejection.objects.bulk_create(outcome.rejections)
            now = timezone.now()
            MigratedCustomer.objects.bulk_create(
                [
                    MigratedCustomer(customer_number=number, contact_id=contact, run=run, migrated_at=now)
                    for number, contact in outcome.contacts.items()
                ],
                update_conflicts=True,
                unique_fields=["customer_number"],
                update_fields=["contact_id", "run", "migrated_at"],
                batch_size=LEDGER_BATCH,
            )


def _migrate_chunk(work: Work) -> Commit | None:
    """One chunk of the run (the work of kind MIGRATION); done when no customer is left, or the run was stopped."""
    run = MigrationRun.objects.get(work=work)
    annotate(reference=f"migration run {run.pk}")
    if not run.active:
        return None
    if run.state == State.PENDING:
        MigrationRun.objects.filter(pk=run.pk, state=State.PENDING).update(
            state=State.RUNNING, started_at=timezone.now()
        )
    customers = _next_customers(run)
    if not customers:
        return lambda: _finished(run, State.DONE)
    outcome = ChunkOutcome(last_customer=customers[-1].customer_number, read=len(customers))
    rows = _mapped(run, customers, outcome)
    if rows and not run.dry_run:
        _sent(run, rows, outcome)
    _recorded(run, outcome)
    raise Paced(0)


def _finished(run: MigrationRun, state: str, error: str = "") -> None:
    MigrationRun.objects.filter(pk=run.pk, state__in=MigrationRun.ACTIVE_STATES).update(
        state=state, error=error, finished_at=timezone.now()
    )


def _failed_for_good(work: Work) -> None:
    _finished(MigrationRun.objects.get(work=work), State.FAILED, work.last_error)


def migration_run_drive(
    run: MigrationRun, *, report: Callable[[MigrationRun], None], sleep: Callable[[float], None] = time.sleep
) -> MigrationRun:
    """Run `run`'s chunks in this process, one after another, until it is over (done, failed or stopped), calling
    `report` after each attempt; no worker is needed. A worker that holds the work meanwhile is waited for."""
    while True:
        work = Work.objects.get(pk=run.work_id)
        if work.state in (Work.State.DONE, Work.State.FAILED):
            break
        if work.next_attempt_at is not None and (wait := (work.next_attempt_at - timezone.now()).total_seconds()) > 0:
            sleep(wait)
        if work_run(work_id=work.pk) is None:
            sleep(settings.MIGRATION_JOB_POLL_SECONDS)
        run.refresh_from_db()
        report(run)
    run.refresh_from_db()
    return run


register(
    Kind(
        name=MIGRATION,
        task_name="process_apis.migrate_legacy_customers",
        run=_migrate_chunk,
        span=("process", "customer_migration", "chunk"),
        on_failed=_failed_for_good,
        max_attempts_setting="MIGRATION_MAX_ATTEMPTS",
        retry_base_setting="MIGRATION_RETRY_BASE",
        retry_cap_setting="MIGRATION_RETRY_CAP",
        lease_setting="MIGRATION_CLAIM_LEASE",
    )
)
