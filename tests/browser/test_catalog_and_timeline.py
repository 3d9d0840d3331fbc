"""What staff see of a report's journey: the API catalog with the trace's figures, and the report's call trace."""

import pytest
from django.contrib.auth import get_user_model

from operations.models import TracedCall
from process_apis.models import IncidentRequest

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])

STAFF_PASSWORD = "browser-test-staff-password"


def report_through_the_form(page, site: str) -> str:
    from playwright.sync_api import expect

    page.goto(f"{site}/")
    page.get_by_label("Email", exact=True).fill("ada.lovelace@example.com")
    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_label("What is it about?").select_option(label="Order or delivery")
    page.get_by_label("Medium: it gets in my way").check()
    page.get_by_label("Short description", exact=True).fill("Parcel never arrived")
    page.get_by_label("Description", exact=True).fill("Ordered on the 3rd, still nothing.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: we have your report")
    return page.locator("#reference").inner_text()


def log_in_as_staff(page, site: str) -> None:
    from playwright.sync_api import expect

    get_user_model().objects.create_superuser("staff", "staff@example.com", STAFF_PASSWORD)
    page.goto(f"{site}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()


def test_staff_follow_a_report_in_the_api_catalog_and_its_call_trace(site, page, screenshot):
    from playwright.sync_api import expect

    reference = report_through_the_form(page, site)
    log_in_as_staff(page, site)
    report_calls = TracedCall.objects.filter(reference=reference)

    blocked = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{site}/catalog/")
    expect(page.get_by_role("heading", level=1)).to_have_text("API catalog")
    # One form flow: the form, its POST and the confirmation; the report and its ServiceNow sync; a token and a
    # contact lookup in Salesforce; one call to each other system; two tasks, the Slack notice and the customer's
    # confirmation e-mail.
    for key, count in (
        ("experience-incident_form", 3),
        ("process-celery", 2),
        ("process-customer_mail", 1),
        ("system-email", 1),
        ("process-customer_incidents", 2),
        ("process-customers", 1),
        ("system-salesforce", 2),
        ("system-legacy_db", 1),
        ("system-servicenow", 1),
        ("system-slack", 1),
    ):
        row = page.locator(f"#{key}")
        expect(row.locator(".call-count")).to_have_text(str(count))
        expect(row.locator(".error-rate")).to_have_text("0.0% (0)")
        figures = f"{count} call{'' if count == 1 else 's'} · 0.0% errors"
        expect(page.locator(f"#node-{key} text.figures")).to_have_text(figures)
    expect(page.locator("#experience-oauth .call-count")).to_have_text("0")
    expect(page.locator("#node-systems-of-record-servicenow text.figures")).to_have_text("circuit closed")
    expect(page.locator("#application-network path.edge")).to_have_count(27)
    screenshot("catalog")
    assert blocked == [], "the catalog needs nothing the Content Security Policy refuses"

    stored = IncidentRequest.objects.get(reference=reference)
    page.goto(f"{site}/admin/process_apis/incidentrequest/{stored.pk}/change/")
    trace = page.locator("#call-trace")
    expect(trace.get_by_role("heading", name="Call trace")).to_be_visible()
    expect(trace.locator("tbody tr")).to_have_count(report_calls.count())
    for call in (
        "incident_form.POST report",
        "customer_incidents.report",
        "customers.find",
        "legacy_db.find_by_email",
        "salesforce.find_contacts_by_email",
        "customer_incidents.sync_to_servicenow",
        "service_incidents.create",
        "servicenow.create_incident",
        "notifications.deliver",
        "slack.post_message",
    ):
        expect(trace.locator("tbody tr", has_text=call)).to_have_count(1)
    expect(trace.locator("tbody tr", has_text="slack.post_message")).to_contain_text("200")
    expect(trace.locator("code.correlation-id")).to_have_text(stored.trace_id)
    # On a desktop the whole table, timeline included, fits its module; on a phone it scrolls inside it.
    scroll = trace.locator(".trace-scroll")
    if page.viewport_size["width"] >= 1024:
        assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth"), "the timeline is cut off"
    trace.scroll_into_view_if_needed()
    screenshot("call-trace")
