"""Incident news: the listeners hear of a report accepted, its incident created, and each change applied, once."""

import pytest
from django.db import transaction

from process_apis.customer_incidents.services import incident_report
from process_apis.incident_events import news as news_module
from process_apis.incident_events.news import IncidentNews, NewsKind, incident_news_listen, incident_news_publish
from process_apis.incident_events.services import PUSH, incident_change_apply
from system_apis.servicenow.client import incident_change
from tests.reports import TEST_CONSUMER, stored_report
from tests.vendors import sf_contact

pytestmark = pytest.mark.django_db

SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"


@pytest.fixture
def heard(monkeypatch):
    heard: list[IncidentNews] = []
    monkeypatch.setattr(news_module, "_listeners", [*news_module._listeners])
    incident_news_listen(heard.append)
    return heard


def change(reference: str, mod_count: int, state: str, **fields: str):
    return incident_change(
        {
            "sys_id": SYS_ID,
            "number": "INC0010042",
            "state": state,
            "sys_mod_count": str(mod_count),
            "sys_updated_on": "2026-12-01 10:00:05",
            "correlation_id": reference,
            **fields,
        }
    )


@pytest.mark.django_db(databases=["default", "legacy"])
def test_a_report_is_news_when_accepted_and_again_when_its_incident_is_created(heard, vendors, legacy_customers):
    vendors.salesforce_knows(sf_contact("ada@example.com"))
    vendors.servicenow_creates("INC0010007")

    request = incident_report(
        email="ada@example.com",
        name="Ada",
        category="order",
        urgency=2,
        short_description="Parcel never came",
        description="Ordered on Monday.",
        consumer=TEST_CONSUMER,
    )

    assert [(news.kind, news.request.reference, news.event.kind) for news in heard] == [
        (NewsKind.ACCEPTED, request.reference, "accepted"),
        (NewsKind.CREATED, request.reference, "servicenow_created"),
    ]


def test_a_change_is_news_once_and_resolution_is_told_only_when_it_happens(heard):
    report = stored_report(
        sync_state="created", servicenow_sys_id=SYS_ID, servicenow_number="INC0010042", servicenow_state=1
    )

    incident_change_apply(change=change(report.reference, 2, "2"), path=PUSH)
    incident_change_apply(change=change(report.reference, 2, "2"), path=PUSH)
    incident_change_apply(change=change(report.reference, 3, "6", close_notes="Parcel found."), path=PUSH)
    incident_change_apply(change=change(report.reference, 4, "7"), path=PUSH)

    assert [(news.kind, dict(news.changes)["state"]["to"], news.resolved) for news in heard] == [
        (NewsKind.CHANGED, "In Progress", False),
        (NewsKind.CHANGED, "Resolved", True),
        (NewsKind.CHANGED, "Closed", False),
    ]
    assert heard[1].changes["close_notes"] == {"from": "", "to": "Parcel found."}
    assert heard[1].event.kind == "servicenow_changed"


@pytest.mark.django_db(transaction=True)
def test_news_is_published_only_inside_the_transaction_that_records_it(heard):
    report = stored_report()

    with pytest.raises(RuntimeError):
        incident_news_publish(IncidentNews(kind=NewsKind.ACCEPTED, request=report))
    with transaction.atomic():
        incident_news_publish(IncidentNews(kind=NewsKind.ACCEPTED, request=report))

    assert len(heard) == 1
