"""The support team files a report from Slack: the sandbox's Slack page sends `/incident`, shows the modal Incident
Hub opens, submits it, and the report is in the admin with its consumer."""

import re

import pytest
from django.contrib.auth import get_user_model

from process_apis.models import IncidentRequest

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])

STAFF_PASSWORD = "browser-test-staff-password"


@pytest.fixture
def slack_sandbox(site, settings):
    """The sandbox's Slack sends its commands and modals to this live server, and takes the answers that follow."""
    settings.SANDBOX_URL = f"{site}/sandbox"
    settings.SANDBOX_SLACK_COMMAND_URL = f"{site}/api/slack/v1/commands"
    settings.SANDBOX_SLACK_INTERACTIONS_URL = f"{site}/api/slack/v1/interactions"
    settings.SLACK_RESPONSE_URL_PREFIXES = [f"{site}/sandbox/slack/"]
    return site


def test_a_report_filed_through_the_slack_modal_is_in_the_admin_with_its_consumer(slack_sandbox, page, screenshot):
    from playwright.sync_api import expect

    site = slack_sandbox
    page.set_viewport_size({"width": 1280, "height": 900})  # the sandbox is a developer's page, for wide screens
    page.goto(f"{site}/sandbox/#slack-command")
    page.locator("#slack-command-user").fill("grace")
    page.locator("#slack-command-send").click()  # `/incident` alone: the report form

    modal = page.locator("section.slack-modal").first
    expect(modal).to_contain_text("Report an incident")
    view = modal.get_attribute("id").removeprefix("slack-view-")
    screenshot("slack-modal")
    page.locator(f"#slack-view-{view}-email").fill("grace.hopper@example.com")
    page.locator(f"#slack-view-{view}-name").fill("Grace Hopper")
    page.locator(f"#slack-view-{view}-category").select_option("payment")
    page.locator(f"#slack-view-{view}-urgency").select_option("1")
    page.locator(f"#slack-view-{view}-short_description").fill("Card charged twice")
    page.locator(f"#slack-view-{view}-description").fill("The bank shows two charges for one order.")
    page.locator(f"#slack-view-{view}-submit").click()

    filed = page.locator(f"#slack-view-{view}")
    expect(filed).to_contain_text("Incident reported")
    expect(filed).to_contain_text(re.compile(r"\*IH-[0-9A-Z]{10}\* is \*INC00\d{5}\* in ServiceNow"))
    screenshot("slack-filed")
    report = IncidentRequest.objects.get()
    assert (report.consumer_label, report.filed_by) == (
        "Slack /incident",
        f"@grace ({report.api_client_id.split(':')[-1]}) on Slack",
    )

    get_user_model().objects.create_superuser("staff", "staff@example.com", STAFF_PASSWORD)
    page.goto(f"{site}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site}/admin/process_apis/incidentrequest/?consumer_label=Slack+%2Fincident")
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(report.reference)
    expect(row).to_contain_text("Slack /incident")
    screenshot("admin")
