"""The Process APIs in the API catalog (see `kernel.apis` for what the fields mean)."""

from kernel.apis import CatalogApi
from kernel.tracing import TASK_API

APIS = (
    CatalogApi(
        name=TASK_API,
        title="Background tasks (Celery worker)",
        version="",
        base_path="",
        calls=("customer_incidents", "notifications", "incident_events", "customer_mail", "client_webhooks"),
    ),
    CatalogApi(
        name="customer_incidents",
        title="Customer incidents",
        version="v1",
        base_path="/api/process/customer-incidents/v1/",
        openapi_tag="Process: customer incidents",
        calls=("customers", "service_incidents", "notifications"),
    ),
    CatalogApi(
        name="incident_events",
        title="Incident events (ServiceNow changes applied, pushed or polled)",
        version="",
        base_path="",
        calls=("servicenow",),
    ),
    CatalogApi(
        name="customer_mail",
        title="The customer's e-mail (report accepted, incident resolved)",
        version="",
        base_path="",
        calls=("email",),
    ),
    CatalogApi(
        name="team_chat",
        title="Team chat (a form, and later answers, for one person in Slack)",
        version="",
        base_path="",
        calls=("slack",),
    ),
    CatalogApi(
        name="customers",
        title="Customers (merged view)",
        version="v1",
        base_path="/api/process/customers/v1/",
        openapi_tag="Process: customers",
        calls=("legacy_db", "salesforce"),
    ),
    CatalogApi(
        name="service_incidents",
        title="Service incidents",
        version="v1",
        base_path="/api/process/service-incidents/v1/",
        openapi_tag="Process: service incidents",
        calls=("servicenow",),
    ),
    CatalogApi(
        name="client_webhooks",
        title="Client webhooks (signed messages of a client's reports)",
        version="",
        base_path="",
        calls=("webhooks",),
    ),
    CatalogApi(
        name="notifications",
        title="Notifications",
        version="v1",
        base_path="/api/process/notifications/v1/",
        openapi_tag="Process: notifications",
        calls=("slack",),
    ),
)
