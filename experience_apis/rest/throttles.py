"""Requests per API client on /api/v1/, by the client's tier (settings.API_RATE_LIMITS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from ..policies.rate_limits import RateLimitUsage, rate_limit_hit
from .permissions import current_client

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

SCOPE = "api-v1"


def rate_limit_usage(request: Request) -> RateLimitUsage | None:
    """What the throttle counted for this request (None before it ran, for anonymous callers, or cache down)."""
    return getattr(request, "_rate_limit_usage", None)


class ApiClientTierThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: APIView) -> bool:
        client = current_client(request)
        if client is None:
            return True  # the permission check answers those
        usage = rate_limit_hit(scope=SCOPE, key=client.client_id, rate=settings.API_RATE_LIMITS[client.tier])
        request._rate_limit_usage = self.usage = usage
        return usage is None or not usage.exceeded

    def wait(self) -> float | None:
        usage = getattr(self, "usage", None)
        return usage.retry_after if usage else None
