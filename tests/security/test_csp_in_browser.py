"""The Content Security Policy in a real browser: nothing on the form, the admin or the API docs is blocked."""

import re

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import chromium, page, screenshot, viewport  # noqa: F401 (fixtures)

THIRD_PARTY = re.compile(r"'https://(fonts\.googleapis\.com|cdn\.redoc\.ly)/")

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "legacy"])]


@pytest.fixture
def violations(page) -> list[str]:  # noqa: F811
    """What the browser refused because of the policy (Chromium reports it on the console)."""
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    return refused


@pytest.mark.parametrize("viewport", ["desktop"], indirect=True)
def test_form_admin_swagger_ui_and_redoc_work_under_the_policy(live_server, page, violations, screenshot):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("button", name="Send report")).to_be_visible()
    # The stylesheet applies: the header is the brand colour, the honeypot is off screen.
    assert page.locator("header.site").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 78, 140)"
    assert page.locator("#id_website").evaluate("e => e.getBoundingClientRect().left") < -1000
    screenshot("form")

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Incident Hub APIs")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    screenshot("swagger-ui")

    page.goto(f"{live_server.url}/api/redoc/")
    expect(page.locator("h1").first).to_contain_text("Incident Hub APIs")
    screenshot("redoc")

    get_user_model().objects.create_superuser("csp-staff", "csp@example.com", "csp-staff-password-1")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/experience_apis/apiclient/add/")
    page.get_by_label("Username").fill("csp-staff")
    page.get_by_label("Password").fill("csp-staff-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Make the client")).to_be_visible()
    screenshot("admin-add-client")

    # Redoc's template and bundle reach for Google Fonts and its logo on cdn.redoc.ly: blocked on purpose (the
    # docs work offline and tell no third party who reads them); Redoc falls back to the system fonts.
    assert [v for v in violations if not THIRD_PARTY.search(v)] == []
