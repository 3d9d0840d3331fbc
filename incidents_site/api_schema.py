"""OpenAPI postprocessing for what the site adds to every API (drf-spectacular's POSTPROCESSING_HOOKS)."""

from __future__ import annotations

from typing import Any

from .request_limits import LIMITED_PREFIXES

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
