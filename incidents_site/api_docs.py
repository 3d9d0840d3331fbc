"""The OpenAPI schemas and their docs pages (Swagger UI, Redoc) under the site's Content Security Policy.

Public: /api/schema/, /api/docs/, /api/redoc/ describe the Experience API for clients and the token endpoint,
to anyone. Internal: /api/internal/schema/, /api/internal/docs/, /api/internal/redoc/ describe every operation,
to whoever may call the internal APIs (IsStaffOrInternalClient); the docs pages send anonymous browsers to the
admin login.

Swagger UI: drf-spectacular's split view serves its start-up script as a file of its own (`?script`), because
the plain view writes it inline, with the CSRF token in it, which `script-src 'self'` rightly blocks. The
template's small inline stylesheet is allowed by its hash, computed from drf-spectacular's own template.
Redoc: its bundle injects its styles at run time and runs its search in a worker made from a blob, so its page
alone allows inline styles (never inline scripts) and blob workers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import drf_spectacular
from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .api_permissions import INTERNAL_SCOPE, IsStaffOrInternalClient

SWAGGER_TEMPLATE = Path(drf_spectacular.__file__).parent / "templates" / "drf_spectacular" / "swagger_ui.html"


@cache
def swagger_style_hashes() -> list[str]:
    """CSP hashes of the inline <style> blocks of drf-spectacular's Swagger UI template (they hold no variable)."""
    blocks = re.findall(r"<style>(.*?)</style>", SWAGGER_TEMPLATE.read_text(), re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'" for block in blocks]


PUBLIC_SCHEMA_SETTINGS = {
    "DESCRIPTION": "The Incident Hub REST API for clients, and the OAuth 2.0 token endpoint that opens it.",
    "PREPROCESSING_HOOKS": ["incidents_site.api_schema.public_endpoints"],
    "OAUTH2_SCOPES": {
        scope: text for scope, text in settings.OAUTH2_PROVIDER["SCOPES"].items() if scope != INTERNAL_SCOPE
    },
}
INTERNAL = {"permission_classes": [IsStaffOrInternalClient]}


class InternalSchemaView(SpectacularAPIView):
    permission_classes = INTERNAL["permission_classes"]

    def handle_exception(self, exc: Exception) -> Response:
        # Refusals answer JSON like every other API, not in the schema's negotiated YAML.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


def swagger_ui(**options: Any) -> Callable[..., HttpResponse]:
    return csp_update({"style-src": swagger_style_hashes()})(SpectacularSwaggerSplitView.as_view(**options))


def redoc(**options: Any) -> Callable[..., HttpResponse]:
    return csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
        SpectacularRedocView.as_view(**options)
    )


def for_staff_browsers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous browsers go to the admin login; logged-in users without the permission get the view's 403."""
    return login_required(view, login_url="admin:login")


api_schema = SpectacularAPIView.as_view(custom_settings=PUBLIC_SCHEMA_SETTINGS)
api_docs = swagger_ui(url_name="api-schema")
api_redoc = redoc(url_name="api-schema")

internal_api_schema = InternalSchemaView.as_view()
internal_api_docs = for_staff_browsers(swagger_ui(url_name="api-internal-schema", **INTERNAL))
internal_api_redoc = for_staff_browsers(redoc(url_name="api-internal-schema", **INTERNAL))
