from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from ..clients.scopes import EVENTS, INCIDENTS
from ..models import ApiClient


def current_client(request: Request) -> ApiClient | None:
    """The active API client whose bearer token came with the request, if any."""
    application = getattr(request.auth, "application", None)
    if application is None:
        return None
    # Read with the token (experience_apis.clients.oauth), so nothing more is queried here.
    client = getattr(application, "api_client", None)
    return client if client is not None and client.active else None


class IsActiveApiClient(BasePermission):
    message = "This API is for API clients: get a token at POST /o/token/ with your client credentials."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return current_client(request) is not None and request.auth.is_valid([INCIDENTS])


class IsEventsClient(BasePermission):
    message = "This API takes incident events: the token must be an active API client's with the `events` scope."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return current_client(request) is not None and request.auth.is_valid([EVENTS])
