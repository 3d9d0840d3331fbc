"""Who may call the internal APIs (System and Process layers): staff granted it, or an API client marked internal.

Staff use their admin session (the browsable API, Swagger UI), with the permission
`experience_apis.use_internal_apis` (superusers have it). Programs use the bearer token of an API
client that staff marked internal: the token endpoint gives only those clients the `internal` scope
(experience_apis.clients.scopes), and the client must still be active and internal when the token is used.
No password is checked per request: a client's secret is checked once, at the token endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views is being imported
    from rest_framework.request import Request
    from rest_framework.views import APIView

INTERNAL_SCOPE = "internal"
INTERNAL_APIS_PERMISSION = "experience_apis.use_internal_apis"


class IsStaffOrInternalClient(BasePermission):
    message = (
        "Internal API: log in to the admin as staff allowed to use the internal APIs, "
        "or send the bearer token of an API client marked internal."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        from experience_apis.models import ApiClient  # not at import time: DRF loads this before the apps

        user = request.user
        if user and user.is_authenticated and user.is_staff:
            return user.has_perm(INTERNAL_APIS_PERMISSION)
        token = request.auth
        if token is None or not hasattr(token, "is_valid") or not token.is_valid([INTERNAL_SCOPE]):
            return False
        return ApiClient.objects.filter(application_id=token.application_id, active=True, internal=True).exists()
