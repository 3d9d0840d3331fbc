"""The Experience APIs in the API catalog (see `kernel.apis` for what the fields mean)."""

from kernel.apis import CatalogApi

APIS = (
    # Before incidents_v1, whose base path takes in its own: a request is the first API's that serves it.
    CatalogApi(
        name="webhooks_v1",
        title="Client webhooks (REST)",
        version="v1",
        base_path="/api/v1/webhooks",
        openapi_tag="v1: webhooks",
        calls=("client_webhooks",),
    ),
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
