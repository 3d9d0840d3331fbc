"""OpenAPI hooks: what the site adds to every API (POSTPROCESSING_HOOKS), and what the public schema keeps.

The public schema (/api/schema/) describes the Experience API for clients and the token endpoint; the internal
one (/api/internal/schema/, for IsStaffOrInternalClient) describes every operation.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme

from .request_limits import LIMITED_PREFIXES

PUBLIC_PREFIXES = ("/api/v1/", "/api/events/")
OAUTH_TAG = "OAuth"

BODY_TOO_LARGE = {
    "description": "The body is larger than the API accepts (API_MAX_BODY_BYTES, 64 KiB by default); nothing was read.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}},
}


def document_body_size_limit(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every limited operation that takes a body may answer 413 (incidents_site.request_limits refuses it first)."""
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(LIMITED_PREFIXES):
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("413", BODY_TOO_LARGE)
    return result


def public_endpoints(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """The public schema's operations: the Experience APIs for clients and for events; the System and Process APIs
    are internal."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PUBLIC_PREFIXES)]


def _oauth_error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}},
    }


def document_token_endpoint(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POST /o/token/ as experience_apis.clients.oauth runs it: django-oauth-toolkit's view is no DRF view,
    so drf-spectacular cannot see it."""
    components = result.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    # The v1 operations name their scopes themselves (auth=...), so drf-spectacular registers the scheme they
    # name only when some other operation uses OAuth2Authentication: not in the public schema.
    schemes.setdefault(DjangoOAuthToolkitScheme.name, DjangoOAuthToolkitScheme(None).get_security_definition(None))
    schemes["clientBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "The API client's id and secret (client_secret_basic).",
    }
    schemas = components.setdefault("schemas", {})
    schemas["OAuthTokenRequest"] = {
        "type": "object",
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "scope": {"type": "string", "description": "Space-separated scopes; the client's default when absent."},
        },
        "required": ["grant_type"],
    }
    schemas["OAuthToken"] = {
        "type": "object",
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "description": "Seconds until the token expires."},
            "scope": {"type": "string"},
        },
        "required": ["access_token", "token_type", "expires_in", "scope"],
    }
    schemas["OAuthError"] = {
        "type": "object",
        "description": "An OAuth 2.0 error (RFC 6749, section 5.2).",
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
        "required": ["error"],
    }
    result.setdefault("paths", {})[reverse("oauth2-token")] = {
        "post": {
            "operationId": "oauth_token_create",
            "summary": "Get a bearer token with the client credentials grant",
            "tags": [OAUTH_TAG],
            "security": [{"clientBasic": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/OAuthTokenRequest"}}
                },
            },
            "responses": {
                "200": {
                    "description": "A bearer token for the API.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthToken"}}},
                },
                "400": _oauth_error("The request is invalid: unsupported grant, unknown or forbidden scope."),
                "401": _oauth_error("The client's id or secret is wrong, or the client is disabled: invalid_client."),
                "429": {
                    "description": "Too many token requests from this address (TOKEN_ENDPOINT_RATE_LIMIT).",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}},
                },
            },
        }
    }
    return result
