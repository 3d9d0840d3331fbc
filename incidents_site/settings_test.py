"""Settings of the test suite: the project plus the sandbox apps, so tests can drive both."""

from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "sandbox",
    "sandbox.servicenow",
    "sandbox.salesforce",
    "sandbox.slack",
    "sandbox.mail",
    "sandbox.receiver",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not REDIS_URL:  # noqa: F405
    # Tests clear the cache around each test; the in-memory one needs no database for that.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tasks run in-process in tests; the real worker is exercised by tests/integration (services tier).
CELERY_TASK_ALWAYS_EAGER = True
# Not propagated: Celery runs eager retries itself only then (a task bug still shows in the state asserted).
CELERY_TASK_EAGER_PROPAGATES = False
# Mail stays in django.core.mail.outbox unless a test points EMAIL_URL at an SMTP server of its own.
EMAIL_URL = "locmem://"
SITE_URL = "http://testserver"
EMAIL_RETRY_BASE = 0.01
EMAIL_RETRY_CAP = 0.05
NOTIFICATION_RETRY_BASE = 0.01
NOTIFICATION_RETRY_CAP = 0.05

# Rate limits far above what any test sends; the tests of the limits themselves set low ones.
API_RATE_LIMITS = {"bronze": "100000/m", "silver": "100000/m", "gold": "100000/m"}
REPORT_FORM_RATE_LIMIT = STATUS_LOOKUP_RATE_LIMIT = TOKEN_ENDPOINT_RATE_LIMIT = "100000/m"
SLACK_POSTS_PER_SECOND = 100000

# The call trace stores each flow as it ends, on the thread that ran it, so a test reads it at once (in its own
# transaction); elsewhere a writer thread stores flows in batches. tests/operations/test_call_trace_writer.py
# runs the writer thread itself.
CALL_TRACE_SYNCHRONOUS = True
WEBHOOK_RETRY_BASE = 0.01
WEBHOOK_RETRY_CAP = 0.05
MIGRATION_RETRY_BASE = 0.01
MIGRATION_RETRY_CAP = 0.05
MIGRATION_JOB_POLL_SECONDS = 0.01
