"""The durable-work engine: every kind of background work runs the same way.

A kind is one function and a registration (`register`). Work is created with `work_create` in the same
transaction as the business change that calls for it and handed to Celery after that commits. A run claims
the work first (pending or due, or running under a claim older than the kind's lease), calls the kind's
function, and records how it went under that claim: a write whose claim was taken over meanwhile is refused,
so a run that outlived its lease cannot undo what its successor did. The function:
  - returns None, or a callable to run in the same transaction that marks the work done (the business
    change that success makes, e.g. storing what the system answered);
  - gets, as keyword arguments, what the caller of `work_run` already holds and passes on (the business
    record the work is about, say), so that it need not be read back;
  - raises `Paced(seconds)` to be run again then without using an attempt (held back on purpose);
  - raises anything else to fail the attempt: retried with backoff (never sooner than its `retry_after`)
    while it is `retryable` and attempts are left, else failed for good (the kind's `on_failed` runs).
The sweeper re-enqueues work that never reached the broker or whose worker died.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from .db import update_returning, update_then_insert
from .errors import ApplicationError, ServiceError
from .models import Work, WorkAttempt
from .retry import backoff_delay
from .tracing import annotate, correlation, traced

logger = logging.getLogger("kernel.work")

State = Work.State
# A retry may be run by Celery's countdown a moment before the recorded time on another host's clock.
EARLY_TOLERANCE = timedelta(seconds=1)
SWEEP_BATCH = 500
# Redis hands a killed worker's messages out again after its visibility timeout (an hour): by then a message not
# run is lost, however busy its queue.
QUEUED_HORIZON = timedelta(hours=1)

Commit = Callable[[], None]


class Paced(Exception):  # noqa: N818 - an outcome, not an error
    """The work was held back on purpose (pacing, a quota hold): run it again in `seconds`, no attempt used."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"held back for {seconds:.1f} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Kind:
    """How one kind of work runs. The limits are names of settings, read when used."""

    name: str
    task_name: str
    run: Callable[..., Commit | None]
    # The span of one attempt: (layer, api, operation) in the call trace.
    span: tuple[str, str, str]
    max_attempts_setting: str
    retry_base_setting: str
    retry_cap_setting: str
    lease_setting: str
    on_failed: Callable[..., None] | None = None
    # Runs a second each worker starts at most (0: no limit): a burst waits in the worker's memory, not in retries.
    per_second_setting: str = ""

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=getattr(settings, self.lease_setting))


_kinds: dict[str, Kind] = {}
_tasks: dict[str, Task] = {}


def register(kind: Kind) -> None:
    """Make `kind` runnable: its Celery task (named `task_name`, routed by CELERY_TASK_ROUTES) runs its work."""

    def run_work(work_id: int) -> None:
        # The task is the kind's own: the claim need not read the work to learn it.
        work = _claim(work_id, kind)
        if work is not None:
            work_run(work=work)

    run_work.__name__ = run_work.__qualname__ = kind.task_name.rsplit(".", 1)[-1]
    per_second = getattr(settings, kind.per_second_setting) if kind.per_second_setting else 0
    _kinds[kind.name] = kind
    _tasks[kind.name] = shared_task(
        name=kind.task_name, acks_late=True, rate_limit=f"{per_second}/s" if per_second else None
    )(run_work)


def work_create(*, kind: str, subject: str, trace_id: str = "", claimed: bool = False) -> Work:
    """New work, enqueued once the caller's transaction commits. `claimed`: the caller runs the first attempt
    itself, right away (`work_run(work=...)`), so the work is stored claimed and is not enqueued."""
    work = _new_work(kind=kind, subject=subject, trace_id=trace_id, claimed=claimed)
    work.save(force_insert=True)
    _enqueue_on_commit(work)
    return work


def _new_work(*, kind: str, subject: str, trace_id: str = "", claimed: bool = False) -> Work:
    if kind not in _kinds:
        raise LookupError(f"no kind of work {kind!r} is registered")
    if claimed:
        return Work(
            kind=kind,
            subject=subject,
            trace_id=trace_id,
            state=State.RUNNING,
            claimed_at=timezone.now(),
            claim=1,
            attempts=1,
        )
    return Work(kind=kind, subject=subject, trace_id=trace_id)


def work_create_for(owner: models.Model, field: str, **work: Any) -> Work:
    """`work_create(**work)`, and `owner` (an unsaved row that holds the work in its one-to-one `field`) inserted
    with it: on PostgreSQL in one statement, since every report makes two such pairs on its way."""
    connection = connections[router.db_for_write(type(owner))]
    if connection.vendor != "postgresql":
        setattr(owner, field, work_create(**work))
        owner.save(force_insert=True)
        return getattr(owner, field)
    new = _new_work(**work)
    holder = owner._meta.get_field(field)
    quote = connection.ops.quote_name

    def columns_and_values(row: models.Model, skip: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
        fields = [f for f in row._meta.concrete_fields if not f.primary_key and f.name not in skip]
        values = [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields]
        return ", ".join(quote(f.column) for f in fields), values

    work_columns, work_values = columns_and_values(new)
    owner_columns, owner_values = columns_and_values(owner, skip=(field,))
    placeholders = ", ".join
    # Only names from the models' own metadata, quoted, go into the text; every value is a parameter.
    sql = (
        f"WITH new_work AS (INSERT INTO {quote(Work._meta.db_table)} ({work_columns}) "  # noqa: S608
        f"VALUES ({placeholders(['%s'] * len(work_values))}) RETURNING {quote(Work._meta.pk.column)}) "
        f"INSERT INTO {quote(owner._meta.db_table)} ({owner_columns}, {quote(holder.column)}) "
        f"SELECT {placeholders(['%s'] * len(owner_values))}, {quote(Work._meta.pk.column)} FROM new_work "
        f"RETURNING {quote(owner._meta.pk.column)}, {quote(holder.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*work_values, *owner_values])
        owner.pk, new.pk = cursor.fetchone()
    for row in (new, owner):
        row._state.adding, row._state.db = False, connection.alias
    setattr(owner, field, new)
    _enqueue_on_commit(new, using=connection.alias)
    return new


def _enqueue_on_commit(work: Work, *, using: str | None = None) -> None:
    """Enqueue new work once its transaction commits; work created claimed is run by its creator instead."""
    if work.state != State.RUNNING:
        transaction.on_commit(lambda: work_enqueue(work), using=using)


def work_enqueue(work: Work, *, countdown: float | None = None) -> bool:
    """Hand the work to Celery; a broker outage leaves it to the sweeper instead of failing the caller."""
    try:
        _tasks[work.kind].apply_async(args=[work.pk], countdown=countdown)
    except Exception:  # the broker's own errors vary by transport; the work stays where it is either way
        logger.exception("could not enqueue %s; the sweeper will", work)
        return False
    return True


def work_run(*, work_id: int | None = None, work: Work | None = None, **context: Any) -> Work | None:
    """One attempt at the work, if it is due and nobody else is on it (`work`: already claimed by the caller).

    `context` goes to the kind's `run` and `on_failed` as keyword arguments. Returns the work as the attempt
    left it (kept up to date in memory, not read back), or None when there was nothing to do.
    """
    if work is None:
        work = _claim(work_id)
        if work is None:
            return None
    kind = _kinds[work.kind]
    started = time.monotonic()
    with traced(*kind.span), correlation(work.trace_id):
        annotate(attempt=work.attempts)
        try:
            commit = kind.run(work, **context)
        except Paced as paced:
            _reschedule(work, paced.seconds)
        except DatabaseError:
            raise  # nothing can be recorded either: the claim runs out and the sweeper hands the work on
        except Exception as exc:  # every failure is recorded; only a bug's needs its traceback logged
            if not isinstance(exc, ServiceError | SoftTimeLimitExceeded):
                logger.exception("%s failed with a bug", work)
            _failed(work, kind, exc, started, context)
        else:
            _record(work, State.DONE, started, then=commit)
    return work


def work_retry(work: Work) -> Work:
    """Staff's "try again": a fresh round of attempts, due now, for work that is not done."""
    if work.state == State.DONE:
        raise ApplicationError(f"{work} is already done.", extra={"state": work.state})
    # A new claim number too: a run that read the work before this reset cannot claim it with stale counts.
    Work.objects.filter(pk=work.pk, state=State.FAILED).update(state=State.PENDING, attempts=0, claim=F("claim") + 1)
    Work.objects.filter(pk=work.pk, state__in=[State.PENDING, State.RETRYING]).update(next_attempt_at=None)
    work.refresh_from_db()
    return work


def work_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue the work a broker outage, a lost message or a killed worker left unfinished; how many, for each
    kind that had any."""
    now = now or timezone.now()
    # Work younger than this is still on its way through the normal path.
    settled = now - timedelta(seconds=settings.SWEEPER_GRACE)
    swept = {}
    for kind in _kinds.values():
        # Work not yet run is still on its way while its queue holds messages (a burst drains at the kind's pace):
        # re-sent once the queue is empty, or when it has waited longer than a lost message can take to come back.
        never_run = Q(state=State.PENDING, next_attempt_at__isnull=True, updated_at__lt=settled)
        if _queued_messages(kind):
            never_run &= Q(updated_at__lt=now - QUEUED_HORIZON)
        stuck = Work.objects.filter(kind=kind.name).filter(
            never_run
            | Q(state__in=[State.PENDING, State.RETRYING], next_attempt_at__lt=settled)
            | Q(state=State.RUNNING, claimed_at__lt=now - kind.lease)
        )
        if enqueued := sum(work_enqueue(work) for work in stuck[:SWEEP_BATCH]):
            swept[kind.name] = enqueued
    if swept:
        logger.info("sweeper re-enqueued %s", swept)
    return swept


def _queued_messages(kind: Kind) -> int | None:
    """Messages waiting in the kind's queue on the broker; None when the broker cannot say."""
    task = _tasks[kind.name]
    try:
        queue = task.app.amqp.router.route({}, task.name)["queue"].name
        with task.app.connection_for_read() as connection:
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # the broker's own errors vary by transport; sweeping as if it were empty is the safe side
        logger.warning("could not count the messages queued for %s", kind.name, exc_info=True)
        return None


def _claim(work_id: int | None, kind: Kind | None = None) -> Work | None:
    """The work, claimed for this run, if it is due and nobody else is on it (of `kind`, when the caller knows it:
    then the claim is one statement where the database returns what it updates)."""
    if kind is None:
        name = Work.objects.filter(pk=work_id).values_list("kind", flat=True).first()
        if name is None:
            return None
        kind = _kinds[name]
    now = timezone.now()
    connection = connections[router.db_for_write(Work)]
    counts, claimable = _claim_sql(connection.alias)
    claimed = update_returning(
        Work,
        {"pk": work_id, "kind": kind.name},
        {"state": State.RUNNING, "claimed_at": now, "updated_at": now},
        also_set=counts,
        also_where=claimable,
        also_params=[
            State.PENDING,
            State.RETRYING,
            connection.ops.adapt_datetimefield_value(now + EARLY_TOLERANCE),
            State.RUNNING,
            connection.ops.adapt_datetimefield_value(now - kind.lease),
        ],
    )
    return claimed if isinstance(claimed, Work) else None


@cache
def _claim_sql(alias: str) -> tuple[tuple[str, ...], str]:
    """A claim's counts raised, and what makes work claimable: pending or retrying and due, or running under a
    claim older than the kind's lease."""
    claim, attempts, state, due, claimed_at = (
        connections[alias].ops.quote_name(Work._meta.get_field(name).column)
        for name in ("claim", "attempts", "state", "next_attempt_at", "claimed_at")
    )
    counts = (f"{claim} = {claim} + 1", f"{attempts} = {attempts} + 1")
    return counts, f"({state} IN (%s, %s) AND ({due} IS NULL OR {due} <= %s)) OR ({state} = %s AND {claimed_at} < %s)"


def _under_claim(work: Work, *, attempt: WorkAttempt | None = None, **changes: Any) -> bool:
    """Write `changes` (to the row and the instance), and insert `attempt`, if the work is still under this run's
    claim; False (nothing written) when it was taken over. The attempt goes in with the same statement where the
    database can: every run of every kind records one."""
    changes = {"updated_at": timezone.now(), "claimed_at": None, **changes}
    claimed = {"pk": work.pk, "claim": work.claim, "state": State.RUNNING}
    if attempt:
        written = update_then_insert(Work, claimed, changes, attempt, "work")
    else:
        written = bool(Work.objects.filter(**claimed).update(**changes))
    if not written:
        logger.warning("%s: its claim was taken over; this run's outcome is not recorded", work)
        return False
    for name, value in changes.items():
        if not hasattr(value, "resolve_expression"):
            setattr(work, name, value)
    return True


def _record(
    work: Work, state: str, started: float, *, error: str = "", delay: float | None = None, then: Commit | None = None
) -> None:
    """The attempt's outcome, its line in the history and `then` (the business change it makes), all or nothing."""
    next_attempt_at = timezone.now() + timedelta(seconds=delay) if delay is not None else None
    attempt = WorkAttempt(work=work, number=work.attempts, outcome=state, error=error, duration_ms=_elapsed_ms(started))
    with transaction.atomic():
        written = _under_claim(work, attempt=attempt, state=state, next_attempt_at=next_attempt_at, last_error=error)
        if written and then is not None:
            then()


def _failed(work: Work, kind: Kind, exc: Exception, started: float, context: dict[str, Any]) -> None:
    # A run cut short by the task's time limit (a slow system) is tried again, like any timeout.
    retryable = getattr(exc, "retryable", False) or isinstance(exc, SoftTimeLimitExceeded)
    retry = retryable and work.attempts < getattr(settings, kind.max_attempts_setting)
    delay = None
    if retry:
        delay = backoff_delay(
            attempt=work.attempts,
            base=getattr(settings, kind.retry_base_setting),
            cap=getattr(settings, kind.retry_cap_setting),
            retry_after=getattr(exc, "retry_after", None),
        )
    # The work survives, but this attempt did not do it: the call trace says so.
    annotate(outcome=State.RETRYING if retry else State.FAILED)
    work.last_error = str(exc)
    given_up = None if retry or kind.on_failed is None else lambda: kind.on_failed(work, **context)
    _record(work, State.RETRYING if retry else State.FAILED, started, error=work.last_error, delay=delay, then=given_up)
    logger.warning(
        "%s: attempt %s failed (%s): %s",
        work,
        work.attempts,
        f"retry in {delay:.0f} s" if delay is not None else "giving up",
        work.last_error,
    )
    if delay is not None:
        transaction.on_commit(lambda: work_enqueue(work, countdown=delay))


def _reschedule(work: Work, seconds: float) -> None:
    annotate(outcome="paced")
    held = _under_claim(
        work,
        state=State.PENDING,
        attempts=F("attempts") - 1,
        next_attempt_at=timezone.now() + timedelta(seconds=seconds),
    )
    if held:
        work.attempts -= 1
        logger.info("%s waits %.1f s: held back on purpose", work, seconds)
        transaction.on_commit(lambda: work_enqueue(work, countdown=seconds))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
