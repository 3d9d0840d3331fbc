"""The Experience APIs in the API catalog (see `kernel.apis` for what the fields mean)."""

from kernel.apis import CatalogApi

from .rest import consumer as rest
from .slack import consumer as slack
from .web import consumer as web

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
    rest.API,
    slack.API,
    CatalogApi(
        name="servicenow_events_v1",
        title="Incident events from ServiceNow (push)",
        version="v1",
        base_path="/api/events/servicenow/v1/",
        openapi_tag="Events: ServiceNow",
        calls=("incident_events",),
    ),
    web.API,
    CatalogApi(
        name="oauth",
        title="OAuth 2.0 token endpoint",
        version="",
        base_path="/o/",
        openapi_tag="OAuth",
    ),
)
