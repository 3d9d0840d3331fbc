import base64

import pytest
from django.test import Client

from experience_apis.clients.services import api_client_create


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_response(client: Client, client_id: str, secret: str, **data: str):
    return client.post(
        "/o/token/", {"grant_type": "client_credentials", **data}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )


def token_for(client: Client, client_id: str, secret: str) -> str:
    response = token_response(client, client_id, secret)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def api_as(name: str, **options) -> Client:
    """A fresh Django test client talking as a new API client (`options`: tier, internal), with a real token."""
    api_client, secret = api_client_create(name=name, **options)
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, api_client.client_id, secret)}"
    client.api_client = api_client
    client.secret = secret
    return client


@pytest.fixture
def make_api():
    return api_as
