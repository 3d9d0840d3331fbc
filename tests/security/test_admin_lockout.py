"""Admin login brute force: an address is locked out after a few failures, for a cool-off period."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-staff-password"


@pytest.fixture
def staff(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)


def log_in(client: Client, password: str, **headers: str):
    return client.post(
        "/admin/login/?next=/admin/", {"username": "staff", "password": password}, REMOTE_ADDR="203.0.113.7", **headers
    )


def test_a_wrong_password_is_refused_and_counted(client, staff):
    response = log_in(client, "guess-1")

    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.content.decode()
    assert AccessAttempt.objects.get().failures_since_start == 1


def test_after_the_failure_limit_even_the_right_password_is_locked_out(client, staff):
    for attempt in range(3):
        log_in(client, f"guess-{attempt}")

    locked = log_in(client, PASSWORD)

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302, "not logged in"


def test_another_username_from_the_same_address_is_locked_out_too(client, staff):
    for attempt in range(3):
        log_in(client, f"guess-{attempt}")

    response = client.post("/admin/login/", {"username": "someone", "password": "x"}, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 429


def test_rotating_addresses_inside_one_ipv6_slash_64_does_not_escape_the_lockout(client, staff):
    for attempt in range(3):
        client.post("/admin/login/", {"username": "staff", "password": "x"}, REMOTE_ADDR=f"2001:db8:7:8::{attempt + 1}")

    locked = client.post("/admin/login/", {"username": "staff", "password": PASSWORD}, REMOTE_ADDR="2001:db8:7:8::99")

    assert locked.status_code == 429


def test_a_forged_x_forwarded_for_does_not_escape_the_lockout_without_trusted_proxies(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(3):
        log_in(client, f"guess-{attempt}", HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}")

    response = log_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")

    assert response.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]


def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(3):
        log_in(client, f"guess-{attempt}", HTTP_X_FORWARDED_FOR="198.51.100.1")

    attacker = log_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1")
    colleague = log_in(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.50")

    assert attacker.status_code == 429
    assert colleague.status_code == 302, "another address behind the same proxy is not locked out"


def test_after_the_cool_off_the_right_password_works_again(client, staff, settings):
    for attempt in range(3):
        log_in(client, f"guess-{attempt}")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    response = log_in(client, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_lockout_settings_come_from_the_environment_with_safe_defaults():
    from django.conf import settings

    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.AXES_CLIENT_IP_CALLABLE == "experience_apis.policies.client_ip.client_block"
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_FAILURE_LIMIT == 5
