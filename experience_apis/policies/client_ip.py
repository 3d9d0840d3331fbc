"""The client's address, believing X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies wrote it.

Each proxy appends the address it received the request from, so with N trusted proxies in front of us
the client is the N-th entry from the right; whatever stands left of it was sent by the client and may be
made up. With 0 (the default) X-Forwarded-For is ignored and the client is REMOTE_ADDR.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        # Not through every trusted proxy: nothing in the header is vouched for.
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
