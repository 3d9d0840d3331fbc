"""Per-address limit on the OAuth endpoints that check a client's secret (token, revocation): every guess
at a secret costs a slow hash check."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from oauth2_provider.views import IntrospectTokenView, RevokeTokenView, TokenView

from .rate_limits import rate_limit_ip_hit

SECRET_CHECKING_VIEWS = (TokenView, RevokeTokenView, IntrospectTokenView)


class TokenEndpointRateLimitMiddleware(MiddlewareMixin):
    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "view_class", None)
        if request.method != "POST" or view_class is None or not issubclass(view_class, SECRET_CHECKING_VIEWS):
            return None
        usage = rate_limit_ip_hit(request=request, scope="oauth-token", rate=settings.TOKEN_ENDPOINT_RATE_LIMIT)
        if usage is None or not usage.exceeded:
            return None
        response = JsonResponse(
            {
                "message": f"Too many token requests from your address; try again in {usage.retry_after} s.",
                "extra": {"code": "rate_limited", "retry_after": usage.retry_after},
            },
            status=429,
        )
        response["Retry-After"] = str(usage.retry_after)
        response["Cache-Control"] = "no-store"
        return response
