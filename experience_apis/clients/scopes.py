"""Which OAuth scopes an API client may get (the toolkit's SCOPES_BACKEND_CLASS).

An active client gets the scopes it was made with (`incidents` for the v1 API, `events` for pushing incident
events); a client staff marked internal also gets `internal` (the System and Process APIs) without asking for
it. A disabled client gets none.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

from ..models import ApiClient

INCIDENTS = "incidents"
INTERNAL = "internal"
EVENTS = "events"


class ApiClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return dict(oauth2_settings.SCOPES)

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list:
        client = application and ApiClient.objects.filter(application_id=application.pk, active=True).first()
        if not client:
            return []
        return [*client.scope_names, INTERNAL] if client.internal else client.scope_names

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list:
        return self.get_available_scopes(application, request)
