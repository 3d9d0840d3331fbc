"""Settings of the point-to-point view inside the site: Incident Hub's production settings (middleware, logging,
OAuth toolkit, databases, cache) with the view's URLconf, and no call trace (it is bookkeeping of the layers)."""

from incidents_site.settings_production import *  # noqa: F403
from incidents_site.settings_production import env

ROOT_URLCONF = "bench.p2p.site_urls"
CALL_TRACE_ENABLED = False
P2P_QUEUE_URL = env("P2P_QUEUE_URL")
