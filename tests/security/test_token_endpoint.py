"""The OAuth endpoints: one grant, tokens for active clients only, every secret check limited per address."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import AccessToken, get_application_model

from experience_apis.clients.oauth import ApiClientOAuth2Validator
from experience_apis.clients.services import api_client_create, api_client_set_active
from tests.security.conftest import basic, token_for, token_response

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.mark.parametrize(
    "grant",
    [
        {"grant_type": "password", "username": "admin", "password": "x"},
        {"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://evil.example/"},
        {"grant_type": "refresh_token", "refresh_token": "x"},
        {"grant_type": DEVICE_CODE},
        {"grant_type": DEVICE_CODE, "device_code": "x"},
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x"},
    ],
)
def test_every_grant_but_client_credentials_is_refused_as_unsupported(client, grant):
    api_client, secret = api_client_create(name="partner")

    answer = client.post("/o/token/", grant, HTTP_AUTHORIZATION=basic(api_client.client_id, secret))

    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_a_disabled_client_gets_no_token_and_its_old_one_stays_dead_once_enabled_again(client):
    api_client, secret = api_client_create(name="partner")
    old_token = token_for(client, api_client.client_id, secret)

    api_client_set_active(client=api_client, active=False)
    refused = token_response(client, api_client.client_id, secret)
    api_client_set_active(client=api_client, active=True)

    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert Client().get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {old_token}").status_code == 401
    assert token_response(client, api_client.client_id, secret).status_code == 200


def test_a_token_without_the_incidents_scope_cannot_use_the_v1_api(client):
    ops, secret = api_client_create(name="ops-tool", internal=True)
    internal_only = token_response(client, ops.client_id, secret, scope="internal").json()

    answer = Client().get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {internal_only['access_token']}")

    assert internal_only["scope"] == "internal"
    assert answer.status_code == 403


def test_guessing_secrets_at_the_revocation_endpoint_is_limited_per_address_too(settings):
    settings.TOKEN_ENDPOINT_RATE_LIMIT = "3/m"
    api_client, secret = api_client_create(name="partner")
    guesser = Client(REMOTE_ADDR="203.0.113.67")

    def revoke(with_secret: str):
        return guesser.post(
            "/o/revoke_token/", {"token": "x"}, HTTP_AUTHORIZATION=basic(api_client.client_id, with_secret)
        )

    guesses = [revoke(f"guess-{n}").status_code for n in range(3)]
    blocked = revoke(secret)

    assert guesses == [401, 401, 401]
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) >= 1


def test_a_bearer_token_is_read_with_its_application_client_and_user_in_one_query(client):
    api_client, secret = api_client_create(name="partner")
    token = token_for(client, api_client.client_id, secret)
    bare = get_application_model().objects.create(
        name="no client", client_type="confidential", authorization_grant_type="client-credentials"
    )
    orphan = AccessToken.objects.create(application=bare, token="orphan-token", expires=api_client.created_at, scope="")
    validator = ApiClientOAuth2Validator()

    with CaptureQueriesContext(connection) as queries:
        read = validator._load_access_token(token)
        application, found, user = read.application, read.application.api_client, read.user
    unknown = validator._load_access_token("no-such-token")
    without_client = validator._load_access_token("orphan-token")

    assert len(queries) == 1
    assert (application.pk, found.pk, found.tier, found.active, user) == (
        api_client.application_id,
        api_client.pk,
        api_client.tier,
        True,
        None,
    )
    assert read == AccessToken.objects.get(pk=read.pk) and read.scope == AccessToken.objects.get(pk=read.pk).scope
    assert unknown is None and without_client.pk == orphan.pk
    with pytest.raises(get_application_model().api_client.RelatedObjectDoesNotExist):
        without_client.application.api_client  # noqa: B018
