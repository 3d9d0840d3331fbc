"""Requests per API client on /api/v1/, by the client's tier (settings.API_RATE_LIMITS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from ..policies.rate_limits import RateLimitUsage, rate_limit_hit
from .permissions import current_client

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from ..models import ApiClient

SCOPE = "api-v1"


def rate_limit_usage(request: Request) -> RateLimitUsage | None:
    """What the throttle counted for this request (None before it ran, for anonymous callers, or cache down)."""
    return getattr(request, "_rate_limit_usage", None)


class ApiClientTierThrottle(BaseThrottle):
    scope = SCOPE

    def rate(self, client: ApiClient) -> str:
        return settings.API_RATE_LIMITS[client.tier]

    def allow_request(self, request: Request, view: APIView) -> bool:
        client = current_client(request)
        if client is None:
            return True  # the permission check answers those
        usage = rate_limit_hit(scope=self.scope, key=client.client_id, rate=self.rate(client))
        request._rate_limit_usage = self.usage = usage
        return usage is None or not usage.exceeded

    def wait(self) -> float | None:
        usage = getattr(self, "usage", None)
        return usage.retry_after if usage else None


class EventsClientThrottle(ApiClientTierThrottle):
    """Pushes per events client (EVENTS_RATE_LIMIT, whatever its tier): ServiceNow sends one per incident update."""

    scope = "events"

    def rate(self, client: ApiClient) -> str:
        return settings.EVENTS_RATE_LIMIT


class ClientRateLimited:
    """An API view whose throttle counts per client: 429 says so, and every answer carries the RateLimit headers."""

    def throttled(self, request: Request, wait: float | None) -> None:
        usage = rate_limit_usage(request)
        limit = f" of {usage.limit} requests" if usage else ""
        raise exceptions.Throttled(wait, detail=f"Your client's rate limit{limit} is used up for this window.")

    def finalize_response(self, request: Request, response: Response, *args: object, **kwargs: object) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        usage = rate_limit_usage(request)
        if usage is not None:
            for name, value in usage.headers().items():
                response[name] = value
        return response
