"""Service Incidents Process API: ServiceNow incidents, passed through with our own vocabulary."""

from __future__ import annotations

from kernel.tracing import traced_operation
from system_apis.servicenow.client import ServiceNowClient
from system_apis.servicenow.types import Impact, Incident, IncidentState, IncidentUpdate, NewIncident, Urgency

from ..errors import downstream_errors
from .types import ServiceIncident


@traced_operation("process", "service_incidents", "create")
def service_incident_create(
    *,
    reference: str,
    short_description: str,
    description: str,
    impact: int,
    urgency: int,
    category: str = "inquiry",
    contact_type: str = "web",
    caller_email: str | None = None,
) -> ServiceIncident:
    """Create the incident; the reference goes into `correlation_id` so a retry can find it again."""
    new = NewIncident(
        short_description=short_description,
        description=description,
        impact=Impact(impact),
        urgency=Urgency(urgency),
        correlation_id=reference,
        category=category,
        contact_type=contact_type,
        caller_email=caller_email,
    )
    with downstream_errors("create the ServiceNow incident"):
        return _to_service_incident(ServiceNowClient.from_settings().create_incident(new))


@traced_operation("process", "service_incidents", "get")
def service_incident_get(*, sys_id: str) -> ServiceIncident:
    with downstream_errors("read the ServiceNow incident"):
        return _to_service_incident(ServiceNowClient.from_settings().get_incident(sys_id))


@traced_operation("process", "service_incidents", "find")
def service_incident_find(*, reference: str) -> ServiceIncident | None:
    with downstream_errors("look the ServiceNow incident up"):
        incident = ServiceNowClient.from_settings().find_by_correlation_id(reference)
    return _to_service_incident(incident) if incident else None


@traced_operation("process", "service_incidents", "update")
def service_incident_update(
    *,
    sys_id: str,
    state: int | None = None,
    impact: int | None = None,
    urgency: int | None = None,
    work_notes: str | None = None,
) -> ServiceIncident:
    changes = IncidentUpdate(
        state=IncidentState(state) if state is not None else None,
        impact=Impact(impact) if impact is not None else None,
        urgency=Urgency(urgency) if urgency is not None else None,
        work_notes=work_notes,
    )
    with downstream_errors("update the ServiceNow incident"):
        return _to_service_incident(ServiceNowClient.from_settings().update_incident(sys_id, changes))


def _to_service_incident(incident: Incident) -> ServiceIncident:
    return ServiceIncident(
        sys_id=incident.sys_id,
        number=incident.number,
        state=int(incident.state),
        state_label=incident.state.label,
        impact=int(incident.impact),
        urgency=int(incident.urgency),
        priority=incident.priority,
        short_description=incident.short_description,
        reference=incident.correlation_id,
        url=incident.url,
        opened_at=incident.opened_at,
        updated_at=incident.updated_at,
        mod_count=incident.mod_count,
    )
