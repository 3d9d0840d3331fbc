"""gunicorn for production (Procfile.production): `gunicorn incidents_site.wsgi -c deploy/gunicorn.conf.py`.

Threaded workers: a report waits on ServiceNow for up to REPORT_DOWNSTREAM_BUDGET seconds, mostly idle, so
each process serves several requests at once. A worker is killed only well after that budget is spent, and
is recycled now and then (with jitter, so not all at once) to bound memory. `kill -HUP` reloads gracefully.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
# A thread waiting on a vendor holds no database connection (pooled, given back while it waits): with real vendor
# latencies, 16 threads a process keep both cores busy where 8 left them waiting (bench/perf.py, phase vendors).
threads = int(os.environ.get("WEB_THREADS", "16"))
timeout = int(float(os.environ.get("REPORT_DOWNSTREAM_BUDGET", "20"))) + 25
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# Django logs one JSON event per request (incidents_site.middleware); gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
# The supervisor (honcho, systemd, the platform) manages the processes; a control socket at one fixed path per user
# would be shared by every instance on the machine.
control_socket_disable = True
# Behind a proxy on another host, FORWARDED_ALLOW_IPS names it; Django decides what it believes (TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
