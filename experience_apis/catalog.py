"""The Experience APIs in the API catalog (see `system_apis.catalog` for what the fields mean)."""

from process_apis.catalog import CatalogApi

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
        name="incident_form",
        title="Incident form and status page",
        version="",
        base_path="/",
        calls=("customer_incidents",),
    ),
    CatalogApi(
        name="oauth",
        title="OAuth 2.0 token endpoint",
        version="",
        base_path="/o/",
    ),
)
