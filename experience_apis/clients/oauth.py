"""The OAuth 2.0 token endpoint as Incident Hub runs it: client credentials only, for active API clients.

The toolkit's server class is oauthlib's BackendApplicationServer (settings.OAUTH2_PROVIDER), so any other
grant is refused with `unsupported_grant_type`; the token view here sends every grant to it, where the
toolkit's own view would first read a device code it never issued (a 500 on a request without one).
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from oauth2_provider import views as oauth2_views
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from kernel.db import columns, models_from_row

from ..models import ApiClient


class ApiClientOAuth2Validator(OAuth2Validator):
    """A disabled API client's right secret is refused like a wrong one: `invalid_client`, and no token."""

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        return ApiClient.objects.filter(application_id=request.client.pk, active=True).exists()

    def _load_access_token(self, token: str) -> Any:
        """The toolkit's own lookup (by the token's SHA-256), with its application, the application's API client and
        the user read in the same query: every API request needs them. The query's text is built once."""
        connection = connections[router.db_for_read(get_access_token_model())]
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        with connection.cursor() as cursor:
            cursor.execute(_token_query(connection.alias), [checksum])
            row = cursor.fetchone()
        if row is None:
            return None
        access_token, application, client, user = models_from_row(connection, row, *_token_models())
        access_token.user = user
        access_token.application = application
        if application is None:
            return access_token
        if client is not None:
            application.api_client = client
        else:  # as select_related leaves it: reading application.api_client raises DoesNotExist
            ApiClient._meta.get_field("application").remote_field.set_cached_value(application, None)
        return access_token


def _token_models() -> tuple[type[Model], ...]:
    return get_access_token_model(), get_application_model(), ApiClient, get_user_model()


@cache
def _token_query(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    token, application, client, user = _token_models()

    def column(model: type[Model], name: str) -> str:
        return quote(model._meta.get_field(name).column)

    application_key, user_key = quote(application._meta.pk.column), quote(user._meta.pk.column)
    # Only names from the models' own metadata, quoted, go into the text; the checksum is a parameter.
    return (
        f"SELECT {columns(alias, token, 't')}, {columns(alias, application, 'a')}, "  # noqa: S608
        f"{columns(alias, client, 'c')}, {columns(alias, user, 'u')} "
        f"FROM {quote(token._meta.db_table)} t "
        f"LEFT JOIN {quote(application._meta.db_table)} a ON a.{application_key} = t.{column(token, 'application')} "
        f"LEFT JOIN {quote(client._meta.db_table)} c ON c.{column(client, 'application')} = a.{application_key} "
        f"LEFT JOIN {quote(user._meta.db_table)} u ON u.{user_key} = t.{column(token, 'user')} "
        f"WHERE t.{column(token, 'token_checksum')} = %s"
    )


class TokenView(oauth2_views.TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.authorization_flow_token_response(request)
