"""The API docs pages (Swagger UI at /api/docs/, Redoc at /api/redoc/) under the site's Content Security Policy.

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
from functools import cache
from pathlib import Path

import drf_spectacular
from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

SWAGGER_TEMPLATE = Path(drf_spectacular.__file__).parent / "templates" / "drf_spectacular" / "swagger_ui.html"


@cache
def swagger_style_hashes() -> list[str]:
    """CSP hashes of the inline <style> blocks of drf-spectacular's Swagger UI template (they hold no variable)."""
    blocks = re.findall(r"<style>(.*?)</style>", SWAGGER_TEMPLATE.read_text(), re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'" for block in blocks]


api_docs = csp_update({"style-src": swagger_style_hashes()})(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))
api_redoc = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
    SpectacularRedocView.as_view(url_name="api-schema")
)
