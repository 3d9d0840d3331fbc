"""The largest body an API request may carry: a larger one is refused with 413 before a byte of it is read.

Applied to every API under LIMITED_PREFIXES, whose OpenAPI operations document the 413 (incidents_site.api_schema).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

LIMITED_PREFIXES = ("/api/",)


class ApiBodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(LIMITED_PREFIXES):
            limit = settings.API_MAX_BODY_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return JsonResponse(
                    {
                        "message": f"The request body is too large: at most {limit} bytes are accepted.",
                        "extra": {"code": "payload_too_large", "max_bytes": limit},
                    },
                    status=413,
                )
        return self.get_response(request)
