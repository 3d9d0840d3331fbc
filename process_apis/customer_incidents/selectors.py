from __future__ import annotations

import re

from django.db.models import QuerySet

from ..models import IncidentRequest, NotificationDelivery
from ..service_incidents.types import RESOLVED_STATES, priority_text
from .references import normalize_reference
from .types import ReportSummary

SERVICENOW_NUMBER = re.compile(r"[A-Z]{2,6}\d{4,12}")


def incident_get(*, reference: str, api_client_id: str | None = None) -> IncidentRequest | None:
    """One report by reference; with `api_client_id`, only if that client reported it."""
    reports = IncidentRequest.objects.filter(reference=reference)
    if api_client_id is not None:
        reports = reports.filter(api_client_id=api_client_id)
    return reports.first()


def incident_find(*, identifier: str) -> IncidentRequest | None:
    """One report by what a person types for it: its reference (any case, O for 0...) or its ServiceNow number."""
    typed = identifier.strip().upper()
    if SERVICENOW_NUMBER.fullmatch(typed):
        return IncidentRequest.objects.filter(servicenow_number=typed).first()
    reference = normalize_reference(typed)
    return incident_get(reference=reference) if reference else None


def incident_list(*, api_client_id: str | None = None) -> QuerySet[IncidentRequest]:
    reports = IncidentRequest.objects.prefetch_related("notifications__work").order_by("-created_at", "-id")
    if api_client_id is not None:
        reports = reports.filter(api_client_id=api_client_id)
    return reports


def incident_summary(request: IncidentRequest) -> ReportSummary:
    created = request.sync_state == IncidentRequest.SyncState.CREATED
    resolved = created and request.servicenow_state in RESOLVED_STATES
    customer = request.merged_customer
    notification = next((n for n in request.notifications.all() if n.kind == NotificationDelivery.NEW_INCIDENT), None)
    return ReportSummary(
        reference=request.reference,
        status=request.servicenow_state_label if created else "Accepted; the ServiceNow incident follows",
        accepted=True,
        servicenow_number=request.servicenow_number or None,
        servicenow_state=request.servicenow_state_label or None,
        state_as_of=request.servicenow_updated_at,
        resolution_code=(request.servicenow_close_code or None) if resolved else None,
        resolution_notes=(request.servicenow_close_notes or None) if resolved else None,
        priority=request.servicenow_priority,
        priority_label=priority_text(request.servicenow_priority),
        category=request.category,
        urgency=request.urgency,
        short_description=request.short_description,
        created_at=request.created_at,
        customer={
            "display_name": customer.display_name,
            "email": customer.email,
            "is_new": customer.is_new,
            "found_in": list(customer.found_in),
            "unavailable": list(customer.unavailable),
        },
        notification=notification.state if notification else None,
    )
