"""The report form's honeypot: hidden from people and screen readers; a bot that fills it reports nothing."""

import re

import pytest

from process_apis.models import IncidentRequest
from tests.reports import ADA_FORM as FORM
from tests.reports import form_token
from tests.vendors import SF, SLACK, SN, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])


def test_the_honeypot_is_off_screen_hidden_from_screen_readers_and_skipped_by_tab(client):
    html = client.get("/").content.decode()

    assert re.search(
        r'<div class="hp" aria-hidden="true">\s*<label for="id_website">Leave this field empty</label>\s*'
        r'<input type="text" name="website" autocomplete="off" tabindex="-1" id="id_website">\s*</div>',
        html,
    )
    assert html.count('name="website"') == 1, "rendered once, outside the visible fields"
    assert "style=" not in html


def test_a_filled_honeypot_stores_no_report_and_calls_no_system(client, vendors, django_capture_on_commit_callbacks):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates()
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/", {**FORM, "website": "http://spam.example", "report_token": form_token(client)})

    assert response.status_code == 200
    assert "This report could not be sent: the field that must stay empty was filled in." in response.content.decode()
    assert not IncidentRequest.objects.exists()
    assert callbacks == []
    assert [call.request.url for call in vendors.mock.calls] == []
    assert not any(url.startswith((SN, SF, SLACK)) for url in (c.request.url for c in vendors.mock.calls))


def test_an_empty_honeypot_lets_the_report_through(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates()
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/", {**FORM, "website": "", "report_token": form_token(client)})

    assert response.status_code == 302
    assert IncidentRequest.objects.count() == 1
