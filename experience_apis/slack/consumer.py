"""The Slack `/incident` command as the catalog and the Process APIs know it."""

from kernel.apis import CatalogApi
from process_apis.customer_incidents.types import Consumer

API = CatalogApi(
    name="slack_command",
    title="Slack /incident command and modal",
    version="v1",
    base_path="/api/slack/v1/",
    calls=("customer_incidents", "team_chat"),
)
CONSUMER = Consumer(name=API.name, label="Slack /incident", contact_type="chat")
