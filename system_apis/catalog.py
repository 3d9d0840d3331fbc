"""The System APIs in the API catalog: one per system of record, and the systems of record themselves."""

from kernel.apis import CatalogApi, SystemOfRecord

SYSTEMS_OF_RECORD = (
    SystemOfRecord("servicenow", "ServiceNow"),
    SystemOfRecord("salesforce", "Salesforce"),
    SystemOfRecord("slack", "Slack"),
    SystemOfRecord("legacy_db", "Legacy customer DB"),
    SystemOfRecord("email", "E-mail (SMTP)"),
)

APIS = (
    CatalogApi(
        name="servicenow",
        title="ServiceNow incidents",
        version="v1",
        base_path="/api/system/servicenow/v1/",
        # Its operations carry no tag of their own yet, so the schema files them under drf-spectacular's default.
        openapi_tag="System: ServiceNow",
        calls=("servicenow",),
    ),
    CatalogApi(
        name="salesforce",
        title="Salesforce contacts",
        version="v1",
        base_path="/api/system/salesforce/v1/",
        openapi_tag="System: Salesforce",
        calls=("salesforce",),
    ),
    CatalogApi(
        name="slack",
        title="Slack messages",
        version="v1",
        base_path="/api/system/slack/v1/",
        openapi_tag="System: Slack",
        calls=("slack",),
    ),
    CatalogApi(
        name="legacy_db",
        title="Legacy customers",
        version="v1",
        base_path="/api/system/legacy-customers/v1/",
        openapi_tag="System: legacy customers",
        calls=("legacy_db",),
    ),
    CatalogApi(
        name="email",
        title="E-mail (SMTP)",
        version="",
        base_path="",
        calls=("email",),
    ),
    CatalogApi(
        name="webhooks",
        # Its receivers are the clients' own servers, not a system of record of ours (nor a circuit: one client's
        # receiver failing says nothing of another's).
        title="Client webhooks (Standard Webhooks POSTs to clients' receivers)",
        version="",
        base_path="",
    ),
)
