"""What every REST face shares: the one error shape (`ApiError`) and how to document it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers

UNSUPPORTED_MEDIA_TYPE = "The body has no Content-Type, or one this operation does not read."
# Codes whose answers may carry Retry-After: the system's own wait, or the time until its circuit half-opens.
RETRY_AFTER_CODES = (429, 503)


@extend_schema_serializer(component_name="ApiError")
class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = serializers.DictField()


@dataclass(frozen=True)
class ErrorDocs:
    """How one REST face documents its `ApiError` answers: each code's description, and which carry Retry-After."""

    descriptions: dict[int, str]
    retry_after: tuple[int, ...] = RETRY_AFTER_CODES

    def described(self, descriptions: dict[int, str]) -> ErrorDocs:
        """The same docs, with some codes described otherwise."""
        return replace(self, descriptions={**self.descriptions, **descriptions})

    def schema(
        self,
        *,
        errors: tuple[int, ...],
        described: dict[int, str] | None = None,
        parameters: Sequence[Any] = (),
        responses: dict[int, Any],
        **kwargs: Any,
    ) -> Callable:
        """`extend_schema` for an operation that can answer the error codes `errors`, each declared once.

        Their responses follow `responses` and their headers follow `parameters`; `described` overrides descriptions.
        """
        descriptions = {**self.descriptions, **(described or {})}
        return extend_schema(
            parameters=[*parameters, *self._headers(errors)],
            responses={
                **responses,
                **{code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in errors},
            },
            **kwargs,
        )

    def _headers(self, codes: tuple[int, ...]) -> list[OpenApiParameter]:
        """WWW-Authenticate on a 401, Retry-After (when known) on the codes in `retry_after`."""
        headers = []
        if 401 in codes:
            # DRF names the first authentication class's scheme; OAuth2 comes first everywhere.
            headers.append(
                OpenApiParameter(
                    "WWW-Authenticate",
                    str,
                    OpenApiParameter.HEADER,
                    response=[401],
                    required=True,
                    description='How to authenticate, e.g. `Bearer realm="api"`.',
                )
            )
        waits = [code for code in codes if code in self.retry_after]
        if waits:
            headers.append(
                OpenApiParameter(
                    "Retry-After",
                    int,
                    OpenApiParameter.HEADER,
                    response=waits,
                    description="Seconds to wait before trying again, when known.",
                )
            )
        return headers
