from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from ..clients.scopes import INCIDENTS
from ..models import ApiClient


def current_client(request: Request) -> ApiClient | None:
    """The active API client whose bearer token came with the request, if any."""
    application_id = getattr(request.auth, "application_id", None)
    if application_id is None:
        return None
    if not hasattr(request, "_api_client"):
        request._api_client = (
            ApiClient.objects.select_related("application").filter(application_id=application_id, active=True).first()
        )
    return request._api_client


class IsActiveApiClient(BasePermission):
    message = "This API is for API clients: get a token at POST /o/token/ with your client credentials."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return current_client(request) is not None and request.auth.is_valid([INCIDENTS])
