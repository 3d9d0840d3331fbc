"""The Experience APIs in the API catalog (see `kernel.apis` for what the fields mean)."""

from kernel.apis import CatalogApi

APIS = (
    CatalogApi(
        name="incidents_v1",
        title="Incidents for clients (REST)",
        version="v1",
        base_path="/api/v1/",
        openapi_tag="v1: incidents",
        calls=("customer_incidents",),
    ),
    CatalogApi(
        name="servicenow_events_v1",
        title="Incident events from ServiceNow (push)",
        version="v1",
        base_path="/api/events/servicenow/v1/",
        openapi_tag="Events: ServiceNow",
        calls=("incident_events",),
    ),
    CatalogApi(
        name="incident_form",
        title="Incident form and status page",
        version="",
        base_path="/",
        url_namespace="web",
        calls=("customer_incidents",),
    ),
    CatalogApi(
        name="oauth",
        title="OAuth 2.0 token endpoint",
        version="",
        base_path="/o/",
        openapi_tag="OAuth",
    ),
)
