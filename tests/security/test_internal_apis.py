"""The System and Process APIs are internal: staff sessions, or bearer tokens of clients that staff marked internal."""

import base64

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from experience_apis.clients.services import api_client_set_active
from tests.security.conftest import api_as, token_response

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

LEGACY = "/api/system/legacy-customers/v1/customers"
QUERY = {"email": "ada.lovelace@example.com"}


def test_an_internal_clients_token_gets_the_internal_scope_and_calls_the_system_apis(legacy_customers):
    ops = api_as("ops-tool", internal=True)

    response = ops.get(LEGACY, QUERY)

    assert response.status_code == 200, response.content
    assert [customer["email"] for customer in response.json()] == ["ada.lovelace@example.com"]


def test_an_ordinary_client_cannot_call_them_nor_ask_for_the_internal_scope(client, legacy_customers):
    partner = api_as("partner-app")

    refused = partner.get(LEGACY, QUERY)
    asked = token_response(client, partner.api_client.client_id, partner.secret, scope="incidents internal")

    assert refused.status_code == 403
    assert refused.json()["message"].startswith("Internal API: log in to the admin as staff")
    assert asked.status_code == 400
    assert asked.json()["error"] == "invalid_scope"


def test_a_client_no_longer_internal_or_disabled_loses_the_internal_apis_at_once(legacy_customers):
    ops = api_as("ops-tool", internal=True)
    assert ops.get(LEGACY, QUERY).status_code == 200

    ops.api_client.internal = False
    ops.api_client.save(update_fields=["internal"])
    assert ops.get(LEGACY, QUERY).status_code == 403

    ops.api_client.internal = True
    ops.api_client.save(update_fields=["internal"])
    api_client_set_active(client=ops.api_client, active=False)
    assert ops.get(LEGACY, QUERY).status_code == 401


def test_a_disabled_client_gets_no_token_at_all(client):
    ops = api_as("ops-tool", internal=True)
    api_client_set_active(client=ops.api_client, active=False)

    for scope in ({"scope": "internal"}, {}):
        answer = token_response(client, ops.api_client.client_id, ops.secret, **scope)

        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"


def test_staff_use_their_session_and_others_get_401(admin_client, legacy_customers):
    assert admin_client.get(LEGACY, QUERY).status_code == 200
    anonymous = Client().get(LEGACY, QUERY)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")


def test_staff_need_the_internal_apis_permission_to_call_them(client, django_user_model, legacy_customers):
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-123456", is_staff=True)
    client.force_login(clerk)

    refused = client.get(LEGACY, QUERY)
    clerk.user_permissions.add(Permission.objects.get(codename="use_internal_apis"))
    allowed = Client()
    allowed.force_login(clerk)

    assert refused.status_code == 403
    assert allowed.get(LEGACY, QUERY).status_code == 200


def test_a_staff_password_sent_as_basic_auth_is_not_accepted(django_user_model, legacy_customers):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "ops-password-1")
    basic = base64.b64encode(b"ops:ops-password-1").decode()

    response = Client().get(LEGACY, QUERY, HTTP_AUTHORIZATION=f"Basic {basic}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_in_user_who_is_not_staff_is_refused(client, django_user_model, legacy_customers):
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))

    assert client.get(LEGACY, QUERY).status_code == 403
