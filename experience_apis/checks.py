"""System checks of the Experience APIs' policies: a rate limit that cannot be read fails at start, not per request."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core import checks

from .models import ApiClient

RATE = re.compile(r"^[1-9]\d*/\d*[smhd]$")
RATE_SETTINGS = ("REPORT_FORM_RATE_LIMIT", "STATUS_LOOKUP_RATE_LIMIT", "TOKEN_ENDPOINT_RATE_LIMIT")


@checks.register()
def rate_limits_are_readable(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    rates = {f"API_RATE_LIMITS[{tier!r}]": settings.API_RATE_LIMITS.get(tier) for tier in ApiClient.Tier.values}
    rates.update({name: getattr(settings, name) for name in RATE_SETTINGS})
    return [
        checks.Error(
            f"{name} is {value!r}, which is no rate limit.",
            hint='Write it as requests per period: "60/m", "10/10m", "1000/h", "5/s" or "20000/d".',
            id="experience_apis.E001",
        )
        for name, value in rates.items()
        if not isinstance(value, str) or not RATE.match(value)
    ]
