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

from django.db import DatabaseError, IntegrityError, transaction

from ..customers.services import customer_find
from ..errors import ApplicationError, NotAcceptedError, NotFoundError
from ..models import Category, Channel, Impact, IncidentEvent, IncidentRequest
from ..notifications.services import notification_queue
from ..service_incidents.services import (
    service_incident_create,
    service_incident_find,
    service_incident_get,
)
from ..service_incidents.types import ServiceIncident
from .references import new_reference

logger = logging.getLogger("process_apis.customer_incidents")

SyncState = IncidentRequest.SyncState
# A report concerns one customer; what breaks checkout or the site touches more of them.
IMPACT_BY_CATEGORY = {Category.WEBSITE: Impact.MEDIUM, Category.PAYMENT: Impact.MEDIUM}
# ServiceNow's own incident categories.
SERVICENOW_CATEGORY = {Category.WEBSITE: "software"}


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
) -> IncidentRequest:
    """Accept one report and take it as far as the systems of record allow right now."""
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
        )
    except DatabaseError as exc:
        logger.exception("report could not be stored")
        raise NotAcceptedError("Incident Hub cannot store reports right now; please try again in a minute.") from exc
    return incident_sync_to_servicenow(request=request)


def incident_sync_to_servicenow(*, request: IncidentRequest) -> IncidentRequest:
    """Make sure the report has its ServiceNow incident; never raises for a ServiceNow failure."""
    if request.sync_state == SyncState.CREATED:
        return request
    retrying = request.sync_state == SyncState.FAILED
    try:
        incident = service_incident_find(reference=request.reference) if retrying else None
        adopted = incident is not None
        incident = incident or service_incident_create(
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
        request.sync_state = SyncState.FAILED
        request.sync_error = exc.message
        request.save(update_fields=["sync_state", "sync_error", "updated_at"])
        IncidentEvent.objects.create(request=request, kind="servicenow_failed", detail={"error": exc.message})
        logger.warning("report %s: ServiceNow create failed: %s", request.reference, exc.message)
        return request
    with transaction.atomic():
        _apply_incident(request, incident)
        request.sync_state = SyncState.CREATED
        request.sync_error = ""
        request.save()
        IncidentEvent.objects.create(
            request=request,
            kind="servicenow_adopted" if adopted else "servicenow_created",
            detail={"number": incident.number, "sys_id": incident.sys_id},
        )
        notification_queue(request=request)
    return request


def incident_refresh_state(*, request: IncidentRequest) -> IncidentRequest:
    """Read the incident's state from ServiceNow; a change is recorded as an event."""
    if request.sync_state != SyncState.CREATED:
        return incident_sync_to_servicenow(request=request)
    incident = service_incident_get(sys_id=request.servicenow_sys_id)
    if incident.state != request.servicenow_state or incident.priority != request.servicenow_priority:
        with transaction.atomic():
            IncidentEvent.objects.create(
                request=request,
                kind="state_changed",
                detail={"from": request.servicenow_state_label, "to": incident.state_label},
            )
            _apply_incident(request, incident)
            request.save()
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


def _store(**values: object) -> IncidentRequest:
    for _ in range(3):
        try:
            with transaction.atomic():
                request = IncidentRequest.objects.create(reference=new_reference(), **values)
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
            continue  # a reference collision (50 random bits): draw another
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
