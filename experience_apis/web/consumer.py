"""The browser Experience API as the catalog and the Process APIs know it."""

from kernel.apis import CatalogApi
from process_apis.customer_incidents.types import Consumer

API = CatalogApi(
    name="incident_form",
    title="Incident form and status page",
    version="",
    base_path="/",
    url_namespace="web",
    calls=("customer_incidents",),
)
CONSUMER = Consumer(name=API.name, label="Web form", contact_type="web")
