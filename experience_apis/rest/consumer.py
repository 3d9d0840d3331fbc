"""REST v1 for clients as the catalog and the Process APIs know it."""

from kernel.apis import CatalogApi
from process_apis.customer_incidents.types import Consumer

API = CatalogApi(
    name="incidents_v1",
    title="Incidents for clients (REST)",
    version="v1",
    base_path="/api/v1/",
    openapi_tag="v1: incidents",
    calls=("customer_incidents",),
)
CONSUMER = Consumer(name=API.name, label="REST API")
