"""The OAuth 2.0 token endpoint as Incident Hub runs it: client credentials only, for active API clients.

The toolkit's server class is oauthlib's BackendApplicationServer (settings.OAUTH2_PROVIDER), so any other
grant is refused with `unsupported_grant_type`; the token view here sends every grant to it, where the
toolkit's own view would first read a device code it never issued (a 500 on a request without one).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider import views as oauth2_views
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from ..models import ApiClient


class ApiClientOAuth2Validator(OAuth2Validator):
    """A disabled API client's right secret is refused like a wrong one: `invalid_client`, and no token."""

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        return ApiClient.objects.filter(application_id=request.client.pk, active=True).exists()

    def _load_access_token(self, token: str) -> Any:
        # The toolkit's own lookup, with the API client read in the same query (every API request needs it).
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            get_access_token_model()
            .objects.select_related("application__api_client", "user")
            .filter(token_checksum=checksum)
            .first()
        )


class TokenView(oauth2_views.TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.authorization_flow_token_response(request)
