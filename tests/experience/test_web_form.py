import re
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from kernel.errors import NotAcceptedError
from process_apis.models import IncidentRequest
from tests.reports import ADA_FORM as FORM
from tests.reports import form_token, servicenow_moved
from tests.vendors import SN_INCIDENTS, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REFERENCE = re.compile(r"IH-[0-9A-HJKMNP-TV-Z]{10}")


def send_report(client: Client, capture, **overrides: str):
    token = form_token(client)
    with capture(execute=True):
        return client.post("/", {**FORM, "report_token": token, **overrides})


def all_vendors_answer(vendors, number: str = "INC0010007") -> None:
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates(number)
    vendors.slack_accepts()


def reported(client: Client, vendors, capture) -> IncidentRequest:
    all_vendors_answer(vendors)
    send_report(client, capture)
    return IncidentRequest.objects.get()


def test_the_form_renders_every_field_with_its_label_and_a_csrf_token(client):
    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    for field in ("email", "name", "order_number", "category", "short_description", "description"):
        assert f'<label for="id_{field}">' in html
    assert "<legend>How urgent is it?</legend>" in html
    assert '<label for="id_urgency_0"><input type="radio" name="urgency" value="1"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<html lang="en">' in html and '<meta name="viewport"' in html and "<main" in html
    assert 'maxlength="160"' in html and 'maxlength="4000"' in html
    assert 'href="/status"' in html and 'href="/api/docs/"' in html and 'href="/admin/"' in html


def test_a_valid_report_redirects_to_its_confirmation_with_reference_and_servicenow_number(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    all_vendors_answer(vendors, "INC0010007")

    response = send_report(client, django_capture_on_commit_callbacks)

    request = IncidentRequest.objects.get()
    assert REFERENCE.fullmatch(request.reference)
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{request.reference}"
    assert (request.consumer, request.trace_id) == ("incident_form", response["X-Correlation-ID"])
    assert (request.email, request.name, request.order_number, request.urgency) == (
        "ada.lovelace@example.com",
        "Ada Lovelace",
        "1042",
        2,
    )
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<p class="reference" id="reference">{request.reference}</p>' in html
    assert '<dd class="mono" id="servicenow-number">INC0010007</dd>' in html
    assert "<dt>State</dt><dd>New</dd>" in html
    assert f'href="/status?reference={request.reference}"' in html
    assert page["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    creates = [call for call in vendors.calls_to(SN_INCIDENTS) if call.request.method == "POST"]
    assert len(creates) == 1
    assert len(vendors.slack_bodies()) == 1


def test_an_invalid_report_shows_errors_beside_the_fields_keeps_the_input_and_calls_nobody(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    response = send_report(
        client, django_capture_on_commit_callbacks, email="not-an-email", short_description="", category="x"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="error-summary" role="alert"' in html
    assert '<a href="#id_email">Enter an email address like name@example.com.</a>' in html
    assert (
        '<ul class="errorlist" id="id_email_error"><li>Enter an email address like name@example.com.</li></ul>'
    ) in html
    assert (
        '<input type="email" name="email" value="not-an-email" autocomplete="email" maxlength="254" '
        'required aria-invalid="true" aria-describedby="id_email_helptext id_email_error" id="id_email">'
    ) in html
    assert (
        '<ul class="errorlist" id="id_short_description_error"><li>Describe the problem in one line.</li></ul>' in html
    )
    assert '<ul class="errorlist" id="id_category_error"><li>Choose one of the listed topics.</li></ul>' in html
    assert 'value="Ada Lovelace"' in html and ">\nOrdered on the 3rd, still nothing.</textarea>" in html
    assert '<input type="radio" name="urgency" value="2" required id="id_urgency_1" checked>' in html
    assert IncidentRequest.objects.count() == 0
    assert len(vendors.mock.calls) == 0


def test_an_empty_report_asks_for_every_required_field(client, vendors):
    response = client.post("/", {})

    html = response.content.decode()
    assert response.status_code == 200
    for field, message in [
        ("email", "Enter your email address."),
        ("name", "Enter your name."),
        ("category", "Choose what the problem is about."),
        ("urgency", "Choose how urgent it is."),
        ("short_description", "Describe the problem in one line."),
        ("description", "Describe what happened."),
    ]:
        assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in html
    assert '<a href="#id_email">Enter your email address.</a>' in html
    assert '<a href="#id_urgency_0">Choose how urgent it is.</a>' in html
    assert '<fieldset aria-describedby="id_urgency_error">' in html
    assert 'id="id_order_number_error"' not in html
    assert IncidentRequest.objects.count() == 0
    assert len(vendors.mock.calls) == 0


def test_lengths_are_those_the_report_is_stored_with(client, vendors):
    response = client.post("/", {**FORM, "short_description": "x" * 161, "order_number": "1" * 41})

    html = response.content.decode()
    assert response.status_code == 200
    assert "The short description can have at most 160 characters (it has 161)." in html
    assert "An order number can have at most 40 characters (it has 41)." in html
    assert IncidentRequest.objects.count() == 0
    assert len(vendors.mock.calls) == 0


def test_a_report_without_the_csrf_token_is_refused_and_nothing_is_stored(vendors):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/", FORM)

    assert response.status_code == 403
    assert IncidentRequest.objects.count() == 0
    assert len(vendors.mock.calls) == 0


def test_a_report_with_the_csrf_token_from_the_form_is_accepted(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    all_vendors_answer(vendors)
    browser = Client(enforce_csrf_checks=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get("/").content.decode()).group(1)

    response = send_report(browser, django_capture_on_commit_callbacks, csrfmiddlewaretoken=token)

    assert response.status_code == 302
    assert IncidentRequest.objects.count() == 1


def test_the_confirmation_of_a_report_sent_from_another_browser_is_not_found(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    request = reported(client, vendors, django_capture_on_commit_callbacks)
    other_browser = Client()

    response = other_browser.get(f"/reports/{request.reference}")

    assert response.status_code == 404
    assert request.reference not in response.content.decode()


def test_an_unknown_reference_has_no_confirmation(client):
    response = client.get("/reports/IH-0000000000")

    assert response.status_code == 404


def test_servicenow_down_the_confirmation_says_accepted_and_that_the_number_follows(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_fails(503)

    response = send_report(client, django_capture_on_commit_callbacks)
    page = client.get(response["Location"])

    request = IncidentRequest.objects.get()
    html = page.content.decode()
    assert (response.status_code, page.status_code) == (302, 200)
    assert request.sync_state == "pending"
    assert f'<p class="reference" id="reference">{request.reference}</p>' in html
    assert "<h2>Accepted: the ServiceNow number follows</h2>" in html
    assert "Check the status page a little later" in html
    assert 'id="servicenow-number"' not in html
    assert vendors.slack_bodies() == []


def test_a_report_that_cannot_be_accepted_answers_503_with_the_input_kept(client, vendors):
    with mock.patch(
        "experience_apis.web.views.incident_report",
        side_effect=NotAcceptedError("Incident Hub cannot store reports right now; please try again in a minute."),
    ):
        response = client.post("/", {**FORM, "report_token": form_token(client)})

    html = response.content.decode()
    assert response.status_code == 503
    assert '<div class="banner banner-error" role="alert">' in html
    assert "<h2>Your report could not be accepted</h2>" in html
    assert "Incident Hub cannot store reports right now; please try again in a minute." in html
    assert 'value="ada.lovelace@example.com"' in html and ">\nOrdered on the 3rd, still nothing.</textarea>" in html
    assert client.session.get("incident_hub.reported_references") is None
    assert IncidentRequest.objects.count() == 0


def test_the_status_page_prefills_the_reference_from_the_confirmation_link(client):
    response = client.get("/status?reference=IH-7Q4M2X9K0B")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="reference" value="IH-7Q4M2X9K0B"' in html
    assert 'class="errorlist"' not in html


def test_the_status_page_finds_a_report_by_reference_and_email_with_the_state_servicenow_last_told(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    request = reported(client, vendors, django_capture_on_commit_callbacks)
    servicenow_moved(request, 2)
    calls = len(vendors.calls_to(SN_INCIDENTS))

    response = Client().post(
        "/status", {"reference": request.reference.lower().replace("-", " "), "email": "ADA.Lovelace@example.com"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<dt>Reference</dt><dd class="mono">{request.reference}</dd>' in html
    assert '<dd class="mono">INC0010007</dd>' in html
    assert '<dt>State</dt><dd>In Progress (as of <time datetime="2026-12-01T10:00:05+00:00">' in html
    assert "<dt>Priority</dt><dd>P4 Low</dd>" in html
    assert "<dt>Short description</dt><dd>Parcel never arrived</dd>" in html
    assert f'<time datetime="{request.created_at.isoformat()}">' in html
    assert len(vendors.calls_to(SN_INCIDENTS)) == calls, "a read answers from the stored state"
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


@pytest.mark.parametrize("wrong", ["reference", "email"])
def test_the_status_page_gives_one_neutral_answer_for_a_wrong_reference_or_a_wrong_email(
    wrong, client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    request = reported(client, vendors, django_capture_on_commit_callbacks)
    lookup = {"reference": request.reference, "email": request.email}
    lookup[wrong] = "IH-0000000000" if wrong == "reference" else "somebody.else@example.com"
    calls_before = len(vendors.mock.calls)

    response = Client().post("/status", lookup)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<p>No report matches that reference and email. Please check both and try again.</p>" in html
    assert "<dt>Reference</dt>" not in html and "INC0010007" not in html
    assert len(vendors.mock.calls) == calls_before


def test_the_status_page_explains_what_a_reference_looks_like(client):
    response = client.post("/status", {"reference": "order 1042", "email": "ada.lovelace@example.com"})

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<ul class="errorlist" id="id_reference_error"><li>'
        "A reference looks like IH-7Q4M2X9K0B: IH- and 10 letters or digits.</li></ul>"
    ) in html


def test_the_status_lookup_needs_the_csrf_token(vendors):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/status", {"reference": "IH-7Q4M2X9K0B", "email": "ada.lovelace@example.com"})

    assert response.status_code == 403


def test_showing_the_form_writes_nothing_on_the_server(client):
    for _ in range(3):
        assert client.get("/").status_code == 200

    assert not Session.objects.exists()
    assert "sessionid" not in client.cookies and "incident_hub_form" in client.cookies


def test_the_status_page_of_a_resolved_report_shows_how_it_was_resolved_escaped(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    request = reported(client, vendors, django_capture_on_commit_callbacks)
    servicenow_moved(request, 6, close_code="Solution provided", close_notes="Refund <b>sent</b> & confirmed.")

    response = Client().post("/status", {"reference": request.reference, "email": "ada.lovelace@example.com"})

    html = response.content.decode()
    assert "<dt>State</dt><dd>Resolved (as of" in html
    assert "<dt>Resolution</dt><dd>Solution provided: Refund &lt;b&gt;sent&lt;/b&gt; &amp; confirmed.</dd>" in html


def test_the_status_page_is_where_the_customers_e_mails_link_to(settings):
    assert reverse("web:status") == settings.STATUS_PAGE_PATH
