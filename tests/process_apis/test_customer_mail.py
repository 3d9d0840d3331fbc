"""The customer's e-mail: a confirmation on acceptance, word of the resolution once, and an SMTP outage that delays
the mail and never the report."""

from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.utils import timezone
from django.utils.html import escape

from kernel.models import Work
from kernel.work import work_enqueue
from process_apis.customer_incidents.services import incident_report
from process_apis.customer_mail.services import status_page_url
from process_apis.incident_events.services import incident_event_receive
from process_apis.models import CustomerMail, IncidentRequest
from tests.experience.test_idempotency import api_as
from tests.mailserver import free_port, mail_server
from tests.reports import TEST_CONSUMER, stored_report
from tests.vendors import sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"
REPORT = {
    "email": "ada.lovelace@example.com",
    "name": "Ada <Lovelace>",
    "category": "order",
    "urgency": 2,
    "short_description": "Parcel <b>never</b> arrived & lost",
    "description": "Ordered on the 3rd.",
}


def pushed(reference: str, mod_count: int, state: str, **fields: str) -> dict[str, str]:
    """An incident record as ServiceNow's business rule pushes it."""
    return {
        "sys_id": SYS_ID,
        "number": "INC0010042",
        "state": state,
        "sys_mod_count": str(mod_count),
        "sys_updated_on": f"2026-12-01 10:00:0{mod_count}",
        "correlation_id": reference,
        **fields,
    }


@pytest.fixture
def reported(vendors, legacy_customers, django_capture_on_commit_callbacks):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates("INC0010007")
    vendors.slack_accepts()

    def report() -> IncidentRequest:
        with django_capture_on_commit_callbacks(execute=True):
            return incident_report(**REPORT, consumer=TEST_CONSUMER)

    return report


def test_an_accepted_report_sends_the_customer_a_confirmation_in_text_and_html(reported):
    request = reported()

    [sent] = outbox.outbox
    assert sent.to == ["ada.lovelace@example.com"]
    assert sent.from_email == "Incident Hub <incidents@localhost>"
    assert sent.subject == f"We received your report {request.reference}"
    link = f"http://testserver/status?reference={request.reference}"
    assert status_page_url(request.reference) == link
    assert f"Reference: {request.reference}\n" in sent.body
    assert "Summary: Parcel <b>never</b> arrived & lost\n" in sent.body
    assert "Hello Ada <Lovelace>," in sent.body
    assert link in sent.body
    [(html, mimetype)] = sent.alternatives
    assert mimetype == "text/html"
    assert "<td>Parcel &lt;b&gt;never&lt;/b&gt; arrived &amp; lost</td>" in html
    assert "<p>Hello Ada &lt;Lovelace&gt;,</p>" in html
    assert f'<a href="http://testserver/status?reference={request.reference}">' in html
    assert "<b>never</b>" not in html
    mail = request.mails.get()
    assert (mail.kind, mail.to, mail.state, mail.work.attempts) == (
        "confirmation",
        "ada.lovelace@example.com",
        "sent",
        1,
    )
    assert sent.extra_headers["Message-ID"] == mail.message_id
    assert mail.message_id.endswith("@localhost>")
    [event] = request.events.filter(kind="email_sent")
    assert event.detail == {"mail": "confirmation", "message_id": mail.message_id}


def test_the_resolution_is_mailed_once_though_pushes_come_twice_and_out_of_order(django_capture_on_commit_callbacks):
    report = stored_report(
        sync_state="created", servicenow_sys_id=SYS_ID, servicenow_number="INC0010042", servicenow_state=2
    )
    resolved = pushed(report.reference, 3, "6", close_code="Solution provided", close_notes="Found at the depot.")

    with django_capture_on_commit_callbacks(execute=True):
        incident_event_receive(record=resolved)
        incident_event_receive(record=resolved)  # the business rule sent it twice
        incident_event_receive(record=pushed(report.reference, 2, "2"))  # an older change, late
    with django_capture_on_commit_callbacks(execute=True):
        incident_event_receive(record=pushed(report.reference, 4, "7"))  # closed: resolved already

    [sent] = outbox.outbox
    assert sent.subject == f"Your report {report.reference} is resolved"
    assert "Resolution: Solution provided\n\nFound at the depot.\n" in sent.body
    assert "Incident number: INC0010042" in sent.body
    [(html, _)] = sent.alternatives
    assert "<p>Found at the depot.</p>" in html
    [mail] = report.mails.all()
    assert (mail.kind, mail.state) == ("resolution", "sent")
    assert list(report.events.filter(kind="email_sent").values_list("detail__mail", flat=True)) == ["resolution"]


def test_an_incident_closed_before_its_resolution_arrives_is_mailed_once(django_capture_on_commit_callbacks):
    report = stored_report(sync_state="created", servicenow_sys_id=SYS_ID, servicenow_state=2)

    with django_capture_on_commit_callbacks(execute=True):
        incident_event_receive(record=pushed(report.reference, 4, "7", close_notes="Refunded."))
        incident_event_receive(record=pushed(report.reference, 3, "6", close_notes="Found."))

    [sent] = outbox.outbox
    assert "Refunded." in sent.body and "Found." not in sent.body
    assert report.mails.get().kind == "resolution"


def test_reopened_and_resolved_again_the_customer_is_not_told_twice(django_capture_on_commit_callbacks):
    report = stored_report(sync_state="created", servicenow_sys_id=SYS_ID, servicenow_state=2)

    with django_capture_on_commit_callbacks(execute=True):
        incident_event_receive(record=pushed(report.reference, 3, "6"))
        incident_event_receive(record=pushed(report.reference, 4, "2"))
        incident_event_receive(record=pushed(report.reference, 5, "6"))

    assert len(outbox.outbox) == 1
    assert report.mails.count() == 1
    assert report.events.filter(kind="servicenow_changed").count() == 3


def test_smtp_down_delays_the_confirmation_which_is_delivered_later_once(reported, settings):
    port = free_port()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{port}"
    settings.EMAIL_RETRY_BASE = settings.EMAIL_RETRY_CAP = 60.0

    request = reported()

    assert request.sync_state == "created"
    mail = request.mails.get()
    assert (mail.state, mail.work.attempts, mail.sent_at) == ("retrying", 1, None)
    assert "refused the connection" in mail.work.last_error
    assert mail.work.next_attempt_at - timezone.now() > timedelta(seconds=25)
    assert not request.events.filter(kind__startswith="email").exists()

    with mail_server(port=port) as server:
        work_enqueue(mail.work)  # not due yet: nothing is sent
        assert server.received == []
        Work.objects.filter(pk=mail.work_id).update(next_attempt_at=timezone.now())
        work_enqueue(mail.work)
        work_enqueue(mail.work)  # a duplicate task finds it done

    [received] = server.received
    assert received.message["Subject"] == f"We received your report {request.reference}"
    assert received.message["Message-ID"] == mail.message_id
    mail.refresh_from_db()
    assert (mail.state, mail.work.attempts) == ("sent", 2)
    assert list(request.events.filter(kind__startswith="email").values_list("kind", flat=True)) == ["email_sent"]


def test_a_refused_recipient_fails_the_mail_for_good_and_says_so_on_the_timeline(reported, settings):
    with mail_server() as server:
        server.refuse_rcpt = "550 5.1.1 No such user"
        settings.EMAIL_URL = server.url
        request = reported()

    mail = request.mails.get()
    assert (mail.state, mail.work.attempts) == ("failed", 1)
    [event] = request.events.filter(kind="email_failed")
    assert event.detail["mail"] == "confirmation" and "refused the recipient (550)" in event.detail["error"]


@pytest.mark.django_db(transaction=True, databases=["default", "legacy"])
def test_the_report_is_accepted_when_smtp_is_down(vendors, legacy_customers, settings):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates("INC0010007")
    vendors.slack_accepts()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    settings.EMAIL_RETRY_BASE = settings.EMAIL_RETRY_CAP = 60.0

    response = api_as("partner-app").post("/api/v1/incidents", REPORT, content_type="application/json")

    assert response.status_code == 201, response.content
    mail = CustomerMail.objects.get(request__reference=response.json()["reference"])
    assert (mail.state, mail.work.attempts) == ("retrying", 1)


def test_the_reports_admin_page_shows_its_mails_with_state_attempts_and_last_error(reported, settings, admin_client):
    settings.EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"
    settings.EMAIL_RETRY_BASE = settings.EMAIL_RETRY_CAP = 60.0
    request = reported()

    page = admin_client.get(f"/admin/process_apis/incidentrequest/{request.pk}/change/").content.decode()

    mail = request.mails.get()
    assert "Customer e-mails" in page
    assert '<div class="readonly">Waiting to retry</div>' in page
    assert f'<div class="readonly">{escape(mail.message_id)}</div>' in page
    assert "email.send: the SMTP server refused the connection" in page
