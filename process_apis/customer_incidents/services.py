"""Customer Incidents Process API: the orchestration of one report.

1. find the customer (legacy DB || Salesforce, degraded rather than failed);
2. store the request locally: from here on nothing may be lost;
3. create the ServiceNow incident (the reference is its correlation_id);
4. tell the listeners (`incident_events.news`): the Slack notice, sent by Celery after the commit, and the rest.
A ServiceNow failure leaves the report accepted and pending; it is retried by looking the incident up
by correlation_id first, so that an earlier attempt that did reach ServiceNow is adopted, not doubled.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from kernel.budget import time_budget
from kernel.db import update_then_insert
from kernel.errors import NotAcceptedError, NotFoundError
from kernel.models import Work
from kernel.tracing import annotate, traced_operation
from kernel.work import Commit, Kind, register, work_create_for, work_retry, work_run

from ..customers.services import customer_find
from ..incident_events.news import IncidentNews, NewsKind, incident_news_publish
from ..incident_events.services import incident_events_refresh
from ..models import Category, Impact, IncidentEvent, IncidentRequest
from ..service_incidents.services import (
    service_incident_create,
    service_incident_find,
)
from ..service_incidents.types import ServiceIncident
from .inputs import ReportInputError, report_input_checked
from .references import new_reference
from .types import Consumer

logger = logging.getLogger("process_apis.customer_incidents")

SyncState = IncidentRequest.SyncState
SERVICENOW_SYNC = "servicenow_sync"
# A report concerns one customer; what breaks checkout or the site touches more of them.
IMPACT_BY_CATEGORY = {Category.WEBSITE: Impact.MEDIUM, Category.PAYMENT: Impact.MEDIUM}
# ServiceNow's own incident categories.
SERVICENOW_CATEGORY = {Category.WEBSITE: "software"}


@traced_operation("process", "customer_incidents", "report")
@report_input_checked
def incident_report(
    *,
    email: str,
    category: str,
    urgency: int,
    short_description: str,
    consumer: Consumer,
    name: str = "",
    description: str = "",
    order_number: str = "",
    filed_by: str = "",
    api_client_id: str = "",
    trace_id: str = "",
    intake_key: str | None = None,
    budget: float | None = None,
) -> IncidentRequest:
    """Accept one report and take it as far as the systems of record allow right now.

    `consumer` says who brings it in; `filed_by` who filed it for the customer (a support agent), if not the
    customer; `api_client_id` who called the consumer. `intake_key` is the consumer's key for this report
    (scoped by the consumer, e.g. its client): a report already stored under it is returned as it is, so a retry
    never makes a second one, even when the first request died after storing the report and before its answer
    was recorded.

    All downstream calls together get REPORT_DOWNSTREAM_BUDGET seconds, below the web server's timeout, or
    `budget` when the consumer has less time (it can only be shorter): what does not fit is left to the
    background retries, and the report is answered as accepted and pending.
    """
    if budget is not None and budget <= 0:
        raise ReportInputError("The time budget must be a positive number of seconds.", extra={"budget": budget})
    if intake_key and (earlier := IncidentRequest.objects.filter(intake_key=intake_key).first()):
        return earlier
    seconds = settings.REPORT_DOWNSTREAM_BUDGET if budget is None else min(budget, settings.REPORT_DOWNSTREAM_BUDGET)
    with time_budget(seconds):
        customer = customer_find(email=email)
        category = Category(category)
        try:
            request = _store(
                email=customer.email,
                # Not given (a support agent filing by email): the name the customer's records know, if any.
                name=(name or "").strip()
                or " ".join(part for part in (customer.first_name, customer.last_name) if part),
                category=category,
                urgency=int(urgency),
                impact=int(IMPACT_BY_CATEGORY.get(category, Impact.LOW)),
                short_description=short_description.strip(),
                description=(description or "").strip(),
                order_number=(order_number or "").strip(),
                filed_by=(filed_by or "").strip(),
                consumer=consumer.name,
                consumer_label=consumer.label,
                contact_type=consumer.contact_type,
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
        # Stored with its work claimed, so no sweeper races this first attempt; it updates `request` in place.
        try:
            work_run(work=request.sync_work, request=request)
        except DatabaseError:
            # Accepted all the same: the sweeper takes the work up again once the claim expires, and
            # adopts any incident this attempt made through its correlation_id.
            logger.exception("report %s: recording the ServiceNow attempt failed", request.reference)
            request.refresh_from_db()
        return request


def incident_retry_sync(*, request: IncidentRequest) -> IncidentRequest:
    """Staff's "try again now": a fresh round of attempts for a report not yet in ServiceNow, the first one now."""
    if request.sync_state != SyncState.CREATED:
        IncidentRequest.objects.filter(pk=request.pk, sync_state=SyncState.FAILED).update(sync_state=SyncState.PENDING)
        work_retry(request.sync_work)
        work_run(work_id=request.sync_work_id)
        request.refresh_from_db()
    return request


def _sync_to_servicenow(work: Work, request: IncidentRequest | None = None) -> Commit:
    """One attempt at the report's ServiceNow incident (the work of kind SERVICENOW_SYNC)."""
    request = request or IncidentRequest.objects.get(sync_work=work)
    annotate(reference=request.reference)
    # Any earlier attempt's create may have reached ServiceNow even if its answer never reached us.
    earlier_create = work.attempts > 1 or request.servicenow_create_sent
    incident = service_incident_find(reference=request.reference) if earlier_create else None
    adopted = incident is not None
    if incident is None:
        incident = service_incident_create(
            reference=request.reference,
            short_description=request.short_description,
            description=_servicenow_description(request),
            impact=request.impact,
            urgency=request.urgency,
            category=SERVICENOW_CATEGORY.get(Category(request.category), "inquiry"),
            contact_type=request.contact_type,
            caller_email=request.email,
        )

    def record_created() -> None:
        _apply_incident(request, incident)
        request.sync_state, request.updated_at = SyncState.CREATED, timezone.now()
        event = IncidentEvent(
            request=request,
            kind="servicenow_adopted" if adopted else "servicenow_created",
            detail={"number": incident.number, "sys_id": incident.sys_id, "attempt": work.attempts},
        )
        # The incident recorded and its event on the timeline, in one statement where the database can.
        recorded = {name: getattr(request, name) for name in (*INCIDENT_FIELDS, "sync_state", "updated_at")}
        update_then_insert(IncidentRequest, {"pk": request.pk}, recorded, event, "request")
        incident_news_publish(IncidentNews(kind=NewsKind.CREATED, request=request, event=event))

    return record_created


def _sync_failed_for_good(work: Work, request: IncidentRequest | None = None) -> None:
    request = request or IncidentRequest.objects.get(sync_work=work)
    # A later round of attempts (staff's "try again") starts its count afresh: this says to look first.
    request.sync_state, request.servicenow_create_sent = SyncState.FAILED, True
    request.save(update_fields=["sync_state", "servicenow_create_sent", "updated_at"])
    IncidentEvent.objects.create(
        request=request, kind="servicenow_failed", detail={"error": work.last_error, "attempt": work.attempts}
    )


def incident_refresh_state(*, request: IncidentRequest) -> IncidentRequest:
    """Staff's "refresh from ServiceNow": its state now, applied like any change that comes in (recorded once, on the
    timeline, told to the listeners). Only reads ServiceNow: a report not there yet is left to its scheduled retries
    (see `incident_retry_sync`)."""
    if request.sync_state == SyncState.CREATED:
        incident_events_refresh(request=request)
        request.refresh_from_db()
    return request


def incident_status(*, reference: str, email: str) -> IncidentRequest:
    """A reporter's view: the reference and the email that reported it, the state as ServiceNow last told us
    (its events keep it current: a read never calls ServiceNow)."""
    request = IncidentRequest.objects.filter(reference=reference, email__iexact=email.strip()).first()
    if request is None:
        # The same answer for a wrong reference and a wrong email: nothing to learn by guessing.
        raise NotFoundError("No report matches that reference and email.")
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
                request = IncidentRequest(reference=reference, **values)
                work_create_for(
                    request,
                    "sync_work",
                    kind=SERVICENOW_SYNC,
                    subject=reference,
                    trace_id=request.trace_id,
                    claimed=True,
                )
                request.notifications_known([])
                event = IncidentEvent.objects.create(
                    request=request,
                    kind="accepted",
                    detail={
                        "consumer": request.consumer,
                        "customer_found_in": request.customer.get("found_in", []),
                        "customer_sources_unavailable": request.customer.get("unavailable", []),
                    },
                )
                incident_news_publish(IncidentNews(kind=NewsKind.ACCEPTED, request=request, event=event))
                return request
        except IntegrityError:
            if IncidentRequest.objects.filter(reference=reference).exists():
                continue  # a reference collision (50 random bits): draw another
            intake_key = values.get("intake_key")
            if intake_key and (concurrent := IncidentRequest.objects.filter(intake_key=intake_key).first()):
                raise _AlreadyStored(concurrent) from None
            raise
    raise NotAcceptedError("Could not allocate a reference; please try again.")


INCIDENT_FIELDS = [
    "servicenow_sys_id",
    "servicenow_number",
    "servicenow_state",
    "servicenow_state_label",
    "servicenow_priority",
    "servicenow_url",
    "servicenow_mod_count",
    "servicenow_updated_at",
]


def _apply_incident(request: IncidentRequest, incident: ServiceIncident) -> None:
    request.servicenow_sys_id = incident.sys_id
    request.servicenow_number = incident.number
    request.servicenow_state = incident.state
    request.servicenow_state_label = incident.state_label
    request.servicenow_priority = incident.priority
    request.servicenow_url = incident.url
    # The incident as ServiceNow answered it: its own insert event (sys_mod_count 0) is then one already applied.
    request.servicenow_mod_count = incident.mod_count
    request.servicenow_updated_at = incident.updated_at


def _servicenow_description(request: IncidentRequest) -> str:
    lines = [request.description or request.short_description, ""]
    reporter = f"{request.name} <{request.email}>" if request.name else request.email
    lines.append(f"Reported by {reporter} via Incident Hub ({request.consumer_label})")
    if request.filed_by:
        lines.append(f"Filed on the customer's behalf by {request.filed_by}")
    lines.append(f"Reference: {request.reference}")
    if request.order_number:
        lines.append(f"Order: {request.order_number}")
    if request.trace_id:
        lines.append(f"Trace id: {request.trace_id}")
    return "\n".join(lines)[:4000]


register(
    Kind(
        name=SERVICENOW_SYNC,
        task_name="process_apis.sync_incident",
        run=_sync_to_servicenow,
        span=("process", "customer_incidents", "sync_to_servicenow"),
        on_failed=_sync_failed_for_good,
        max_attempts_setting="SERVICENOW_MAX_ATTEMPTS",
        retry_base_setting="SERVICENOW_RETRY_BASE",
        retry_cap_setting="SERVICENOW_RETRY_CAP",
        lease_setting="SERVICENOW_SYNC_LEASE",
    )
)
