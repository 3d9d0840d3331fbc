import json

import pytest
import requests
from django.core.management import call_command
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from sandbox.faults import FaultSettingsError, update_faults, with_faults
from sandbox.models import Fault

pytestmark = pytest.mark.django_db


class PlainAnswers:
    def error(self, status: int) -> HttpResponse:
        return JsonResponse({"failed": True}, status=status)

    def rate_limited(self, retry_after: int) -> HttpResponse:
        response = JsonResponse({"slow": "down"}, status=429)
        response["Retry-After"] = str(retry_after)
        return response


@with_faults("slack", PlainAnswers())
def echo_view(request):
    return JsonResponse({"ok": True})


def call_echo() -> HttpResponse:
    return echo_view(RequestFactory().post("/echo"))


def test_fail_next_fails_exactly_that_many_requests_then_recovers():
    update_faults("slack", {"fail_next": 2, "error_status": 502})

    statuses = [call_echo().status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert Fault.for_system("slack").fail_next == 0


def test_rate_limit_next_answers_429_with_the_configured_retry_after():
    update_faults("slack", {"rate_limit_next": 1, "retry_after": 7})

    first, second = call_echo(), call_echo()

    assert (first.status_code, first["Retry-After"]) == (429, "7")
    assert second.status_code == 200


def test_error_rate_one_fails_every_request_and_counts_them():
    update_faults("slack", {"error_rate": 1.0})

    assert [call_echo().status_code for _ in range(3)] == [503, 503, 503]
    assert Fault.for_system("slack").requests_seen == 3


@pytest.mark.parametrize(
    "values",
    [
        {"error_rate": 1.5},
        {"fail_next": -1},
        {"error_status": 200},
        {"hang_phase": "during"},
        {"nonsense": 1},
        {"drop_events_next": 1},
    ],
)
def test_bad_fault_settings_are_refused_and_nothing_is_changed(values):
    with pytest.raises(FaultSettingsError):
        update_faults("slack", values)

    assert Fault.for_system("slack").as_dict() == Fault(system="slack").as_dict()


def test_fault_endpoint_sets_reads_and_clears(client, settings):
    settings.ROOT_URLCONF = "sandbox.urls"

    put = client.put("/_sandbox/faults/servicenow", json.dumps({"fail_next": 3}), content_type="application/json")
    got = client.get("/_sandbox/faults/servicenow")
    cleared = client.delete("/_sandbox/faults/servicenow")

    assert put.status_code == 200 and put.json()["fail_next"] == 3
    assert got.json()["fail_next"] == 3
    assert cleared.json()["fail_next"] == 0


def test_fault_endpoint_explains_bad_input(client, settings):
    settings.ROOT_URLCONF = "sandbox.urls"

    unknown_system = client.get("/_sandbox/faults/jira")
    not_json = client.put("/_sandbox/faults/slack", "fail_next=3", content_type="text/plain")

    assert unknown_system.status_code == 400 and "unknown system" in unknown_system.json()["error"]
    assert not_json.status_code == 400 and "JSON object" in not_json.json()["error"]


def test_fault_command_sets_faults(capsys):
    call_command("sandbox_fault", "salesforce", "--latency-ms", "250", "--rate-limit-next", "2")

    fault = Fault.for_system("salesforce")
    assert (fault.latency_ms, fault.rate_limit_next) == (250, 2)
    assert "latency_ms=250" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_sandbox_page_is_served_over_real_http(sandbox_url):
    call_command("seed_sandbox")

    page = requests.get(sandbox_url + "/", timeout=5)

    assert page.status_code == 200
    assert "Ada" in page.text and "Lovelace" in page.text
    assert "Incident Hub sandbox" in page.text
