"""A customer's report in a real browser, over real HTTP, through every layer to the sandbox and the admin."""

import json
import re

import pytest
from django.contrib.auth import get_user_model

from process_apis.incident_events.services import incident_events_poll
from process_apis.models import IncidentRequest
from sandbox.mail.models import ReceivedMail
from sandbox.mail.server import smtp_server
from sandbox.servicenow.models import Incident as ServiceNowIncident
from sandbox.slack.models import Message as SlackMessage
from tests.browser.conftest import VIEWPORTS
from tests.mailserver import free_port

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])

REFERENCE = re.compile(r"IH-[0-9A-HJKMNP-TV-Z]{10}")
STAFF_PASSWORD = "browser-test-staff-password"


@pytest.fixture
def sandbox_mailbox(settings):
    """The sandbox's SMTP server on a port of its own; Incident Hub's mail goes there."""
    server = smtp_server(port=free_port())
    server.start()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{server.port}"
    yield
    server.stop()


def test_a_report_in_the_browser_reaches_servicenow_slack_the_status_page_and_the_admin(
    site, sandbox_mailbox, page, screenshot
):
    from playwright.sync_api import expect

    page.goto(f"{site}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Report an incident")
    screenshot("form")

    page.get_by_label("Email", exact=True).fill("grace.hopper@example.com")
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_label("Order number (optional)").fill("A-1042")
    page.get_by_label("What is it about?").select_option(label="Payment")
    page.get_by_label("High: I cannot go on").check()
    page.get_by_label("Short description", exact=True).fill("Card charged twice for one order")
    page.get_by_label("Description", exact=True).fill("Paid once at checkout, the bank shows two charges.")
    screenshot("filled-in")
    page.get_by_role("button", name="Send report").click()

    expect(page).to_have_url(re.compile(r"/reports/IH-[0-9A-Z]{10}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: we have your report")
    reference = page.locator("#reference").inner_text()
    number = page.locator("#servicenow-number").inner_text()
    assert REFERENCE.fullmatch(reference)
    assert re.fullmatch(r"INC00\d{5}", number)
    screenshot("confirmation")

    stored = IncidentRequest.objects.get(reference=reference)
    incident = ServiceNowIncident.objects.get(correlation_id=reference)
    [message] = SlackMessage.objects.all()
    assert (stored.consumer, stored.sync_state, stored.servicenow_number) == ("incident_form", "created", number)
    assert incident.number == number
    assert (incident.fields["short_description"], incident.fields["urgency"], incident.fields["impact"]) == (
        "Card charged twice for one order",
        "1",
        "2",
    )
    assert message.channel_id == "C0INCIDENTS"
    assert reference in json.dumps(message.blocks) and number in json.dumps(message.blocks)
    assert stored.notifications.get().state == "sent"
    [confirmation] = ReceivedMail.objects.all()
    assert (confirmation.to, confirmation.subject) == (
        ["grace.hopper@example.com"],
        f"We received your report {reference}",
    )

    page.get_by_role("link", name="Check the status of this report").click()
    expect(page.get_by_label("Reference", exact=True)).to_have_value(reference)
    page.get_by_label("Email you reported with").fill("Grace.Hopper@example.com")
    page.get_by_role("button", name="Look it up").click()
    result = page.get_by_role("region", name=f"Report {reference}")
    expect(result).to_contain_text(number)
    expect(result).to_contain_text("New")
    expect(result).to_contain_text("Card charged twice for one order")
    screenshot("status")

    get_user_model().objects.create_superuser("staff", "staff@example.com", STAFF_PASSWORD)
    page.goto(f"{site}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()
    page.goto(f"{site}/admin/process_apis/incidentrequest/?q={reference}")
    expect(page.locator("#result_list")).to_contain_text(reference)
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    screenshot("admin-search")

    # The support team resolves the incident in ServiceNow (the sandbox's page), and the beat's poll reads it. (Its
    # push is left out: the test database, SQLite in memory, takes one writer at a time and a push races the page.)
    customer_view = page.viewport_size
    page.set_viewport_size(VIEWPORTS["desktop"]["viewport"])  # the sandbox is a developer's page, for wide screens
    page.goto(f"{site}/sandbox/#servicenow")
    moves = page.get_by_role("row").filter(has_text=number)
    moves.get_by_label(f"Resolution code of {number}").select_option("Solution provided")
    moves.get_by_label(f"Resolution notes of {number}").fill("Refunded the second charge.")
    moves.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("row").filter(has_text=number)).to_contain_text("Resolved")
    screenshot("sandbox-resolved")
    assert incident_events_poll() == 1
    page.set_viewport_size(customer_view)

    page.goto(f"{site}/status")
    page.get_by_label("Reference", exact=True).fill(reference)
    page.get_by_label("Email you reported with").fill("grace.hopper@example.com")
    page.get_by_role("button", name="Look it up").click()
    result = page.get_by_role("region", name=f"Report {reference}")
    expect(result).to_contain_text("Resolved (as of")
    expect(result).to_contain_text("Solution provided: Refunded the second charge.")
    screenshot("status-resolved")

    page.goto(f"{site}/admin/process_apis/incidentrequest/{stored.pk}/change/")
    timeline = page.get_by_role("table").filter(has_text="servicenow_changed")
    expect(timeline).to_contain_text("Resolved")
    expect(timeline).to_contain_text("pull")
    screenshot("admin-timeline")

    # The team's Slack thread and the customer's mailbox, as the sandbox shows them.
    page.set_viewport_size(VIEWPORTS["desktop"]["viewport"])
    page.goto(f"{site}/sandbox/#slack")
    first = page.locator("#slack + p + table tbody tr:not(.slack-reply)").first
    expect(first).to_contain_text("(edited)")
    expect(first).to_contain_text("1 reply")
    expect(page.locator("tr.slack-reply")).to_contain_text(f"{number} is now *Resolved* (was New)")
    mailbox = page.locator("#mailbox + p + table")
    expect(mailbox.locator("tbody tr")).to_have_count(2)
    expect(mailbox).to_contain_text(f"Your report {reference} is resolved")
    expect(mailbox).to_contain_text("Refunded the second charge.")
    screenshot("slack-thread-and-mailbox")


def test_an_empty_report_shows_every_field_error_in_the_browser(site, page, screenshot):
    from playwright.sync_api import expect

    page.goto(f"{site}/")
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_role("button", name="Send report").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_count(5)
    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile(r"Enter your email address\.$"))
    expect(page.get_by_label("Description", exact=True)).to_have_accessible_description(
        "What happened, when, and what you expected instead. Up to 4000 characters. Describe what happened."
    )
    expect(page.get_by_label("Name", exact=True)).to_have_value("Grace Hopper")
    expect(page.get_by_label("Name", exact=True)).not_to_have_attribute("aria-invalid", "true")
    screenshot("errors")

    summary.get_by_role("link", name="Describe the problem in one line.").click()
    expect(page.get_by_label("Short description", exact=True)).to_be_focused()
    assert IncidentRequest.objects.count() == 0
    assert ServiceNowIncident.objects.count() == 0
