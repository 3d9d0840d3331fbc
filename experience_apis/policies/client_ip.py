"""The client's address, believing X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies wrote it.

Each proxy appends the address it received the request from, so with N trusted proxies in front of us
the client is the N-th entry from the right; whatever stands left of it was sent by the client and may be
made up. With 0 (the default) X-Forwarded-For is ignored and the client is REMOTE_ADDR.

Limits and lockouts count per `client_block`: an IPv4 address, or the /64 network of an IPv6 one, which
a single customer line is given whole (counting its addresses one by one would let it rotate past them).
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


IPV6_BLOCK_PREFIX = 64


def client_block(request: HttpRequest) -> str:
    """What a per-address limit counts: the client's IPv4 address, or its IPv6 /64 (as its first address)."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/{IPV6_BLOCK_PREFIX}", strict=False).network_address)
