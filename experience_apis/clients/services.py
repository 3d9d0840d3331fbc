"""API clients: made with a secret shown once (the toolkit stores it hashed), disabled with their tokens."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from kernel.errors import ApplicationError

from ..models import CLIENT_SCOPES, ApiClient, validate_scopes
from .scopes import INCIDENTS


@transaction.atomic
def api_client_create(
    *,
    name: str,
    tier: str = ApiClient.Tier.BRONZE,
    internal: bool = False,
    scopes: Iterable[str] = (INCIDENTS,),
) -> tuple[ApiClient, str]:
    """A new client and its secret in clear text: the only moment anyone sees it (it is stored hashed).

    `scopes`: what its tokens may do (`incidents`, `events`); `internal` adds the internal APIs."""
    scope_names = " ".join(dict.fromkeys(scopes))
    try:
        validate_scopes(scope_names)
    except ValidationError as exc:
        message = f"Scopes are some of: {', '.join(CLIENT_SCOPES)}."
        raise ApplicationError(message, extra={"scopes": scope_names.split()}) from exc
    secret = generate_client_secret()
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    client = ApiClient.objects.create(
        application=application, tier=ApiClient.Tier(tier), internal=internal, scopes=scope_names
    )
    return client, secret


@transaction.atomic
def api_client_set_active(*, client: ApiClient, active: bool) -> ApiClient:
    client.active = active
    client.save(update_fields=["active"])
    if not active:
        RefreshToken.objects.filter(application=client.application).delete()
        AccessToken.objects.filter(application=client.application).delete()
    return client
