"""Customer Incidents Process API: the orchestration of one report.

1. find the customer (legacy DB || Salesforce, degraded rather than failed);
2. store the request locally: from here on nothing may be lost;
3. create the ServiceNow incident (the reference is its correlation_id);
4. queue the Slack notice, sent by Celery after the commit.
A ServiceNow failure leaves the report accepted and pending; it is retried by looking the incident up
by correlation_id first, so that an earlier attempt that did reach ServiceNow is adopted, not doubled.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kernel.budget import time_budget
from kernel.errors import ApplicationError, DownstreamError, NotAcceptedError, NotFoundError
from kernel.retry import backoff_delay
from kernel.tracing import annotate, correlation, traced, traced_operation

from ..customers.services import customer_find
from ..models import Category, Channel, Impact, IncidentEvent, IncidentRequest
from ..notifications.services import notification_queue
from ..queueing import enqueue_or_leave_pending
from ..service_incidents.services import (
    service_incident_create,
    service_incident_find,
    service_incident_get,
)
from ..service_incidents.types import ServiceIncident
from .inputs import report_input_checked
from .references import new_reference

logger = logging.getLogger("process_apis.customer_incidents")

SyncState = IncidentRequest.SyncState
# A report concerns one customer; what breaks checkout or the site touches more of them.
IMPACT_BY_CATEGORY = {Category.WEBSITE: Impact.MEDIUM, Category.PAYMENT: Impact.MEDIUM}
# ServiceNow's own incident categories.
SERVICENOW_CATEGORY = {Category.WEBSITE: "software"}


@traced_operation("process", "customer_incidents", "report")
@report_input_checked
def incident_report(
    *,
    email: str,
    name: str,
    category: str,
    urgency: int,
    short_description: str,
    description: str,
    order_number: str = "",
    channel: str = Channel.WEB,
    api_client_id: str = "",
    trace_id: str = "",
    intake_key: str | None = None,
) -> IncidentRequest:
    """Accept one report and take it as far as the systems of record allow right now.

    `intake_key` is the consumer's key for this report (scoped by the consumer, e.g. its client): a
    report already stored under it is returned as it is, so a retry never makes a second one, even when
    the first request died after storing the report and before its answer was recorded.

    All downstream calls together get REPORT_DOWNSTREAM_BUDGET seconds, below the web server's timeout:
    what does not fit is left to the background retries.
    """
    if intake_key and (earlier := IncidentRequest.objects.filter(intake_key=intake_key).first()):
        return earlier
    with time_budget(settings.REPORT_DOWNSTREAM_BUDGET):
        customer = customer_find(email=email)
        category = Category(category)
        try:
            request = _store(
                email=customer.email,
                name=name.strip(),
                category=category,
                urgency=int(urgency),
                impact=int(IMPACT_BY_CATEGORY.get(category, Impact.LOW)),
                short_description=short_description.strip(),
                description=description.strip(),
                order_number=order_number.strip(),
                channel=Channel(channel),
                api_client_id=api_client_id,
                trace_id=trace_id,
                customer=customer.as_dict(),
                customer_degraded=customer.degraded,
                intake_key=intake_key or None,
            )
        except _AlreadyStored as stored:
            return stored.request
        except DatabaseError as exc:
            logger.exception("report could not be stored")
            raise NotAcceptedError(
                "Incident Hub cannot store reports right now; please try again in a minute."
            ) from exc
        annotate(reference=request.reference)
        # Stored with its claim taken (sync_claimed_at), so no sweeper races this first attempt.
        try:
            return _attempt_sync(request)
        except DatabaseError:
            # Accepted all the same: the sweeper takes the report up again once the claim expires, and
            # adopts any incident this attempt made through its correlation_id.
            logger.exception("report %s: recording the ServiceNow attempt failed", request.reference)
            return request


def incident_sync_to_servicenow(*, request: IncidentRequest) -> IncidentRequest:
    """One attempt at the report's ServiceNow incident, if it is due and nobody else is on it.

    Never raises for a ServiceNow failure: a retryable one schedules the next attempt (after commit),
    the last one or one retrying cannot fix marks the report failed for staff to see and retry.
    """
    if request.sync_state == SyncState.CREATED or not _claim_sync(request):
        return request
    return _attempt_sync(request)


def incident_sync_by_id(*, request_id: int) -> None:
    request = IncidentRequest.objects.filter(pk=request_id).first()
    if request is not None:
        incident_sync_to_servicenow(request=request)


def incident_retry_sync(*, request: IncidentRequest) -> IncidentRequest:
    """Staff's "try again now": a fresh round of attempts for a report not yet in ServiceNow."""
    if request.sync_state != SyncState.CREATED:
        IncidentRequest.objects.filter(pk=request.pk, sync_state=SyncState.FAILED).update(
            sync_state=SyncState.PENDING, sync_attempts=0
        )
        IncidentRequest.objects.filter(pk=request.pk, sync_state=SyncState.PENDING).update(next_sync_at=None)
        request.refresh_from_db()
    return incident_sync_to_servicenow(request=request)


def incident_sync_enqueue(*, request_id: int, countdown: float | None = None) -> bool:
    """Hand a sync attempt to Celery; a broker outage leaves it to the sweeper instead of failing."""
    from ..tasks import sync_incident

    return enqueue_or_leave_pending(
        sync_incident, request_id, countdown=countdown, what=f"ServiceNow sync of report {request_id}"
    )


def _claim_sync(request: IncidentRequest) -> bool:
    """Take the report for one attempt: pending, due, and not claimed by a live attempt elsewhere."""
    now = timezone.now()
    lease = timedelta(seconds=settings.SERVICENOW_SYNC_LEASE)
    claimed = (
        IncidentRequest.objects.filter(pk=request.pk, sync_state=SyncState.PENDING)
        .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
        .filter(Q(sync_claimed_at__isnull=True) | Q(sync_claimed_at__lt=now - lease))
        .update(sync_claimed_at=now)
    )
    if claimed:
        request.refresh_from_db()
    return claimed == 1


def _attempt_sync(request: IncidentRequest) -> IncidentRequest:
    request.sync_attempts += 1
    request.save(update_fields=["sync_attempts", "updated_at"])
    with traced("process", "customer_incidents", "sync_to_servicenow"), correlation(request.trace_id):
        annotate(reference=request.reference, attempt=request.sync_attempts)
        return _sync(request)


def _sync(request: IncidentRequest) -> IncidentRequest:
    try:
        # Any earlier create may have reached ServiceNow even if its answer never reached us.
        incident = service_incident_find(reference=request.reference) if request.servicenow_create_sent else None
        adopted = incident is not None
        if incident is None:
            request.servicenow_create_sent = True
            request.save(update_fields=["servicenow_create_sent", "updated_at"])
            incident = service_incident_create(
                reference=request.reference,
                short_description=request.short_description,
                description=_servicenow_description(request),
                impact=request.impact,
                urgency=request.urgency,
                category=SERVICENOW_CATEGORY.get(Category(request.category), "inquiry"),
                contact_type="web" if request.channel == Channel.WEB else "self-service",
                caller_email=request.email,
            )
    except ApplicationError as exc:
        return _sync_failed(request, exc)
    with transaction.atomic():
        _apply_incident(request, incident)
        request.sync_state = SyncState.CREATED
        request.sync_error = ""
        request.sync_claimed_at = None
        request.next_sync_at = None
        request.save()
        IncidentEvent.objects.create(
            request=request,
            kind="servicenow_adopted" if adopted else "servicenow_created",
            detail={"number": incident.number, "sys_id": incident.sys_id, "attempt": request.sync_attempts},
        )
        notification_queue(request=request)
    return request


def _sync_failed(request: IncidentRequest, exc: ApplicationError) -> IncidentRequest:
    retryable = isinstance(exc, DownstreamError) and exc.retryable
    retry = retryable and request.sync_attempts < settings.SERVICENOW_MAX_ATTEMPTS
    delay = (
        backoff_delay(
            attempt=request.sync_attempts,
            base=settings.SERVICENOW_RETRY_BASE,
            cap=settings.SERVICENOW_RETRY_CAP,
            retry_after=getattr(exc, "retry_after", None),
        )
        if retry
        else None
    )
    # The report survives, but this attempt did not make the incident: the call trace says so.
    annotate(outcome="retrying" if retry else "failed")
    with transaction.atomic():
        request.sync_state = SyncState.PENDING if retry else SyncState.FAILED
        request.sync_error = exc.message
        request.sync_claimed_at = None
        request.next_sync_at = timezone.now() + timedelta(seconds=delay) if delay is not None else None
        request.save()
        IncidentEvent.objects.create(
            request=request,
            kind="servicenow_failed",
            detail={"error": exc.message, "attempt": request.sync_attempts, "retry_in_seconds": delay},
        )
        if retry:
            transaction.on_commit(lambda: incident_sync_enqueue(request_id=request.pk, countdown=delay))
    logger.warning(
        "report %s: ServiceNow attempt %s failed (%s): %s",
        request.reference,
        request.sync_attempts,
        f"retry in {delay:.0f} s" if retry else "giving up",
        exc.message,
    )
    return request


@traced_operation("process", "customer_incidents", "refresh_state")
def incident_refresh_state(*, request: IncidentRequest) -> IncidentRequest:
    """Read the incident's state from ServiceNow; a change is recorded as an event. Only reads ServiceNow:
    a report not there yet is left to its scheduled retries (see `incident_retry_sync`)."""
    if request.sync_state != SyncState.CREATED:
        return request
    incident = service_incident_get(sys_id=request.servicenow_sys_id)
    before = request.servicenow_state_label
    with transaction.atomic():
        # Only the refresh that actually moves the stored state records the change, however many run at once.
        changed = (
            IncidentRequest.objects.filter(pk=request.pk)
            .exclude(servicenow_state=incident.state, servicenow_priority=incident.priority)
            .update(
                servicenow_state=incident.state,
                servicenow_state_label=incident.state_label,
                servicenow_priority=incident.priority,
                updated_at=timezone.now(),
            )
        )
        if changed:
            IncidentEvent.objects.create(
                request=request, kind="state_changed", detail={"from": before, "to": incident.state_label}
            )
    request.refresh_from_db()
    return request


def incident_status(*, reference: str, email: str) -> IncidentRequest:
    """A reporter's view: the reference and the email that reported it, the state fresh from ServiceNow."""
    request = IncidentRequest.objects.filter(reference=reference, email__iexact=email.strip()).first()
    if request is None:
        # The same answer for a wrong reference and a wrong email: nothing to learn by guessing.
        raise NotFoundError("No report matches that reference and email.")
    return incident_refreshed_if_possible(request=request)


def incident_refreshed_if_possible(*, request: IncidentRequest) -> IncidentRequest:
    """The report with its state fresh from ServiceNow, or as last known when ServiceNow is down."""
    try:
        return incident_refresh_state(request=request)
    except ApplicationError as exc:
        logger.warning("report %s: state not refreshed: %s", request.reference, exc.message)
        return request


class _AlreadyStored(Exception):
    """A concurrent request with the same intake key stored the report first."""

    def __init__(self, request: IncidentRequest) -> None:
        super().__init__(request.reference)
        self.request = request


def _store(**values: object) -> IncidentRequest:
    for _ in range(3):
        reference = new_reference()
        try:
            with transaction.atomic():
                request = IncidentRequest.objects.create(reference=reference, **values)
                IncidentEvent.objects.create(
                    request=request,
                    kind="accepted",
                    detail={
                        "channel": request.channel,
                        "customer_found_in": request.customer.get("found_in", []),
                        "customer_sources_unavailable": request.customer.get("unavailable", []),
                    },
                )
                return request
        except IntegrityError:
            if IncidentRequest.objects.filter(reference=reference).exists():
                continue  # a reference collision (50 random bits): draw another
            intake_key = values.get("intake_key")
            if intake_key and (concurrent := IncidentRequest.objects.filter(intake_key=intake_key).first()):
                raise _AlreadyStored(concurrent) from None
            raise
    raise NotAcceptedError("Could not allocate a reference; please try again.")


def _apply_incident(request: IncidentRequest, incident: ServiceIncident) -> None:
    request.servicenow_sys_id = incident.sys_id
    request.servicenow_number = incident.number
    request.servicenow_state = incident.state
    request.servicenow_state_label = incident.state_label
    request.servicenow_priority = incident.priority
    request.servicenow_url = incident.url


def _servicenow_description(request: IncidentRequest) -> str:
    lines = [request.description, "", f"Reported by {request.name} <{request.email}> via Incident Hub"]
    lines.append(f"Reference: {request.reference}")
    if request.order_number:
        lines.append(f"Order: {request.order_number}")
    if request.trace_id:
        lines.append(f"Trace id: {request.trace_id}")
    return "\n".join(lines)[:4000]
