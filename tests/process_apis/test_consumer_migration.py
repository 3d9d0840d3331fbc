"""Upgrading names the consumer of every report that came through one of the two channels of before."""

import pytest

from tests.migrating import migrate

BEFORE = [("process_apis", "0011_customer_mail")]
AFTER = [("process_apis", "0012_open_consumers")]


pytestmark = pytest.mark.usefixtures("latest_schema_after")


@pytest.mark.django_db(transaction=True)
def test_web_rest_and_staff_reports_get_their_consumer_label_and_contact_type():
    old = migrate(BEFORE)
    Work = old.get_model("kernel", "Work")
    Report = old.get_model("process_apis", "IncidentRequest")
    common = {"email": "a@example.com", "name": "A", "category": "order", "urgency": 2, "impact": 3}
    for number, (channel, client) in enumerate([("web", ""), ("api", "partner-app"), ("api", "staff:admin")]):
        work = Work.objects.create(kind="servicenow_sync", subject=f"IH-000000000{number}")
        Report.objects.create(
            reference=f"IH-000000000{number}",
            channel=channel,
            api_client_id=client,
            sync_work=work,
            short_description="s",
            description="d",
            **common,
        )

    new = migrate(AFTER)

    stored = new.get_model("process_apis", "IncidentRequest").objects.order_by("reference")
    assert [(r.consumer, r.consumer_label, r.contact_type, r.filed_by) for r in stored] == [
        ("incident_form", "Web form", "web", ""),
        ("incidents_v1", "REST API", "self-service", ""),
        ("process_rest", "Process API (REST)", "self-service", ""),
    ]
