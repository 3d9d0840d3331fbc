"""Incident Hub settings: everything from the environment, with safe local defaults.

Unset system URLs point at the sandbox (`make run` serves it on SANDBOX_PORT), so a fresh clone
runs with no vendor account; pointing a connector at a real instance is a matter of settings.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from kombu import Queue

from .config import cache_config, celery_broker_options, servicenow_poll_schedule, tune_database

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env("INCIDENT_HUB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-local-development-only")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "django_celery_beat",
    "kernel",
    "system_apis",
    "process_apis",
    "experience_apis",
    "operations",
    "incidents_site.apps.SiteConfig",
]

MIDDLEWARE = [
    "incidents_site.middleware.TraceIdMiddleware",
    "incidents_site.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "incidents_site.request_limits.ApiBodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "experience_apis.policies.middleware.TokenEndpointRateLimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "incidents_site.urls"
WSGI_APPLICATION = "incidents_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=8)
DATABASES = {
    "default": tune_database(
        env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'incident_hub.sqlite3'}"),
        pool_size=DATABASE_POOL_SIZE,
    ),
    # The old customer database: its own alias, touched only by system_apis.legacy_db.
    "legacy": tune_database(
        env.db_url("LEGACY_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'legacy_customers.sqlite3'}"),
        pool_size=DATABASE_POOL_SIZE,
    ),
}
DATABASE_ROUTERS = ["system_apis.legacy_db.router.LegacyDatabaseRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
CACHES = {"default": cache_config(REDIS_URL)}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # Rate limits count with cache.incr, which Django's database cache does as a read then a write.
    CACHES["default"]["BACKEND"] = "incidents_site.cache.AtomicDatabaseCache"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# JSON, one event a line, for log collectors; LOG_FORMAT=plain for reading in a terminal.
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"flow": {"()": "incidents_site.log_format.FlowContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(trace_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["flow"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own configuration gives these loggers plain-text handlers; here they print through the root's.
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # "Task ... received" is logged before the task's trace context is restored, so without the flow's
        # correlation id; the call trace shows each task's run and its wait in the queue instead.
        "celery.worker.strategy": {"level": "WARNING"},
    },
}

# --- REST APIs -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # System and Process APIs are internal: a staff user's session, or the bearer token of an API client
    # that staff marked internal. The Experience API v1 opens itself to every active API client.
    "DEFAULT_PERMISSION_CLASSES": ["incidents_site.api_permissions.IsStaffOrInternalClient"],
    "EXCEPTION_HANDLER": "incidents_site.api_errors.exception_handler",
}
# REST clients: OAuth 2.0 client credentials (POST /o/token/, then Authorization: Bearer).
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("API_TOKEN_LIFETIME", default=3600),
    "SCOPES": {
        "incidents": "Report incidents and read your own reports",
        "internal": "Call the System and Process APIs (API clients that staff marked internal)",
        "events": "Send incident events (ServiceNow's business rule)",
    },
    "DEFAULT_SCOPES": ["incidents"],
    # Which scopes a client may get: `internal` only for clients marked internal, nothing for disabled ones.
    "SCOPES_BACKEND_CLASS": "experience_apis.clients.scopes.ApiClientScopes",
    # Client credentials is the one grant API clients use: the server knows no other, and only active
    # clients authenticate. No client id is ever a URL to fetch metadata from.
    "OAUTH2_SERVER_CLASS": "oauthlib.oauth2.BackendApplicationServer",
    "OAUTH2_VALIDATOR_CLASS": "experience_apis.clients.oauth.ApiClientOAuth2Validator",
    "CIMD_ENABLED": False,
    # RFC 9700 (OAuth 2.0 Security BCP): tokens stored hashed, never taken from a URL, no legacy grants.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# Named explicitly so that migrations referring to the toolkit's models resolve the swappable name.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"

SPECTACULAR_SETTINGS = {
    "TITLE": "Incident Hub APIs",
    "DESCRIPTION": "System, Process and Experience APIs of Incident Hub (API-led connectivity).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # What these settings describe is the internal schema; the public one narrows them (incidents_site.api_docs).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_SCOPES": OAUTH2_PROVIDER["SCOPES"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "incidents_site.api_schema.document_body_size_limit",
        "incidents_site.api_schema.document_token_endpoint",
    ],
    "ENUM_NAME_OVERRIDES": {
        "NotificationStateEnum": "process_apis.models.NotificationDelivery.State",
        "IncidentStateEnum": "system_apis.servicenow.api.STATE_CHOICES",
    },
}

# --- API policies: who may call, how often, how much -------------------------------------------
# Proxies in front of Incident Hub that append the client's address to X-Forwarded-For. 0: the client is
# REMOTE_ADDR and X-Forwarded-For is never believed (anyone can send it). Used by every per-IP limit and
# by the admin's login lockout.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Requests per client on /api/v1/, by tier ("N/s", "N/m", "N/h", "N/d", or "N/10m"); counted in the cache.
API_RATE_LIMITS = {
    "bronze": env("API_RATE_LIMIT_BRONZE", default="60/m"),
    "silver": env("API_RATE_LIMIT_SILVER", default="300/m"),
    "gold": env("API_RATE_LIMIT_GOLD", default="1200/m"),
}
# Per events client (ServiceNow's business rule), whatever its tier: one push per incident update.
EVENTS_RATE_LIMIT = env("EVENTS_RATE_LIMIT", default="3000/m")
# Per client IP: reports sent with the form, status lookups, and attempts at the token endpoint.
REPORT_FORM_RATE_LIMIT = env("REPORT_FORM_RATE_LIMIT", default="10/10m")
STATUS_LOOKUP_RATE_LIMIT = env("STATUS_LOOKUP_RATE_LIMIT", default="30/10m")
TOKEN_ENDPOINT_RATE_LIMIT = env("TOKEN_ENDPOINT_RATE_LIMIT", default="30/m")
# Largest request body /api/ reads; a larger one is refused with 413 before it is read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)

# Admin login: lock an address out after AXES_FAILURE_LIMIT failed logins, for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "experience_apis.policies.client_ip.client_block"
AXES_LOCKOUT_TEMPLATE = "admin/experience_apis/locked_out.html"

# Content Security Policy on every page: our own files only, no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker_options(CELERY_BROKER_URL, VAR_DIR)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "incidents_site.broker:Transport"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# One attempt is a lookup and a create at most (two calls' timeouts); a task still running far past that is stuck,
# and its claim's lease (longer still, see process_apis.checks) lets the sweeper hand the work to another.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task cut off by a lost broker connection is given up; its record's claim and the sweeper redo it.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes every database connection around each task: a new PostgreSQL connection per task.
# Workers keep theirs as web requests do instead, closed when old or broken (incidents_site.celery).
CELERY_DB_REUSE_MAX = 1_000_000
# Enqueuing must never hold a request up for long: a broker outage leaves work to the sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# One queue per downstream, so a slow Slack never holds up ServiceNow: a worker started without -Q takes
# every queue; a dedicated one takes its own (`celery -A incidents_site worker -Q slack`).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in ("celery", "servicenow", "slack", "email", "webhooks")]
CELERY_TASK_ROUTES = {
    "process_apis.sync_incident": {"queue": "servicenow"},
    "process_apis.deliver_notification": {"queue": "slack"},
    "process_apis.send_customer_mail": {"queue": "email"},
    "process_apis.migrate_legacy_customers": {"queue": "celery"},
    "process_apis.deliver_webhook": {"queue": "webhooks"},
    "experience_apis.send_slack_answer": {"queue": "slack"},
    "process_apis.poll_servicenow": {"queue": "servicenow"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-unfinished-work": {"task": "process_apis.sweep_unfinished_work", "schedule": 30.0},
    "purge-expired-idempotency-keys": {"task": "experience_apis.purge_expired_idempotency_keys", "schedule": 3600.0},
    "purge-old-call-traces": {"task": "process_apis.purge_old_call_traces", "schedule": 3600.0},
    "purge-applied-servicenow-events": {"task": "process_apis.purge_applied_servicenow_events", "schedule": 3600.0},
}
# Events from ServiceNow: its business rule pushes each change; this poll catches up what a push missed.
SERVICENOW_POLL_SECONDS = env.float("SERVICENOW_POLL_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE.update(servicenow_poll_schedule(SERVICENOW_POLL_SECONDS))

# /health/ready names which dependency fails: right for a balancer on a private network; false answers the status
# alone (ok, degraded, unavailable) where anyone can reach it.
HEALTH_READY_DETAIL = env.bool("HEALTH_READY_DETAIL", default=True)

# --- Production (incidents_site/production_checks.py) ------------------------------------------
# settings_production turns this on: laptop defaults (SQLite, the filesystem broker, the sandbox...) then refuse
# to start. A staging deployment may still talk to the sandbox, by saying so.
PRODUCTION = False
STAGING_ON_SANDBOX = env.bool("INCIDENT_HUB_STAGING_ON_SANDBOX", default=False)

# --- The sandbox (stand-ins for ServiceNow, Salesforce and Slack) -------------------------------
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8001)
SANDBOX_URL = env("SANDBOX_URL", default=f"http://127.0.0.1:{SANDBOX_PORT}")
SANDBOX_SERVICENOW_USERNAME = env("SANDBOX_SERVICENOW_USERNAME", default="incident.hub")
SANDBOX_SERVICENOW_PASSWORD = env("SANDBOX_SERVICENOW_PASSWORD", default="sandbox-servicenow-password")
SANDBOX_SALESFORCE_CLIENT_ID = env("SANDBOX_SALESFORCE_CLIENT_ID", default="3MVG9sandbox.incident.hub")
SANDBOX_SALESFORCE_CLIENT_SECRET = env("SANDBOX_SALESFORCE_CLIENT_SECRET", default="sandbox-salesforce-secret")
SANDBOX_SALESFORCE_PAGE_SIZE = env.int("SANDBOX_SALESFORCE_PAGE_SIZE", default=2000)
# Bulk API 2.0 ingest jobs: queued this long once closed, then InProgress for their rows at this rate (0: at once);
# at most this much CSV per job (Salesforce: 100 MB, 104,857,600 bytes).
SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS = env.float("SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS", default=0.5)
SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND = env.float("SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND", default=10000.0)
SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES = env.int("SANDBOX_SALESFORCE_BULK_MAX_UPLOAD_BYTES", default=104_857_600)
SANDBOX_SLACK_BOT_TOKEN = env("SANDBOX_SLACK_BOT_TOKEN", default="xoxb-sandbox-incident-hub")
SANDBOX_SLACK_SIGNING_SECRET = env("SANDBOX_SLACK_SIGNING_SECRET", default="sandbox-slack-signing-secret")
SANDBOX_SLACK_TEAM_ID = "T0SANDBOX01"
SANDBOX_SLACK_CHANNELS = {"incidents": "C0INCIDENTS", "general": "C0GENERAL01"}
# Seconds after posting that a message may still be edited (chat.update), as a workspace can set; 0: no limit.
SANDBOX_SLACK_EDIT_WINDOW = env.int("SANDBOX_SLACK_EDIT_WINDOW", default=0)
# The sandbox's SMTP server (sandbox/mail), the customer's mailbox of `make run`.
SANDBOX_SMTP_PORT = env.int("SANDBOX_SMTP_PORT", default=8025)
SANDBOX_EMAIL_URL = f"smtp://127.0.0.1:{SANDBOX_SMTP_PORT}"

# --- System APIs: where the systems of record are ------------------------------------------------
SERVICENOW_BASE_URL = env("SERVICENOW_BASE_URL", default=f"{SANDBOX_URL}/servicenow")
SERVICENOW_USERNAME = env("SERVICENOW_USERNAME", default=SANDBOX_SERVICENOW_USERNAME)
SERVICENOW_PASSWORD = env("SERVICENOW_PASSWORD", default=SANDBOX_SERVICENOW_PASSWORD)
SERVICENOW_TIMEOUT = (
    env.float("SERVICENOW_CONNECT_TIMEOUT", default=3.05),
    env.float("SERVICENOW_READ_TIMEOUT", default=10.0),
)

SALESFORCE_BASE_URL = env("SALESFORCE_BASE_URL", default=f"{SANDBOX_URL}/salesforce")
SALESFORCE_CLIENT_ID = env("SALESFORCE_CLIENT_ID", default=SANDBOX_SALESFORCE_CLIENT_ID)
SALESFORCE_CLIENT_SECRET = env("SALESFORCE_CLIENT_SECRET", default=SANDBOX_SALESFORCE_CLIENT_SECRET)
SALESFORCE_API_VERSION = env("SALESFORCE_API_VERSION", default="v62.0")
SALESFORCE_TIMEOUT = (
    env.float("SALESFORCE_CONNECT_TIMEOUT", default=3.05),
    env.float("SALESFORCE_READ_TIMEOUT", default=5.0),
)

SLACK_API_URL = env("SLACK_API_URL", default=f"{SANDBOX_URL}/slack/api/")
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN", default=SANDBOX_SLACK_BOT_TOKEN)
SLACK_CHANNEL = env("SLACK_CHANNEL", default="#incidents")
# Slack takes about one message per second per channel: posts are paced to it (0: no pacing). A post whose
# slot is in a later second is rescheduled for it, not waited for in the worker.
SLACK_POSTS_PER_SECOND = env.int("SLACK_POSTS_PER_SECOND", default=1)
SLACK_TIMEOUT = (
    env.float("SLACK_CONNECT_TIMEOUT", default=3.05),
    env.float("SLACK_READ_TIMEOUT", default=5.0),
)
# Where answers to a slash command or an interaction may be posted (its response_url, which the request names):
# Slack's own hooks, and the sandbox's while Slack is the sandbox. Compared as parsed URLs (scheme, host, port, path).
SLACK_RESPONSE_URL_PREFIXES = env.list(
    "SLACK_RESPONSE_URL_PREFIXES",
    default=[
        "https://hooks.slack.com/",
        *([f"{SANDBOX_URL}/slack/"] if SLACK_API_URL == f"{SANDBOX_URL}/slack/api/" else []),
    ],
)
# The Slack app's signing secret: every slash command and modal submission from Slack is checked with it.
SLACK_SIGNING_SECRET = env("SLACK_SIGNING_SECRET", default=SANDBOX_SLACK_SIGNING_SECRET)
# The workspaces (team ids, T...) whose people may use /incident: the signing secret is the app's, and an app can be
# installed in other workspaces than yours.
SLACK_TEAM_IDS = env.list("SLACK_TEAM_IDS", default=[SANDBOX_SLACK_TEAM_ID])
# Slack waits 3 s for the answer to /incident: a report gets this much of it, and what is not ready by then (the
# ServiceNow incident) follows through the command's response_url, waited for up to SLACK_ANSWER_WAIT seconds
# (a response_url lasts 30 minutes).
SLACK_COMMAND_BUDGET = env.float("SLACK_COMMAND_BUDGET", default=2.0)
SLACK_ANSWER_WAIT = env.float("SLACK_ANSWER_WAIT", default=1500.0)
SLACK_ANSWER_MAX_ATTEMPTS = env.int("SLACK_ANSWER_MAX_ATTEMPTS", default=5)
SLACK_ANSWER_RETRY_BASE = env.float("SLACK_ANSWER_RETRY_BASE", default=2.0)
SLACK_ANSWER_RETRY_CAP = env.float("SLACK_ANSWER_RETRY_CAP", default=120.0)
SLACK_ANSWER_LEASE = env.float("SLACK_ANSWER_LEASE", default=60.0)

# Client webhooks (system_apis/webhooks): https only, and never to this machine or a private network, unless
# these say otherwise (local development, a receiver on the same private network).
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_TIMEOUT = (
    env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.05),
    env.float("WEBHOOK_READ_TIMEOUT", default=10.0),
)
# The customer's e-mail (system_apis/email/client.py says what the URL may be): smtp://user:password@host:587
# (STARTTLS), smtps://user:password@host:465 (TLS), or console:// (printed by the worker, sent nowhere).
EMAIL_URL = env("EMAIL_URL", default=SANDBOX_EMAIL_URL)
EMAIL_FROM = env("EMAIL_FROM", default="Incident Hub <incidents@localhost>")
# Seconds to connect, and for each answer of the SMTP server.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
# Where customers reach Incident Hub: the links in their e-mails start with it (`make run`'s address by default).
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env('WEB_PORT', default=env('PORT', default='8000'))}")
# Where on the site a customer follows a report (the web Experience API's status page), for the e-mails' links.
STATUS_PAGE_PATH = "/status"

# All downstream calls of one report (customer lookup + ServiceNow create) share this many seconds, kept
# below the web server's own timeout (gunicorn's default is 30 s); what does not fit is retried later.
REPORT_DOWNSTREAM_BUDGET = env.float("REPORT_DOWNSTREAM_BUDGET", default=20.0)

# Seconds a query of the legacy customer database may run before it is abandoned.
LEGACY_DB_TIMEOUT = env.float("LEGACY_DB_TIMEOUT", default=5.0)
# Where a legacy phone number without a country code is (ISO 3166 alpha-2, as the phonenumbers library knows it):
# the customer migration writes such a number in E.164 with this region's code ("020 7946 0001" -> +442079460001).
LEGACY_PHONE_REGION = env("LEGACY_PHONE_REGION", default="GB")

# --- Idempotent intake ---------------------------------------------------------------------------
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# An in-flight key older than this belongs to a request whose process died: it is taken over.
# Longer than a report may take (REPORT_DOWNSTREAM_BUDGET); the report itself is found by its intake key.
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS", default=60)

# --- Retries and the sweeper (seconds) ------------------------------------------------------------
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BASE = env.float("NOTIFICATION_RETRY_BASE", default=2.0)
NOTIFICATION_RETRY_CAP = env.float("NOTIFICATION_RETRY_CAP", default=300.0)
# A delivery claimed longer ago than this belongs to a worker that died: it is taken over.
NOTIFICATION_CLAIM_LEASE = env.float("NOTIFICATION_CLAIM_LEASE", default=120.0)
# A client's webhook is retried for about a day: 13 waits of up to 1, 2, 4 ... 256 minutes, then 6 hours four
# times, each jittered between half and all of that: 16 to 32 hours from the first attempt to the last, 24 on average.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=14)
WEBHOOK_RETRY_BASE = env.float("WEBHOOK_RETRY_BASE", default=60.0)
WEBHOOK_RETRY_CAP = env.float("WEBHOOK_RETRY_CAP", default=21600.0)
WEBHOOK_CLAIM_LEASE = env.float("WEBHOOK_CLAIM_LEASE", default=120.0)
# An SMTP outage delays the customer's e-mail: it is tried again for hours (about 4) before it counts as failed.
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=12)
EMAIL_RETRY_BASE = env.float("EMAIL_RETRY_BASE", default=30.0)
EMAIL_RETRY_CAP = env.float("EMAIL_RETRY_CAP", default=3600.0)
EMAIL_CLAIM_LEASE = env.float("EMAIL_CLAIM_LEASE", default=120.0)
# A migration chunk whose attempt failed (Salesforce or the legacy database out, a Failed job) is tried again for
# about an hour and a half before the run counts as failed.
MIGRATION_MAX_ATTEMPTS = env.int("MIGRATION_MAX_ATTEMPTS", default=8)
MIGRATION_RETRY_BASE = env.float("MIGRATION_RETRY_BASE", default=30.0)
MIGRATION_RETRY_CAP = env.float("MIGRATION_RETRY_CAP", default=1800.0)
# Longer than a chunk takes (reading, uploading and MIGRATION_JOB_WAIT_SECONDS of waiting): a run's claim older
# than this belongs to a worker that died.
MIGRATION_CLAIM_LEASE = env.float("MIGRATION_CLAIM_LEASE", default=1800.0)
# How long a chunk waits for its Bulk job, asking after half a second, then twice as long each time up to
# MIGRATION_JOB_POLL_SECONDS; past it the attempt is retried and waits for the same job again.
MIGRATION_JOB_WAIT_SECONDS = env.float("MIGRATION_JOB_WAIT_SECONDS", default=900.0)
MIGRATION_JOB_POLL_SECONDS = env.float("MIGRATION_JOB_POLL_SECONDS", default=5.0)
# A chunk's attempt reads, uploads and waits for its job: far longer than other tasks, so its own time limits.
MIGRATION_TASK_SOFT_TIME_LIMIT = env.int("MIGRATION_TASK_SOFT_TIME_LIMIT", default=1200)
CELERY_TASK_ANNOTATIONS = {
    "process_apis.migrate_legacy_customers": {
        "soft_time_limit": MIGRATION_TASK_SOFT_TIME_LIMIT,
        "time_limit": MIGRATION_TASK_SOFT_TIME_LIMIT + 30,
    }
}
SERVICENOW_MAX_ATTEMPTS = env.int("SERVICENOW_MAX_ATTEMPTS", default=8)
# Retrying sooner than a read timeout invites a duplicate: ServiceNow may still be making the first one.
SERVICENOW_RETRY_BASE = env.float("SERVICENOW_RETRY_BASE", default=15.0)
SERVICENOW_RETRY_CAP = env.float("SERVICENOW_RETRY_CAP", default=900.0)
SERVICENOW_SYNC_LEASE = env.float("SERVICENOW_SYNC_LEASE", default=120.0)
SWEEPER_GRACE = env.float("SWEEPER_GRACE", default=30.0)
# Applying a change ServiceNow pushed touches only the database: a failure is retried soon.
SERVICENOW_EVENT_MAX_ATTEMPTS = env.int("SERVICENOW_EVENT_MAX_ATTEMPTS", default=5)
SERVICENOW_EVENT_RETRY_BASE = env.float("SERVICENOW_EVENT_RETRY_BASE", default=2.0)
SERVICENOW_EVENT_RETRY_CAP = env.float("SERVICENOW_EVENT_RETRY_CAP", default=300.0)
SERVICENOW_EVENT_LEASE = env.float("SERVICENOW_EVENT_LEASE", default=60.0)
# Applied pushes are kept this long (to look at in the admin), then deleted with their work; failed ones stay.
SERVICENOW_EVENT_RETENTION_DAYS = env.int("SERVICENOW_EVENT_RETENTION_DAYS", default=7)
# The poll reads again this many seconds below its watermark (changes in the same second may land after it
# read), and this many incidents a page.
SERVICENOW_POLL_OVERLAP = env.float("SERVICENOW_POLL_OVERLAP", default=5.0)
SERVICENOW_POLL_PAGE_SIZE = env.int("SERVICENOW_POLL_PAGE_SIZE", default=100)

# --- Circuit breakers (system_apis/circuit.py) ---------------------------------------------------
# After this many consecutive outages of a system (timeouts, unreachable, 5xx) its calls fail fast for
# CIRCUIT_BREAKER_RESET_TIMEOUT seconds, then a trial call decides. State is shared through the cache.
CIRCUIT_BREAKER_FAIL_MAX = env.int("CIRCUIT_BREAKER_FAIL_MAX", default=5)
CIRCUIT_BREAKER_RESET_TIMEOUT = env.float("CIRCUIT_BREAKER_RESET_TIMEOUT", default=30.0)

# --- Vendor quotas (system_apis/quota.py) -----------------------------------------------------------
# A system that says "slow down" is held, for every process, for its Retry-After or else this long.
QUOTA_HOLD_SECONDS = env.float("QUOTA_HOLD_SECONDS", default=60.0)
# Salesforce's org-wide API quota is shared with other integrations: past this share of it
# (Sforce-Limit-Info), lookups stop for QUOTA_HOLD_SECONDS and the customer view uses the legacy record.
SALESFORCE_API_USAGE_CEILING = env.float("SALESFORCE_API_USAGE_CEILING", default=0.9)

# --- Visibility: call trace and OpenTelemetry ------------------------------------------------------
# Incident Hub's own spans are kept as TracedCall rows (admin timeline, API catalog) for this many days.
CALL_TRACE_ENABLED = env.bool("CALL_TRACE_ENABLED", default=True)
CALL_TRACE_RETENTION_DAYS = env.int("CALL_TRACE_RETENTION_DAYS", default=14)
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="incident-hub")
# Set to send every span to an OpenTelemetry collector as well (OTLP over HTTP).
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
