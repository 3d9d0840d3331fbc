import json
import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from experience_apis.clients.services import api_client_create
from experience_apis.idempotency.services import (
    ClaimOutcome,
    idempotency_claim,
    idempotency_intake_key,
    idempotency_key_parse,
    idempotency_purge_expired,
    request_fingerprint,
)
from experience_apis.models import IdempotencyRecord
from experience_apis.rest.consumer import CONSUMER as REST_CONSUMER
from kernel.errors import NotAcceptedError
from process_apis.customer_incidents.services import incident_report
from process_apis.models import IncidentRequest
from tests.experience.test_rest_v1 import token_for
from tests.reports import ADA_FORM as FORM
from tests.reports import KATHERINE_REPORT as REPORT
from tests.reports import form_token
from tests.vendors import SLACK_POST, SN_INCIDENTS, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

# The same JSON as REPORT with its keys in another order and other whitespace.
REPORT_REWRITTEN = (
    "{\n  " + ",\n  ".join(f"{json.dumps(k)} :  {json.dumps(REPORT[k])}" for k in reversed(REPORT)) + "\n}"
)
TOKEN_FIELD = re.compile(r'<input type="hidden" name="report_token" value="([^"]+)">')
BAD_TOKEN = "This form could not be matched to this browser"


def api_as(name: str) -> Client:
    api_client, secret = api_client_create(name=name)
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, api_client.client_id, secret)}"
    client.api_client = api_client
    return client


@pytest.fixture
def api() -> Client:
    return api_as("partner-app")


@pytest.fixture
def vendors_answer(vendors, legacy_customers):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010009")
    vendors.slack_accepts()
    return vendors


def post(api: Client, capture, body: object = None, key: str | None = None, **headers: str):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    payload = body if isinstance(body, str) else json.dumps(REPORT if body is None else body)
    with capture(execute=True):
        return api.post("/api/v1/incidents", payload, content_type="application/json", **headers)


def servicenow_creates(vendors) -> int:
    return len([call for call in vendors.calls_to(SN_INCIDENTS) if call.request.method == "POST"])


# --- REST: Idempotency-Key --------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer_and_reports_once(
    api, vendors_answer, django_capture_on_commit_callbacks
):
    first = post(api, django_capture_on_commit_callbacks, key="order-1042-try")

    again = post(api, django_capture_on_commit_callbacks, REPORT_REWRITTEN, key="order-1042-try")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Location"] == first["Location"] == f"/api/v1/incidents/{first.json()['reference']}"
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert IncidentRequest.objects.count() == 1
    assert servicenow_creates(vendors_answer) == 1
    assert len(vendors_answer.calls_to(SLACK_POST)) == 1
    record = IdempotencyRecord.objects.get()
    assert (record.scope, record.key, record.state, record.response_status) == (
        f"api:{api.api_client.client_id}",
        "order-1042-try",
        "completed",
        201,
    )


def test_the_same_key_with_another_body_is_422_and_reports_nothing_more(
    api, vendors_answer, django_capture_on_commit_callbacks
):
    first = post(api, django_capture_on_commit_callbacks, key="k-1")
    calls = len(vendors_answer.mock.calls)

    other = post(api, django_capture_on_commit_callbacks, {**REPORT, "urgency": "2"}, key="k-1")

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json() == {
        "message": "This Idempotency-Key was already used with a different request body; "
        "use a new key for a new request.",
        "extra": {"code": "idempotency_key_reused", "header": "Idempotency-Key"},
    }
    assert "Idempotent-Replayed" not in other
    assert IncidentRequest.objects.count() == 1
    assert len(vendors_answer.mock.calls) == calls


def test_a_retry_while_the_first_request_is_in_flight_is_409_with_retry_after(api, vendors, legacy_customers):
    scope = f"api:{api.api_client.client_id}"
    assert idempotency_claim(scope=scope, key="k-1", fingerprint=request_fingerprint(REPORT)).outcome == "claimed"

    response = api.post("/api/v1/incidents", REPORT, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "message": "A request with this Idempotency-Key is still being processed; retry in a moment.",
        "extra": {"code": "idempotency_key_in_flight", "header": "Idempotency-Key"},
    }
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0
    assert IdempotencyRecord.objects.get().state == "in_flight"


def test_a_concurrent_retry_during_the_first_request_gets_409_and_the_first_completes(
    api, vendors_answer, django_capture_on_commit_callbacks
):
    retries = []

    def report_and_get_retried(**kwargs):
        retries.append(
            api.post("/api/v1/incidents", REPORT, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        )
        return incident_report(**kwargs)

    with mock.patch("experience_apis.rest.api.incident_report", side_effect=report_and_get_retried):
        first = post(api, django_capture_on_commit_callbacks, key="k-1")
    later = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert [r.status_code for r in retries] == [409]
    assert (first.status_code, later.status_code) == (201, 201)
    assert later.content == first.content
    assert IncidentRequest.objects.count() == 1
    assert servicenow_creates(vendors_answer) == 1


def test_keys_are_scoped_to_the_client(api, vendors_answer, django_capture_on_commit_callbacks):
    other_client = api_as("other-app")

    mine = post(api, django_capture_on_commit_callbacks, key="shared-key")
    theirs = post(other_client, django_capture_on_commit_callbacks, key="shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["reference"] != theirs.json()["reference"]
    assert IncidentRequest.objects.count() == 2
    assert sorted(IdempotencyRecord.objects.values_list("scope", flat=True)) == sorted(
        [f"api:{api.api_client.client_id}", f"api:{other_client.api_client.client_id}"]
    )


def test_an_expired_key_is_replaced_by_a_new_request(api, vendors_answer, django_capture_on_commit_callbacks):
    first = post(api, django_capture_on_commit_callbacks, key="k-1")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    again = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in again
    assert again.json()["reference"] != first.json()["reference"]
    assert IncidentRequest.objects.count() == 2
    record = IdempotencyRecord.objects.get()
    assert json.loads(record.response_body)["reference"] == again.json()["reference"]


def test_keys_expire_after_24_hours_or_the_configured_ttl(api, vendors_answer, settings):
    idempotency_claim(scope="api:x", key="default", fingerprint="f")
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 2
    idempotency_claim(scope="api:x", key="configured", fingerprint="f")

    lifetimes = {r.key: r.expires_at - r.created_at for r in IdempotencyRecord.objects.all()}

    assert lifetimes == {"default": timedelta(hours=24), "configured": timedelta(hours=2)}


def test_an_in_flight_record_left_by_a_killed_process_is_taken_over(
    api, vendors_answer, django_capture_on_commit_callbacks
):
    scope = f"api:{api.api_client.client_id}"
    idempotency_claim(scope=scope, key="k-1", fingerprint=request_fingerprint(REPORT))
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(seconds=121))

    response = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert response.status_code == 201
    assert IncidentRequest.objects.count() == 1
    assert IdempotencyRecord.objects.get().state == "completed"


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "schlüssel", "tab\there", '"a"b"', '"bad\\escape"', '""'])
def test_an_invalid_key_is_a_clear_400_and_nothing_is_reported(key, api, vendors):
    response = api.post("/api/v1/incidents", REPORT, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json() == {
        "message": "The Idempotency-Key header must be 1 to 255 printable ASCII characters, for example a UUID.",
        "extra": {"code": "idempotency_key_invalid", "header": "Idempotency-Key"},
    }
    assert not IncidentRequest.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert len(vendors.mock.calls) == 0


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('"say \\"hi\\" \\\\ bye"', 'say "hi" \\ bye'),
        ("k" * 255, "k" * 255),
        (" padded ", "padded"),
        ("~ !", "~ !"),
    ],
)
def test_a_key_is_taken_bare_or_as_a_structured_field_string(header, key):
    assert idempotency_key_parse(header) == key


def test_a_quoted_key_and_the_same_bare_key_are_one_key(api, vendors_answer, django_capture_on_commit_callbacks):
    first = post(api, django_capture_on_commit_callbacks, key='"k-1"')

    again = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def test_without_the_header_every_post_is_a_new_report(api, vendors_answer, django_capture_on_commit_callbacks):
    first = post(api, django_capture_on_commit_callbacks)
    second = post(api, django_capture_on_commit_callbacks)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["reference"] != second.json()["reference"]
    assert "Idempotent-Replayed" not in second
    assert IncidentRequest.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_an_unexpected_exception_is_not_stored_so_a_retry_reports(
    api, vendors_answer, django_capture_on_commit_callbacks
):
    with mock.patch("experience_apis.rest.api.incident_report", side_effect=RuntimeError("bug")):
        failed = post(api, django_capture_on_commit_callbacks, key="k-1")
    assert not IdempotencyRecord.objects.exists()

    retried = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert failed.status_code == 500
    assert failed.json() == {"message": "Internal error; it has been logged.", "extra": {}}
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert IncidentRequest.objects.count() == 1


def test_a_5xx_answer_is_not_stored_so_a_retry_reports(api, vendors_answer, django_capture_on_commit_callbacks):
    refused = NotAcceptedError("Incident Hub cannot store reports right now; please try again in a minute.")
    with mock.patch("experience_apis.rest.api.incident_report", side_effect=refused):
        failed = post(api, django_capture_on_commit_callbacks, key="k-1")
    assert not IdempotencyRecord.objects.exists()

    retried = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert (failed.status_code, failed["Retry-After"]) == (503, "60")
    assert retried.status_code == 201
    assert IncidentRequest.objects.count() == 1


def test_an_exception_that_escapes_the_view_frees_the_key(api, vendors_answer, django_capture_on_commit_callbacks):
    with mock.patch("experience_apis.rest.api.incident_report", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            post(api, django_capture_on_commit_callbacks, key="k-1")

    assert not IdempotencyRecord.objects.exists()


def test_a_4xx_answer_is_stored_and_replayed(api, vendors, django_capture_on_commit_callbacks):
    invalid = {**REPORT, "email": "not-an-email"}
    first = post(api, django_capture_on_commit_callbacks, invalid, key="k-1")

    again = post(api, django_capture_on_commit_callbacks, invalid, key="k-1")
    corrected = post(api, django_capture_on_commit_callbacks, key="k-1")

    assert (first.status_code, again.status_code) == (400, 400)
    assert again.content == first.content
    assert set(first.json()["extra"]["fields"]) == {"email"}
    assert again["Idempotent-Replayed"] == "true"
    assert corrected.status_code == 422, "the corrected body is a new request: it needs a new key"
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.response_status) == ("completed", 400)
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_an_unreadable_body_is_400_and_not_stored(api, vendors):
    response = api.post("/api/v1/incidents", "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert not IncidentRequest.objects.exists()


def test_claiming_a_key_is_atomic_against_a_second_claim():
    first = idempotency_claim(scope="api:x", key="k", fingerprint="f")
    second = idempotency_claim(scope="api:x", key="k", fingerprint="f")
    other_body = idempotency_claim(scope="api:x", key="k", fingerprint="g")

    assert (first.outcome, second.outcome, other_body.outcome) == (
        ClaimOutcome.CLAIMED,
        ClaimOutcome.IN_FLIGHT,
        ClaimOutcome.MISMATCH,
    )
    assert IdempotencyRecord.objects.count() == 1


def test_purging_deletes_only_expired_records():
    now = timezone.now()
    for key in ("old", "older", "fresh"):
        idempotency_claim(scope="api:x", key=key, fingerprint="f")
    IdempotencyRecord.objects.filter(key="old").update(expires_at=now - timedelta(seconds=1))
    IdempotencyRecord.objects.filter(key="older").update(expires_at=now - timedelta(days=3))

    purged = idempotency_purge_expired()

    assert purged == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_the_schema_documents_the_header_and_the_409_and_422_answers(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/incidents"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header.get("required", False), header["schema"]) == ("header", False, {"type": "string"})
    assert {"201", "400", "409", "422", "503"} <= set(operation["responses"])
    assert operation["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }
    assert "Retry-After" in operation["responses"]["409"]["headers"]
    assert set(operation["responses"]["201"]["headers"]) == {
        "Idempotent-Replayed",
        "Location",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }


# --- Browser form: the server-issued token ----------------------------------------------------


def send(browser: Client, capture, token: str | None, **overrides: str):
    data = {**FORM, **overrides}
    if token is not None:
        data["report_token"] = token
    with capture(execute=True):
        return browser.post("/", data)


@pytest.fixture
def all_vendors_answer(vendors, legacy_customers):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates("INC0010007")
    vendors.slack_accepts()
    return vendors


def test_every_rendered_form_gets_its_own_token(client):
    assert form_token(client) != form_token(client)


def test_a_double_submit_makes_one_report_one_servicenow_incident_and_one_slack_message(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)

    first = send(client, django_capture_on_commit_callbacks, token)
    second = send(client, django_capture_on_commit_callbacks, token)

    request = IncidentRequest.objects.get()
    assert (first.status_code, second.status_code) == (302, 302)
    assert first["Location"] == second["Location"] == f"/reports/{request.reference}"
    assert servicenow_creates(all_vendors_answer) == 1
    assert len(all_vendors_answer.slack_bodies()) == 1
    assert client.get(second["Location"]).status_code == 200


def test_a_back_and_resubmit_with_edits_leads_to_the_first_report(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)
    first = send(client, django_capture_on_commit_callbacks, token)

    again = send(client, django_capture_on_commit_callbacks, token, description="Edited after going back.")
    blanked = send(client, django_capture_on_commit_callbacks, token, email="")

    assert again["Location"] == blanked["Location"] == first["Location"]
    assert IncidentRequest.objects.get().description == "Ordered on the 3rd, still nothing."


def test_the_resubmit_makes_the_confirmation_readable_for_the_session(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)
    first = send(client, django_capture_on_commit_callbacks, token)
    session = client.session
    session["incident_hub.reported_references"] = []
    session.save()
    assert client.get(first["Location"]).status_code == 404

    again = send(client, django_capture_on_commit_callbacks, token)

    assert again["Location"] == first["Location"]
    assert client.get(again["Location"]).status_code == 200


def test_a_token_from_another_browser_session_is_refused(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)
    send(client, django_capture_on_commit_callbacks, token)
    other_browser = Client()
    form_token(other_browser)  # it has a session of its own
    calls = len(all_vendors_answer.mock.calls)

    response = send(other_browser, django_capture_on_commit_callbacks, token)

    html = response.content.decode()
    assert response.status_code == 200
    assert BAD_TOKEN in html
    assert TOKEN_FIELD.search(html).group(1) != token
    assert IncidentRequest.objects.count() == 1
    assert len(all_vendors_answer.mock.calls) == calls
    assert IncidentRequest.objects.get().reference not in html


def test_a_missing_token_re_renders_the_form_with_a_message_the_input_and_a_fresh_token_that_works(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    response = send(client, django_capture_on_commit_callbacks, None)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Report an incident · Incident Hub</title>" in html
    assert f"<li>{BAD_TOKEN}: it may be too old, or it was opened elsewhere." in html
    assert 'value="ada.lovelace@example.com"' in html
    assert not IncidentRequest.objects.exists()
    assert len(all_vendors_answer.mock.calls) == 0

    retried = send(client, django_capture_on_commit_callbacks, TOKEN_FIELD.search(html).group(1))

    assert retried.status_code == 302
    assert IncidentRequest.objects.count() == 1


@pytest.mark.parametrize("forge", ["made-up", "made-up:1abcde:c2lnbmF0dXJl", "tampered"])
def test_a_forged_token_is_refused(forge, client, vendors, django_capture_on_commit_callbacks):
    real = form_token(client)
    token = real[:-1] + ("A" if real[-1] != "A" else "B") if forge == "tampered" else forge

    response = send(client, django_capture_on_commit_callbacks, token)

    assert response.status_code == 200
    assert BAD_TOKEN in response.content.decode()
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_a_token_older_than_the_key_lifetime_is_refused(client, vendors, django_capture_on_commit_callbacks):
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 25 * 3600):
        token = form_token(client)

    response = send(client, django_capture_on_commit_callbacks, token)

    assert BAD_TOKEN in response.content.decode()
    assert not IncidentRequest.objects.exists()


def test_validation_errors_keep_the_token_so_the_corrected_form_is_sent(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)

    invalid = send(client, django_capture_on_commit_callbacks, token, email="not-an-email")
    corrected = send(client, django_capture_on_commit_callbacks, token)

    html = invalid.content.decode()
    assert invalid.status_code == 200
    assert "Enter an email address like name@example.com." in html
    assert TOKEN_FIELD.search(html).group(1) == token
    assert BAD_TOKEN not in html
    assert corrected.status_code == 302
    assert IncidentRequest.objects.count() == 1


def test_a_post_while_the_first_is_in_flight_gets_a_friendly_409_page_and_no_second_report(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)
    retries = []

    def report_and_get_resubmitted(**kwargs):
        retries.append(client.post("/", {**FORM, "report_token": token}))
        return incident_report(**kwargs)

    with mock.patch("experience_apis.web.views.incident_report", side_effect=report_and_get_resubmitted):
        first = send(client, django_capture_on_commit_callbacks, token)
    reloaded = send(client, django_capture_on_commit_callbacks, token)

    [retry] = retries
    html = retry.content.decode()
    assert retry.status_code == 409
    assert "<h1>Your report is being sent</h1>" in html
    assert "Reload this page in a moment" in html
    assert "<form" not in html
    assert (first.status_code, reloaded.status_code) == (302, 302)
    assert reloaded["Location"] == first["Location"]
    assert IncidentRequest.objects.count() == 1
    assert servicenow_creates(all_vendors_answer) == 1
    assert len(all_vendors_answer.slack_bodies()) == 1


def test_a_report_that_could_not_be_accepted_frees_the_token_for_a_retry(
    client, all_vendors_answer, django_capture_on_commit_callbacks
):
    token = form_token(client)
    refused = NotAcceptedError("Incident Hub cannot store reports right now; please try again in a minute.")
    with mock.patch("experience_apis.web.views.incident_report", side_effect=refused):
        failed = send(client, django_capture_on_commit_callbacks, token)

    retried = send(client, django_capture_on_commit_callbacks, token)

    assert failed.status_code == 503
    assert TOKEN_FIELD.search(failed.content.decode()).group(1) == token
    assert retried.status_code == 302
    assert IncidentRequest.objects.count() == 1


def test_staff_see_the_records_read_only(admin_client):
    idempotency_claim(scope="api:x", key="k-1", fingerprint="f")
    record = IdempotencyRecord.objects.get()

    listing = admin_client.get("/admin/experience_apis/idempotencyrecord/")
    detail = admin_client.get(f"/admin/experience_apis/idempotencyrecord/{record.pk}/change/")
    add = admin_client.get("/admin/experience_apis/idempotencyrecord/add/")

    assert (listing.status_code, detail.status_code, add.status_code) == (200, 200, 403)
    assert "k-1" in listing.content.decode()
    assert 'name="_save"' not in detail.content.decode()


def test_a_key_whose_first_request_died_after_storing_the_report_answers_with_that_report(
    api, vendors_answer, django_capture_on_commit_callbacks
):
    scope = f"api:{api.api_client.client_id}"
    claim = idempotency_claim(scope=scope, key="k-died", fingerprint=request_fingerprint(REPORT))
    with django_capture_on_commit_callbacks(execute=True):
        stored = incident_report(**REPORT, consumer=REST_CONSUMER, intake_key=idempotency_intake_key(claim.record))
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(seconds=121))

    response = post(api, django_capture_on_commit_callbacks, key="k-died")

    assert response.status_code == 201
    assert response.json()["reference"] == stored.reference
    assert IncidentRequest.objects.count() == 1
